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


def test_reit_dividends_replayed_through_the_reference_give_the_same_section_199a_deduction(
        market):
    """A taxable REIT holding rebalanced monthly by HIFO (young lots sold, some before their
    46th day, Treas. Reg. §1.199A-3(c)(2)(ii)): the engine passes the market's
    section_199a_fraction to every distribution, and the reference, fed the same events,
    finds the same qualified REIT dividends, deduction and tax each year."""
    reit = market.with_metadata({"REIT": {"qualified_fraction": 0.25}})
    assert reit.section_199a_fraction[reit.index_of("REIT")] == 0.75
    targets = {"taxable": {"USTOTAL": 0.4, "REIT": 0.4, "MUNI": 0.2},
               "ira": {"BOND": 0.6, "USLARGE": 0.4}}
    flows = pd.DataFrame({"date": reit.pandas_dates[[150, 400]], "account": ["taxable"] * 2,
                          "amount": [40_000.0, -60_000.0]})
    result = simulate(reit, household(), calendar_rebalance("monthly", "hifo"), targets,
                      flows=flows, cost_bps=3.0,
                      contributions={"taxable": 400_000.0, "ira": 100_000.0})
    annual = result.ledger.annual_tax().set_index("year")
    reference = replay(result)
    reference_annual = reference.annual_tax().set_index("year")
    assert annual["section_199a_dividends"].sum() > 0.0
    assert reference.section_199a_failed() > 0.0  # some shares sold before their 46th day
    for year in annual.index:
        for column in ("nonqualified_dividends", "section_199a_dividends",
                       "section_199a_deduction", "federal_ordinary_tax", "total_tax"):
            assert annual.loc[year, column] == pytest.approx(
                reference_annual.loc[year, column], abs=1e-6), (year, column)
        assert annual.loc[year, "section_199a_deduction"] == pytest.approx(
            0.20 * annual.loc[year, "section_199a_dividends"], abs=1e-9)
