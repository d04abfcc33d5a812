"""Harvesting on real ETFs (../shared/data): real losses in 2008 and 2020, never a wash sale."""

from __future__ import annotations

import pytest

from strategies import loss_harvest
from taxsim import Account, Household
from taxsim.engine import simulate
from taxsim.market import load
from tests.simulation_checks import conservation_gap

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def harvest_run(shared_data_dir):
    market = load(["SPY", "IVV", "VTI", "QQQ"], "2000-01-01", "2026-12-31",
                  source=shared_data_dir / "us_etfs_1999_2026.parquet")
    # SPY, IVV (both S&P 500) and VTI (total market) are treated as not substantially
    # identical: each its own identity group, the household's (documented) choice
    # dividends are kept as cash (the strategy invests them): only the lots at a loss are sold
    household = Household([Account("taxable", reinvest=False)])
    strategy = loss_harvest(market.tickers, [("SPY", "IVV", "VTI")], n_accounts=1,
                            threshold=0.05, rebalance="quarterly", swap_back=True)
    result = simulate(market, household, strategy, {"taxable": {"SPY": 0.7, "QQQ": 0.3}},
                      contributions={"taxable": 1_000_000.0}, cost_bps=1.0, twins=True)
    return result


def test_harvests_real_losses_in_2008_and_2020(harvest_run):
    realized = harvest_run.ledger.realized()
    strategy_sales = realized[realized["asset"].isin(["SPY", "IVV", "VTI"])]
    losses = strategy_sales[strategy_sales["gain"] < 0]
    years = losses["sold"].dt.year
    assert losses[years == 2008]["gain"].sum() < -10_000.0
    # by 2020 most lots carry 20 years of gains: only the recent ones (invested dividends,
    # rebalancing buys) can be harvested, still several thousand dollars, and far more than
    # the non-managed twin realizes
    assert losses[years == 2020]["gain"].sum() < -5_000.0
    twin = harvest_run.twins["non_managed"].ledger.realized()
    twin_losses = twin[(twin["gain"] < 0) & (twin["sold"].dt.year == 2020)]["gain"].sum()
    assert losses[years == 2020]["gain"].sum() < 5 * twin_losses


def test_no_wash_sale_is_ever_triggered(harvest_run):
    realized = harvest_run.ledger.realized()
    assert len(realized) > 0
    assert realized["wash_disallowed"].sum() == 0.0
    assert realized["wash_lost"].sum() == 0.0
    assert harvest_run.ledger.lots()["wash_adjustment"].sum() == 0.0


def test_conservation_and_twins_on_real_data(harvest_run):
    assert conservation_gap(harvest_run) == pytest.approx(0.0, abs=1e-4)
    twin = harvest_run.twins["non_managed"]
    assert twin.conventions["lot_method"] == "fifo"
    # the non-managed twin realizes no harvested losses on the S&P funds in 2008
    twin_realized = twin.ledger.realized()
    twin_2008 = twin_realized[(twin_realized["sold"].dt.year == 2008)
                              & (twin_realized["gain"] < 0)]
    harvested_2008 = harvest_run.ledger.realized()
    harvested_2008 = harvested_2008[(harvested_2008["sold"].dt.year == 2008)
                                    & (harvested_2008["gain"] < 0)]
    assert harvested_2008["gain"].sum() < twin_2008["gain"].sum()
