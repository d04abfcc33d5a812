"""The simulator's trade log, replayed through the independent reference ledger, gives the same
lots, realized gains and taxes (the engine drives the ledger only through recorded events)."""

from __future__ import annotations

import pandas as pd
import pytest

from strategies import calendar_rebalance, loss_harvest
from taxsim import Account, Household
from taxsim.engine import simulate
from taxsim.market.synthetic import synthetic_market
from tests.reference.replay import replay


def household() -> Household:
    return Household([Account("taxable"), Account("ira", kind="tax_deferred")])


TARGETS = {"taxable": {"USTOTAL": 0.5, "INTL": 0.3, "MUNI": 0.2},
           "ira": {"BOND": 0.6, "USLARGE": 0.4}}


@pytest.fixture(scope="module")
def market():
    return synthetic_market(seed=21, years=3.0)


@pytest.mark.parametrize("strategy_name", ["calendar_hifo", "calendar_tax_optimal", "harvest"])
def test_trade_log_replayed_through_the_reference_gives_the_same_taxes(market, strategy_name):
    strategy = {
        "calendar_hifo": lambda: calendar_rebalance("monthly", "hifo"),
        "calendar_tax_optimal": lambda: calendar_rebalance("monthly", "tax_optimal"),
        "harvest": lambda: loss_harvest(market.tickers, [("USTOTAL", "USLARGE")], 2,
                                        threshold=0.02, rebalance="monthly"),
    }[strategy_name]()
    flows = pd.DataFrame({"date": market.pandas_dates[[150, 400]], "account": ["taxable"] * 2,
                          "amount": [40_000.0, -60_000.0]})
    result = simulate(market, household(), strategy, TARGETS, flows=flows, cost_bps=3.0,
                      contributions={"taxable": 400_000.0, "ira": 100_000.0})
    reference = replay(result)
    ours = result.ledger.realized()
    theirs = reference.realized()
    assert len(ours) == len(theirs) > 0
    for column in ("shares", "proceeds", "basis", "wash_disallowed", "wash_lost", "gain"):
        assert ours[column].to_numpy() == pytest.approx(theirs[column].to_numpy(), abs=1e-6), column
    if strategy_name == "calendar_hifo":
        assert ours["wash_disallowed"].sum() > 0  # the replay covers wash sales too
    annual = result.ledger.annual_tax().set_index("year")
    reference_annual = reference.annual_tax().set_index("year")
    for year in annual.index:
        assert annual.loc[year, "total_tax"] == pytest.approx(
            reference_annual.loc[year, "total_tax"], abs=1e-6)
    lots = result.ledger.lots()
    reference_lots = reference.lots()
    assert lots["shares"].sum() == pytest.approx(reference_lots["shares"].sum(), abs=1e-6)
    assert lots["basis"].sum() == pytest.approx(reference_lots["basis"].sum(), abs=1e-6)
