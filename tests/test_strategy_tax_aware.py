"""Tax-aware rebalancing on hand-made markets: the sale-tax estimator against hand
calculations, the yearly gain budget, the tax-cost weight, losses before gains, IRA before
taxable, conservation, plain Python vs numba, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import calendar_rebalance, tax_aware_rebalance
from strategies.calendar_rebalance import calendar_decide, calendar_decide_nb
from strategies.tax_aware_rebalance import (
    PARAM_LAST_PERIOD,
    PARAM_MAX_GAIN,
    PARAM_MONTHS,
    PARAM_TAX_COST_WEIGHT,
    estimate_sale_tax,
    estimate_sale_tax_nb,
    tax_aware_decide,
    tax_aware_decide_nb,
    taxable_sale_shares,
    taxable_sale_shares_nb,
)
from taxsim import Account, Household, Ledger, Market, TaxProfile, TaxRates
from taxsim.dates import to_day
from taxsim.engine import Strategy, simulate
from taxsim.market.synthetic import synthetic_market
from tests.simulation_checks import conservation_gap

START = "2024-01-29"  # a Monday; Feb 1 (index 3) starts a new month
FEB_1 = 3
SHORT_RATE = 0.37 + 0.038  # default TaxProfile: ordinary + NIIT
LONG_RATE = 0.20 + 0.038  # long-term + NIIT


def hand_market(closes: dict[str, list[float]]) -> Market:
    """Consecutive business days from START with the given closes (dollars per share)."""
    n_days = len(next(iter(closes.values())))
    dates = pd.bdate_range(START, periods=n_days)
    rows = [{"date": date, "ticker": ticker, "close": close}
            for ticker, prices in closes.items()
            for date, close in zip(dates, prices, strict=True)]
    return Market.from_frame(pd.DataFrame(rows), tickers=list(closes), source="hand-made")


def steps(n_days: int, first: float, later: float, change: int = FEB_1) -> list[float]:
    """``first`` before day ``change``, ``later`` from it on."""
    return [first if day < change else later for day in range(n_days)]


def strategy_trades(result) -> pd.DataFrame:
    trades = result.trades_frame()
    return trades[trades["reason"] == "strategy"]


def holdings_on(result, day_index: int) -> dict[tuple[str, str], float]:
    """Shares by (account, ticker) at a day's close, from the trade record (no distributions)."""
    trades = result.trades_frame()
    trades = trades[trades["date"] <= result.market.pandas_dates[day_index]]
    return trades.groupby(["account", "asset"], observed=True)["shares"].sum().to_dict()


def household_weights(result, day_index: int) -> dict[str, float]:
    market = result.market
    held = holdings_on(result, day_index)
    daily = result.daily().iloc[day_index]
    total = daily["total_value"]
    return {
        ticker: sum(shares for (_, asset), shares in held.items() if asset == ticker)
        * market.close[day_index, i] / total
        for i, ticker in enumerate(market.tickers)
    }


def taxable_gain(result, year: int = 2024) -> float:
    realized = result.ledger.realized()
    mine = realized[realized["taxable"] & (realized["sold"].dt.year == year)]
    return float(mine["gain"].sum())


# ----------------------------------------------------------------------- the estimator


@pytest.fixture(scope="module")
def three_lots():
    """Taxable lots of A: 10 @ 50 (2022, long-term by mid-2024), 10 @ 120 and 10 @ 90
    (2024, short-term); the IRA holds 10 @ 50 too."""
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    ledger = Ledger(household, ["A"])
    ledger.buy("taxable", "A", 10, 50.0, "2022-01-03")
    ledger.buy("taxable", "A", 10, 120.0, "2024-01-02")
    ledger.buy("taxable", "A", 10, 90.0, "2024-02-01")
    ledger.buy("ira", "A", 10, 50.0, "2024-02-01")
    return ledger


@pytest.mark.parametrize("estimator", [estimate_sale_tax, estimate_sale_tax_nb])
@pytest.mark.parametrize(
    "shares, short_gain, long_gain",
    [
        # tax-optimal order at $100: the 120 lot (ST loss -20/sh), then the 90 lot (ST gain
        # 10/sh, tax 4.08% of proceeds) before the 50 lot (LT gain 50/sh, 11.9% of proceeds)
        (5.0, -100.0, 0.0),
        (10.0, -200.0, 0.0),
        (15.0, -200.0 + 50.0, 0.0),
        (25.0, -200.0 + 100.0, 5 * 50.0),
        (30.0, -100.0, 500.0),
        (99.0, -100.0, 500.0),  # at most the shares held
    ],
)
def test_the_sale_tax_estimate_matches_a_hand_calculation(three_lots, estimator, shares,
                                                          short_gain, long_gain):
    day = to_day("2024-06-03")
    tax, short, long = estimator(three_lots._state, 0, 0, shares, 100.0, day)
    assert short == pytest.approx(short_gain, abs=1e-9)
    assert long == pytest.approx(long_gain, abs=1e-9)
    assert tax == pytest.approx(short_gain * SHORT_RATE + long_gain * LONG_RATE, abs=1e-9)


def test_the_estimate_for_25_shares_is_18_70_and_agrees_with_the_ledgers_what_if(three_lots):
    # -200 + 100 short-term, +250 long-term: -100 * 0.408 + 250 * 0.238 = 18.70
    tax, _, _ = estimate_sale_tax_nb(three_lots._state, 0, 0, 25.0, 100.0, to_day("2024-06-03"))
    assert tax == pytest.approx(18.70, abs=1e-9)
    what_if = three_lots.what_if_sell("taxable", "A", 25.0, 100.0, "2024-06-03", "tax_optimal")
    rows = what_if["rows"]
    assert rows.loc[rows["term"] == "short", "gain"].sum() == pytest.approx(-100.0)
    assert rows.loc[rows["term"] == "long", "gain"].sum() == pytest.approx(250.0)


def test_the_estimate_is_zero_in_an_ira_and_uses_the_years_rates_with_state_tax():
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    profile = TaxProfile(default=TaxRates(ordinary=0.30, long_term=0.15, niit=0.0, state=0.05),
                         by_year={2025: TaxRates(ordinary=0.20, long_term=0.10, niit=0.0)})
    ledger = Ledger(household, ["A"], tax_profile=profile)
    ledger.buy("taxable", "A", 10, 50.0, "2023-06-01")
    ledger.buy("ira", "A", 10, 50.0, "2023-06-01")
    state = ledger._state
    assert estimate_sale_tax_nb(state, 1, 0, 10.0, 80.0, to_day("2024-03-01")) == (0.0, 0.0, 0.0)
    # short-term in March 2024 (held < 1 year): 300 * (0.30 + 0.05)
    assert estimate_sale_tax_nb(state, 0, 0, 10.0, 80.0, to_day("2024-03-01"))[0] == \
        pytest.approx(300 * 0.35)
    # long-term in 2025 at that year's rates: 300 * 0.10
    assert estimate_sale_tax_nb(state, 0, 0, 10.0, 80.0, to_day("2025-03-03"))[0] == \
        pytest.approx(300 * 0.10)


@pytest.fixture(scope="module")
def young_fund_lot():
    """100 shares of fund F bought at $10 on 2025-01-10 in a taxable account keeping cash;
    on 2025-02-28 it pays $0.20 a share of exempt interest (declared monthly) and $0.30 of
    long-term capital gain distribution."""
    ledger = Ledger(Household([Account("taxable", reinvest=False)]), ["F"])
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.20, lt_capital_gain=0.30)
    return ledger


@pytest.mark.parametrize("estimator", [estimate_sale_tax, estimate_sale_tax_nb])
def test_the_estimate_books_a_young_fund_loss_as_the_ledger_does(young_fund_lot, estimator):
    # sold at $9 on 2025-05-15, held under six months: of the $100 loss, $20 is disallowed up to
    # the exempt interest (IRC §852(b)(4)(B)); of the $80 left, $30 is long-term up to the
    # capital gain distribution (§852(b)(4)(A)) and $50 short-term
    day = to_day("2025-05-15")
    tax, short, long = estimator(young_fund_lot._state, 0, 0, 100.0, 9.0, day)
    assert short == pytest.approx(-50.0, abs=1e-9)
    assert long == pytest.approx(-30.0, abs=1e-9)
    assert tax == pytest.approx(-50.0 * SHORT_RATE - 30.0 * LONG_RATE, abs=1e-9)
    rows = young_fund_lot.what_if_sell("taxable", "F", 100.0, 9.0, "2025-05-15",
                                      "tax_optimal")["rows"]
    assert rows["gain"].sum() == pytest.approx(short + long, abs=1e-9)
    assert rows["long_term_loss"].sum() == pytest.approx(long, abs=1e-9)
    # half the lot: every amount halves
    assert estimator(young_fund_lot._state, 0, 0, 50.0, 9.0, day)[1:] == \
        pytest.approx((-25.0, -15.0), abs=1e-9)
    # a day after six months (2025-07-11) the full $100 loss is allowed, short-term
    tax, short, long = estimator(young_fund_lot._state, 0, 0, 100.0, 9.0,
                                 to_day("2025-07-11"))
    assert (short, long) == pytest.approx((-100.0, 0.0), abs=1e-9)


@pytest.mark.parametrize("walker", [taxable_sale_shares, taxable_sale_shares_nb])
def test_the_budgeted_sale_walks_losses_first_and_stops_at_the_gain_room(three_lots, walker):
    day = to_day("2024-06-03")
    state = three_lots._state
    inf = float("inf")
    # no budget: everything asked for
    assert walker(state, 0, 0, 100.0, day, 30.0, inf, 1.0, 0.0, 1e6) == pytest.approx((30, 600))
    # $150 of gain room: the loss lot (10 sh), the 90 lot (100 of gain), 1 share of the 50 lot
    assert walker(state, 0, 0, 100.0, day, 30.0, 150.0, 1.0, 0.0, 1e6) == pytest.approx((21, 150))
    # no room: only the loss lot
    assert walker(state, 0, 0, 100.0, day, 30.0, 0.0, 1.0, 0.0, 1e6) == pytest.approx((10, 0))
    # tax weight 1, overweight 0.06 of $100k: the loss lot always; the 90 lot (tau 0.0408)
    # while 0.06 - sold / 1e5 > 0.0408, i.e. up to $1,920 sold in all: 10 loss shares + 9.2;
    # the 50 lot (tau 0.119) never
    sold, used = walker(state, 0, 0, 100.0, day, 30.0, inf, 0.06, 1.0, 1e5)
    assert sold == pytest.approx(19.2)
    assert used == pytest.approx(92.0)


# ----------------------------------------------------------------------- runs


def run_taxable(market, strategy, targets, **kwargs):
    household = Household([Account("taxable")])
    return simulate(market, household, strategy, targets,
                    contributions={"taxable": 10_000.0}, **kwargs)


def test_the_gain_budget_caps_the_years_realized_gain():
    # A doubles on Feb 1: a full rebalance sells 12.5 A shares for a 1,250 gain
    n_days = 30
    market = hand_market({"A": steps(n_days, 100.0, 200.0), "B": [100.0] * n_days})
    targets = {"taxable": {"A": 0.5, "B": 0.5}}
    capped = run_taxable(market, tax_aware_rebalance("monthly", max_gain=500.0), targets)
    free = run_taxable(market, tax_aware_rebalance("monthly"), targets)
    assert taxable_gain(free) == pytest.approx(1250.0)
    assert taxable_gain(capped) == pytest.approx(500.0)
    assert taxable_gain(capped) <= 500.0 + 1e-6
    trades = strategy_trades(capped)
    # Feb 1: 5 A shares sold, 10 B shares bought with the proceeds; Mar 1 (A still
    # overweight): no room left this year, no trade
    assert trades["date"].tolist() == [market.pandas_dates[FEB_1]] * 2
    assert trades.set_index("asset")["shares"].to_dict() == pytest.approx({"A": -5.0, "B": 10.0})
    assert (trades["lot_method"] == "tax_optimal").all()
    march = int(np.searchsorted(market.dates, to_day("2024-03-01")))
    assert march < n_days
    assert household_weights(capped, march)["A"] == pytest.approx(9000 / 15000)
    assert conservation_gap(capped) == pytest.approx(0.0, abs=1e-8)


def test_losses_are_sold_before_gains_and_do_not_widen_the_room():
    # Feb 1: the targets move from 40/40/20 to 20/20/60 while L fell to 90 and G rose to 120:
    # L is 1,520 over target at a loss, G 2,720 over at a 20-a-share gain
    n_days = 6
    market = hand_market({"L": steps(n_days, 100.0, 90.0), "G": steps(n_days, 100.0, 120.0),
                          "C": [100.0] * n_days})
    dates = market.pandas_dates
    targets = {dates[0]: {"taxable": {"L": 0.4, "G": 0.4, "C": 0.2}},
               dates[FEB_1]: {"taxable": {"L": 0.2, "G": 0.2, "C": 0.6}}}
    capped = run_taxable(market, tax_aware_rebalance("monthly", max_gain=100.0), targets)
    free = run_taxable(market, tax_aware_rebalance("monthly"), targets)
    realized = capped.ledger.realized().groupby("asset", observed=True)["gain"].sum()
    assert realized["L"] == pytest.approx(-1520 / 90 * 10)  # trimmed to target at a loss
    assert realized["G"] == pytest.approx(100.0)  # only the budget, though L lost 168.89
    assert household_weights(capped, FEB_1)["L"] == pytest.approx(0.2)
    assert taxable_gain(free) == pytest.approx(2720 / 120 * 20 - 1520 / 90 * 10)
    assert household_weights(free, FEB_1)["G"] == pytest.approx(0.2)
    assert conservation_gap(capped) == pytest.approx(0.0, abs=1e-8)


@pytest.mark.parametrize("weight, dollars_sold", [(0.25, 825.0), (0.5, 400.0), (1.0, 0.0)])
def test_the_tax_cost_weight_rule_matches_a_hand_calculation(weight, dollars_sold):
    # Feb 1: A at 150, household 12,500, A 10 points over target; its lots are short-term
    # with a 50-a-share gain: tau = 50 * 0.408 / 150 = 0.136. A is sold while
    # 0.10 - sold / 12,500 > weight * 0.136.
    n_days = 5
    market = hand_market({"A": steps(n_days, 100.0, 150.0), "B": [100.0] * n_days})
    strategy = tax_aware_rebalance("monthly", tax_cost_weight=weight, min_trade=0.0)
    result = run_taxable(market, strategy, {"taxable": {"A": 0.5, "B": 0.5}})
    trades = strategy_trades(result)
    sold = -trades.loc[trades["asset"] == "A", "shares"].sum() * 150.0
    assert sold == pytest.approx(dollars_sold, abs=1e-6)
    bought = trades.loc[trades["asset"] == "B", "shares"].sum() * 100.0
    assert bought == pytest.approx(dollars_sold, abs=1e-6)


def two_account_run(strategy, ira_contribution, a_price_later):
    n_days = 5
    market = hand_market({"A": steps(n_days, 100.0, a_price_later), "B": [100.0] * n_days})
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    targets = {"taxable": {"A": 0.5, "B": 0.5}, "ira": {"A": 0.5, "B": 0.5}}
    return simulate(market, household, strategy, targets,
                    contributions={"taxable": 10_000.0, "ira": ira_contribution})


def test_the_ira_rebalances_the_household_before_any_taxable_sale():
    result = two_account_run(tax_aware_rebalance("monthly"), 10_000.0, 150.0)
    trades = strategy_trades(result)
    assert not trades.empty
    assert (trades["account"] == "ira").all()  # no taxable trade at all
    # household 25,000: A 15,000 -> 12,500; the IRA sells 2,500 of A and buys 2,500 of B
    assert trades.set_index("asset")["shares"].to_dict() == pytest.approx({"A": -2500 / 150,
                                                                           "B": 25.0})
    weights = household_weights(result, FEB_1)
    assert weights["A"] == pytest.approx(0.5, abs=1e-9)
    assert taxable_gain(result) == 0.0
    # the non-managed twin trims A in the taxable account too, realizing a taxable gain
    twin = Strategy("calendar (python)", calendar_decide, calendar_rebalance("monthly").params)
    twin = two_account_run(twin, 10_000.0, 150.0)
    assert taxable_gain(twin) > 0.0


def test_the_taxable_account_sells_only_what_the_ira_cannot_absorb():
    # A doubles: household 18,000, A 12,000 vs 9,000; the IRA holds only 2,000 of A
    result = two_account_run(tax_aware_rebalance("monthly"), 2_000.0, 200.0)
    trades = strategy_trades(result).set_index(["account", "asset"])["shares"].to_dict()
    assert trades == pytest.approx({("ira", "A"): -10.0, ("taxable", "A"): -5.0,
                                    ("ira", "B"): 20.0, ("taxable", "B"): 10.0})
    assert household_weights(result, FEB_1)["A"] == pytest.approx(0.5, abs=1e-9)
    assert taxable_gain(result) == pytest.approx(500.0)
    daily = result.daily()
    assert (daily[["cash_taxable", "cash_ira"]] >= -1e-9).all().all()


def test_no_trade_while_the_household_drift_is_under_the_threshold():
    n_days = 5
    market = hand_market({"A": steps(n_days, 100.0, 110.0), "B": [100.0] * n_days})
    # A at 110: weight 5,500 / 10,500 = 0.5238, 2.4 points over
    targets = {"taxable": {"A": 0.5, "B": 0.5}}
    wide = run_taxable(market, tax_aware_rebalance("monthly", threshold=0.03), targets)
    narrow = run_taxable(market, tax_aware_rebalance("monthly", threshold=0.02), targets)
    assert strategy_trades(wide).empty
    assert set(strategy_trades(narrow)["date"]) == {market.pandas_dates[FEB_1]}


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market(seed=7, years=2.0)


@pytest.mark.parametrize("options", [{"max_gain": 100.0}, {"tax_cost_weight": 0.5}])
def test_conservation_and_cash_on_a_synthetic_market(synthetic, options):
    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred"),
                           Account("roth", kind="tax_exempt")])
    targets = {"taxable": {"USTOTAL": 0.6, "INTL": 0.2, "BOND": 0.2},
               "ira": {"USTOTAL": 0.3, "BOND": 0.5, "REIT": 0.2},
               "roth": {"INTL": 0.5, "USTOTAL": 0.5}}
    dates = synthetic.pandas_dates
    flows = pd.DataFrame({"date": [dates[100], dates[300]], "account": ["taxable", "ira"],
                          "amount": [40_000.0, -5_000.0]})
    # taxes paid from outside: the engine sells nothing for them, so every taxable sale of a
    # year is the strategy's; no advisory fee (the engine takes it from cash, overdrawing
    # accounts that the engine invested in full)
    def run(**options):
        return simulate(synthetic, household,
                        tax_aware_rebalance("monthly", cash_reserve=0.002, **options), targets,
                        contributions={"taxable": 300_000.0, "ira": 20_000.0, "roth": 10_000.0},
                        flows=flows, cost_bps=2.0, cost_per_trade=1.0, tax_payment="outside")

    def gains_by_year(result):
        realized = result.ledger.realized()
        taxable = realized[realized["taxable"]]
        return taxable.groupby(taxable["sold"].dt.year)["gain"].sum()

    result = run(**options)
    assert len(strategy_trades(result)) > 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-5)
    # the strategy restores each account's cash reserve when it trades (the engine's sales for
    # a withdrawal raise the amount before costs, so the account may dip below zero between)
    daily = result.daily()
    traded = daily.loc[sorted(set(strategy_trades(result)["date"]))]
    assert (traded[["cash_taxable", "cash_ira", "cash_roth"]] >= -1e-6).all().all()
    if "max_gain" in options:
        capped = gains_by_year(result)
        assert len(capped) > 0
        assert (capped <= 100.0 + 1e-6).all(), capped
        assert (gains_by_year(run()) > 100.0).any()  # the budget binds


def test_plain_python_decide_gives_the_same_trades_as_the_jitted_one():
    n_days = 30
    market = hand_market({"A": steps(n_days, 100.0, 200.0), "B": steps(n_days, 100.0, 80.0, 10)})
    jitted = tax_aware_rebalance("monthly", max_gain=300.0, tax_cost_weight=0.2)
    plain = Strategy("tax-aware (python)", tax_aware_decide, jitted.params,
                     lot_method="tax_optimal")
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    targets = {"taxable": {"A": 0.5, "B": 0.5}, "ira": {"A": 0.3, "B": 0.7}}
    results = [simulate(market, household, strategy, targets,
                        contributions={"taxable": 10_000.0, "ira": 3_000.0}, cost_bps=5.0)
               for strategy in (jitted, plain)]
    assert len(strategy_trades(results[0])) > 0
    np.testing.assert_array_equal(results[0].trades, results[1].trades)
    np.testing.assert_array_equal(results[0].daily()["total_value"],
                                  results[1].daily()["total_value"])


def test_the_factory_packs_its_params_and_names_the_fifo_calendar_twin():
    strategy = tax_aware_rebalance("yearly", max_gain=1_000.0, tax_cost_weight=0.5,
                                   min_trade=5.0)
    assert strategy.decide is tax_aware_decide_nb
    assert strategy.lot_method == "tax_optimal"
    assert strategy.params[PARAM_MONTHS] == 12
    assert strategy.params[PARAM_MAX_GAIN] == 1_000.0
    assert strategy.params[PARAM_TAX_COST_WEIGHT] == 0.5
    assert strategy.params[PARAM_LAST_PERIOD] == -1.0
    twin = strategy.non_managed()
    assert twin.decide is calendar_decide_nb and twin.lot_method == "fifo"
    np.testing.assert_array_equal(twin.params, calendar_rebalance("yearly", min_trade=5.0).params)
    assert tax_aware_rebalance().params[PARAM_MAX_GAIN] < 0  # no cap


@pytest.mark.parametrize(
    "options, message",
    [
        ({"frequency": "weekly"}, "frequency must be one of"),
        ({"max_gain": -1.0}, "max_gain must be a finite number >= 0"),
        ({"max_gain": float("inf")}, "max_gain"),
        ({"tax_cost_weight": float("nan")}, "tax_cost_weight must be a finite number >= 0"),
        ({"tax_cost_weight": True}, "tax_cost_weight"),
        ({"threshold": -0.01}, "threshold"),
        ({"threshold": None}, "threshold"),
        ({"min_trade": -1.0}, "min_trade"),
        ({"cash_reserve": 1.0}, "cash_reserve"),
    ],
)
def test_bad_input_names_the_field(options, message):
    with pytest.raises(ValueError, match=message):
        tax_aware_rebalance(**options)


def test_a_loss_from_a_withdrawal_is_not_washed_into_the_ira():
    """March 1, a rebalance day more than 30 days after the first purchases: A is at 80 and B
    at 95, both at a loss in both accounts, and 2,000 leaves the taxable account. No position
    is without a loss lot, and nothing can wash one (no purchase in the last 30 days, the IRA
    keeps its distributions in cash), so the strategy raises it from A and B pro rata,
    tax-aware lots: both losses realized. A purchase of A or B in the next 30 days, in the IRA
    above all, would disallow them (for good there: IRC §1091(a), Rev. Rul. 2008-5); the
    strategy buys neither, that day or in the window."""
    n_days = 60
    march = pd.bdate_range(START, periods=n_days).get_loc(pd.Timestamp("2024-03-01"))
    market = hand_market({"A": steps(n_days, 100.0, 80.0, march),
                          "B": steps(n_days, 100.0, 95.0, march)})
    household = Household([Account("taxable"),
                           Account("ira", kind="tax_deferred", reinvest=False)])
    flows = pd.DataFrame({"date": [market.pandas_dates[march]], "account": ["taxable"],
                          "amount": [-2_000.0]})
    targets = {"taxable": {"A": 0.5, "B": 0.5}, "ira": {"A": 0.5, "B": 0.5}}
    result = simulate(market, household, tax_aware_rebalance("monthly", threshold=0.01),
                      targets, contributions={"taxable": 10_000.0, "ira": 10_000.0},
                      flows=flows, tax_payment="outside")
    trades = result.trades_frame()
    assert set(trades["reason"]) == {"contribution", "strategy"}
    taxable_sales = trades[(trades["date"] == market.pandas_dates[march])
                           & (trades["account"] == "taxable")]
    dollars = (-taxable_sales["shares"] * taxable_sales["price"]).groupby(
        taxable_sales["asset"], observed=True).sum().to_dict()
    assert dollars == pytest.approx({"A": 2_000.0 * 4_000.0 / 8_750.0,
                                     "B": 2_000.0 * 4_750.0 / 8_750.0})
    realized = result.ledger.realized()
    assert (realized.groupby("asset", observed=True)["gain"].sum() < 0).all()  # both losses
    assert realized["wash_lost"].sum() == 0.0 and realized["wash_disallowed"].sum() == 0.0
    window_end = pd.Timestamp("2024-03-31")
    bought = trades[(trades["shares"] > 0) & (trades["reason"] == "strategy")
                    & (trades["date"] >= market.pandas_dates[march])
                    & (trades["date"] <= window_end)]
    assert bought.empty
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_the_strategy_raises_a_withdrawal_from_its_safe_positions_not_the_engine():
    """Jan 29: taxable and IRA each 5,000 of A and 5,000 of B (quarterly: no rebalance before
    April). Jan 31: A 80, B 130, and 2,000 leaves the taxable account. Selling A would realize
    a loss that the IRA's A (bought two days ago, and reinvesting) washes for good (Rev. Rul.
    2008-5); B is at a gain. The strategy (``raises_cash``) sells 2,000 of B: 15.38 shares, a
    gain of 461.54, and the engine sells nothing. (The engine's pro-rata sale, losses first,
    realized A's loss and lost it.)"""
    market = hand_market({"A": [100.0, 100.0, 80.0, 80.0], "B": [100.0, 100.0, 130.0, 130.0]})
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    flows = pd.DataFrame({"date": [market.pandas_dates[2]], "account": ["taxable"],
                          "amount": [-2_000.0]})
    targets = {"taxable": {"A": 0.5, "B": 0.5}, "ira": {"A": 0.5, "B": 0.5}}
    strategy = tax_aware_rebalance("quarterly")
    assert strategy.raises_cash and not strategy.invests_flows
    result = simulate(market, household, strategy, targets,
                      contributions={"taxable": 10_000.0, "ira": 10_000.0},
                      flows=flows, tax_payment="outside")
    trades = result.trades_frame()
    on_day_2 = trades[trades["date"] == market.pandas_dates[2]]
    assert on_day_2[["account", "asset", "reason"]].values.tolist() == [
        ["taxable", "B", "strategy"]]
    assert on_day_2["shares"].tolist() == pytest.approx([-2_000.0 / 130.0])
    realized = result.ledger.realized()
    assert realized["gain"].tolist() == pytest.approx([2_000.0 / 130.0 * 30.0])
    assert realized["wash_lost"].sum() == 0.0 and realized["wash_disallowed"].sum() == 0.0
    assert result.daily()["cash_taxable"].iloc[2] == pytest.approx(0.0, abs=1e-9)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def gain_lots_ledger(oldest_cost: float, newest_cost: float, oldest_shares: float = 100.0):
    """One taxable account holding X: an old lot (long-term), a lot at a loss, a new lot
    (short-term), every cost in dollars per share; X is at $100 on 2024-10-01."""
    ledger = Ledger(Household([Account("taxable")]), ["X"])
    ledger.buy("taxable", "X", oldest_shares, oldest_cost, "2020-01-02")
    ledger.buy("taxable", "X", 100.0, 110.0, "2024-06-03")  # at a loss at $100
    ledger.buy("taxable", "X", 100.0, newest_cost, "2024-09-03")
    return ledger._state


@pytest.mark.parametrize("jitted", [False, True])
def test_gain_lot_sales_take_the_end_with_less_tax(jitted):
    """A sale that must not reach a lot at a loss sells gain lots from one end: the one that
    covers it with less tax at the household's rates (2025 top federal: 37% + 3.8% short-term,
    20% + 3.8% long-term), else the one that covers it, else the one that reaches further
    (``cash_raising``: shortfall sales from positions whose loss lots must not be sold)."""
    from strategies.cash_raising import (
        gain_lots_method,
        gain_lots_method_nb,
        gain_run_sale,
        gain_run_sale_nb,
    )
    from taxsim.ledger.enums import FIFO, LIFO

    method_of = gain_lots_method_nb if jitted else gain_lots_method
    run_of = gain_run_sale_nb if jitted else gain_run_sale
    day = to_day("2024-10-01")
    # old lot up 100% (long-term), new lot up 2% (short-term): $5,000 of the old lots owe
    # 5,000 x 0.5 x 23.8% = $595, of the new ones 5,000 x 0.02 x 40.8% = $40.80
    state = gain_lots_ledger(50.0, 98.0)
    assert run_of(state, 0, 0, 100.0, day, 5_000.0, False) == pytest.approx((10_000.0, 595.0))
    assert run_of(state, 0, 0, 100.0, day, 5_000.0, True) == pytest.approx((10_000.0, 40.8))
    assert method_of(state, 0, 0, 100.0, day, 5_000.0) == pytest.approx((10_000.0, LIFO))
    # old lot up 5%, new lot up 25%: the old lots owe less (5,000 x 0.05 x 23.8% = $59.50
    # against 5,000 x 0.2 x 40.8% = $408)
    state = gain_lots_ledger(95.0, 80.0)
    assert method_of(state, 0, 0, 100.0, day, 5_000.0) == pytest.approx((10_000.0, FIFO))
    # only the newest lots cover $8,000 (the old lot holds $5,000)
    state = gain_lots_ledger(95.0, 80.0, oldest_shares=50.0)
    assert method_of(state, 0, 0, 100.0, day, 8_000.0) == pytest.approx((10_000.0, LIFO))
    # neither covers $12,000: the end that reaches further
    assert method_of(state, 0, 0, 100.0, day, 12_000.0) == pytest.approx((10_000.0, LIFO))
    # a new lot within 1% of its basis is no gain lot: only the old lot can be sold
    state = gain_lots_ledger(50.0, 99.5)
    assert method_of(state, 0, 0, 100.0, day, 5_000.0) == pytest.approx((10_000.0, FIFO))
