"""taxsim.metrics.calculators: the value of deferral against its closed form, and a product's
hypothetical after-tax return against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from taxsim import TaxRates
from taxsim.metrics import MetricsError, deferral_value, hypothetical_after_tax_return

LT = 0.20 + 0.038  # long-term + NIIT
ST = 0.37 + 0.038  # ordinary + NIIT
QUALIFIED = 0.20 + 0.038


@pytest.mark.parametrize(
    "value, basis, rate, growth",
    [(100_000.0, 20_000.0, 0.238, 0.07), (50_000.0, 50_000.0, 0.30, 0.05),
     (10_000.0, 14_000.0, 0.238, 0.06), (1_000.0, 0.0, 0.15, -0.02)],
)
def test_deferral_value_matches_the_closed_form(value, basis, rate, growth):
    years = [0, 1, 5, 10, 30]
    table = deferral_value(value, basis, rate, growth, years)
    assert table.index.tolist() == years
    for n in years:
        grown = (1 + growth) ** n
        hold = value * grown - rate * (value * grown - basis)
        after_sale = value - rate * (value - basis)
        sell = after_sale * grown - rate * (after_sale * (grown - 1))
        assert table.loc[n, "hold"] == pytest.approx(hold, rel=1e-13)
        assert table.loc[n, "sell_and_replace"] == pytest.approx(sell, rel=1e-13)
        assert table.loc[n, "advantage"] == pytest.approx(hold - sell, rel=1e-12, abs=1e-9)
    assert "rate" in table.attrs["assumptions"]


def test_deferral_by_hand_and_its_properties():
    # V = 100, B = 40, t = 23.8%, g = 7%, 10 years
    table = deferral_value(100.0, 40.0, 0.238, 0.07, 10)
    grown = 1.07**10  # 1.967151...
    assert table.loc[10, "hold"] == pytest.approx(100 * grown * 0.762 + 0.238 * 40)
    assert table.loc[10, "sell_and_replace"] == pytest.approx(85.72 * (grown * 0.762 + 0.238))
    # now, selling and holding are worth the same after tax; later, holding wins
    table = deferral_value(100.0, 40.0, 0.238, 0.07, range(0, 31))
    assert table.loc[0, "advantage"] == pytest.approx(0.0, abs=1e-12)
    assert (np.diff(table["advantage"].to_numpy()) > 0).all()
    # no embedded gain: nothing to defer
    assert np.allclose(deferral_value(100.0, 100.0, 0.238, 0.07)["advantage"], 0.0)
    # an embedded loss: selling now harvests it, so selling wins
    assert (deferral_value(100.0, 140.0, 0.238, 0.07, [1, 10])["advantage"] < 0).all()
    with pytest.raises(MetricsError, match="rate"):
        deferral_value(100.0, 40.0, 1.5, 0.07)


def test_hypothetical_after_tax_return_one_year_by_hand():
    # 7% total return = 5% price + 2% qualified yield, no turnover, one year
    result = hypothetical_after_tax_return(0.07, yield_=0.02, years=1)
    assert result["after_tax_return_pre_liquidation"] == pytest.approx(
        0.05 + 0.02 * (1 - QUALIFIED), abs=1e-15)
    # liquidation: the 5% price gain taxed long-term (the reinvested income has full basis)
    assert result["after_tax_return_post_liquidation"] == pytest.approx(
        0.05 * (1 - LT) + 0.02 * (1 - QUALIFIED), abs=1e-15)
    assert result["tax_cost_ratio"] == pytest.approx(
        1 - (1 + 0.05 + 0.02 * (1 - QUALIFIED)) / 1.07, abs=1e-15)
    assert result["income_rate"] == pytest.approx(QUALIFIED)
    assert "Hypothetical" in result["assumptions"]


def test_full_short_term_turnover_taxes_every_gain_every_year():
    result = hypothetical_after_tax_return(
        0.08, yield_=0.03, turnover=1.0, income_mix={"ordinary": 1.0},
        gain_mix={"short_term": 1.0}, years=10)
    yearly = 1 + 0.05 * (1 - ST) + 0.03 * (1 - ST)
    assert result["after_tax_return_pre_liquidation"] == pytest.approx(yearly - 1, abs=1e-14)
    # nothing is left unrealized, so liquidation costs nothing more
    assert result["after_tax_return_post_liquidation"] == pytest.approx(yearly - 1, abs=1e-14)
    # no turnover defers the gains, worth more after liquidation even at the higher rate mix
    deferred = hypothetical_after_tax_return(
        0.08, yield_=0.03, turnover=0.0, income_mix={"ordinary": 1.0}, years=10)
    assert deferred["after_tax_return_post_liquidation"] > result[
        "after_tax_return_post_liquidation"]


def test_income_mix_and_locations():
    rates = TaxRates(ordinary=0.35, long_term=0.15, qualified_dividend=0.15, niit=0.0,
                     state=0.05)
    mixed = hypothetical_after_tax_return(
        0.06, yield_=0.04, income_mix={"qualified": 0.25, "ordinary": 0.5, "exempt": 0.25},
        rates=rates, years=1)
    income_rate = 0.25 * 0.20 + 0.5 * 0.40
    assert mixed["income_rate"] == pytest.approx(income_rate)
    assert mixed["after_tax_return_pre_liquidation"] == pytest.approx(
        0.02 + 0.04 * (1 - income_rate))
    roth = hypothetical_after_tax_return(0.06, yield_=0.04, location="tax_exempt", years=20)
    assert roth["after_tax_return_pre_liquidation"] == pytest.approx(0.06)
    assert roth["after_tax_return_post_liquidation"] == pytest.approx(0.06)
    assert roth["tax_cost_ratio"] == pytest.approx(0.0, abs=1e-15)
    ira = hypothetical_after_tax_return(0.06, yield_=0.04, location="tax_deferred", years=20,
                                        rates=rates)
    # the whole withdrawal is ordinary income (no NIIT on IRA distributions)
    assert ira["after_tax_return_post_liquidation"] == pytest.approx(
        (1.06**20 * (1 - 0.40)) ** (1 / 20) - 1)
    with pytest.raises(MetricsError, match="sum to 1"):
        hypothetical_after_tax_return(0.06, income_mix={"qualified": 0.5})
    with pytest.raises(MetricsError, match="location"):
        hypothetical_after_tax_return(0.06, location="offshore")
