"""Asset location and household rebalancing on hand-made markets: the ranking, the placement,
coordinated trades across accounts without moving cash, the threshold, new cash, the
household-mix twin, conservation, plain Python vs numba, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import asset_location, household_mix
from strategies.asset_location import (
    MODE_LOCATION,
    MODE_MIX,
    PARAM_LAST_PERIOD,
    PARAM_LOT_METHOD,
    PARAM_MODE,
    PARAM_MONTHS,
    PARAM_N_ASSETS,
    PARAM_PER_ASSET,
    PARAM_THRESHOLD,
    asset_location_decide,
    asset_location_decide_nb,
    location_ranking,
)
from taxsim import Account, Household, Market
from taxsim.engine import SimulationError, Strategy, simulate
from taxsim.ledger.enums import FIFO, TAX_OPTIMAL
from taxsim.market.synthetic import synthetic_market
from tests.simulation_checks import conservation_gap

START = "2024-01-29"  # a Monday; Feb 1 (index 3) starts a new month
FEB_1 = 3
METADATA = {
    "INTL": {"asset_class": "intl_equity_fund"},
    "BOND": {"tax_character": "taxable_bond"},
    "REIT": {"tax_character": "reit"},
    "MUNI": {"tax_character": "municipal_bond"},
}
TARGET = {"US": 0.4, "INTL": 0.2, "BOND": 0.25, "REIT": 0.15}


def hand_market(closes: dict[str, list[float]]) -> Market:
    """Consecutive business days from START with the given closes (dollars per share)."""
    n_days = len(next(iter(closes.values())))
    dates = pd.bdate_range(START, periods=n_days)
    rows = [{"date": date, "ticker": ticker, "close": close}
            for ticker, prices in closes.items()
            for date, close in zip(dates, prices, strict=True)]
    metadata = {ticker: fields for ticker, fields in METADATA.items() if ticker in closes}
    return Market.from_frame(pd.DataFrame(rows), tickers=list(closes), metadata=metadata,
                             source="hand-made")


def steps(n_days: int, first: float, later: float, change: int = FEB_1) -> list[float]:
    return [first if day < change else later for day in range(n_days)]


def strategy_trades(result) -> pd.DataFrame:
    trades = result.trades_frame()
    return trades[trades["reason"] == "strategy"]


def dollars_held(result, day_index: int) -> dict[tuple[str, str], float]:
    """Dollars by (account, ticker) at a day's close, from the trade record."""
    market = result.market
    trades = result.trades_frame()
    trades = trades[trades["date"] <= market.pandas_dates[day_index]]
    shares = trades.groupby(["account", "asset"], observed=True)["shares"].sum()
    return {
        (account, ticker): float(amount * market.close[day_index, market.index_of(ticker)])
        for (account, ticker), amount in shares.items()
        if abs(amount) > 1e-9
    }


def household_weights(result, day_index: int) -> dict[str, float]:
    total = result.daily()["total_value"].iloc[day_index]
    weights = dict.fromkeys(result.market.tickers, 0.0)
    for (_, ticker), dollars in dollars_held(result, day_index).items():
        weights[ticker] += dollars / total
    return weights


def run(market, strategy, contributions, **kwargs):
    household = Household([Account(name, kind=kind) for name, kind in (
        ("taxable", "taxable"), ("ira", "tax_deferred"), ("roth", "tax_exempt"))
        if name in contributions])
    return simulate(market, household, strategy, {}, contributions=contributions, **kwargs)


def test_the_ranking_puts_bonds_and_reits_first_in_deferred_and_equities_first_in_roth():
    market = synthetic_market(seed=1, years=0.1)  # USTOTAL, USLARGE, INTL, BOND, MUNI, REIT
    deferred, exempt = location_ranking(market)
    assert deferred == ["BOND", "REIT", "INTL", "USTOTAL", "USLARGE", "MUNI"]
    assert exempt == ["INTL", "USTOTAL", "USLARGE", "REIT", "BOND", "MUNI"]
    _, exempt = location_ranking(market, expected_growth={"REIT": 0.09, "USLARGE": 0.08})
    assert exempt == ["REIT", "USLARGE", "INTL", "USTOTAL", "BOND", "MUNI"]
    # equities of the same class: the lower qualified fraction is less efficient
    market = market.with_metadata({"USLARGE": {"qualified_fraction": 0.5}})
    assert location_ranking(market)[0][2:5] == ["INTL", "USLARGE", "USTOTAL"]


def test_a_collectible_ranks_between_reits_and_equities():
    """A physical-metal trust pays no income but its long-term gain is taxed at 28% (IRC
    §1(h)(4)) against an equity's 20%: after bonds and REITs (ordinary income every year),
    before equities, for the IRA; its default growth (4%) ranks it with bonds for the Roth."""
    market = synthetic_market(seed=1, years=0.1).with_metadata(
        {"INTL": {"tax_character": "collectible"}})
    deferred, exempt = location_ranking(market)
    assert deferred == ["BOND", "REIT", "INTL", "USTOTAL", "USLARGE", "MUNI"]
    assert exempt == ["USTOTAL", "USLARGE", "REIT", "BOND", "INTL", "MUNI"]
    assert list(market.collectible_tickers) == ["INTL"]


def test_bonds_and_reits_go_to_the_ira_equities_to_taxable_and_the_household_matches():
    n_days = 3
    market = hand_market({name: [100.0] * n_days for name in TARGET})
    strategy = asset_location(market, TARGET, "monthly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0})
    # household 100,000: the IRA (40,000) takes BOND 25,000 and REIT 15,000
    assert dollars_held(result, 0) == pytest.approx({
        ("ira", "BOND"): 25_000.0, ("ira", "REIT"): 15_000.0,
        ("taxable", "US"): 40_000.0, ("taxable", "INTL"): 20_000.0,
    })
    weights = household_weights(result, n_days - 1)
    for ticker, weight in TARGET.items():
        assert weights[ticker] == pytest.approx(weight, abs=1e-6)
    assert (strategy_trades(result)["date"] == market.pandas_dates[0]).all()
    assert (strategy_trades(result)["lot_method"] == "tax_optimal").all()


def test_the_roth_takes_the_highest_growth_and_munis_stay_taxable():
    target = {"US": 0.4, "INTL": 0.2, "BOND": 0.3, "MUNI": 0.1}
    market = hand_market({name: [100.0] * 2 for name in target})
    strategy = asset_location(market, target, min_trade=0.0)
    result = run(market, strategy, {"taxable": 50_000.0, "ira": 30_000.0, "roth": 20_000.0})
    assert dollars_held(result, 1) == pytest.approx({
        ("ira", "BOND"): 30_000.0, ("roth", "INTL"): 20_000.0,
        ("taxable", "US"): 40_000.0, ("taxable", "MUNI"): 10_000.0,
    })


def test_a_household_rebalance_moves_exposure_between_accounts_without_moving_cash():
    # Feb 1: US falls to 80. Household 92,000: US 36,800, INTL 18,400, BOND 23,000, REIT
    # 13,800. The IRA (40,000) holds BOND 23,000, REIT 13,800 and now INTL 3,200; the taxable
    # account sells 4,800 of INTL and buys 4,800 of US.
    n_days = 6
    closes = {name: [100.0] * n_days for name in TARGET}
    closes["US"] = steps(n_days, 100.0, 80.0)
    market = hand_market(closes)
    strategy = asset_location(market, TARGET, "monthly", threshold=0.02, min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0})
    on_feb_1 = strategy_trades(result)
    on_feb_1 = on_feb_1[on_feb_1["date"] == market.pandas_dates[FEB_1]]
    dollars = (on_feb_1.set_index(["account", "asset"])["shares"] * on_feb_1.set_index(
        ["account", "asset"])["price"]).to_dict()
    assert dollars == pytest.approx({
        ("taxable", "INTL"): -4_800.0, ("taxable", "US"): 4_800.0,
        ("ira", "BOND"): -2_000.0, ("ira", "REIT"): -1_200.0, ("ira", "INTL"): 3_200.0,
    })
    weights = household_weights(result, FEB_1)
    for ticker, weight in TARGET.items():
        assert weights[ticker] == pytest.approx(weight, abs=1e-6)
    # every account pays for its own buys: its cash changes by its own trades only
    daily = result.daily()
    trades = result.trades_frame()
    for account in ("taxable", "ira"):
        cash = daily[f"cash_{account}"]
        assert (cash >= -1e-6).all()
        mine = trades[trades["account"] == account]
        flow = -(mine["shares"] * mine["price"]).groupby(mine["date"]).sum()
        change = cash.diff().fillna(cash.iloc[0] - (60_000.0 if account == "taxable"
                                                     else 40_000.0))
        np.testing.assert_allclose(change, flow.reindex(cash.index, fill_value=0.0), atol=1e-6)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_no_rebalance_while_every_account_group_is_within_the_threshold():
    # US at 95: the largest gap to the plan is 1,200 (INTL in taxable, US): 1.2 points of 98,000
    n_days = 6
    closes = {name: [100.0] * n_days for name in TARGET}
    closes["US"] = steps(n_days, 100.0, 95.0)
    market = hand_market(closes)
    wide = run(market, asset_location(market, TARGET, "monthly", threshold=0.02),
               {"taxable": 60_000.0, "ira": 40_000.0})
    narrow = run(market, asset_location(market, TARGET, "monthly", threshold=0.005),
                 {"taxable": 60_000.0, "ira": 40_000.0})
    assert set(strategy_trades(wide)["date"]) == {market.pandas_dates[0]}
    assert set(strategy_trades(narrow)["date"]) == {market.pandas_dates[0],
                                                    market.pandas_dates[FEB_1]}


def test_new_cash_is_invested_toward_the_plan_the_same_day_with_buys_only():
    n_days = 6
    market = hand_market({name: [100.0] * n_days for name in TARGET})
    flows = pd.DataFrame({"date": [market.pandas_dates[1]], "account": ["ira"],
                          "amount": [10_000.0]})
    strategy = asset_location(market, TARGET, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows)
    on_day_1 = strategy_trades(result)
    on_day_1 = on_day_1[on_day_1["date"] == market.pandas_dates[1]]
    assert (on_day_1["shares"] > 0).all()
    # household 110,000: the IRA's plan is BOND 27,500, REIT 16,500 -> it buys 2,500 + 1,500,
    # and 6,000 of INTL (third in the tax-deferred order)
    assert (on_day_1.set_index("asset")["shares"] * 100.0).to_dict() == pytest.approx(
        {"BOND": 2_500.0, "REIT": 1_500.0, "INTL": 6_000.0})
    assert result.daily()["cash_ira"].iloc[1] == pytest.approx(0.0, abs=1e-6)


def test_a_withdrawal_is_raised_from_the_accounts_overweight_assets():
    # Jan 30: 4,000 leaves the IRA. Household 96,000: the IRA's plan is BOND 24,000 and REIT
    # 12,000 (36,000 of room), so it sells 1,000 of BOND and 3,000 of REIT, nothing else.
    n_days = 4
    market = hand_market({name: [100.0] * n_days for name in TARGET})
    flows = pd.DataFrame({"date": [market.pandas_dates[1]], "account": ["ira"],
                          "amount": [-4_000.0]})
    strategy = asset_location(market, TARGET, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows)
    trades = result.trades_frame()
    on_day_1 = trades[trades["date"] == market.pandas_dates[1]]
    assert set(on_day_1["reason"]) == {"strategy"}  # nothing left for the engine to raise
    assert (on_day_1.set_index(["account", "asset"])["shares"] * 100.0).to_dict() == \
        pytest.approx({("ira", "BOND"): -1_000.0, ("ira", "REIT"): -3_000.0})
    assert result.daily()["cash_ira"].iloc[1] == pytest.approx(0.0, abs=1e-6)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_the_costs_of_the_strategys_own_sales_leave_cash_below_zero_not_engine_sales():
    # The withdrawal case above with 10 bps of costs. Jan 29: the first purchases cost 60 and
    # 40 on top (cash -60 and -40). Jan 30: household 95,900; the IRA (35,960 investable) plans
    # BOND 23,975 and REIT 11,985 and sells 1,025 and 3,015, its 4,040 shortfall, whose 4.04
    # of costs leave its cash at -4.04, like any cost (the strategy does not see the run's
    # costs). The engine used to sell about 4 dollars of every holding for them.
    n_days = 4
    market = hand_market({name: [100.0] * n_days for name in TARGET})
    flows = pd.DataFrame({"date": [market.pandas_dates[1]], "account": ["ira"],
                          "amount": [-4_000.0]})
    strategy = asset_location(market, TARGET, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows,
                 cost_bps=10.0)
    trades = result.trades_frame()
    on_day_1 = trades[trades["date"] == market.pandas_dates[1]]
    assert set(on_day_1["reason"]) == {"strategy"}
    assert (on_day_1.set_index(["account", "asset"])["shares"] * 100.0).to_dict() == \
        pytest.approx({("ira", "BOND"): -1_025.0, ("ira", "REIT"): -3_015.0})
    assert result.daily()["cash_ira"].iloc[1] == pytest.approx(-4.04)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def washed_rows(result) -> pd.DataFrame:
    realized = result.ledger.realized()
    return realized[(realized["wash_disallowed"] != 0.0) | (realized["wash_lost"] != 0.0)]


def test_a_withdrawal_beyond_the_overweight_assets_is_sold_from_safe_positions():
    # Jan 29: taxable 60,000 (INTL 20,000, US 40,000), IRA 40,000 (BOND 30,000, INTL 10,000).
    # Jan 30: INTL 80 (the taxable INTL lot is at a loss, and the IRA, which reinvests, bought
    # INTL yesterday: a loss sale would be washed and lost, Rev. Rul. 2008-5); 5,000 leaves the
    # taxable account. Household 89,000: BOND 26,700, INTL 26,700, US 35,600; the IRA (38,000)
    # holds BOND 26,700 and INTL 11,300, the taxable account INTL 15,400 and US 35,600: US is
    # 4,400 over, INTL 600. The 4,400 of US and then 600 more of US (the one safe position)
    # raise the withdrawal; the engine sells nothing, so no INTL loss is washed into the IRA.
    n_days = 4
    market = hand_market({"BOND": [100.0] * n_days, "INTL": [100.0] + [80.0] * (n_days - 1),
                          "US": [100.0] * n_days})
    target = {"BOND": 0.3, "INTL": 0.3, "US": 0.4}
    flows = pd.DataFrame({"date": [market.pandas_dates[1]], "account": ["taxable"],
                          "amount": [-5_000.0]})
    strategy = asset_location(market, target, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows)
    trades = result.trades_frame()
    on_day_1 = trades[trades["date"] == market.pandas_dates[1]]
    assert set(on_day_1["reason"]) == {"strategy"}
    sales = on_day_1[on_day_1["shares"] < 0]
    assert (sales.set_index(["account", "asset"])["shares"] * 100.0).to_dict() == \
        pytest.approx({("taxable", "US"): -5_000.0})
    assert len(washed_rows(result)) == 0
    assert result.daily()["cash_taxable"].iloc[1] == pytest.approx(0.0, abs=1e-6)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_a_withdrawal_from_unsafe_positions_sells_their_oldest_gain_lots_fifo():
    # Jan 29: taxable 60,000 (600 US at 100), IRA 40,000 (BOND 30,000, 100 US). Jan 30: US
    # 120; 12,000 contributed to the taxable account buys 100 US at 120. Jan 31: US 110 (the
    # 120 lot is at a loss; the IRA reinvests and bought US two days ago) and 5,000 leaves the
    # taxable account, which holds only US: every sale of it is unsafe, so the oldest lots at
    # a gain are sold, FIFO: 45.45 shares of the 100 lot, a gain of 454.55. Left to the engine
    # (pro rata, losses first), the 120 lot would have realized a loss washed into the IRA.
    n_days = 4
    market = hand_market({"BOND": [100.0] * n_days, "US": [100.0, 120.0, 110.0, 110.0]})
    target = {"BOND": 0.3, "US": 0.7}
    flows = pd.DataFrame({"date": [market.pandas_dates[1], market.pandas_dates[2]],
                          "account": ["taxable", "taxable"], "amount": [12_000.0, -5_000.0]})
    strategy = asset_location(market, target, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows)
    trades = result.trades_frame()
    bought = trades[(trades["date"] == market.pandas_dates[1]) & (trades["account"] == "taxable")]
    assert (bought["shares"] * bought["price"]).sum() == pytest.approx(12_000.0)
    on_day_2 = trades[trades["date"] == market.pandas_dates[2]]
    assert set(on_day_2["reason"]) == {"strategy"}
    sale = on_day_2[on_day_2["shares"] < 0]
    assert sale[["account", "asset", "lot_method"]].values.tolist() == [["taxable", "US", "fifo"]]
    assert float(sale["shares"].iloc[0]) == pytest.approx(-5_000.0 / 110.0)
    realized = result.ledger.realized()
    assert realized["gain"].tolist() == pytest.approx([5_000.0 / 110.0 * 10.0])
    assert len(washed_rows(result)) == 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_a_withdrawal_sells_the_newest_gain_lots_lifo_when_the_oldest_lot_is_at_a_loss():
    # Jan 29: taxable 600 US at 100, IRA BOND 30,000 and 100 US. Jan 30: US 80; 12,000
    # contributed to the taxable account buys 150 US at 80. Jan 31: US 90 (the 100 lot is at a
    # loss, the 80 lot at a gain; the IRA holds US and bought it two days ago) and 5,000 leaves
    # the taxable account: no FIFO sale avoids the loss, so the newest lots go first, LIFO:
    # 55.56 shares of the 80 lot, a gain of 555.56.
    n_days = 4
    market = hand_market({"BOND": [100.0] * n_days, "US": [100.0, 80.0, 90.0, 90.0]})
    flows = pd.DataFrame({"date": [market.pandas_dates[1], market.pandas_dates[2]],
                          "account": ["taxable", "taxable"], "amount": [12_000.0, -5_000.0]})
    strategy = asset_location(market, {"BOND": 0.3, "US": 0.7}, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows)
    trades = result.trades_frame()
    bought = trades[(trades["date"] == market.pandas_dates[1]) & (trades["account"] == "taxable")]
    assert bought["shares"].tolist() == pytest.approx([150.0])
    on_day_2 = trades[trades["date"] == market.pandas_dates[2]]
    assert on_day_2[["account", "asset", "lot_method", "reason"]].values.tolist() == [
        ["taxable", "US", "lifo", "strategy"]]
    assert float(on_day_2["shares"].iloc[0]) == pytest.approx(-5_000.0 / 90.0)
    assert result.ledger.realized()["gain"].tolist() == pytest.approx([5_000.0 / 90.0 * 10.0])
    assert len(washed_rows(result)) == 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_a_withdrawal_from_gain_lots_at_both_ends_sells_the_end_with_less_tax():
    # Jan 29: taxable 600 US at 100, IRA BOND 30,000 and 100 US. Jan 30: US 130; 13,000
    # contributed buys 100 US at 130. Jan 31: US 105; 10,500 contributed buys 100 US at 105.
    # Feb 1: US 110 (the 130 lot is at a loss, the IRA bought US three days ago) and 5,000
    # leaves the taxable account. Both ends are gains that cover it: the oldest lot (600 at
    # 100) owes 5,000 x 10/110 x 40.8% = $185.45 of short-term tax, the newest (100 at 105)
    # 5,000 x 5/110 x 40.8% = $92.73, so the newest goes, LIFO, although the oldest reach
    # further ($66,000 against $11,000).
    n_days = 5
    market = hand_market({"BOND": [100.0] * n_days, "US": [100.0, 130.0, 105.0, 110.0, 110.0]})
    dates = market.pandas_dates
    flows = pd.DataFrame({"date": [dates[1], dates[2], dates[3]],
                          "account": ["taxable"] * 3, "amount": [13_000.0, 10_500.0, -5_000.0]})
    strategy = asset_location(market, {"BOND": 0.3, "US": 0.7}, "quarterly", min_trade=0.0)
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, flows=flows)
    trades = result.trades_frame()
    taxable_buys = trades[(trades["account"] == "taxable") & (trades["shares"] > 0)]
    assert taxable_buys["shares"].tolist() == pytest.approx([600.0, 100.0, 100.0])
    on_day_3 = trades[trades["date"] == dates[3]]
    assert on_day_3[["account", "asset", "lot_method", "reason"]].values.tolist() == [
        ["taxable", "US", "lifo", "strategy"]]
    assert float(on_day_3["shares"].iloc[0]) == pytest.approx(-5_000.0 / 110.0)
    assert result.ledger.realized()["gain"].tolist() == pytest.approx([5_000.0 / 110.0 * 5.0])
    assert len(washed_rows(result)) == 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_the_twin_holds_the_household_mix_in_every_account_with_fifo():
    n_days = 6
    closes = {name: [100.0] * n_days for name in TARGET}
    closes["US"] = steps(n_days, 100.0, 80.0)
    market = hand_market(closes)
    strategy = asset_location(market, TARGET, "monthly", min_trade=0.0)
    assert strategy.twin is not None and strategy.twin.decide is asset_location_decide_nb
    result = run(market, strategy, {"taxable": 60_000.0, "ira": 40_000.0}, twins=True)
    twin = result.twins["non_managed"]
    trades = strategy_trades(twin)
    assert (trades["lot_method"] == "fifo").all()
    assert set(trades["date"]) == {market.pandas_dates[0], market.pandas_dates[FEB_1]}
    daily = twin.daily()
    for day in (0, FEB_1):
        held = dollars_held(twin, day)
        for account in ("taxable", "ira"):
            value = daily[f"value_{account}"].iloc[day] + daily[f"cash_{account}"].iloc[day]
            for ticker, weight in TARGET.items():
                assert held[(account, ticker)] / value == pytest.approx(weight, abs=1e-9)
    assert conservation_gap(twin) == pytest.approx(0.0, abs=1e-8)


def guard_market(closes: dict[str, list[float]], start: str) -> Market:
    dates = pd.bdate_range(start, periods=len(next(iter(closes.values()))))
    rows = [{"date": date, "ticker": ticker, "close": close}
            for ticker, prices in closes.items()
            for date, close in zip(dates, prices, strict=True)]
    metadata = {"BND": {"tax_character": "taxable_bond"},
                "INTL": {"asset_class": "intl_equity_fund"}}
    return Market.from_frame(pd.DataFrame(rows), tickers=list(closes), metadata=metadata,
                             source="hand-made")


def no_wash_sale(result) -> bool:
    realized = result.ledger.realized()
    return bool((realized["wash_disallowed"] == 0.0).all() and (realized["wash_lost"] == 0.0).all())


def test_a_taxable_loss_sale_is_not_washed_by_the_iras_purchase_the_same_day():
    # Mar 4: taxable 70,000 (INTL 20,000, STK 50,000), IRA 30,000 (BND 20,000, INTL 10,000).
    # Apr 1: BND 150, INTL 80. Household 104,000: BND 20,800, INTL 31,200, STK 52,000; the
    # plan moves 2,000 of INTL from taxable (a loss: basis 100) to the IRA, which buys 9,200.
    # The guard keeps the taxable INTL (no loss sale) and swaps: the IRA buys 2,000 less
    # INTL and the taxable account's 2,000 of STK instead. The household is exactly on target.
    n_days = 40
    market = guard_market({"BND": [100.0] * 5 + [150.0] * (n_days - 5),
                           "INTL": [100.0] * 5 + [80.0] * (n_days - 5),
                           "STK": [100.0] * n_days}, "2024-03-04")
    target = {"BND": 0.2, "INTL": 0.3, "STK": 0.5}
    result = run(market, asset_location(market, target, "quarterly", 0.02),
                 {"taxable": 70_000.0, "ira": 30_000.0})
    april_1 = market.pandas_dates.get_loc(pd.Timestamp("2024-04-01"))
    trades = strategy_trades(result)
    on_april_1 = trades[trades["date"] == market.pandas_dates[april_1]]
    dollars = (on_april_1["shares"] * on_april_1["price"]).groupby(
        [on_april_1["account"], on_april_1["asset"]], observed=True).sum().to_dict()
    assert dollars == pytest.approx({("ira", "BND"): -9_200.0, ("ira", "INTL"): 7_200.0,
                                     ("ira", "STK"): 2_000.0})
    assert no_wash_sale(result)
    assert len(result.ledger.realized().query("taxable")) == 0  # the loss stays unrealized
    weights = household_weights(result, april_1)
    assert weights == pytest.approx(target, abs=1e-12)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


def test_no_purchase_of_a_group_within_30_days_after_a_taxable_loss_sale():
    # Jan 2 (the first rebalance): taxable 80,000 (BND 10,000, INTL 20,000, STK 50,000), IRA
    # 20,000 (BND). Apr 1: INTL 95, STK 80. Household 89,000: BND 26,700, INTL 17,800, STK
    # 44,500; the IRA (20,000) is all BND, so the taxable account sells 3,300 of BND and
    # 1,200 of INTL (a loss of 63.16; nothing of INTL bought in the last 30 days, nor today)
    # and buys 4,500 of STK. Apr 10: 9,900 contributed to the taxable account (household
    # 98,900): its plan buys BND 2,970, STK 4,950 and INTL 1,980, but INTL is inside the
    # loss's window through May 1 (Apr 1 + 30): the 1,980 waits in cash and buys INTL on May 2.
    n_days = 100
    start = "2024-01-02"
    dates = pd.bdate_range(start, periods=n_days)
    april_1 = dates.get_loc(pd.Timestamp("2024-04-01"))
    market = guard_market({"BND": [100.0] * n_days,
                           "INTL": [100.0] * april_1 + [95.0] * (n_days - april_1),
                           "STK": [100.0] * april_1 + [80.0] * (n_days - april_1)}, start)
    target = {"BND": 0.3, "INTL": 0.2, "STK": 0.5}
    flows = pd.DataFrame({"date": [pd.Timestamp("2024-04-10")], "account": ["taxable"],
                          "amount": [9_900.0]})
    result = run(market, asset_location(market, target, "quarterly", 0.02, min_trade=0.0),
                 {"taxable": 80_000.0, "ira": 20_000.0}, flows=flows)
    trades = strategy_trades(result)
    trades = trades.assign(dollars=trades["shares"] * trades["price"])
    later = trades[trades["date"] > dates[0]]
    by_day = later.groupby(["date", "account", "asset"], observed=True)["dollars"].sum()
    assert {(str(date.date()), account, asset): dollars
            for (date, account, asset), dollars in by_day.items()} == pytest.approx({
        ("2024-04-01", "taxable", "BND"): -3_300.0, ("2024-04-01", "taxable", "INTL"): -1_200.0,
        ("2024-04-01", "taxable", "STK"): 4_500.0,
        ("2024-04-10", "taxable", "BND"): 2_970.0, ("2024-04-10", "taxable", "STK"): 4_950.0,
        ("2024-05-02", "taxable", "INTL"): 1_980.0,
    })
    realized = result.ledger.realized()
    loss = realized[realized["asset"] == "INTL"]
    assert loss["gain"].sum() == pytest.approx(-1_200.0 / 95.0 * 5.0)
    assert no_wash_sale(result)
    daily = result.daily()
    assert daily["cash_taxable"].loc["2024-04-10":"2024-05-01"].to_numpy() == pytest.approx(1_980.0)
    may_2 = dates.get_loc(pd.Timestamp("2024-05-02"))
    assert household_weights(result, may_2) == pytest.approx(target, abs=1e-12)
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-8)


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market(seed=5, years=2.0)


def test_conservation_and_cash_on_a_synthetic_market(synthetic):
    household = Household([Account("taxable", reinvest=False),
                           Account("ira", kind="tax_deferred"),
                           Account("roth", kind="tax_exempt")])
    target = {"USTOTAL": 0.35, "INTL": 0.2, "BOND": 0.25, "MUNI": 0.05, "REIT": 0.1}
    dates = synthetic.pandas_dates
    flows = pd.DataFrame({"date": [dates[100], dates[300]], "account": ["taxable", "roth"],
                          "amount": [40_000.0, 20_000.0]})
    strategy = asset_location(synthetic, target, "quarterly", 0.01, cash_reserve=0.002)
    result = simulate(synthetic, household, strategy, {},
                      contributions={"taxable": 300_000.0, "ira": 150_000.0, "roth": 50_000.0},
                      flows=flows, cost_bps=2.0, cost_per_trade=1.0)
    trades = strategy_trades(result)
    assert len(trades) > 0
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-5)
    daily = result.daily()
    traded = daily.loc[sorted(set(trades["date"]))]
    assert (traded[["cash_taxable", "cash_ira", "cash_roth"]] >= -1e-6).all().all()
    # the IRA is placed in bonds and REITs; it buys anything else only on a quarter's first
    # trading day, holding for the taxable account an asset that the taxable account could
    # not sell without washing a loss (the wash-sale guard), never with new cash
    ira = trades[trades["account"] == "ira"]
    assert set(ira[ira["date"] == dates[0]]["asset"]) <= {"BOND", "REIT"}
    swapped = ira[~ira["asset"].isin(["BOND", "REIT"]) & (ira["shares"] > 0)]
    quarter_starts = set(pd.Series(dates).groupby(dates.to_period("Q")).min())
    assert len(swapped) > 0 and set(swapped["date"]) <= quarter_starts
    realized = result.ledger.realized()
    assert (realized["wash_disallowed"] == 0.0).all() and (realized["wash_lost"] == 0.0).all()
    # at the end the household is within the threshold plus a quarter's drift of its target
    end = dict.fromkeys(synthetic.tickers, 0.0)
    last = len(dates) - 1
    for (_, ticker), dollars in dollars_held(result, last).items():
        end[ticker] += dollars / daily["total_value"].iloc[last]
    for ticker, weight in target.items():
        assert end[ticker] == pytest.approx(weight, abs=0.05)


def test_plain_python_decide_gives_the_same_trades_as_the_jitted_one():
    n_days = 30
    closes = {name: [100.0] * n_days for name in TARGET}
    closes["US"] = steps(n_days, 100.0, 80.0, 2)
    closes["BOND"] = steps(n_days, 100.0, 105.0, 10)
    market = hand_market(closes)
    jitted = asset_location(market, TARGET, "monthly", 0.01)
    plain = Strategy("asset location (python)", asset_location_decide, jitted.params,
                     lot_method="tax_optimal", invests_flows=True)
    flows = pd.DataFrame({"date": [market.pandas_dates[5]], "account": ["roth"],
                          "amount": [5_000.0]})
    results = [run(market, strategy, {"taxable": 60_000.0, "ira": 30_000.0, "roth": 10_000.0},
                   flows=flows, cost_bps=5.0)
               for strategy in (jitted, plain)]
    assert len(strategy_trades(results[0])) > 0
    np.testing.assert_array_equal(results[0].trades, results[1].trades)
    np.testing.assert_array_equal(results[0].daily()["total_value"],
                                  results[1].daily()["total_value"])


def test_params_are_packed_at_the_documented_offsets():
    market = hand_market({name: [100.0] * 2 for name in TARGET})  # US, INTL, BOND, REIT
    strategy = asset_location(market, TARGET, "yearly", 0.03)
    params = strategy.params
    assert params[PARAM_MODE] == MODE_LOCATION
    assert params[PARAM_MONTHS] == 12
    assert params[PARAM_THRESHOLD] == 0.03
    assert params[PARAM_LOT_METHOD] == TAX_OPTIMAL
    assert params[PARAM_LAST_PERIOD] == -1.0
    assert params[PARAM_N_ASSETS] == 4
    np.testing.assert_array_equal(params[PARAM_PER_ASSET:PARAM_PER_ASSET + 4],
                                  [0.4, 0.2, 0.25, 0.15])
    np.testing.assert_array_equal(params[PARAM_PER_ASSET + 4:PARAM_PER_ASSET + 8], [2, 3, 1, 0])
    np.testing.assert_array_equal(params[PARAM_PER_ASSET + 8:], [1, 0, 3, 2])
    assert strategy.invests_flows
    twin = household_mix(TARGET, market.tickers, "yearly")
    assert twin.params[PARAM_MODE] == MODE_MIX and twin.params[PARAM_LOT_METHOD] == FIFO
    np.testing.assert_array_equal(twin.params, strategy.twin.params)


def test_a_strategy_built_for_another_market_is_refused_at_run_time():
    market = hand_market({name: [100.0] * 2 for name in TARGET})
    other = hand_market({"US": [100.0] * 2, "BOND": [100.0] * 2})
    with pytest.raises(ValueError, match="built for another market"):
        run(other, asset_location(market, TARGET), {"taxable": 1_000.0})


@pytest.mark.parametrize(
    "options, message",
    [
        ({"target": {}}, "target must be a non-empty mapping"),
        ({"target": {"ZZZ": 0.5}}, "target: unknown ticker 'ZZZ'"),
        ({"target": {"US": -0.1}}, r"target\['US'\] must be a finite weight >= 0"),
        ({"target": {"US": float("nan")}}, r"target\['US'\]"),
        ({"target": {"US": 0.7, "BOND": 0.5}}, "sum to 1.200000 > 1"),
        ({"target": {"US": 0.0}}, "sum to 0"),
        ({"frequency": "daily"}, "frequency must be one of"),
        ({"threshold": -0.1}, "threshold must be a finite number >= 0"),
        ({"min_trade": float("inf")}, "min_trade"),
        ({"cash_reserve": -0.1}, "cash_reserve"),
        ({"lot_method": "specific"}, "lot_method must be one of"),
        ({"expected_growth": {"QQQ": 0.1}}, "expected_growth: unknown ticker 'QQQ'"),
        ({"expected_growth": {"US": None}}, r"expected_growth\['US'\] must be a finite number"),
    ],
)
def test_bad_input_names_the_field(options, message):
    market = hand_market({name: [100.0] * 2 for name in TARGET})
    arguments = {"target": TARGET, **options}
    with pytest.raises(ValueError, match=message):
        asset_location(market, **arguments)


@pytest.mark.parametrize(
    "targets",
    [{"taxable": {"US": 0.6}}, {"2024-01-02": {"taxable": {"BOND": 0.4}}}],
    ids=["per-account", "dated"],
)
def test_per_account_targets_are_refused_not_ignored(targets):
    market = hand_market({name: [100.0] * 2 for name in TARGET})
    household = Household([Account("taxable")])
    for strategy in (asset_location(market, TARGET), household_mix(TARGET, market.tickers)):
        assert strategy.uses_targets is False
        with pytest.raises(SimulationError, match="holds its own target.*pass targets=\\{\\}"):
            simulate(market, household, strategy, targets, contributions={"taxable": 1_000.0})
    # an empty mapping or zero weights say nothing the strategy would ignore
    result = simulate(market, household, asset_location(market, TARGET), {"taxable": {"US": 0.0}},
                      contributions={"taxable": 1_000.0})
    assert result.daily()["total_value"].iloc[-1] == pytest.approx(1_000.0)
