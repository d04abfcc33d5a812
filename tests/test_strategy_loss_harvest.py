"""Tax-loss harvesting on crafted markets: when it harvests, what it buys, and no wash sale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import loss_harvest
from strategies.loss_harvest import PARAM_HARVESTS, loss_harvest_decide
from taxsim import Account, Household, Market
from taxsim.charts.style import footnote_text
from taxsim.engine import Strategy, simulate
from taxsim.market.synthetic import synthetic_market
from taxsim.metrics import conventions_of
from tests.simulation_checks import conservation_gap, harvest_scan_cache_disabled

N_DAYS = 60
DATES = pd.bdate_range("2024-03-04", periods=N_DAYS)


def hand_market(closes: dict[str, list[float]]) -> Market:
    rows = [
        {"date": date, "ticker": ticker, "close": close}
        for ticker, prices in closes.items()
        for date, close in zip(DATES, prices, strict=True)
    ]
    return Market.from_frame(pd.DataFrame(rows), tickers=list(closes), source="hand-made")


# A falls 6% on day 3 and stays there; B (the substitute) is flat.
FALLING = {"A": [100.0] * 3 + [94.0] * (N_DAYS - 3), "B": [50.0] * N_DAYS}


def strategy_trades(result) -> pd.DataFrame:
    trades = result.trades_frame()
    return trades[trades["reason"] == "strategy"].reset_index(drop=True)


def run(market, household, strategy, targets, **kwargs):
    return simulate(market, household, strategy, targets, tax_payment="outside", **kwargs)


def test_harvests_on_the_first_day_a_lot_crosses_the_threshold():
    household = Household([Account("taxable")])
    strategy = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance=None)
    flows = pd.DataFrame({"date": [DATES[10]], "account": ["taxable"], "amount": [5_000.0]})
    result = run(hand_market(FALLING), household, strategy, {"taxable": {"A": 1.0}},
                 contributions={"taxable": 10_000.0}, flows=flows)
    trades = strategy_trades(result)
    # day 0: the contribution buys A, keeping the 0.1% cost allowance back; day 3: all of A is
    # sold at 94 and B bought at 50 with the proceeds less the allowance; day 10: the new money
    # and the unspent cash go to B, the holder, again less the allowance
    bought = 10_000.0 / 1.001 / 100.0
    proceeds = bought * 94.0
    substitute = proceeds * 0.999 / 50.0
    cash = 10_000.0 - bought * 100.0 + proceeds - substitute * 50.0 + 5_000.0
    assert trades["date"].tolist() == [DATES[0], DATES[3], DATES[3], DATES[10]]
    assert trades["asset"].tolist() == ["A", "A", "B", "B"]
    assert trades["shares"].tolist() == pytest.approx(
        [bought, -bought, substitute, cash / 1.001 / 50.0])
    realized = result.ledger.realized()
    assert realized["gain"].sum() == pytest.approx(-6.0 * bought)
    assert realized["wash_disallowed"].sum() == 0.0
    assert result.ledger.lots()["asset"].unique().tolist() == ["B"]
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_no_harvest_below_the_threshold_or_the_dollar_minimum():
    household = Household([Account("taxable")])
    targets = {"taxable": {"A": 1.0}}
    deep = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, threshold=0.07, rebalance=None)
    result = run(hand_market(FALLING), household, deep, targets,
                 contributions={"taxable": 10_000.0})
    assert len(strategy_trades(result)) == 1  # only the first purchase: 6% < 7%
    dollars = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, threshold_dollars=601.0,
                           rebalance=None)
    result = run(hand_market(FALLING), household, dollars, targets,
                 contributions={"taxable": 10_000.0})
    assert len(strategy_trades(result)) == 1  # a $600 loss < $601


def test_swaps_back_once_the_window_has_passed():
    household = Household([Account("taxable")])
    strategy = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance=None,
                            swap_back=True)
    result = run(hand_market(FALLING), household, strategy, {"taxable": {"A": 1.0}},
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    # harvested on 2024-03-07; 31 days later is 2024-04-07 (a Sunday): Monday 2024-04-08
    back = trades[trades["date"] > DATES[3]]
    assert back["date"].unique().tolist() == [pd.Timestamp("2024-04-08")]
    assert back["asset"].tolist() == ["B", "A"]
    assert result.ledger.realized()["wash_disallowed"].sum() == 0.0


def test_a_recent_purchase_in_another_account_defers_the_harvest():
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred",
                                                        reinvest=False)])
    strategy = loss_harvest(["A", "B"], [("A", "B")], n_accounts=2, rebalance=None)
    flows = pd.DataFrame({"date": [DATES[2]], "account": ["ira"], "amount": [1_000.0]})
    result = run(hand_market(FALLING), household, strategy,
                 {"taxable": {"A": 1.0}, "ira": {"A": 1.0}},
                 contributions={"taxable": 10_000.0}, flows=flows)
    trades = strategy_trades(result)
    sale = trades[(trades["account"] == "taxable") & (trades["shares"] < 0)]
    # the IRA bought A on 2024-03-06: a loss sale before 2024-04-06 would be a wash sale
    assert sale["date"].tolist() == [pd.Timestamp("2024-04-08")]
    assert result.ledger.realized()["wash_disallowed"].sum() == 0.0


def test_never_harvests_while_a_reinvesting_account_holds_the_group():
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    strategy = loss_harvest(["A", "B"], [("A", "B")], n_accounts=2, rebalance=None)
    result = run(hand_market(FALLING), household, strategy,
                 {"taxable": {"A": 1.0}, "ira": {"A": 1.0}},
                 contributions={"taxable": 10_000.0, "ira": 1_000.0})
    assert (strategy_trades(result)["shares"] > 0).all()


def test_a_substitute_in_the_same_identity_group_is_never_used():
    household = Household([Account("taxable")], identity_groups={"A": "sp500", "B": "sp500"})
    strategy = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance=None)
    result = run(hand_market(FALLING), household, strategy, {"taxable": {"A": 1.0}},
                 contributions={"taxable": 10_000.0})
    assert len(strategy_trades(result)) == 1


def test_plain_python_decide_matches_the_jitted_one():
    household = Household([Account("taxable")])
    jitted = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance="monthly",
                          swap_back=True)
    plain = Strategy(jitted.name, loss_harvest_decide, jitted.params, jitted.lot_method,
                     jitted.max_orders, invests_flows=True)
    targets = {"taxable": {"A": 0.6, "B": 0.0}}
    a = run(hand_market(FALLING), household, jitted, targets,
            contributions={"taxable": 10_000.0})
    b = run(hand_market(FALLING), household, plain, targets,
            contributions={"taxable": 10_000.0})
    assert np.array_equal(a.trades, b.trades)
    assert np.array_equal(a.account_values, b.account_values)


@pytest.mark.parametrize("seed", [3, 4])
def test_harvests_real_losses_and_never_washes_on_a_synthetic_household(seed):
    market = synthetic_market(seed=seed, years=4.0)
    household = Household([Account("taxable"), Account("taxable_2", reinvest=False),
                           Account("ira", kind="tax_deferred")])
    strategy = loss_harvest(market.tickers, [("USTOTAL", "USLARGE")], n_accounts=3,
                            threshold=0.03, rebalance="quarterly", swap_back=True,
                            swap_back_max_gain=0.02)
    targets = {
        "taxable": {"USTOTAL": 0.6, "INTL": 0.3, "MUNI": 0.1},
        "taxable_2": {"USTOTAL": 0.7, "INTL": 0.3},
        "ira": {"BOND": 0.7, "REIT": 0.3},
    }
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": dates[[60, 200, 400, 600]],
                          "account": ["taxable", "taxable_2", "ira", "taxable"],
                          "amount": [20_000.0, 30_000.0, 5_000.0, -15_000.0]})
    result = run(market, household, strategy, targets, flows=flows, cost_bps=2.0,
                 contributions={"taxable": 300_000.0, "taxable_2": 100_000.0, "ira": 50_000.0},
                 twins=True)
    realized = result.ledger.realized()
    assert result.params[PARAM_HARVESTS] > 0
    assert (realized["gain"] < 0).any()
    assert realized["wash_disallowed"].sum() == 0.0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-5)
    twin = result.twins["non_managed"]
    assert twin.conventions["strategy"] == "calendar rebalancing (quarterly)"


def test_last_resort_sells_a_replaceable_position_and_keeps_the_exposure():
    """January's tax bill leaves cash short; every lot is at a loss and the account reinvests,
    so any partial sale could be washed (Pub 550: dividend reinvestment). The last resort sells
    a whole position: A, whose family can buy its substitute B at once, not the smaller Q that
    has no substitute (it could not be bought back for 31 days)."""
    dates = pd.bdate_range("2023-12-04", periods=40)
    rows = []
    for day, date in enumerate(dates):
        rows.append({"date": date, "ticker": "A", "close": 100.0 if day == 0 else 97.0})
        rows.append({"date": date, "ticker": "B", "close": 50.0})
        rows.append({"date": date, "ticker": "Q", "close": 100.0 if day == 0 else 97.0,
                     "lt_capital_gain": 5.0 if day == 9 else 0.0})
    market = Market.from_frame(pd.DataFrame(rows).fillna(0.0), tickers=["A", "B", "Q"],
                               source="hand-made")
    household = Household([Account("taxable", reinvest=True)])
    strategy = loss_harvest(["A", "B", "Q"], [("A", "B")], n_accounts=1, rebalance=None)
    result = simulate(market, household, strategy, {"taxable": {"A": 0.6, "Q": 0.4}},
                      contributions={"taxable": 10_000.0}, tax_payment="portfolio")
    trades = strategy_trades(result)
    january = trades[trades["date"] == pd.Timestamp("2024-01-01")]  # the first day of 2024
    assert january["asset"].tolist() == ["A", "B"]
    a_shares = trades["shares"].iloc[0]
    assert january["shares"].iloc[0] == pytest.approx(-a_shares)  # the whole position
    annual = result.ledger.annual_tax().set_index("year")
    tax = annual.loc[2023, "due"]
    assert tax > 40.0
    bought = january["shares"].iloc[1] * 50.0
    assert bought == pytest.approx(a_shares * 97.0 - tax, rel=0.005)
    assert (trades[trades["asset"] == "Q"]["shares"] > 0).all()  # Q is never sold
    realized = result.ledger.realized()
    assert realized["wash_disallowed"].sum() == 0.0
    assert realized["gain"].sum() == pytest.approx(-3.0 * a_shares)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_shortfall_sells_the_newest_lots_when_that_leaves_no_replacement():
    """Every lot is at a loss when January's tax is due and cash covers only part of it. The
    December distribution's cash bought more A and Q, replacements for any loss until mid
    January. A LIFO sale of at least those newest shares of one fund leaves no replacement
    behind (IRC §1091(a)): the strategy sells the smaller such sale, not a whole position."""
    dates = pd.bdate_range("2023-11-01", periods=60)
    rows = []
    for day, date in enumerate(dates):
        rows.append({"date": date, "ticker": "A", "close": 100.0 if day == 0 else 97.0})
        rows.append({"date": date, "ticker": "Q", "close": 100.0 if day == 0 else 97.0,
                     "lt_capital_gain": 20.0 if date == pd.Timestamp("2023-12-15") else 0.0})
    market = Market.from_frame(pd.DataFrame(rows).fillna(0.0), tickers=["A", "Q"],
                               source="hand-made")
    household = Household([Account("taxable", reinvest=False)])
    strategy = loss_harvest(["A", "Q"], [], n_accounts=1, rebalance=None)
    result = simulate(market, household, strategy, {"taxable": {"A": 0.6, "Q": 0.4}},
                      contributions={"taxable": 10_000.0}, tax_payment="portfolio")
    trades = strategy_trades(result)
    december = trades[trades["date"] == pd.Timestamp("2023-12-15")].set_index("asset")
    assert sorted(december.index) == ["A", "Q"] and (december["shares"] > 0).all()
    tax = result.ledger.annual_tax().set_index("year").loc[2023, "due"]
    first_day = list(market.pandas_dates).index(pd.Timestamp("2024-01-01"))
    cash_before = result.account_cash[first_day - 1, 0]
    assert tax > cash_before + 50.0
    short_shares = (tax - cash_before) / 0.999 / 97.0  # the cost allowance on top
    needed = {asset: max(short_shares, december.loc[asset, "shares"]) for asset in "AQ"}
    chosen = min(needed, key=needed.get)
    january = trades[trades["date"] == pd.Timestamp("2024-01-01")]
    assert january["asset"].tolist() == [chosen]
    assert january["lot_method"].tolist() == ["lifo"]
    sold = -january["shares"].iloc[0]
    assert sold == pytest.approx(needed[chosen], rel=1e-6)
    assert sold < 0.2 * trades[trades["asset"] == chosen]["shares"].iloc[0]  # most stays
    realized = result.ledger.realized()
    assert realized["wash_disallowed"].sum() == 0.0
    # the December shares cost 97: only older shares sold beyond them realize a $3 loss
    older = max(0.0, sold - december.loc[chosen, "shares"])
    assert realized["gain"].sum() == pytest.approx(-3.0 * older, abs=1e-9)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_harvest_skip_changes_nothing_on_a_synthetic_household():
    """The O(1) harvest skip (``strategies.harvest_scan``) is exact: the same trades as a run
    whose scan prices are forgotten every day (plain-Python decide), with three accounts."""
    import importlib

    module = importlib.import_module("strategies.loss_harvest")
    market = synthetic_market(seed=3, years=2.0)
    household = Household([Account("taxable"), Account("taxable_2", reinvest=False),
                           Account("ira", kind="tax_deferred")])
    strategy = loss_harvest(market.tickers, [("USTOTAL", "USLARGE")], n_accounts=3,
                            threshold=0.02, rebalance="quarterly", swap_back=True)
    targets = {"taxable": {"USTOTAL": 0.6, "INTL": 0.4}, "taxable_2": {"USTOTAL": 1.0},
               "ira": {"BOND": 1.0}}
    contributions = {"taxable": 300_000.0, "taxable_2": 100_000.0, "ira": 50_000.0}
    cached = run(market, household, strategy, targets, contributions=contributions)
    with harvest_scan_cache_disabled(module):
        plain = Strategy(strategy.name, loss_harvest_decide, strategy.params,
                         strategy.lot_method, strategy.max_orders, invests_flows=True)
        uncached = run(market, household, plain, targets, contributions=contributions)
    assert cached.params[PARAM_HARVESTS] > 0
    assert np.array_equal(cached.trades, uncached.trades)


def test_idle_test_skips_only_days_without_work():
    """``Strategy.idle`` (``loss_harvest_idle``) lets the day loop skip decide on days without
    work: the same trades, state and tax as calling decide every day (``idle=None``), jitted
    and as plain Python, on a banded, harvesting household with a reinvesting IRA."""
    import dataclasses

    from strategies.loss_harvest import loss_harvest_idle

    market = synthetic_market(seed=5, years=3.0)
    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred")])
    strategy = loss_harvest(market.tickers, [("USTOTAL", "USLARGE")], n_accounts=2,
                            threshold=0.02, rebalance="bands", band=0.05, swap_back=True)
    targets = {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "BOND": 0.2},
               "ira": {"BOND": 0.5, "REIT": 0.5}}
    contributions = {"taxable": 1_000_000.0, "ira": 300_000.0}
    skipping = run(market, household, strategy, targets, contributions=contributions)
    every_day = run(market, household, dataclasses.replace(strategy, idle=None), targets,
                    contributions=contributions)
    python = run(market, household, dataclasses.replace(
        strategy, decide=loss_harvest_decide, idle=loss_harvest_idle), targets,
        contributions=contributions)
    assert skipping.params[PARAM_HARVESTS] > 0
    for other in (every_day, python):
        assert np.array_equal(skipping.trades, other.trades)
        assert np.array_equal(skipping.params, other.params, equal_nan=True)
        assert skipping.summary() == other.summary()


def test_wash_blocked_harvests_skipped_until_the_block_ends_change_nothing():
    """A due harvest blocked by a wash-sale risk is not re-examined until the block can end
    (``harvest_blocked_until``): here the IRA reinvests BOND (blocked while it holds it) and
    the taxable account invests its distributions in its holders each month (their own newest
    lots block them for 30 days). The trades equal those of a run that re-examines every
    candidate every day (scan prices and blocks forgotten daily, plain-Python decide)."""
    import importlib

    module = importlib.import_module("strategies.loss_harvest")
    market = synthetic_market(seed=5, years=3.0)
    household = Household([Account("taxable", reinvest=False), Account("ira",
                                                                       kind="tax_deferred")])
    strategy = loss_harvest(market.tickers, [("USTOTAL", "USLARGE")], n_accounts=2,
                            threshold=0.02, rebalance="bands", band=0.05)
    targets = {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "BOND": 0.2},
               "ira": {"BOND": 0.5, "REIT": 0.5}}
    contributions = {"taxable": 1_000_000.0, "ira": 300_000.0}
    blocked_checks = []
    original = module.harvest_blocked_until_nb

    def counted(state, account, asset, day):
        blocked_checks.append(original(state, account, asset, day)[0])
        return original(state, account, asset, day)

    module.harvest_blocked_until_nb = counted
    try:
        cached = run(market, household, strategy, targets, contributions=contributions)
        with harvest_scan_cache_disabled(module):
            plain = Strategy(strategy.name, loss_harvest_decide, strategy.params,
                             strategy.lot_method, strategy.max_orders, invests_flows=True)
            uncached = run(market, household, plain, targets, contributions=contributions)
    finally:
        module.harvest_blocked_until_nb = original
    assert cached.params[PARAM_HARVESTS] > 0
    assert np.isfinite(blocked_checks).sum() > 0  # blocks were found (plain-Python run)
    assert np.array_equal(cached.trades, uncached.trades)


# A rallies 30% on day 5 (its family weight goes from 50% to 56.5%); B and C are flat.
RALLY = {"A": [100.0] * 5 + [130.0] * (N_DAYS - 5), "B": [50.0] * N_DAYS,
         "C": [20.0] * N_DAYS}


@pytest.mark.parametrize(("band", "band_relative", "rebalances"),
                         [(0.05, None, True), (0.10, None, False), (None, 0.10, True),
                          (0.10, 0.20, False), (0.10, 0.10, True)])
def test_drift_bands_rebalance_the_day_a_family_leaves_its_band(band, band_relative,
                                                                 rebalances):
    household = Household([Account("taxable")])
    strategy = loss_harvest(["A", "B", "C"], [("A", "B")], n_accounts=1, rebalance="bands",
                            band=band, band_relative=band_relative, min_trade=10.0)
    targets = {"taxable": {"A": 0.5, "C": 0.5}}
    result = run(hand_market(RALLY), household, strategy, targets,
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    later = trades[trades["date"] > DATES[0]]
    if not rebalances:  # 6.5 points of drift: inside ±10 points and ±20% of 50%
        assert later.empty
        return
    # 6.5 points > 5 points (or 10% of the 50% target): back to the targets on day 5
    assert later["date"].unique().tolist() == [DATES[5]]
    assert later["asset"].tolist() == ["A", "C"]
    assert later["shares"].iloc[0] < 0 < later["shares"].iloc[1]
    daily = result.daily()
    value_a = result.ledger.lots().query("asset == 'A'")["shares"].sum() * 130.0
    total = daily["value_taxable"].iloc[-1] + daily["cash_taxable"].iloc[-1]
    assert value_a / total == pytest.approx(0.5, abs=0.002)  # the cost allowance stays in cash
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_drift_band_harvester_has_a_drift_band_twin_and_checks_its_arguments():
    strategy = loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance="bands",
                            band=0.03)
    assert "drift bands ±3%" in strategy.name
    assert strategy.twin.decide.__name__ == "drift_bands_decide"
    assert "no rebalancing" in loss_harvest(["A", "B"], [("A", "B")], n_accounts=1,
                                            rebalance="none").name
    with pytest.raises(ValueError, match="needs band or band_relative"):
        loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance="bands", band=None)
    with pytest.raises(ValueError, match="band must be a number >= 0"):
        loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance="bands", band=-0.1)
    with pytest.raises(ValueError, match="rebalance must be one of"):
        loss_harvest(["A", "B"], [("A", "B")], n_accounts=1, rebalance="weekly")
    with pytest.raises(ValueError, match="at most 63 accounts.*n_accounts=64"):
        loss_harvest(["A", "B"], [("A", "B")], n_accounts=64)
    assert loss_harvest(["A", "B"], [("A", "B")], n_accounts=63).params.size > 0


GLIDE = {"taxable": {"X": 0.5, "Y": 0.5}}
GLIDE_SCHEDULE = {"2024-03-04": GLIDE, "2024-04-15": {"taxable": {"X": 0.8, "Y": 0.2}}}


def glide_run(price, reinvest, rebalance):
    """X and Y bought at 100 on day 0, both at ``price`` from day 20 on; the targets move
    from 50/50 to 80/20 on 2024-04-15 (threshold 50%: no harvest)."""
    closes = [100.0] * 20 + [price] * (N_DAYS - 20)
    market = hand_market({"X": closes, "Y": closes})
    household = Household([Account("taxable", reinvest=reinvest)])
    strategy = loss_harvest(market.tickers, [], 1, rebalance=rebalance, threshold=0.5)
    return run(market, household, strategy, GLIDE_SCHEDULE,
               contributions={"taxable": 100_000.0})


def weight_on(result, asset, day, price):
    trades = result.trades_frame()
    shares = trades[trades["date"] <= day].groupby("asset")["shares"].sum()
    cash = result.account_cash[DATES.get_loc(day), 0]
    return shares.get(asset, 0.0) * price / (shares.sum() * price + cash)


def assert_no_wash(result):
    realized = result.ledger.realized()
    assert realized["wash_disallowed"].abs().sum() == 0.0
    assert realized["wash_lost"].abs().sum() == 0.0


@pytest.mark.parametrize("rebalance, day", [("bands", "2024-04-15"), ("monthly", "2024-05-01")])
def test_a_glide_path_at_cost_moves_in_a_reinvesting_account(rebalance, day):
    """Audit 4b: the lots sit at their basis (no cost, flat prices). A partial sale realizes no
    loss, so a dividend reinvested later cannot wash it: the target change is made on its day
    (it used to wait for ever, the 1% loss margin counting the lots as losses)."""
    day = pd.Timestamp(day)
    for reinvest in (True, False):
        result = glide_run(100.0, reinvest, rebalance)
        trades = strategy_trades(result)
        assert trades[trades["date"] > DATES[0]]["date"].min() == day
        assert weight_on(result, "X", day, 100.0) == pytest.approx(0.8, abs=1e-3)
        assert weight_on(result, "Y", day, 100.0) == pytest.approx(0.2, abs=1e-3)
        assert result.ledger.realized()["gain"].abs().sum() == pytest.approx(0.0, abs=1e-6)
        assert_no_wash(result)


@pytest.mark.parametrize("rebalance, day", [("bands", "2024-04-15"), ("monthly", "2024-05-01")])
def test_a_glide_path_at_a_loss_sells_the_whole_position_in_a_reinvesting_account(rebalance,
                                                                                  day):
    """Audit 4b at a real loss: X and Y fell 10% (below the 50% harvest threshold). A partial
    sale of Y could be washed by a dividend reinvested in the next 30 days (Pub 550), so the
    whole of Y is sold (its loss realized in full, nothing left to reinvest into) and X is
    bought to 80% on the day; Y's 20% waits in cash (no substitute) and is bought back on the
    first day more than 30 days after the sale."""
    day = pd.Timestamp(day)
    result = glide_run(90.0, True, rebalance)
    trades = strategy_trades(result)
    sales = trades[trades["shares"] < 0]
    assert sales["date"].tolist() == [day] and sales["asset"].tolist() == ["Y"]
    held = 100_000.0 / 1.001 / 2 / 100.0
    assert sales["shares"].iloc[0] == pytest.approx(-held)
    assert weight_on(result, "X", day, 90.0) == pytest.approx(0.8, abs=2e-3)
    assert weight_on(result, "Y", day, 90.0) == 0.0
    realized = result.ledger.realized()
    assert realized["gain"].sum() == pytest.approx(-10.0 * held)
    assert_no_wash(result)
    back = trades[(trades["asset"] == "Y") & (trades["shares"] > 0) & (trades["date"] > day)]
    if rebalance == "bands":  # the window ends 2024-05-15 (30 days): bought back on the 16th
        assert back["date"].min() == pd.Timestamp("2024-05-16")
        assert weight_on(result, "Y", pd.Timestamp("2024-05-16"), 90.0) == pytest.approx(
            0.2, abs=2e-3)
    else:  # inside the run, the window outlasts May: Y waits in cash
        assert back.empty


def test_a_rebalancing_loss_sale_waits_while_another_reinvesting_account_holds_the_group():
    """No sale at a loss can escape a wash while an IRA reinvests the same fund: the taxable
    account's glide-path sale of Y at a 10% loss waits (documented; the IRA is out of the
    strategy's reach), and nothing is washed."""
    closes = [100.0] * 20 + [90.0] * (N_DAYS - 20)
    market = hand_market({"X": closes, "Y": closes})
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    strategy = loss_harvest(market.tickers, [], 2, rebalance="bands", threshold=0.5)
    schedule = {"2024-03-04": {"taxable": {"X": 0.5, "Y": 0.5}, "ira": {"Y": 1.0}},
                "2024-04-15": {"taxable": {"X": 0.8, "Y": 0.2}, "ira": {"Y": 1.0}}}
    result = run(market, household, strategy, schedule,
                 contributions={"taxable": 100_000.0, "ira": 10_000.0})
    trades = strategy_trades(result)
    assert not (trades["shares"] < 0).any()
    assert_no_wash(result)


def test_a_cash_need_on_a_rebalance_day_is_sold_once():
    """A withdrawal on the first trading day of a month (a monthly rebalance): the strategy
    raises it, and the rebalance, measuring the families after that sale, does not sell it a
    second time (the surplus used to sit in cash overnight and be bought back the next day)."""
    rising = {"A": [100.0 * 1.001 ** i for i in range(N_DAYS)], "B": [50.0] * N_DAYS,
              "C": [40.0 * 1.0005 ** i for i in range(N_DAYS)]}
    household = Household([Account("taxable")])
    strategy = loss_harvest(["A", "B", "C"], [("A", "B")], n_accounts=1, rebalance="monthly")
    april = DATES.get_loc(pd.Timestamp("2024-04-01"))
    flows = pd.DataFrame({"date": [DATES[april]], "account": ["taxable"],
                          "amount": [-2_000.0]})
    result = run(hand_market(rising), household, strategy, {"taxable": {"A": 0.5, "C": 0.5}},
                 contributions={"taxable": 10_000.0}, flows=flows)
    trades = result.trades_frame()
    day = trades[trades["date"] == DATES[april]]
    sold = -(day["shares"].clip(upper=0.0) * day["price"]).sum()
    assert 1_950.0 < sold < 2_020.0  # the need less the cash on hand, once (not about 4,000)
    assert abs(result.daily()["cash_taxable"].iloc[april]) < 25.0
    assert trades[trades["date"] == DATES[april + 1]].empty  # nothing bought back
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_a_small_cash_need_does_not_sell_a_large_position_without_a_substitute():
    """A $2,282 tax bill once sold the whole $185k INTL position (no substitute: its cash sat
    31 days, 19% of the account): a last-resort whole sale without a substitute is now at
    most WHOLE_SALE_MAX_MULTIPLE times the need, and the engine sells the rest pro rata."""
    market = synthetic_market(seed=2, years=20)
    dates = market.pandas_dates

    def yearly(account, amount, month, first):
        rows = []
        for year in sorted(set(dates.year))[first:]:
            days = dates[(dates.year == year) & (dates.month >= month)]
            if len(days):
                rows.append({"date": days[0], "account": account, "amount": amount})
        return rows

    flows = pd.DataFrame(yearly("taxable", 50_000.0, 2, 1) + yearly("taxable", -80_000.0, 7, 12)
                         + yearly("ira", 10_000.0, 3, 1))
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    targets = {"taxable": {"USTOTAL": 0.6, "INTL": 0.2, "MUNI": 0.2},
               "ira": {"BOND": 0.7, "REIT": 0.3}}
    strategy = loss_harvest(list(market.tickers), [("USTOTAL", "USLARGE")], n_accounts=2)
    result = simulate(market, household, strategy, targets,
                      contributions={"taxable": 1e6, "ira": 5e5}, flows=flows, cost_bps=2.0,
                      tax_payment="portfolio", daily_liquidation=False)
    daily = result.daily()
    cash_share = daily["cash_taxable"] / (daily["value_taxable"] + daily["cash_taxable"])
    assert cash_share.max() < 0.01
    assert result.ledger.realized()["wash_lost"].sum() == 0.0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-4)


@pytest.mark.parametrize("declared_daily", [False, True], ids=["monthly", "daily"])
def test_a_young_municipal_fund_loss_counts_only_beyond_its_exempt_interest(declared_daily):
    # MUNI pays $2 a share of exempt interest on day 1 (kept as cash, which buys a little more
    # MUNI that day) and falls from 100 to 94 on day 3: a 6% loss on the first lot, but IRC
    # §852(b)(4)(B) would disallow $2 of the $6 a share (held under six months), so the loss a
    # sale would realize is 4% of its basis, under the 5% threshold, and the second lot's $12.6
    # loss is under the $50 minimum: no harvest. A fund declaring its exempt-interest dividends
    # daily is outside the rule (§852(b)(4)(E)(ii)): the full 6% counts and MUNI is harvested.
    closes = {"MUNI": [100.0] * 3 + [94.0] * (N_DAYS - 3), "SUB": [50.0] * N_DAYS}
    rows = [{"date": date, "ticker": ticker, "close": close,
             "interest": 2.0 if (ticker == "MUNI" and day == 1) else 0.0}
            for ticker, prices in closes.items()
            for day, (date, close) in enumerate(zip(DATES, prices, strict=True))]
    market = Market.from_frame(pd.DataFrame(rows), tickers=list(closes), source="hand-made")
    market = market.with_metadata({
        name: {"tax_character": "municipal_bond", "exempt_interest_daily": declared_daily}
        for name in closes})
    household = Household([Account("taxable", reinvest=False)])
    strategy = loss_harvest(["MUNI", "SUB"], [("MUNI", "SUB")], n_accounts=1, rebalance=None,
                            threshold_dollars=50.0)
    result = run(market, household, strategy, {"taxable": {"MUNI": 1.0}},
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    sales = trades[trades["shares"] < 0.0]
    if declared_daily:
        assert sales["asset"].tolist() == ["MUNI"]
        assert sales["date"].tolist() == [DATES[3]]
        assert trades.loc[trades["date"] == DATES[3], "asset"].tolist() == ["MUNI", "SUB"]
        assert result.ledger.realized()["gain"].sum() == pytest.approx(6.0 * sales["shares"].sum())
    else:
        assert sales.empty
        assert trades["asset"].unique().tolist() == ["MUNI"]


def test_the_exempt_interest_rule_counts_only_in_taxable_accounts():
    # The same young municipal-fund lot, at a $6 loss a share after $2 a share of exempt
    # interest, in a taxable account and in an IRA: IRC §852(b)(4)(B) takes $2 a share of the
    # taxable loss; in the IRA no loss is recognized, the ledger marks no lot for the rule and
    # the harvester's measure keeps the whole loss.
    from strategies.loss_harvest import position_loss_nb
    from taxsim import Ledger
    from taxsim.dates import to_day

    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred", reinvest=False)])
    ledger = Ledger(household, ["MUNI"])
    for account in ("taxable", "ira"):
        ledger.buy(account, "MUNI", 100, 100.0, "2025-01-10")
    ledger.distribute("MUNI", "2025-02-28", 100.0, exempt_interest=2.0)
    day = to_day("2025-04-01")
    taxable = position_loss_nb(ledger._state, 0, 0, 94.0, day, 0.05, 0.0)
    ira = position_loss_nb(ledger._state, 1, 0, 94.0, day, 0.05, 0.0)
    assert taxable[1] == pytest.approx(400.0) and not taxable[4]  # 4% of basis < 5%
    assert ira[1] == pytest.approx(600.0) and ira[4]


def test_a_trim_that_could_be_washed_sells_the_gain_lots_with_the_least_tax():
    """A reinvesting account holds X in three lots: bought at 50 (day 0), 80 (day 10) and 110
    (day 20). On 2024-04-15 (X at 100) the target halves X. A partial sale could be washed by a
    dividend reinvested later (Pub 550), and a lot is at a loss, so the trim sells gain lots
    only (``gains_first``): first the 80 lot ($20 a share of short-term gain, 0.0816 of tax a
    dollar), then the 50 lot ($50 a share, 0.204). FIFO used to take the 50 lot alone."""
    closes = [50.0] * 10 + [80.0] * 10 + [110.0] * 10 + [100.0] * (N_DAYS - 30)
    market = hand_market({"X": closes, "Y": [100.0] * N_DAYS})
    household = Household([Account("taxable", reinvest=True)])
    strategy = loss_harvest(market.tickers, [], 1, rebalance="bands", threshold=0.5)
    flows = pd.DataFrame({"date": [DATES[10], DATES[20]], "account": ["taxable"] * 2,
                          "amount": [10_000.0, 10_000.0]})
    schedule = {"2024-03-04": {"taxable": {"X": 1.0}},
                "2024-04-15": {"taxable": {"X": 0.5, "Y": 0.5}}}
    result = run(market, household, strategy, schedule, contributions={"taxable": 100_000.0},
                 flows=flows)
    trades = strategy_trades(result)
    sales = trades[trades["shares"] < 0]
    assert sales["date"].tolist() == [pd.Timestamp("2024-04-15")]
    assert sales["lot_method"].tolist() == ["gains_first"]
    # the footnote says so beside the strategy's own method (principle 5)
    stated = "gains_first 1 sale (gains with the least tax first, then the smallest losses)"
    assert result.conventions["lot_method"] == "tax_optimal"
    assert result.conventions["sale_lot_methods"] == stated
    assert f"Sales by lot method: {stated}" in footnote_text(conventions_of(result))
    realized = result.ledger.realized()
    assert (realized["basis"] / realized["shares"]).tolist() == pytest.approx([80.0, 50.0])
    assert (realized["gain"] > 0.0).all()  # no loss realized, so none to wash
    bought_at_80 = trades[trades["date"] == DATES[10]]["shares"].sum()
    assert realized["shares"].iloc[0] == pytest.approx(bought_at_80)  # the whole 80 lot
    lots = result.ledger.lots()
    assert ((lots["asset"] == "X") & (lots["basis"] / lots["shares"] > 109.0)).sum() == 1
    assert_no_wash(result)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)
