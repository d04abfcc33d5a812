"""Direct indexing on crafted markets: harvests, same-sector replacements, no wash sale."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from strategies import direct_indexing
from strategies.direct_indexing import (
    PARAM_HARVESTED_LOSS,
    PARAM_HARVESTS,
    PEER_MAX_MULTIPLE,
    direct_indexing_decide,
    index_returns,
    tracking,
)
from taxsim import Account, Household, Market
from taxsim.engine import SimulationError, Strategy, simulate
from taxsim.market.synthetic import default_universe, synthetic_market
from tests.simulation_checks import conservation_gap, harvest_scan_cache_disabled

N_DAYS = 60
DATES = pd.bdate_range("2024-03-04", periods=N_DAYS)
SECTORS = {"A": "tech", "B": "tech", "C": "tech", "D": "energy"}


def hand_market(closes: dict[str, list[float]]) -> Market:
    rows = [
        {"date": date, "ticker": ticker, "close": close}
        for ticker, prices in closes.items()
        for date, close in zip(DATES, prices, strict=True)
    ]
    metadata = {t: {"sector": SECTORS[t]} for t in closes}
    return Market.from_frame(pd.DataFrame(rows), tickers=list(closes), metadata=metadata,
                             source="hand-made")


# A falls 6% on day 3 and stays there; its sector peers B, C and the energy stock D are flat.
FALLING = {"A": [100.0] * 3 + [94.0] * (N_DAYS - 3), "B": [50.0] * N_DAYS,
           "C": [25.0] * N_DAYS, "D": [40.0] * N_DAYS}


def strategy_trades(result) -> pd.DataFrame:
    trades = result.trades_frame()
    return trades[trades["reason"] == "strategy"].reset_index(drop=True)


def run(market, household, strategy, **kwargs):
    return simulate(market, household, strategy, {}, tax_payment="outside", **kwargs)


def test_harvests_on_the_first_check_day_into_same_sector_names():
    market = hand_market(FALLING)
    strategy = direct_indexing(market, rebalance=None, return_after_window=False)
    result = run(market, Household([Account("taxable")]), strategy,
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    # day 0: $2,500 in each stock; day 3: all of A sold (the only lot is at a 6% loss) and
    # the proceeds less the 0.1% cost allowance split between B and C (same sector, equal
    # index weights), never D (energy)
    assert trades["date"].tolist() == [DATES[0]] * 4 + [DATES[3]] * 3
    assert trades["asset"].tolist() == ["A", "B", "C", "D", "A", "B", "C"]
    proceeds = 25 * 94.0 * 0.999
    assert trades["shares"].tolist() == pytest.approx(
        [25.0, 50.0, 100.0, 62.5, -25.0, proceeds / 2 / 50.0, proceeds / 2 / 25.0])
    realized = result.ledger.realized()
    assert realized["gain"].sum() == pytest.approx(-150.0)
    assert realized["wash_disallowed"].sum() == 0.0
    assert result.params[PARAM_HARVESTS] == 1.0
    assert result.params[PARAM_HARVESTED_LOSS] == pytest.approx(150.0)
    assert "A" not in result.ledger.lots()["asset"].tolist()
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)


def test_no_harvest_below_the_threshold_and_only_on_check_days():
    market = hand_market(FALLING)
    household = Household([Account("taxable")])
    deep = direct_indexing(market, threshold=0.07, rebalance=None)
    result = run(market, household, deep, contributions={"taxable": 10_000.0})
    assert len(strategy_trades(result)) == 4  # the first purchases only: 6% < 7%
    weekly = direct_indexing(market, check_every=5, rebalance=None, return_after_window=False)
    trades = strategy_trades(run(market, household, weekly, contributions={"taxable": 10_000.0}))
    assert trades[trades["shares"] < 0]["date"].tolist() == [DATES[5]]


def test_one_replacement_is_a_single_same_sector_name():
    market = hand_market(FALLING)
    # A (20%) is smaller than either peer, so one peer takes all of it within its cap
    strategy = direct_indexing(market, {"A": 0.2, "B": 0.3, "C": 0.4, "D": 0.1},
                               n_replacements=1, rebalance=None, return_after_window=False)
    trades = strategy_trades(run(market, Household([Account("taxable")]), strategy,
                                 contributions={"taxable": 10_000.0}))
    day3 = trades[trades["date"] == DATES[3]]
    # both peers sit at their weight (a tie up to rounding): one of them gets all the money
    assert len(day3) == 2 and day3["asset"].iloc[0] == "A" and day3["asset"].iloc[1] in "BC"
    price = {"B": 50.0, "C": 25.0}[day3["asset"].iloc[1]]
    assert day3["shares"].tolist() == pytest.approx([-20.0, 20 * 94.0 * 0.999 / price])


def test_a_replacement_is_filled_to_twice_its_weight_at_most():
    """A harvested stock bigger than its peers: the replacement takes up to
    PEER_MAX_MULTIPLE times its own weight, the rest goes to the other buyable stocks up to
    their band's edge or stays cash; no stock is pushed past twice its weight (a sector
    selloff once funnelled 31% of a 500-stock index into one stock)."""
    market = hand_market(FALLING)
    weights = {"A": 0.4, "B": 0.2, "C": 0.3, "D": 0.1}
    strategy = direct_indexing(market, weights, cap_weighted=False, n_replacements=1,
                               rebalance=None, return_after_window=False)
    result = run(market, Household([Account("taxable")]), strategy,
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    day3 = trades[trades["date"] == DATES[3]].set_index("asset")
    assert day3.loc["A", "shares"] == -40.0  # all of A harvested, as before
    value = result.daily()["total_value"].iloc[3]
    held = trades[trades["date"] <= DATES[3]].groupby("asset")["shares"].sum()
    prices = {"A": 94.0, "B": 50.0, "C": 25.0, "D": 40.0}
    for ticker, weight in weights.items():
        dollars = held.get(ticker, 0.0) * prices[ticker]
        assert dollars <= PEER_MAX_MULTIPLE * weight * value + 1e-6, ticker
    # the single replacement (B, first of the tied peers) is filled to its cap: $3,904 of
    # the $9,760 account instead of all $3,756 of A's proceeds on top of its $2,000
    assert held["B"] * 50.0 == pytest.approx(PEER_MAX_MULTIPLE * 0.2 * value, rel=1e-12)
    assert result.ledger.realized()["wash_disallowed"].sum() == 0.0


def test_returns_to_the_index_after_the_window():
    market = hand_market(FALLING)
    strategy = direct_indexing(market, rebalance=None)
    result = run(market, Household([Account("taxable", reinvest=False)]), strategy,
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    # harvested on 2024-03-07; 31 days later is Sunday 2024-04-07: back on Monday 2024-04-08
    back = trades[trades["date"] > DATES[3]]
    assert back["date"].unique().tolist() == [pd.Timestamp("2024-04-08")]
    assert back["asset"].tolist() == ["B", "C", "A"]
    assert (back["shares"].to_numpy() < 0).tolist() == [True, True, False]
    value = 10_000.0 - 150.0  # every price flat but A's
    assert back["shares"].iloc[2] * 94.0 == pytest.approx(value / 4, rel=0.02)
    assert result.ledger.realized()["wash_disallowed"].sum() == 0.0
    # no purchase of A inside its window
    buys_of_a = trades[(trades["asset"] == "A") & (trades["shares"] > 0)]["date"]
    assert not ((buys_of_a > DATES[3]) & (buys_of_a <= DATES[3] + pd.Timedelta(days=30))).any()


def test_plain_python_decide_matches_the_jitted_one():
    market = hand_market(FALLING)
    household = Household([Account("taxable", reinvest=False)])
    jitted = direct_indexing(market, {"A": 0.3, "B": 0.3, "C": 0.2, "D": 0.1},
                             rebalance="monthly")
    plain = Strategy(jitted.name, direct_indexing_decide, jitted.params, jitted.lot_method,
                     jitted.max_orders, invests_flows=True)
    flows = pd.DataFrame({"date": [DATES[20]], "account": ["taxable"], "amount": [3_000.0]})
    a = run(market, household, jitted, contributions={"taxable": 10_000.0}, flows=flows)
    b = run(market, household, plain, contributions={"taxable": 10_000.0}, flows=flows)
    assert len(a.trades) > 5
    assert np.array_equal(a.trades, b.trades)
    assert np.array_equal(a.account_values, b.account_values)
    assert np.array_equal(a.params, b.params)


@pytest.mark.parametrize("seed", [3, 7])
def test_never_washes_and_tracks_the_index_on_a_synthetic_market(seed):
    market = synthetic_market(universe=default_universe(32)[6:], years=4.0, seed=seed)
    assert len(set(market.sector)) == 8
    household = Household([Account("taxable")])
    strategy = direct_indexing(market, threshold=0.05, rebalance="quarterly")
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": dates[[100, 400, 700]], "account": ["taxable"] * 3,
                          "amount": [50_000.0, -80_000.0, 20_000.0]})
    result = run(market, household, strategy, contributions={"taxable": 1_000_000.0},
                 flows=flows, cost_bps=2.0, twins=True)
    realized = result.ledger.realized()
    assert result.params[PARAM_HARVESTS] > 10
    assert realized.loc[realized["gain"] < 0, "gain"].sum() < -10_000.0
    assert realized["wash_disallowed"].sum() == 0.0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-5)
    managed = tracking(result)
    twin = tracking(result.twins["non_managed"], strategy)
    assert math.isfinite(managed["tracking_error"])
    assert 0.0 < twin["tracking_error"] < 0.01  # the basket itself, rebalanced quarterly
    assert twin["tracking_error"] < managed["tracking_error"] < 0.10
    cash = result.account_cash[:, 0] / (result.account_values[:, 0] + result.account_cash[:, 0])
    assert np.quantile(cash, 0.95) < 0.01  # the money stays invested
    twin_realized = result.twins["non_managed"].ledger.realized()
    assert realized["gain"].sum() < twin_realized["gain"].sum()


def test_index_returns_of_cap_and_fixed_weights():
    closes = {"A": [100.0, 110.0, 121.0] + [121.0] * (N_DAYS - 3),
              "B": [50.0, 50.0, 25.0] + [25.0] * (N_DAYS - 3),
              "C": [25.0] * N_DAYS, "D": [40.0] * N_DAYS}
    market = hand_market(closes)
    cap = index_returns(market, direct_indexing(market, {"A": 0.5, "B": 0.5}))
    fixed = index_returns(market, direct_indexing(market, {"A": 0.5, "B": 0.5},
                                                  cap_weighted=False))
    assert cap.iloc[:3].tolist() == pytest.approx([0.0, 0.05, (0.55 * 0.10 + 0.5 * -0.5) / 1.05])
    assert fixed.iloc[:3].tolist() == pytest.approx([0.0, 0.05, 0.5 * 0.10 + 0.5 * -0.5])


@pytest.mark.parametrize("kwargs, field", [
    ({"weights": {"ZZZ": 0.5}}, "weights: unknown ticker 'ZZZ'"),
    ({"tickers": ["A", "QQQ"]}, "tickers: unknown ticker 'QQQ'"),
    ({"weights": {"A": 0.6, "B": 0.6}}, "weights must sum"),
    ({"weights": {"A": -0.1}}, "weights['A']"),
    ({"threshold": -0.01}, "threshold"),
    ({"threshold_dollars": float("nan")}, "threshold_dollars"),
    ({"check_every": 0}, "check_every"),
    ({"n_replacements": -1}, "n_replacements"),
    ({"rebalance": "weekly"}, "rebalance"),
    ({"max_gain": -0.1}, "max_gain"),
    ({"lot_method": "specific"}, "lot_method"),
])
def test_bad_input_names_the_field(kwargs, field):
    with pytest.raises(ValueError) as error:
        direct_indexing(hand_market(FALLING), **kwargs)
    assert field in str(error.value)


def test_scan_cache_forgets_a_group_whose_shares_were_sold():
    """A loss sale in the spouse's account adds its disallowed loss to the basis of an open
    lot bought 10 days earlier (IRC §1091(d)) without changing its shares: the O(1) harvest
    skip must forget that stock's scan price."""
    from strategies.direct_indexing import PARAM_ROWS_SEEN
    from strategies.harvest_scan import forget_changed_lots, harvest_bound
    from taxsim.ledger import Ledger

    household = Household([Account("taxable"), Account("spouse", owner="spouse")])
    ledger = Ledger(household, ["A", "B"])
    ledger.buy("spouse", "A", 10, 100.0, "2024-01-02")
    ledger.buy("taxable", "A", 10, 80.0, "2024-02-01")
    ledger.buy("taxable", "B", 5, 20.0, "2024-02-01")
    state = ledger._state
    assert harvest_bound(state, 0, 0, 0.05) == pytest.approx(76.0)  # 0.95 x 80
    params = np.zeros(PARAM_ROWS_SEEN + 3)
    scan_price = PARAM_ROWS_SEEN + 1  # offset of the block of two assets' scan prices
    params[scan_price:] = [76.0, 19.0]  # as if cached: 0.95 x the highest basis
    forget_changed_lots(state, params, PARAM_ROWS_SEEN, scan_price, 1)
    assert params[scan_price:].tolist() == [76.0, 19.0]  # no sale yet
    ledger.sell("spouse", "A", 10, 80.0, "2024-02-11")  # $200 loss, washed by the Feb 1 lot
    forget_changed_lots(state, params, PARAM_ROWS_SEEN, scan_price, 1)
    assert math.isnan(params[scan_price]) and params[scan_price + 1] == 19.0
    assert params[PARAM_ROWS_SEEN] == 1
    assert harvest_bound(state, 0, 0, 0.05) == pytest.approx(95.0)  # 0.95 x (80 + 200 / 10)


def test_harvest_bound_of_a_reinvesting_account_is_at_most_its_average_basis():
    """Where the account reinvests, a harvest sells the whole position and is due only at a net
    loss: below the average basis per share, even when a lot is down by the threshold."""
    from strategies.harvest_scan import harvest_bound
    from taxsim.ledger import Ledger

    household = Household([Account("taxable"), Account("cash", reinvest=False)])
    ledger = Ledger(household, ["A"])
    for date, price in (("2024-01-02", 100.0), ("2024-02-01", 50.0)):
        for account in ("taxable", "cash"):
            ledger.buy(account, "A", 10, price, date)
    state = ledger._state
    assert harvest_bound(state, 0, 0, 0.05) == pytest.approx(75.0)  # the average basis
    assert harvest_bound(state, 1, 0, 0.05) == pytest.approx(95.0)  # 0.95 x the highest
    assert harvest_bound(state, 0, 0, 0.30) == pytest.approx(70.0)  # 0.70 x 100 < 75


def test_harvest_skip_changes_nothing_on_a_synthetic_market():
    """The O(1) skip (price above 0.95 x the highest basis per share) is exact: the same
    trades as a run whose scan cache is forgotten every day (plain-Python decide)."""
    import importlib

    module = importlib.import_module("strategies.direct_indexing")
    market = synthetic_market(universe=default_universe(30)[6:], years=1.0, seed=3)
    strategy = direct_indexing(market, threshold=0.03, rebalance="monthly")
    household = Household([Account("taxable")])
    cached = run(market, household, strategy, contributions={"taxable": 1_000_000.0})
    with harvest_scan_cache_disabled(module):
        uncached = run(market, household,
                       Strategy(strategy.name, direct_indexing_decide, strategy.params,
                                lot_method="tax_optimal", max_orders=strategy.max_orders,
                                invests_flows=True),
                       contributions={"taxable": 1_000_000.0})
    assert cached.params[PARAM_HARVESTS] > 0
    assert len(cached.trades) == len(uncached.trades)
    for field in ("day", "asset", "shares"):
        np.testing.assert_allclose(cached.trades[field], uncached.trades[field], rtol=1e-12)


def test_return_after_the_window_rebalances_only_the_harvested_sector():
    """D (energy) rises 20% and sits above its band, but the return of A (tech) on 2024-04-08
    trades tech only; D waits for the calendar."""
    closes = dict(FALLING)
    closes["D"] = [40.0] * 10 + [48.0] * (N_DAYS - 10)
    market = hand_market(closes)
    strategy = direct_indexing(market, rebalance=None, max_gain=None)
    result = run(market, Household([Account("taxable", reinvest=False)]), strategy,
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    back = trades[trades["date"] > DATES[3]]
    assert back["date"].unique().tolist() == [pd.Timestamp("2024-04-08")]
    assert sorted(back["asset"]) == ["A", "B", "C"]
    monthly = direct_indexing(market, rebalance="monthly", max_gain=None)
    trades = strategy_trades(run(market, Household([Account("taxable", reinvest=False)]),
                                 monthly, contributions={"taxable": 10_000.0}))
    d_sales = trades[(trades["asset"] == "D") & (trades["shares"] < 0)]["date"]
    assert d_sales.tolist() == [pd.Timestamp("2024-04-01")]  # the first day of April


@pytest.mark.parametrize("options", [{"rebalance": None},
                                     {"rebalance": "monthly", "max_gain": None}])
def test_buys_the_harvested_stock_back_in_a_reinvesting_account(options):
    """Audit 1e: in an account that reinvests (the default), A is harvested on day 3 into B and
    C and bought back on 2024-04-08, the first day more than 30 days later, paid by sales of B
    and C. Their lots sit at their basis (flat prices, no cost), so the partial sales realize
    no loss a later reinvested dividend could wash (they used to be dropped, the 1% loss margin
    counting the lots as losses, and A was never bought back)."""
    market = hand_market(FALLING)
    result = run(market, Household([Account("taxable")]), direct_indexing(market, **options),
                 contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    later = trades[trades["date"] > DATES[3]]
    back = pd.Timestamp("2024-04-08")
    assert later["date"].unique().tolist() == [back]
    assert later.set_index("asset")["shares"].lt(0).to_dict() == {"A": False, "B": True,
                                                                  "C": True}
    value = result.account_values[-1, 0] + result.account_cash[-1, 0]
    lots = result.ledger.lots()
    for asset, price in (("A", 94.0), ("B", 50.0), ("C", 25.0)):
        weight = lots[lots["asset"] == asset]["shares"].sum() * price / value
        assert weight == pytest.approx(0.25, abs=0.01)
    realized = result.ledger.realized()
    assert realized["gain"].sum() == pytest.approx(-150.0)  # the harvest; B and C at cost
    assert realized["wash_disallowed"].sum() == 0.0
    assert realized["wash_lost"].sum() == 0.0


def test_a_return_sale_at_a_loss_in_a_reinvesting_account_sells_the_whole_position():
    """B, bought as A's replacement, has fallen 2% by the return: a partial sale of B could be
    washed by a dividend reinvested within 30 days (Pub 550), so the whole of B is sold (its
    loss realized in full) and its weight goes to its buyable peers; C, at cost, is trimmed.
    Nothing is washed."""
    closes = dict(FALLING)
    closes["B"] = [50.0] * 10 + [49.0] * (N_DAYS - 10)
    market = hand_market(closes)
    result = run(market, Household([Account("taxable")]),
                 direct_indexing(market, rebalance=None), contributions={"taxable": 10_000.0})
    trades = strategy_trades(result)
    back = trades[trades["date"] == pd.Timestamp("2024-04-08")].set_index("asset")["shares"]
    assert back["B"] == pytest.approx(-(50.0 + 25 * 94.0 * 0.999 / 2 / 50.0))
    assert back["A"] > 0.0 and back["C"] < 0.0
    assert "B" not in result.ledger.lots()["asset"].tolist()
    realized = result.ledger.realized()
    assert realized["wash_disallowed"].sum() == 0.0
    assert realized["wash_lost"].sum() == 0.0


def test_per_account_targets_are_refused_not_ignored():
    market = hand_market(FALLING)
    strategy = direct_indexing(market, rebalance=None)
    assert strategy.uses_targets is False and strategy.twin.uses_targets is False
    with pytest.raises(SimulationError, match="holds its own target"):
        simulate(market, Household([Account("taxable")]), strategy, {"taxable": {"A": 0.5}},
                 contributions={"taxable": 10_000.0}, twins=True)


def test_a_cash_shortfall_is_sold_from_the_most_overweight_stock_not_from_every_stock():
    """The first day's trading costs leave cash short: it is raised from the stock furthest
    above its weight (at a gain), not by a few dollars of every stock, each a loss sale that
    would close it to buys for 30 days."""
    closes = {"A": [100.0] + [105.0] * (N_DAYS - 1), "B": [50.0] + [49.0] * (N_DAYS - 1),
              "C": [25.0] * N_DAYS, "D": [40.0] * N_DAYS}
    market = hand_market(closes)
    strategy = direct_indexing(market, rebalance=None, threshold=0.5)
    result = run(market, Household([Account("taxable")]), strategy,
                 contributions={"taxable": 100_000.0}, cost_bps=50.0)
    trades = strategy_trades(result)
    day1 = trades[trades["date"] == DATES[1]]
    shortfall = 100_000.0 * 0.005  # the first day's costs, dollars
    assert day1["asset"].tolist() == ["A"]
    proceeds = -day1["shares"].iloc[0] * 105.0
    assert proceeds == pytest.approx(shortfall / (1 - 0.001), rel=1e-9)  # cost allowance
    realized = result.ledger.realized()
    assert (realized["gain"] > 0).all() and len(realized) == 1


def test_a_withdrawal_on_a_rebalance_day_is_raised_by_the_strategy():
    """The first trading day of a quarter rebalances; a withdrawal that day is raised by the
    strategy from the most overweight stocks too, not left to the engine's pro-rata sales
    (losses first, which the day's buys would wash)."""
    closes = {"A": [100.0 * 1.002 ** i for i in range(N_DAYS)], "B": [50.0] * N_DAYS,
              "C": [25.0 * 0.999 ** i for i in range(N_DAYS)], "D": [40.0] * N_DAYS}
    market = hand_market(closes)
    april = DATES.get_loc(pd.Timestamp("2024-04-01"))
    flows = pd.DataFrame({"date": [DATES[april]], "account": ["taxable"],
                          "amount": [-3_000.0]})
    strategy = direct_indexing(market, rebalance="quarterly", threshold=0.5)
    result = run(market, Household([Account("taxable")]), strategy,
                 contributions={"taxable": 100_000.0}, flows=flows)
    trades = result.trades_frame()
    day = trades[trades["date"] == DATES[april]]
    assert set(day["reason"]) == {"strategy"}  # no engine sale for the withdrawal
    sold = -(day["shares"].clip(upper=0.0) * day["price"]).sum()
    assert sold >= 3_000.0 - 50.0
    assert day.loc[day["shares"] < 0, "asset"].iloc[0] == "A"  # the most overweight first
    assert result.ledger.realized()["wash_disallowed"].sum() == 0.0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6)
