"""Tax-loss harvesting on crafted markets: when it harvests, what it buys, and no wash sale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies import loss_harvest
from strategies.loss_harvest import PARAM_HARVESTS, loss_harvest_decide
from taxsim import Account, Household, Market
from taxsim.engine import Strategy, simulate
from taxsim.market.synthetic import synthetic_market
from tests.simulation_checks import conservation_gap

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
