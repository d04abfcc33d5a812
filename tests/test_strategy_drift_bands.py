"""Drift-band rebalancing on hand-made markets: breach days, band rules, per-asset options,
edge vs target, cash-flow-only, conservation, plain Python vs numba, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import drift_bands
from strategies.drift_bands import (
    PARAM_PER_ASSET,
    drift_band_orders,
    drift_band_orders_nb,
    drift_bands_decide,
)
from taxsim import Account, Household, Market
from taxsim.engine import Strategy, simulate
from taxsim.market.synthetic import synthetic_market
from tests.simulation_checks import conservation_gap

START = "2024-03-04"  # a Monday; the hand-made markets stay inside 2024


def hand_market(closes: dict[str, list[float]], dividends: dict[str, list[float]] | None = None
                ) -> Market:
    """A market of consecutive business days with the given closes (dollars per share)."""
    n_days = len(next(iter(closes.values())))
    dates = pd.bdate_range(START, periods=n_days)
    rows = []
    for ticker, prices in closes.items():
        paid = (dividends or {}).get(ticker, [0.0] * n_days)
        for date, close, dividend in zip(dates, prices, paid, strict=True):
            rows.append({"date": date, "ticker": ticker, "close": close, "dividend": dividend})
    return Market.from_frame(pd.DataFrame(rows), tickers=list(closes), source="hand-made")


def strategy_trades(result) -> pd.DataFrame:
    trades = result.trades_frame()
    return trades[trades["reason"] == "strategy"]


def weights_on(result, day_index: int, account: str) -> dict[str, float]:
    """Weights (fractions of the account's value incl. cash) at a day's close.

    Holdings are rebuilt from the trade record, so only for markets without reinvested
    distributions or splits.
    """
    market = result.market
    trades = result.trades_frame()
    until = market.pandas_dates[day_index]
    mine = trades[(trades["account"] == account) & (trades["date"] <= until)]
    shares = mine.groupby("asset")["shares"].sum()
    daily = result.daily().iloc[day_index]
    total = daily[f"value_{account}"] + daily[f"cash_{account}"]
    return {
        ticker: float(shares.get(ticker, 0.0) * market.close[day_index, i] / total)
        for i, ticker in enumerate(market.tickers)
    }


# Two assets at 50/50; A drifts up: weights of A 0.5, 0.5098, 0.5238, 0.5349, 0.5556, ...
TWO_ASSETS = {"A": [100.0, 104.0, 110.0, 115.0, 125.0, 120.0],
              "B": [100.0] * 6}
FIRST_BREACH = 4  # 6250 / 11250 = 0.5556 > 0.5 + 0.05

# Three assets at 20/40/40; A is volatile. Its weight: 0.2, 0.2157, 0.2593 (+0.059),
# 0.2661, 0.2727, 0.2982 (+0.098), 0.3043; B and C stay within 0.05 of 0.4 through day 5.
TIERED = {"A": [100.0, 110.0, 140.0, 145.0, 150.0, 170.0, 175.0],
          "B": [100.0] * 7,
          "C": [100.0] * 7}
TIERED_TARGETS = {"taxable": {"A": 0.2, "B": 0.4, "C": 0.4}}


def run(market, strategy, targets, **kwargs):
    household = Household([Account(next(iter(targets)))])
    contributions = kwargs.pop("contributions", {next(iter(targets)): 10_000.0})
    return simulate(market, household, strategy, targets, contributions=contributions, **kwargs)


@pytest.mark.parametrize("rebalance_to, expected_a", [("target", 0.5), ("edge", 0.55)])
def test_no_trade_inside_the_band_then_a_trade_on_the_first_breach_day(rebalance_to, expected_a):
    market = hand_market(TWO_ASSETS)
    strategy = drift_bands(absolute=0.05, relative=None, rebalance_to=rebalance_to)
    result = run(market, strategy, {"taxable": {"A": 0.5, "B": 0.5}})
    trades = strategy_trades(result)
    assert set(trades["date"]) == {market.pandas_dates[FIRST_BREACH]}
    sold = trades.set_index("asset")["shares"]
    assert sold["A"] < 0 < sold["B"]
    for day in range(FIRST_BREACH):  # inside the band: untouched since the first day
        assert weights_on(result, day, "taxable")["A"] == pytest.approx(
            50 * TWO_ASSETS["A"][day] / (50 * TWO_ASSETS["A"][day] + 5000), abs=1e-12
        )
    weights = weights_on(result, FIRST_BREACH, "taxable")
    assert weights["A"] == pytest.approx(expected_a, abs=1e-9)
    assert weights["B"] == pytest.approx(1.0 - expected_a, abs=1e-9)
    assert result.daily()["cash_taxable"].iloc[FIRST_BREACH] == pytest.approx(0.0, abs=1e-9)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_edge_with_account_scope_spreads_the_freed_cash_toward_the_targets():
    market = hand_market(TIERED)
    strategy = drift_bands(absolute=0.05, relative=None, rebalance_to="edge")
    result = run(market, strategy, TIERED_TARGETS)
    trades = strategy_trades(result)
    assert trades["date"].min() == market.pandas_dates[2]
    weights = weights_on(result, 2, "taxable")
    assert weights["A"] == pytest.approx(0.25, abs=1e-9)  # back to the upper edge only
    # B and C were in band (0.3704): the freed 0.0093 of value buys them equally
    assert weights["B"] == pytest.approx(0.375, abs=1e-9)
    assert weights["C"] == pytest.approx(0.375, abs=1e-9)
    assert result.daily()["cash_taxable"].iloc[2] == pytest.approx(0.0, abs=1e-9)


def test_breached_scope_trades_only_the_breached_asset_and_keeps_the_cash():
    market = hand_market(TIERED)
    strategy = drift_bands(absolute=0.05, relative=None, scope="breached")
    result = run(market, strategy, TIERED_TARGETS)
    on_day_2 = strategy_trades(result)
    on_day_2 = on_day_2[on_day_2["date"] == market.pandas_dates[2]]
    assert on_day_2["asset"].tolist() == ["A"]
    weights = weights_on(result, 2, "taxable")
    assert weights["A"] == pytest.approx(0.2, abs=1e-9)
    assert result.daily()["cash_taxable"].iloc[2] == pytest.approx(10_800 * 0.0593, rel=1e-2)


def test_breached_scope_pays_an_underweight_breach_by_selling_the_overweight_assets():
    # 10,000 at 20/40/40, no cash. Day 2: A halves, 1,000 of 9,000 (weight 0.111, 8.9 points
    # under): back to 0.2 is 1,800, a buy of 800 that the cash cannot pay. B and C are 400
    # over their targets (3,600 each): each sells 400, and all three end on target. (Before,
    # the buy was cut to the cash, nothing, and the breach stayed for good.)
    market = hand_market({"A": [100.0, 100.0, 50.0, 50.0], "B": [100.0] * 4,
                          "C": [100.0] * 4})
    strategy = drift_bands(absolute=0.05, relative=None, scope="breached", min_trade=0.0)
    result = run(market, strategy, TIERED_TARGETS)
    trades = strategy_trades(result)
    on_day_2 = trades[trades["date"] == market.pandas_dates[2]]
    dollars = (on_day_2["shares"] * on_day_2["price"]).groupby(on_day_2["asset"],
                                                               observed=True).sum()
    assert dollars.to_dict() == pytest.approx({"A": 800.0, "B": -400.0, "C": -400.0})
    assert weights_on(result, 2, "taxable") == pytest.approx({"A": 0.2, "B": 0.4, "C": 0.4},
                                                            abs=1e-12)
    assert len(trades[trades["date"] > market.pandas_dates[2]]) == 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_relative_and_absolute_thresholds_differ_on_a_small_weight_asset():
    # S is 5% of the account; on day 2 it rises 45%: weight 725 / 10225 = 0.0709 (+2.1 pts).
    market = hand_market({"S": [100.0, 100.0, 145.0, 145.0],
                          "B": [100.0] * 4, "C": [100.0] * 4})
    targets = {"taxable": {"S": 0.05, "B": 0.475, "C": 0.475}}
    relative = run(market, drift_bands(absolute=None, relative=0.25), targets)
    absolute = run(market, drift_bands(absolute=0.05, relative=None), targets)
    both = run(market, drift_bands(absolute=0.05, relative=0.25), targets)
    assert strategy_trades(absolute).empty  # ±5 points: no breach
    for result in (relative, both):  # ±25% of 5% = ±1.25 points: breached (either rule)
        trades = strategy_trades(result)
        assert set(trades["date"]) == {market.pandas_dates[2]}
        assert weights_on(result, 2, "taxable")["S"] == pytest.approx(0.05, abs=1e-9)
    assert weights_on(absolute, 3, "taxable")["S"] == pytest.approx(725 / 10_225, abs=1e-12)


def test_a_per_asset_tolerance_overrides_the_default():
    market = hand_market(TIERED)
    default = run(market, drift_bands(absolute=0.05, relative=None), TIERED_TARGETS)
    wide = run(market, drift_bands(absolute=0.05, relative=None, tickers=market.tickers,
                                   tolerances={"A": 0.08}), TIERED_TARGETS)
    assert strategy_trades(default)["date"].min() == market.pandas_dates[2]
    # A's band is ±8 points: 0.2727 on day 4 is inside, 0.2982 on day 5 is out
    assert strategy_trades(wide)["date"].min() == market.pandas_dates[5]
    assert weights_on(wide, 5, "taxable")["A"] == pytest.approx(0.2, abs=1e-9)


def test_a_per_asset_check_frequency_delays_detection_to_its_check_day():
    market = hand_market(TIERED)
    tiered = drift_bands(absolute=0.05, relative=None, tickers=market.tickers,
                         check_every={"A": 3})
    result = run(market, tiered, TIERED_TARGETS)
    # A breaches on day 2 but is checked on days 0, 3, 6 (B and C, daily, stay in band)
    trades = strategy_trades(result)
    assert trades["date"].min() == market.pandas_dates[3]
    assert weights_on(result, 3, "taxable")["A"] == pytest.approx(0.2, abs=1e-9)


def test_cash_flow_only_never_sells_and_moves_weights_toward_the_targets():
    # Day 0: the 10,000 contribution buys 50 A and 50 B (the strategy invests flows itself).
    # Day 1: A +30% (weight 0.565, out of band) but no cash; day 2: A pays $20 a share, kept
    # as cash (1,000); day 3: a 2,000 contribution; day 4: A +23%.
    closes = {"A": [100.0, 130.0, 130.0, 130.0, 160.0, 160.0], "B": [100.0] * 6}
    market = hand_market(closes, dividends={"A": [0.0, 0.0, 20.0, 0.0, 0.0, 0.0]})
    household = Household([Account("ira", kind="tax_deferred", reinvest=False)])
    targets = {"ira": {"A": 0.5, "B": 0.5}}
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": [dates[3]], "account": ["ira"], "amount": [2_000.0]})
    results = {
        cash_only: simulate(market, household,
                            drift_bands(absolute=0.05, relative=None, cash_flow_only=cash_only),
                            targets, contributions={"ira": 10_000.0}, flows=flows)
        for cash_only in (True, False)
    }
    selling = strategy_trades(results[False])
    assert (selling["shares"] < 0).any()  # the ordinary rule sells A on day 1
    result = results[True]
    trades = strategy_trades(result)
    assert (trades["shares"] > 0).all()
    # day 0: the contribution at the targets; day 2: the dividend cash buys the underweight B
    # (room 1,250 below target); day 3: the contribution fills both shortfalls (A 750, B
    # 1,250 of 14,500 / 2): nothing on the breach days 1 and 4 (no cash, no sells)
    assert trades["date"].tolist() == [dates[0], dates[0], dates[2], dates[3], dates[3]]
    assert trades["asset"].tolist() == ["A", "B", "B", "A", "B"]
    np.testing.assert_allclose(trades["shares"], [50.0, 50.0, 10.0, 750.0 / 130.0, 12.5],
                               rtol=1e-12)
    daily = result.daily()
    assert (daily["cash_ira"] >= -1e-9).all()
    assert (result.trades_frame()["reason"] == "strategy").all()  # the engine invests nothing

    def drift(day: int) -> float:
        weights = weights_on(result, day, "ira")
        return abs(weights["A"] - 0.5) + abs(weights["B"] - 0.5)

    assert drift(1) == pytest.approx(2 * (6500 / 11500 - 0.5))
    assert drift(2) < drift(1)  # the dividend cash bought B
    assert drift(3) == pytest.approx(0.0, abs=1e-12)  # the contribution filled the shortfalls
    assert weights_on(result, 3, "ira")["A"] == pytest.approx(0.5, abs=1e-12)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_cash_flow_only_a_contribution_fills_the_underweight_asset_first():
    # X rises to 125 on day 5 (62,500 against Y's 50,000, out of its band); 12,500 arrives on
    # day 10: all of it buys Y (125 shares), nothing buys X, and the account is at 50/50.
    n_days = 20
    closes = {"X": [100.0] * 5 + [125.0] * (n_days - 5), "Y": [100.0] * n_days}
    market = hand_market(closes)
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": [dates[10]], "account": ["taxable"], "amount": [12_500.0]})
    result = run(market, drift_bands(0.05, None, cash_flow_only=True),
                 {"taxable": {"X": 0.5, "Y": 0.5}}, contributions={"taxable": 100_000.0},
                 flows=flows)
    trades = result.trades_frame()
    assert (trades["shares"] > 0).all()
    on_day_10 = trades[trades["date"] == dates[10]]
    assert on_day_10["asset"].tolist() == ["Y"]
    assert on_day_10["shares"].iloc[0] == 125.0
    assert set(trades["date"]) == {dates[0], dates[10]}
    assert weights_on(result, 10, "taxable") == pytest.approx({"X": 0.5, "Y": 0.5}, abs=1e-12)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_cash_flow_only_a_withdrawal_sells_the_overweight_asset_with_tax_optimal_lots():
    # Day 0: 50,000 each of X and Y at 100. Day 2: X 120, Y 150; 15,000 contributed buys
    # 125 X at 120 (X 75,000, Y 75,000). Day 4: X 150 (93,750). Day 5: 18,750 withdrawn: the
    # account (150,000) is back at target by selling 125 X, the overweight asset, Y untouched.
    # Tax-optimal lots sell the day-2 lot (basis 120: gain 3,750); the non-managed twin sells
    # FIFO (basis 100: gain 6,250).
    closes = {"X": [100.0, 100.0, 120.0, 120.0] + [150.0] * 4,
              "Y": [100.0, 100.0] + [150.0] * 6}
    market = hand_market(closes)
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": [dates[2], dates[5]], "account": ["taxable", "taxable"],
                          "amount": [15_000.0, -18_750.0]})
    strategy = drift_bands(0.05, None, cash_flow_only=True)
    assert strategy.invests_flows and strategy.withdrawal_lot_method == "tax_optimal"
    result = run(market, strategy, {"taxable": {"X": 0.5, "Y": 0.5}},
                 contributions={"taxable": 100_000.0}, flows=flows, twins=True)
    for outcome, method, gain in ((result, "tax_optimal", 3_750.0),
                                  (result.twins["non_managed"], "fifo", 6_250.0)):
        trades = outcome.trades_frame()
        on_day_2 = trades[trades["date"] == dates[2]]
        assert on_day_2["asset"].tolist() == ["X"] and on_day_2["shares"].iloc[0] == 125.0
        on_day_5 = trades[trades["date"] == dates[5]]
        assert on_day_5["asset"].tolist() == ["X"]
        assert on_day_5["reason"].tolist() == ["strategy"]  # nothing left for the engine
        assert on_day_5["shares"].iloc[0] == pytest.approx(-125.0, rel=1e-12)
        assert on_day_5["lot_method"].tolist() == [method]
        realized = outcome.ledger.realized()
        assert realized["gain"].sum() == pytest.approx(gain, rel=1e-12)
        assert outcome.daily()["cash_taxable"].iloc[5] == pytest.approx(0.0, abs=1e-9)
        assert weights_on(outcome, 5, "taxable") == pytest.approx({"X": 0.5, "Y": 0.5},
                                                                  abs=1e-12)
        assert conservation_gap(outcome) == pytest.approx(0.0, abs=1e-8)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market(seed=5, years=2.0)


@pytest.mark.parametrize(
    "options",
    [
        {"rebalance_to": "edge", "cash_reserve": 0.002},
        {"scope": "breached", "relative": None, "absolute": 0.03},
        {"cash_flow_only": True, "absolute": 0.02},
        {"per_asset": True, "lot_method": "hifo"},
    ],
)
def test_conservation_on_a_synthetic_market(synthetic, options):
    options = dict(options)
    if options.pop("per_asset", False):
        options.update(tickers=synthetic.tickers, tolerances={"REIT": 0.02},
                       check_every={"USTOTAL": 5, "BOND": 21})
    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred")])
    targets = {"taxable": {"USTOTAL": 0.5, "MUNI": 0.3, "INTL": 0.2},
               "ira": {"BOND": 0.6, "REIT": 0.4}}
    dates = synthetic.pandas_dates
    flows = pd.DataFrame({"date": [dates[100], dates[300]], "account": ["taxable", "ira"],
                          "amount": [40_000.0, -30_000.0]})
    result = simulate(synthetic, household, drift_bands(**options), targets,
                      contributions={"taxable": 300_000.0, "ira": 100_000.0}, flows=flows,
                      cost_bps=2.0, cost_per_trade=1.0, advisory_fee_bps=25.0)
    assert len(strategy_trades(result)) > 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-5)
    if options.get("cash_flow_only"):
        # no sale to rebalance: an account sells only to raise negative cash (the withdrawal,
        # the year's tax, fees and costs), never buying the same day nor raising more than it
        # was short (the cash at the close is at most zero)
        trades = strategy_trades(result)
        daily = result.daily()
        sales = trades[trades["shares"] < 0]
        assert len(sales) > 0
        for (date, account), _ in sales.groupby(["date", "account"], observed=True):
            same_day = trades[(trades["date"] == date) & (trades["account"] == account)]
            assert (same_day["shares"] < 0).all()
            assert daily.loc[date, f"cash_{account}"] <= 1e-6
        ira_sales = sales[sales["account"] == "ira"]
        assert (ira_sales["date"] == dates[300]).any()  # the 30,000 withdrawal


def test_plain_python_decide_gives_the_same_trades_as_the_jitted_one():
    market = hand_market(TIERED)
    jitted = drift_bands(absolute=0.04, relative=0.3, tickers=market.tickers,
                         tolerances={"C": 0.03}, check_every={"A": 2},
                         rebalance_to="edge", cash_reserve=0.001)
    plain = Strategy("drift bands (python)", drift_bands_decide, jitted.params)
    results = [run(market, strategy, TIERED_TARGETS, cost_bps=5.0) for strategy in (jitted, plain)]
    assert len(strategy_trades(results[0])) > 0
    np.testing.assert_array_equal(results[0].trades, results[1].trades)
    np.testing.assert_array_equal(results[0].daily()["total_value"],
                                  results[1].daily()["total_value"])


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"scope": "breached"},
        {"rebalance_to": "edge", "cash_reserve": 0.01},
        {"cash_flow_only": True},
        {"absolute": None, "relative": 0.1, "scope": "breached", "rebalance_to": "edge"},
    ],
)
def test_the_account_rule_is_the_same_in_python_and_numba(options):
    options = dict(options)
    generator = np.random.default_rng(3)
    tickers = ["A", "B", "C", "D"]
    params = drift_bands(absolute=options.pop("absolute", 0.03), tickers=tickers,
                         tolerances={"D": 0.01}, check_every={"B": 2}, **options).params
    for _ in range(40):
        prices = generator.uniform(10.0, 200.0, 4)
        prices[3] = np.nan if generator.random() < 0.2 else prices[3]
        holdings = generator.uniform(0.0, 50.0, (2, 4))
        cash = generator.uniform(-100.0, 2_000.0, 2)
        targets = np.array([[0.1, 0.3, 0.4, 0.2], [0.5, 0.0, 0.5, 0.0]])
        day_index = int(generator.integers(0, 10))
        results = []
        for rule in (drift_band_orders, drift_band_orders_nb):
            orders = np.zeros((16, 4))
            n_orders = 0
            for account in range(2):
                n_orders = rule(day_index, prices, holdings, cash, targets, account, params,
                                orders, n_orders)
            results.append(orders[:n_orders])
        np.testing.assert_array_equal(results[0], results[1])


def test_a_breach_with_nothing_to_trade_and_cash_below_the_reserve_writes_no_order():
    # A is 10 points over target, but the trade is under min_trade; the account is overdrawn
    params = drift_bands(absolute=0.06, relative=None, min_trade=1e6).params
    orders = np.zeros((8, 4))
    for rule in (drift_band_orders, drift_band_orders_nb):
        n_orders = rule(0, np.array([100.0, 100.0, 100.0]), np.array([[30.0, 35.0, 35.0]]),
                        np.array([-5.0]), np.array([[0.2, 0.4, 0.4]]), 0, params, orders, 0)
        assert n_orders == 0


def test_per_asset_options_for_another_market_are_refused_at_run_time():
    market = hand_market(TWO_ASSETS)
    strategy = drift_bands(tickers=["A", "B", "C"], check_every={"C": 2})
    with pytest.raises(ValueError, match="do not match the market's assets"):
        run(market, strategy, {"taxable": {"A": 0.5, "B": 0.5}})


def test_params_are_packed_at_the_documented_offsets():
    params = drift_bands(tickers=["A", "B"], tolerances={"B": 0.07}, check_every={"A": 5}).params
    np.testing.assert_array_equal(params[PARAM_PER_ASSET:], [-1.0, 0.07, 5.0, 1.0])


@pytest.mark.parametrize(
    "options, message",
    [
        ({"absolute": -0.01}, "absolute must be a finite number >= 0"),
        ({"relative": float("nan")}, "relative must be a finite number >= 0"),
        ({"absolute": None, "relative": None}, "both None"),
        ({"rebalance_to": "middle"}, "rebalance_to must be one of"),
        ({"scope": "household"}, "scope must be one of"),
        ({"lot_method": "specific"}, "lot_method must be one of"),
        ({"min_trade": -1.0}, "min_trade"),
        ({"cash_reserve": 1.0}, "cash_reserve"),
        ({"cash_flow_only": "yes"}, "cash_flow_only"),
        ({"tolerances": {"A": 0.1}}, "tickers .* is needed"),
        ({"tickers": ["A", "B"], "tolerances": {"ZZZ": 0.1}}, "tolerances: unknown ticker 'ZZZ'"),
        ({"tickers": ["A", "B"], "tolerances": {"A": -0.1}}, r"tolerances\['A'\] must be"),
        ({"tickers": ["A", "B"], "check_every": {"Q": 2}}, "check_every: unknown ticker 'Q'"),
        ({"tickers": ["A", "B"], "check_every": {"B": 0}}, r"check_every\['B'\] must be a whole"),
        ({"tickers": ["A", "B"], "check_every": {"B": 2.5}}, r"check_every\['B'\]"),
        ({"tickers": ["A", "A"]}, "duplicate ticker 'A'"),
    ],
)
def test_bad_input_names_the_field(options, message):
    with pytest.raises(ValueError, match=message):
        drift_bands(**options)


def test_idle_test_skips_only_days_without_a_breach():
    """``drift_bands_idle`` lets the day loop skip decide on days without a breach: the same
    trades as calling decide every day, with per-asset tolerances and check intervals."""
    import dataclasses

    market = synthetic_market(seed=4, years=3.0)
    household = Household([Account("taxable"), Account("ira", kind="tax_deferred")])
    strategy = drift_bands(0.03, 0.2, tickers=market.tickers, tolerances={"BOND": 0.02},
                           check_every={"INTL": 5})
    targets = {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "BOND": 0.2},
               "ira": {"BOND": 0.5, "REIT": 0.5}}
    contributions = {"taxable": 500_000.0, "ira": 200_000.0}
    skipping = simulate(market, household, strategy, targets, contributions=contributions)
    every_day = simulate(market, household, dataclasses.replace(strategy, idle=None), targets,
                         contributions=contributions)
    assert len(skipping.trades) > 10
    assert np.array_equal(skipping.trades, every_day.trades)
    assert skipping.summary() == every_day.summary()


def test_idle_test_with_cash_flow_only_skips_only_days_without_cash_to_move():
    """With ``cash_flow_only`` the idle test looks at cash (spare cash to invest, negative cash
    to raise), not bands: the same trades as calling decide every day, with contributions, a
    withdrawal, dividends kept as cash, taxes paid from the portfolio, costs and fees."""
    import dataclasses

    market = synthetic_market(seed=4, years=3.0)
    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred")])
    strategy = drift_bands(0.03, 0.2, cash_flow_only=True, cash_reserve=0.001)
    targets = {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "BOND": 0.2},
               "ira": {"BOND": 0.5, "REIT": 0.5}}
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": [dates[200], dates[400]], "account": ["taxable", "ira"],
                          "amount": [50_000.0, -40_000.0]})
    arguments = dict(contributions={"taxable": 500_000.0, "ira": 200_000.0}, flows=flows,
                     cost_bps=2.0, cost_per_trade=1.0, advisory_fee_bps=25.0,
                     tax_payment="portfolio")
    skipping = simulate(market, household, strategy, targets, **arguments)
    every_day = simulate(market, household, dataclasses.replace(strategy, idle=None), targets,
                         **arguments)
    assert len(skipping.trades) > 10
    assert np.array_equal(skipping.trades, every_day.trades)
    assert skipping.summary() == every_day.summary()
