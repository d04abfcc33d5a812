"""Worked examples of the §199A deduction for qualified REIT dividends, as exact-number tests.

Sources: IRC §199A(a), (b)(1)(B), (e)(3) (20% of qualified REIT dividends, from 2018: Pub. L.
115-97 §11011; permanent by Pub. L. 119-21); Treas. Reg. §1.199A-3(c)(2)(ii) and
§1.199A-3(d)(4)(ii) (shares held more than 45 days in the 91-day window beginning 45 days
before the ex-date, counted under §246(c)(3)); Treas. Reg. §1.199A-1(e)(3) (no effect on net
investment income). Amounts are computed by hand in each test, never by the ledger.
"""

from __future__ import annotations

import numpy as np
import pytest

from taxsim import Account, Household, Ledger, LedgerError, TaxProfile, TaxRates
from taxsim.ledger.annual_tax import compute_year_tax, compute_year_tax_nb
from taxsim.ledger.enums import (
    N_RATE_FIELDS,
    N_TAX_FIELDS,
    N_YEAR_FIELDS,
    RATE_CHANGE_DAY,
    RATE_NIIT,
    RATE_ORDINARY,
    RATE_SECTION_199A_DEDUCTION,
    RATE_STATE,
    STANDALONE,
    TAX_FEDERAL_ORDINARY,
    TAX_NIIT,
    TAX_SECTION_199A_DEDUCTION,
    TAX_STATE,
    TAX_TOTAL,
    YEAR_NONQUALIFIED_DIVIDENDS,
    YEAR_SECTION_199A_DIVIDENDS,
)

CENT = 0.005


def reit_ledger(*accounts: Account, profile: TaxProfile | None = None, **kwargs) -> Ledger:
    accounts = accounts or (Account("taxable", reinvest=False),)
    return Ledger(Household(accounts), ["REIT"], tax_profile=profile, **kwargs)


def year_row(ledger: Ledger, year: int) -> dict:
    frame = ledger.annual_tax()
    return frame[frame["year"] == year].iloc[0].to_dict()


def assert_dollars(row: dict, **expected: float) -> None:
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, abs=CENT), name


def bought_before_ex_date_sold_on(sale_date: str, qualified: float = 0.0,
                                  section_199a: float = 1.0) -> dict:
    """2024's tax row after 100 shares bought at $40 on 2024-02-20 receive a $1.00 dividend on
    2024-03-01 (its ex-date) and are sold at cost on ``sale_date``."""
    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2024-02-20")
    ledger.distribute("REIT", "2024-03-01", 40.0, dividend=1.0, qualified_fraction=qualified,
                      section_199a_fraction=section_199a)
    ledger.sell("taxable", "REIT", 100, 40.0, sale_date)
    ledger.close_year(2024)
    return year_row(ledger, 2024)


def test_dividend_held_past_day_45_is_deducted_20_percent_at_the_ordinary_rate():
    """100 shares bought 2024-02-20, $1.00 REIT dividend on 2024-03-01 (ex-date), sold at cost
    on 2024-04-06: 46 days held (9 left in February, a leap year, plus 1 + 36), more than 45
    in the window: a qualified REIT dividend. Deduction 20% x $100 = $20; federal ordinary tax
    37% x ($100 - $20) = $29.60; NIIT 3.8% x $100 = $3.80, not reduced."""
    row = bought_before_ex_date_sold_on("2024-04-06")
    assert_dollars(
        row,
        nonqualified_dividends=100.0,
        section_199a_dividends=100.0,
        section_199a_deduction=20.0,
        ordinary_base=100.0,
        federal_ordinary_tax=29.60,
        niit=3.80,
        total_tax=33.40,
    )


def test_shares_sold_on_day_45_lose_the_deduction_but_stay_ordinary():
    """The same lot sold on 2024-04-05, 45 days after its purchase: held 45 days or less in
    the window, so no qualified REIT dividend (Treas. Reg. §1.199A-3(c)(2)(ii)). The $100 is
    still an ordinary dividend: 37% x $100 = $37.00 federal, $3.80 NIIT."""
    row = bought_before_ex_date_sold_on("2024-04-05")
    assert_dollars(
        row,
        nonqualified_dividends=100.0,
        section_199a_dividends=0.0,
        section_199a_deduction=0.0,
        federal_ordinary_tax=37.00,
        total_tax=40.80,
    )


def test_46_days_passes_the_reit_test_but_not_the_qualified_dividend_test():
    """A fund dividend of $1.00 a share: 30% qualified dividend income, 50% section 199A
    dividends, 20% other ordinary. 100 shares bought 2024-02-20 and sold on 2024-04-06 (46
    days): they fail the 61-day qualified test (the $30 becomes ordinary) but pass the 46-day
    REIT test (the $50 keeps its deduction, $10). Federal ordinary 37% x ($100 - $10) = $33.30."""
    row = bought_before_ex_date_sold_on("2024-04-06", qualified=0.3, section_199a=0.5)
    assert_dollars(
        row,
        qualified_dividends=0.0,
        nonqualified_dividends=100.0,
        section_199a_dividends=50.0,
        section_199a_deduction=10.0,
        federal_ordinary_tax=33.30,
    )


def test_only_the_early_lot_loses_the_deduction():
    """Two lots of 100 shares: one bought 2023-06-01 (old), one 2024-02-20. $0.50 REIT
    dividend on 2024-03-01 = $100. The young lot is sold by specific id on 2024-03-15 (24
    days): its $50 loses the deduction; the old lot's $50 keeps it (never sold). Deduction
    20% x $50 = $10."""
    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2023-06-01")
    young = ledger.buy("taxable", "REIT", 100, 40.0, "2024-02-20")
    ledger.distribute("REIT", "2024-03-01", 40.0, dividend=0.5, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.sell("taxable", "REIT", 100, 40.0, "2024-03-15", method="specific",
                lots={young: 100})
    ledger.close_year(2024)
    row = year_row(ledger, 2024)
    assert_dollars(
        row,
        section_199a_dividends=50.0,
        section_199a_deduction=10.0,
        federal_ordinary_tax=0.37 * 90.0,
    )


def test_a_split_restates_the_provisional_amount_per_new_share():
    """100 shares bought 2024-02-20, $1.00 REIT dividend on 2024-03-01, a 2-for-1 split on
    2024-03-10, then all 200 shares sold on 2024-03-20 (29 days): the whole $100 loses the
    deduction ($0.50 per new share x 200)."""
    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2024-02-20")
    ledger.distribute("REIT", "2024-03-01", 40.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.split("REIT", "2024-03-10", 2.0)
    ledger.sell("taxable", "REIT", 200, 20.0, "2024-03-20")
    ledger.close_year(2024)
    row = year_row(ledger, 2024)
    assert row["section_199a_dividends"] == pytest.approx(0.0, abs=CENT)


def test_a_sale_in_the_next_year_takes_the_deduction_back_from_a_closed_year():
    """100 shares bought 2024-12-01, $1.00 REIT dividend on 2024-12-20, 2024 closed with the
    deduction ($29.60 federal + $3.80 NIIT = $33.40), shares sold at cost on 2025-01-10 (40
    days). 2024's row loses the deduction and 2025's close collects the difference: 37% x $20
    = $7.40."""
    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2024-12-01")
    ledger.distribute("REIT", "2024-12-20", 40.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    assert ledger.close_year(2024) == pytest.approx(33.40, abs=CENT)
    ledger.sell("taxable", "REIT", 100, 40.0, "2025-01-10")
    assert ledger.close_year(2025) == pytest.approx(7.40, abs=CENT)
    assert year_row(ledger, 2024)["section_199a_dividends"] == pytest.approx(0.0, abs=CENT)


def test_liquidation_and_what_if_count_the_lost_deduction():
    """100 shares bought 2024-02-20, $1.00 REIT dividend on 2024-03-01. On 2024-03-06, at cost,
    selling them (15 days held) costs the deduction: 37% x 20% x $100 = $7.40, both as the
    liquidation tax and as the what-if sale's tax change."""
    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2024-02-20")
    ledger.distribute("REIT", "2024-03-01", 40.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    assert ledger.liquidation("2024-03-06", {"REIT": 40.0})["liquidation_tax"] == (
        pytest.approx(7.40, abs=CENT))
    assert ledger.what_if_sell("taxable", "REIT", 100, 40.0, "2024-03-06")["tax_change"] == (
        pytest.approx(7.40, abs=CENT))
    # past day 45 the sale costs nothing
    assert ledger.liquidation("2024-04-06", {"REIT": 40.0})["liquidation_tax"] == (
        pytest.approx(0.0, abs=CENT))


def test_state_tax_and_niit_are_on_the_whole_dividend():
    """5% state rate: state tax 5% x $100 = $5.00 and NIIT $3.80 whatever the deduction;
    only the federal ordinary tax falls, to 37% x $80 = $29.60."""
    profile = TaxProfile(default=TaxRates(state=0.05))
    ledger = reit_ledger(profile=profile)
    ledger.buy("taxable", "REIT", 100, 40.0, "2023-01-03")
    ledger.distribute("REIT", "2024-03-01", 40.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.close_year(2024)
    row = year_row(ledger, 2024)
    assert_dollars(
        row,
        state_tax=5.00,
        niit=3.80,
        federal_ordinary_tax=29.60,
        total_tax=38.40,
    )


def test_the_historical_profile_has_no_deduction_before_2018():
    """US top rates by year: 2017, 39.6% on a $100 REIT dividend with no deduction = $39.60
    federal; 2018, 37% x $80 = $29.60."""
    ledger = reit_ledger(profile=TaxProfile.us_top_historical())
    ledger.buy("taxable", "REIT", 100, 40.0, "2016-01-04")
    ledger.distribute("REIT", "2017-03-01", 40.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.close_year(2017)
    ledger.distribute("REIT", "2018-03-01", 40.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.close_year(2018)
    assert year_row(ledger, 2017)["section_199a_dividends"] == pytest.approx(100.0, abs=CENT)
    assert year_row(ledger, 2017)["section_199a_deduction"] == 0.0
    assert year_row(ledger, 2017)["federal_ordinary_tax"] == pytest.approx(39.60, abs=CENT)
    assert year_row(ledger, 2018)["section_199a_deduction"] == pytest.approx(20.0, abs=CENT)
    assert year_row(ledger, 2018)["federal_ordinary_tax"] == pytest.approx(29.60, abs=CENT)
    rates = TaxProfile.us_top_historical()
    assert rates.rates(2017).section_199a_deduction == 0.0
    assert rates.rates(2026).section_199a_deduction == 0.20  # permanent (Pub. L. 119-21)


def test_retirement_accounts_report_nothing_and_the_convention_does_not_matter():
    """An IRA's REIT dividends are not taxed (no deduction either); under ``offset`` the
    taxable account's deduction is the same $20 as under ``standalone``."""
    for convention in ("standalone", "offset"):
        ledger = reit_ledger(Account("taxable", reinvest=False),
                             Account("ira", kind="tax_deferred"), loss_convention=convention)
        ledger.buy("taxable", "REIT", 100, 40.0, "2023-01-03")
        ledger.buy("ira", "REIT", 500, 40.0, "2023-01-03")
        ledger.distribute("REIT", "2024-03-01", 40.0, dividend=1.0, qualified_fraction=0.0,
                          section_199a_fraction=1.0)
        ledger.close_year(2024)
        row = year_row(ledger, 2024)
        assert row["section_199a_dividends"] == pytest.approx(100.0, abs=CENT), convention
        assert row["section_199a_deduction"] == pytest.approx(20.0, abs=CENT), convention


@pytest.mark.parametrize(
    ("qualified", "section_199a", "message"),
    [
        (0.5, 0.6, "exceeds 1"),
        (0.0, 1.5, r"section_199a_fraction must be a fraction in \[0, 1\]"),
        (0.0, -0.1, r"section_199a_fraction must be a fraction in \[0, 1\]"),
        (0.0, float("nan"), r"section_199a_fraction must be a fraction in \[0, 1\]"),
        (0.0, "x", "section_199a_fraction must be a number"),
    ],
)
def test_bad_fractions_are_refused_and_change_nothing(qualified, section_199a, message):
    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2024-02-20")
    before = ledger.annual_tax().copy()
    with pytest.raises(LedgerError, match=message):
        ledger.distribute("REIT", "2024-03-01", 40.0, dividend=1.0,
                          qualified_fraction=qualified, section_199a_fraction=section_199a)
    assert ledger.annual_tax().equals(before)
    assert ledger.cash("taxable") == -4000.0  # the purchase only


def test_the_kernel_refuses_fractions_over_one_by_itself():
    """The numba kernel checks the sum too (a strategy may call it without the facade)."""
    from taxsim.ledger.distributions import distribute_nb
    from taxsim.ledger.enums import ERR_BAD_AMOUNT

    ledger = reit_ledger()
    ledger.buy("taxable", "REIT", 100, 40.0, "2024-02-20")
    status = distribute_nb(ledger._state, 0, 19783, 40.0, 1.0, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0,
                           False, 0.5)
    assert status == ERR_BAD_AMOUNT
    assert ledger.annual_tax()["nonqualified_dividends"].sum() == 0.0


@pytest.mark.parametrize("compute", [compute_year_tax, compute_year_tax_nb],
                         ids=["python", "numba"])
def test_year_tax_formula_python_and_numba(compute):
    """$1,000 of ordinary dividends of which $600 are qualified REIT dividends, rates 37% /
    3.8% NIIT / 4% state / 20% deduction: deduction $120, federal 37% x $880 = $325.60, NIIT
    $38.00, state $40.00."""
    income = np.zeros(N_YEAR_FIELDS)
    income[YEAR_NONQUALIFIED_DIVIDENDS] = 1000.0
    income[YEAR_SECTION_199A_DIVIDENDS] = 600.0
    rates = np.zeros(N_RATE_FIELDS)
    rates[RATE_ORDINARY] = 0.37
    rates[RATE_NIIT] = 0.038
    rates[RATE_STATE] = 0.04
    rates[RATE_SECTION_199A_DEDUCTION] = 0.20
    rates[RATE_CHANGE_DAY] = np.inf  # no change of the long-term rate within the year
    out = np.zeros(N_TAX_FIELDS)
    compute(income, 0.0, 0.0, rates, STANDALONE, out)
    assert out[TAX_SECTION_199A_DEDUCTION] == pytest.approx(120.0, abs=1e-9)
    assert out[TAX_FEDERAL_ORDINARY] == pytest.approx(325.60, abs=1e-9)
    assert out[TAX_NIIT] == pytest.approx(38.0, abs=1e-9)
    assert out[TAX_STATE] == pytest.approx(40.0, abs=1e-9)
    assert out[TAX_TOTAL] == pytest.approx(403.60, abs=1e-9)


def test_tax_rates_refuse_a_bad_deduction():
    from taxsim.ledger.household import ConfigError

    with pytest.raises(ConfigError, match="section_199a_deduction"):
        TaxRates(section_199a_deduction=1.0)
