"""Worked examples from the rules, as exact-number tests of the numba ledger.

Each test names its source. Amounts are computed by hand in the test, never by the ledger.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from taxsim import Account, Household, Ledger, LedgerError, TaxProfile, TaxRates
from taxsim.dates import (
    civil_from_days,
    civil_from_days_nb,
    days_from_civil,
    days_from_civil_nb,
    held_more_than_months_from,
    held_more_than_months_from_nb,
    is_long_term,
    is_long_term_nb,
    to_day,
    to_timestamp,
)
from taxsim.ledger.annual_tax import compute_year_tax, compute_year_tax_nb
from taxsim.ledger.enums import (
    FIRST_YEAR,
    N_RATE_FIELDS,
    N_TAX_FIELDS,
    N_YEAR_FIELDS,
    RATE_CHANGE_DAY,
    RATE_LONG_TERM,
    RATE_LONG_TERM_BEFORE_CHANGE,
)
from taxsim.ledger.household import ConfigError

CENT = 0.005


def household(*accounts: Account, **kwargs) -> Household:
    return Household(accounts or (Account("taxable"),), **kwargs)


def ledger_for(*accounts: Account, assets=("XYZ",), **kwargs) -> Ledger:
    groups = kwargs.pop("identity_groups", {})
    filing = kwargs.pop("filing_status", "single")
    return Ledger(
        household(*accounts, identity_groups=groups, filing_status=filing), assets, **kwargs
    )


# --------------------------------------------------------------------------- holding period
@pytest.mark.parametrize("function", [is_long_term, is_long_term_nb])
def test_holding_period_calendar_rule_pub_550(function):
    # Pub 550: bought 2024-02-05, sold 2025-02-05 is short-term even though 366 days passed.
    assert not function(to_day("2024-02-05"), to_day("2025-02-05"))
    assert function(to_day("2024-02-05"), to_day("2025-02-06"))
    # Feb 29 acquisition (Rev. Rul. 66-7): one year ends Feb 28 of the common year.
    assert not function(to_day("2024-02-29"), to_day("2025-02-28"))
    assert function(to_day("2024-02-29"), to_day("2025-03-01"))
    # a common-year acquisition into a leap year: 2023-03-01 -> 2024-03-01 is exactly a year
    assert not function(to_day("2023-03-01"), to_day("2024-03-01"))
    assert function(to_day("2023-03-01"), to_day("2024-03-02"))
    # bought on the last day of a month: the holding months end on the last days of the next
    # months (Caspe v. United States, 8th Cir. 1982), so bought 2023-02-28, the twelfth month
    # ends 2024-02-29 and only 2024-03-01 is more than a year (not the day after the
    # anniversary 2024-02-28)
    assert not function(to_day("2023-02-28"), to_day("2024-02-29"))
    assert function(to_day("2023-02-28"), to_day("2024-03-01"))
    # any other month end works the same way as the day after the anniversary
    assert not function(to_day("2023-04-30"), to_day("2024-04-30"))
    assert function(to_day("2023-04-30"), to_day("2024-05-01"))
    # Feb 28 of a leap year is not a month end: the day after it is Feb 29, which a common
    # year lacks, so the year is complete on Feb 28 and Mar 1 is past it
    assert not function(to_day("2024-02-28"), to_day("2025-02-28"))
    assert function(to_day("2024-02-28"), to_day("2025-03-01"))


@pytest.mark.parametrize("function", [held_more_than_months_from, held_more_than_months_from_nb])
def test_six_month_holding_period_by_calendar_months(function):
    # Caspe v. United States, 694 F.2d 1116 (8th Cir. 1982): bought Nov 30, 1972, sold
    # May 31, 1973 was held six months, not more
    assert function(to_day("1972-11-30"), 6) == to_day("1973-06-01")
    assert function(to_day("2024-01-15"), 6) == to_day("2024-07-16")
    # counting from Aug 31 or Aug 30, the sixth month ends on the last day of February
    assert function(to_day("2024-08-30"), 6) == to_day("2025-03-01")
    assert function(to_day("2023-08-28"), 6) == to_day("2024-02-29")
    assert function(to_day("2024-02-05"), 12) == to_day("2025-02-06")


def test_calendar_month_rule_matches_the_reference_formulation_on_every_day():
    # the kernel rolls a missing day over to the next month's first; the reference reasons
    # with holding months ending on month ends (tests/reference): the same days, 2019-2030
    from tests.reference.ledger import first_day_held_more_than

    first = to_day("2019-01-01")
    for day in range(first, first + 12 * 366):
        acquired = to_timestamp(day).date()
        for months in (6, 12):
            expected = to_day(first_day_held_more_than(acquired, months))
            assert held_more_than_months_from_nb(day, months) == expected, (acquired, months)


def test_civil_day_conversions_plain_and_jitted_agree_with_numpy():
    days = np.arange(to_day("1899-12-25"), to_day("2101-01-05"), 7)
    expected = pd.DatetimeIndex(np.datetime64("1970-01-01") + days.astype("timedelta64[D]"))
    for function in (civil_from_days, civil_from_days_nb):
        converted = [function(int(day)) for day in days[::50]]
        assert converted == [(d.year, d.month, d.day) for d in expected[::50]]
    for function in (days_from_civil, days_from_civil_nb):
        assert [function(d.year, d.month, d.day) for d in expected[::50]] == list(days[::50])


def test_sale_on_anniversary_is_short_term_and_day_after_long_term():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 100.0, "2024-02-05")
    ledger.buy("taxable", "XYZ", 10, 100.0, "2024-02-05")
    short = ledger.sell("taxable", "XYZ", 10, 120.0, "2025-02-05")
    long = ledger.sell("taxable", "XYZ", 10, 120.0, "2025-02-06")
    assert list(short["term"]) == ["short"] and list(long["term"]) == ["long"]
    ledger.close_year(2025)
    row = ledger.annual_tax().set_index("year").loc[2025]
    assert row["st_gain"] == pytest.approx(200.0) and row["lt_gain"] == pytest.approx(200.0)
    # 200 * (37% + 3.8%) + 200 * (20% + 3.8%)
    assert row["total_tax"] == pytest.approx(200 * 0.408 + 200 * 0.238, abs=CENT)


# --------------------------------------------------------------------------- wash sales
def test_pub_550_wash_sale_example():
    # Pub 550 "Wash Sales": 100 shares bought for $1,000, sold for $750, 100 rebought for
    # $800 within 30 days: $250 disallowed, new basis $1,050.
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 100, 7.5, "2024-03-01")
    ledger.buy("taxable", "XYZ", 100, 8.0, "2024-03-20")
    sale = ledger.realized().iloc[0]
    assert sale["wash_disallowed"] == pytest.approx(250.0)
    assert sale["gain"] == pytest.approx(0.0)
    lot = ledger.lots().iloc[0]
    assert lot["basis"] == pytest.approx(1050.0)
    assert lot["wash_adjustment"] == pytest.approx(250.0)
    # holding period of the sold shares (2024-01-02 .. 2024-03-01: 59 days) is added
    assert lot["holding_start"] == pd.Timestamp("2024-03-20") - pd.Timedelta(days=59)
    form = ledger.form_8949()
    assert form.loc[0, "code"] == "W" and form.loc[0, "adjustment"] == pytest.approx(250.0)
    assert ledger.close_year(2024) == pytest.approx(0.0)


def test_rev_rul_2008_5_ira_repurchase_loses_the_loss():
    ledger = ledger_for(Account("taxable"), Account("ira", kind="tax_deferred"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 100, 7.5, "2024-03-01")
    ledger.buy("ira", "XYZ", 100, 8.0, "2024-03-05")
    sale = ledger.realized().iloc[0]
    assert sale["wash_disallowed"] == pytest.approx(250.0)
    assert sale["wash_lost"] == pytest.approx(250.0)
    ira_lot = ledger.lots().iloc[0]
    assert ira_lot["account"] == "ira"
    assert ira_lot["basis"] == pytest.approx(800.0)  # IRA basis not increased
    assert ira_lot["wash_adjustment"] == 0.0
    assert ledger.close_year(2024) == pytest.approx(0.0)  # no loss deduction either
    assert ledger.audit()["wash_lost"] == pytest.approx(250.0)


def test_partial_replacement_leaves_rest_of_loss_allowed():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 100, 7.0, "2024-03-01")  # loss $300, $3 per share
    lot_id = ledger.buy("taxable", "XYZ", 40, 7.2, "2024-03-10")
    sale = ledger.realized().iloc[0]
    assert sale["wash_disallowed"] == pytest.approx(120.0)
    assert sale["gain"] == pytest.approx(-180.0)
    lots = ledger.lots()
    assert len(lots) == 1 and lots.loc[0, "lot_id"] == lot_id
    assert lots.loc[0, "basis"] == pytest.approx(40 * 7.2 + 120.0)
    # allowed loss: -180 short-term -> deduction 180 at 37%, NIIT floored at zero
    assert ledger.close_year(2024) == pytest.approx(-180 * 0.37, abs=CENT)


def test_replacement_bought_before_the_sale_and_split_into_a_piece():
    # 30 days before also counts (IRC 1091(a)), and so does a spouse's account (Pub 550). The
    # spouse's lot of 150 shares is split: 100 adjusted replacement shares, 50 untouched.
    ledger = ledger_for(Account("taxable"), Account("spouse", owner="spouse"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-01-02")
    replacement_id = ledger.buy("spouse", "XYZ", 150, 9.0, "2024-02-15")
    ledger.sell("taxable", "XYZ", 100, 8.0, "2024-03-01")  # $2/share loss
    sale = ledger.realized().iloc[0]
    # the spouse's 150 shares replace all 100 sold shares
    assert sale["wash_disallowed"] == pytest.approx(200.0)
    lots = ledger.lots().set_index("lot_id")
    assert lots.loc[replacement_id, "shares"] == pytest.approx(50.0)
    assert not lots.loc[replacement_id, "replacement"]
    piece = lots.loc[replacement_id + 1]
    assert piece["shares"] == pytest.approx(100.0)
    assert piece["basis"] == pytest.approx(100 * 9.0 + 200.0)
    assert piece["replacement"]
    # tacking: 59 days held (Jan 2 .. Mar 1) before the piece's acquisition on Feb 15
    assert piece["holding_start"] == pd.Timestamp("2024-02-15") - pd.Timedelta(days=59)


@pytest.mark.parametrize("method", ["fifo", "specific"])
def test_pub_550_wash_sale_with_fewer_shares_bought_before_the_sale(method):
    # Pub 550 "Wash Sales", the example of replacements bought before the sale: 100 shares
    # bought September 24 for $5,000; 50 bought December 21 for $2,750; 25 bought December 28
    # for $1,125; the September shares sold January 4 for $4,000. The $1,000 loss is
    # disallowed on the 75 replacement shares ($750) and allowed on 25 ($250). The December 21
    # shares' basis grows by 50/75 of $750 to $3,250, the December 28 shares' by 25/75 to
    # $1,375.
    ledger = ledger_for(Account("taxable"))
    september = ledger.buy("taxable", "XYZ", 100, 50.0, "2024-09-24")
    december_21 = ledger.buy("taxable", "XYZ", 50, 55.0, "2024-12-21")
    december_28 = ledger.buy("taxable", "XYZ", 25, 45.0, "2024-12-28")
    lots = {september: 100.0} if method == "specific" else None
    ledger.sell("taxable", "XYZ", 100, 40.0, "2025-01-04", method=method, lots=lots)
    sale = ledger.realized().iloc[0]
    assert sale["lot_id"] == september
    assert sale["wash_disallowed"] == pytest.approx(750.0)
    assert sale["gain"] == pytest.approx(-250.0)
    held = ledger.lots().set_index("lot_id")
    assert held.loc[december_21, "basis"] == pytest.approx(3250.0)
    assert held.loc[december_28, "basis"] == pytest.approx(1375.0)
    # both take the September shares' holding period (102 days) on top of their own
    days_held = (pd.Timestamp("2025-01-04") - pd.Timestamp("2024-09-24")).days
    assert days_held == 102
    for lot_id, bought in ((december_21, "2024-12-21"), (december_28, "2024-12-28")):
        assert held.loc[lot_id, "holding_start"] == (
            pd.Timestamp(bought) - pd.Timedelta(days=days_held)
        )
    assert ledger.close_year(2024) == pytest.approx(0.0)
    assert ledger.close_year(2025) == pytest.approx(-250.0 * 0.37, abs=CENT)


@pytest.mark.parametrize("replacement_day", ["2024-02-20", "2024-03-15"])
@pytest.mark.parametrize("method", ["tax_optimal", "lifo"])
def test_one_sale_of_two_loss_lots_washes_the_earliest_acquired_first(method, replacement_day):
    # Treas. Reg. §1.1091-1(b): losses go in the order the shares were disposed of, and shares
    # disposed of on one day in an order that cannot be determined (two lots delivered in one
    # sale) count as disposed of in the order they were originally acquired. So 100
    # replacement shares take the loss of lot A (bought first), not of lot B, which the lot
    # method relieved first (tax-optimal: short-term losses first; LIFO: newest first),
    # whether they were bought before the sale or after it (§1.1091-1(c)).
    ledger = ledger_for(Account("taxable"), Account("spouse", owner="spouse"))
    lot_a = ledger.buy("taxable", "XYZ", 100, 50.0, "2022-01-03")  # long-term at the sale
    lot_b = ledger.buy("taxable", "XYZ", 100, 40.0, "2023-11-01")  # short-term at the sale
    before = replacement_day < "2024-03-01"
    if before:
        replacement = ledger.buy("spouse", "XYZ", 100, 35.0, replacement_day)
    rows = ledger.sell("taxable", "XYZ", 200, 30.0, "2024-03-01", method=method)
    assert list(rows["lot_id"]) == [lot_b, lot_a]  # relieved B first
    if not before:
        replacement = ledger.buy("spouse", "XYZ", 100, 35.0, replacement_day)
    realized = ledger.realized().set_index("lot_id")
    assert realized.loc[lot_a, "wash_disallowed"] == pytest.approx(2000.0)  # $20 x 100
    assert realized.loc[lot_a, "gain"] == pytest.approx(0.0)
    assert realized.loc[lot_a, "term"] == "long"
    assert realized.loc[lot_b, "wash_disallowed"] == 0.0
    assert realized.loc[lot_b, "gain"] == pytest.approx(-1000.0)  # $10 x 100, allowed
    assert realized.loc[lot_b, "term"] == "short"
    lot = ledger.lots().set_index("lot_id").loc[replacement]
    assert lot["basis"] == pytest.approx(3500.0 + 2000.0)
    # lot A's holding period, 2022-01-03 .. 2024-03-01 (788 days), is tacked on
    held = (pd.Timestamp("2024-03-01") - pd.Timestamp("2022-01-03")).days
    assert held == 788
    assert lot["holding_start"] == pd.Timestamp(replacement_day) - pd.Timedelta(days=held)
    # the allowed $1,000 short-term loss offsets ordinary income at 37% (NIIT floored at 0)
    assert ledger.close_year(2024) == pytest.approx(-1000.0 * 0.37, abs=CENT)


def test_separate_loss_sales_on_one_day_are_matched_in_the_order_they_were_made():
    # Treas. Reg. §1.1091-1(b): losses are taken in the order of disposition, which separate
    # sales give even on one day (the acquisition-order fallback is for shares whose order
    # cannot be determined). The spouse's sale is made first, so the 100 replacement shares
    # take its $10-a-share loss; the taxable account's later $20-a-share loss stays allowed.
    ledger = ledger_for(Account("taxable"), Account("spouse", owner="spouse"))
    older = ledger.buy("taxable", "XYZ", 100, 50.0, "2023-01-03")
    newer = ledger.buy("spouse", "XYZ", 100, 40.0, "2023-06-01")
    ledger.sell("spouse", "XYZ", 100, 30.0, "2024-03-01")
    ledger.sell("taxable", "XYZ", 100, 30.0, "2024-03-01")
    ledger.buy("taxable", "XYZ", 100, 31.0, "2024-03-20")
    realized = ledger.realized().set_index("lot_id")
    assert realized.loc[newer, "wash_disallowed"] == pytest.approx(1000.0)
    assert realized.loc[older, "wash_disallowed"] == 0.0
    assert realized.loc[older, "gain"] == pytest.approx(-2000.0)


def test_remaining_shares_of_the_same_purchase_are_not_replacements():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-03-01")
    ledger.sell("taxable", "XYZ", 40, 8.0, "2024-03-10")
    assert ledger.realized().iloc[0]["wash_disallowed"] == 0.0
    assert ledger.close_year(2024) == pytest.approx(-80 * 0.37, abs=CENT)


def test_retroactive_adjustment_by_a_purchase_after_the_sale():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 50.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 10, 40.0, "2024-06-03")
    assert ledger.realized().iloc[0]["wash_disallowed"] == 0.0
    ledger.buy("taxable", "XYZ", 10, 41.0, "2024-07-03")  # 30 days after: still a wash sale
    assert ledger.realized().iloc[0]["wash_disallowed"] == pytest.approx(100.0)
    ledger.buy("taxable", "XYZ", 10, 41.0, "2024-07-04")  # nothing left to match
    assert ledger.lots()["wash_adjustment"].tolist() == pytest.approx([100.0, 0.0])


def test_purchase_31_days_after_is_not_a_wash_sale():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 50.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 10, 40.0, "2024-06-03")
    ledger.buy("taxable", "XYZ", 10, 41.0, "2024-07-04")
    assert ledger.realized().iloc[0]["wash_disallowed"] == 0.0


def test_retroactive_adjustment_of_a_closed_year_is_due_at_the_next_close():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 50.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 100, 40.0, "2024-12-20")  # $1,000 short-term loss
    due_2024 = ledger.close_year(2024)
    assert due_2024 == pytest.approx(-1000 * 0.37, abs=CENT)
    ledger.buy("taxable", "XYZ", 100, 41.0, "2025-01-10")  # within 30 days: wash sale
    due_2025 = ledger.close_year(2025)
    assert due_2025 == pytest.approx(+1000 * 0.37, abs=CENT)  # the refund is given back
    table = ledger.annual_tax().set_index("year")
    assert table.loc[2024, "total_tax"] == pytest.approx(0.0, abs=CENT)
    assert table.loc[2024, "wash_disallowed"] == pytest.approx(1000.0)


def test_substantially_identical_group_spans_tickers():
    ledger = ledger_for(
        Account("taxable"), assets=("SPY", "IVV", "QQQ"), identity_groups={"SPY": "sp", "IVV": "sp"}
    )
    ledger.buy("taxable", "SPY", 10, 500.0, "2024-01-02")
    ledger.sell("taxable", "SPY", 10, 450.0, "2024-03-01")
    ledger.buy("taxable", "QQQ", 10, 400.0, "2024-03-02")  # not identical
    assert ledger.realized().iloc[0]["wash_disallowed"] == 0.0
    ledger.buy("taxable", "IVV", 5, 452.0, "2024-03-03")  # identical: half the shares
    assert ledger.realized().iloc[0]["wash_disallowed"] == pytest.approx(250.0)


def test_reinvested_dividend_triggers_a_wash_sale():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-01-02")
    ledger.buy("taxable", "XYZ", 100, 9.0, "2024-06-03")
    ledger.sell("taxable", "XYZ", 100, 8.0, "2024-06-10", method="fifo")  # $200 loss
    # 2024-06-03 lot is a replacement bought within 30 days before: disallowed 100 * $2
    assert ledger.realized().iloc[0]["wash_disallowed"] == pytest.approx(200.0)
    ledger2 = ledger_for(Account("taxable"))
    ledger2.buy("taxable", "XYZ", 100, 10.0, "2023-01-03")
    ledger2.buy("taxable", "XYZ", 100, 10.0, "2023-01-04")
    ledger2.sell("taxable", "XYZ", 100, 8.0, "2024-06-10", method="fifo")
    ledger2.distribute("XYZ", "2024-06-20", price=8.0, dividend=0.4)  # 100 * 0.4 = $40
    # the reinvested 5 shares replace 5 of the 100 sold shares
    assert ledger2.realized().iloc[0]["wash_disallowed"] == pytest.approx(5 * 2.0)


# --------------------------------------------------------------------------- lot methods
def method_ledger() -> Ledger:
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 100.0, "2022-01-03")  # lot 1: long-term gain at 110
    ledger.buy("taxable", "XYZ", 10, 130.0, "2022-06-01")  # lot 2: long-term loss
    ledger.buy("taxable", "XYZ", 10, 115.0, "2023-09-01")  # lot 3: short-term loss
    ledger.buy("taxable", "XYZ", 10, 90.0, "2023-10-02")  # lot 4: short-term gain
    return ledger


@pytest.mark.parametrize(
    "method, expected_lots",
    [
        ("fifo", [1, 2]),
        ("lifo", [4, 3]),
        ("hifo", [2, 3]),
        ("tax_optimal", [3, 2]),
        # tax per dollar at 110: lot 1 10 * 0.238 / 110 = 0.0216, lot 4 20 * 0.408 / 110 = 0.0742
        ("gains_first", [1, 4]),
    ],
)
def test_lot_methods_relieve_in_their_order(method, expected_lots):
    ledger = method_ledger()
    rows = ledger.sell("taxable", "XYZ", 20, 110.0, "2024-01-10", method=method)
    assert rows["lot_id"].tolist() == expected_lots


def test_tax_optimal_prefers_long_term_gain_to_short_term_gain():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 60.0, "2022-01-03")  # long-term gain $40/share
    ledger.buy("taxable", "XYZ", 10, 80.0, "2023-12-01")  # short-term gain $20/share
    # tax per dollar: short 20 * 0.408 / 100 = 0.0816; long 40 * 0.238 / 100 = 0.0952
    rows = ledger.sell("taxable", "XYZ", 10, 100.0, "2024-01-10", method="tax_optimal")
    assert rows["lot_id"].tolist() == [2]
    ledger.buy("taxable", "XYZ", 10, 95.0, "2024-01-11")  # short-term gain $5/share: 0.0204
    rows = ledger.sell("taxable", "XYZ", 10, 100.0, "2024-03-01", method="tax_optimal")
    assert rows["lot_id"].tolist() == [3]


def test_gains_first_sells_every_gain_lot_by_least_tax_then_the_smallest_loss():
    ledger = method_ledger()
    # lot 1 long-term gain $10/share, lot 4 short-term gain $20, lot 3 short-term loss $5,
    # lot 2 long-term loss $20: 25 shares take both gain lots and 5 of the smallest loss
    rows = ledger.sell("taxable", "XYZ", 25, 110.0, "2024-01-10", method="gains_first")
    assert rows["lot_id"].tolist() == [1, 4, 3]
    assert rows["shares"].tolist() == [10.0, 10.0, 5.0]
    assert rows["gain"].tolist() == pytest.approx([100.0, 200.0, -25.0], abs=CENT)
    assert rows["term"].tolist() == ["long", "short", "short"]
    with pytest.raises(LedgerError, match="XYZ"):  # more than held: refused, as every method
        ledger.sell("taxable", "XYZ", 15.5, 110.0, "2024-01-12", method="gains_first")


def test_gains_first_takes_a_lot_at_no_gain_first_and_no_loss_while_gains_cover():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 100.0, "2023-01-03")  # lot 1: long-term gain $10/share
    ledger.buy("taxable", "XYZ", 10, 110.0, "2023-06-01")  # lot 2: no gain at 110
    ledger.buy("taxable", "XYZ", 10, 120.0, "2023-07-03")  # lot 3: short-term loss $10/share
    rows = ledger.sell("taxable", "XYZ", 15, 110.0, "2024-03-01", method="gains_first")
    assert rows["lot_id"].tolist() == [2, 1]  # no tax on lot 2's shares, then 0.0216 a dollar
    assert rows["gain"].tolist() == pytest.approx([0.0, 50.0], abs=CENT)
    assert ledger.lots()["lot_id"].tolist() == [1, 3]


def test_specific_lots_and_average_cost():
    ledger = method_ledger()
    rows = ledger.sell(
        "taxable", "XYZ", None, 110.0, "2024-01-10", method="specific", lots={4: 5.0, 1: 2.0}
    )
    assert rows["lot_id"].tolist() == [4, 1]
    assert rows["basis"].tolist() == pytest.approx([450.0, 200.0])
    average = ledger_for(Account("taxable"))
    average.buy("taxable", "XYZ", 10, 10.0, "2024-01-02")
    average.buy("taxable", "XYZ", 30, 20.0, "2024-02-01")
    rows = average.sell("taxable", "XYZ", 20, 25.0, "2024-03-01", method="average")
    # average basis (100 + 600) / 40 = 17.5 per share; FIFO for the holding period
    assert rows["basis"].tolist() == pytest.approx([175.0, 175.0])
    assert average.lots()["basis"].sum() == pytest.approx(350.0)


# --------------------------------------------------------------------------- distributions
def test_qualified_dividend_holding_test():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 50.0, "2024-03-01")
    ledger.buy("taxable", "XYZ", 100, 50.0, "2024-04-29")  # ex-date minus 1
    ledger.distribute("XYZ", "2024-04-30", price=50.0, dividend=1.0, qualified_fraction=1.0)
    # both lots provisionally qualified; sell the young lot on day 60: it fails the test
    ledger.sell("taxable", "XYZ", None, 50.0, "2024-06-28", method="specific", lots={2: 100.0})
    # the old lot (acquired 60 days before the ex-date) keeps its dividend qualified
    ledger.close_year(2024)
    row = ledger.annual_tax().set_index("year").loc[2024]
    assert row["qualified_dividends"] == pytest.approx(100.0)
    assert row["nonqualified_dividends"] == pytest.approx(100.0)


def test_qualified_dividend_passes_when_held_61_days():
    ledger = ledger_for(Account("taxable", reinvest=False))
    ledger.buy("taxable", "XYZ", 100, 50.0, "2024-04-29")
    ledger.distribute("XYZ", "2024-04-30", price=50.0, dividend=1.0, qualified_fraction=0.8)
    ledger.sell("taxable", "XYZ", 100, 50.0, "2024-06-29")  # day 61
    ledger.close_year(2024)
    row = ledger.annual_tax().set_index("year").loc[2024]
    assert row["qualified_dividends"] == pytest.approx(80.0)
    assert row["nonqualified_dividends"] == pytest.approx(20.0)
    assert ledger.cash("taxable") == pytest.approx(-5000 + 100 + 5000)


def test_dividends_are_paid_on_the_exact_sum_of_the_lots_shares():
    """An account's shares are its lots' exact sum rounded once (``math.fsum``), in any order
    of the lots; a lot the exact accumulator cannot hold (below 2**-70 shares) makes the
    position use the float sum in acquisition order until that lot is gone."""
    import math

    ledger = ledger_for(Account("taxable", reinvest=False))
    for day, shares in (("2024-01-02", 0.1), ("2024-01-03", 0.2), ("2024-01-04", 0.3)):
        ledger.buy("taxable", "XYZ", shares, 10.0, day)
    exact = math.fsum([0.1, 0.2, 0.3])
    assert exact != (0.1 + 0.2) + 0.3  # 0.6 against 0.6000000000000001
    ledger.distribute("XYZ", "2024-02-01", price=10.0, dividend=1.0)
    assert ledger.cash("taxable") == -6.0 + exact
    ledger.buy("taxable", "XYZ", 1e-25, 10.0, "2024-02-02")  # out of the accumulator's range
    ledger.distribute("XYZ", "2024-03-01", price=10.0, dividend=1.0)
    listed = ((0.1 + 0.2) + 0.3) + 1e-25
    assert ledger.cash("taxable") == -6.0 + exact - 1e-24 + listed
    ledger.sell("taxable", "XYZ", 1e-25, 10.0, "2024-03-04", method="lifo")
    before = ledger.cash("taxable")
    ledger.distribute("XYZ", "2024-04-01", price=10.0, dividend=1.0)
    assert ledger.cash("taxable") == before + exact  # exact again


def test_distribution_characters_and_return_of_capital_beyond_basis():
    ledger = ledger_for(Account("taxable", reinvest=False), Account("roth", kind="tax_exempt"))
    ledger.buy("taxable", "XYZ", 10, 2.0, "2023-01-03")  # basis $20
    ledger.buy("roth", "XYZ", 10, 2.0, "2023-01-03")
    ledger.distribute(
        "XYZ",
        "2024-05-01",
        price=5.0,
        dividend=0.5,
        qualified_fraction=0.6,
        interest=0.1,
        exempt_interest=0.2,
        st_capital_gain=0.3,
        lt_capital_gain=0.4,
        return_of_capital=3.0,
    )
    ledger.close_year(2024)
    row = ledger.annual_tax().set_index("year").loc[2024]
    assert row["qualified_dividends"] == pytest.approx(3.0)
    assert row["nonqualified_dividends"] == pytest.approx(2.0)
    assert row["interest"] == pytest.approx(1.0)
    assert row["exempt_interest"] == pytest.approx(2.0)
    assert row["st_capital_gain_distributions"] == pytest.approx(3.0)
    assert row["lt_capital_gain_distributions"] == pytest.approx(4.0)
    # return of capital $30 against basis $20: basis to zero, $10 long-term gain
    assert row["lt_gain"] == pytest.approx(10.0)
    taxable_lot = ledger.lots().query("account == 'taxable'").iloc[0]
    assert taxable_lot["basis"] == 0.0
    ordinary = 2.0 + 1.0 + 3.0
    preferential_lt = 4.0 + 10.0
    expected = ordinary * 0.37 + preferential_lt * 0.20 + 3.0 * 0.20
    expected += 0.038 * (ordinary + preferential_lt + 3.0)
    assert row["total_tax"] == pytest.approx(expected, abs=1e-9)
    assert ledger.cash("taxable") == pytest.approx(-20 + 10 * 4.5)


def test_return_of_capital_beyond_basis_is_a_form_8949_line_pub_550_example():
    # Pub 550 "Nondividend Distributions", its example: XYZ Mutual Fund shares bought for $12
    # a share; nondividend distributions of $5, $1 and $2 a share in later years take the
    # basis to $4; the next year's $5 "reduce[s] your basis in each share to zero and report
    # $1 of gain. See the Instructions for Form 8949."
    ledger = ledger_for(Account("taxable", reinvest=False),
                        Account("roth", kind="tax_exempt", reinvest=False))
    ledger.buy("taxable", "XYZ", 100, 12.0, "2015-03-02")
    ledger.buy("roth", "XYZ", 100, 12.0, "2015-03-02")
    for year, per_share in ((2016, 5.0), (2017, 1.0), (2018, 2.0)):
        ledger.distribute("XYZ", f"{year}-06-15", price=20.0, return_of_capital=per_share)
        ledger.close_year(year)
    assert ledger.lots().set_index("account").loc["taxable", "basis"] == pytest.approx(400.0)
    assert ledger.form_8949().empty  # a return of capital within basis is not reported
    ledger.distribute("XYZ", "2019-06-14", price=20.0, return_of_capital=5.0)
    ledger.close_year(2019)
    form = ledger.form_8949()
    assert len(form) == 1  # the taxable lot's line; the Roth's excess is not taxed
    line = form.iloc[0]
    assert line["description"] == "XYZ nondividend distribution exceeding basis"
    assert (line["acquired"], line["sold"]) == (pd.Timestamp("2015-03-02"),
                                                pd.Timestamp("2019-06-14"))
    assert (line["proceeds"], line["basis"], line["gain"]) == (pytest.approx(100.0), 0.0,
                                                               pytest.approx(100.0))
    assert (line["term"], line["box"], line["code"], line["adjustment"]) == ("long", "D", "", 0)
    realized = ledger.realized()
    assert list(realized["sale_id"]) == [0] and list(realized["shares"]) == [0.0]
    lots = ledger.lots().set_index("account")
    assert lots.loc["taxable", "shares"] == 100.0 and lots.loc["taxable", "basis"] == 0.0
    assert lots.loc["roth", "basis"] == 0.0  # the IRA-type lot's basis falls the same way
    row = ledger.annual_tax().set_index("year").loc[2019]
    # Form 8949's lines add up to the Schedule D totals
    assert row["lt_gain"] == pytest.approx(form["gain"].sum())
    assert row["proceeds"] == pytest.approx(form["proceeds"].sum())
    assert row["st_gain"] == 0.0 and row["return_of_capital"] == pytest.approx(500.0)
    assert row["total_tax"] == pytest.approx(100.0 * (0.20 + 0.038))
    # a lot held one year or less: a short-term line (Part I), beside a sale's line
    ledger.buy("taxable", "XYZ", 10, 3.0, "2020-01-06")
    ledger.sell("taxable", "XYZ", 50, 20.0, "2020-02-03")  # FIFO: 50 of the zero-basis shares
    ledger.distribute("XYZ", "2020-06-15", price=20.0, return_of_capital=4.0)
    ledger.close_year(2020)
    form = ledger.form_8949().query("sold.dt.year == 2020")
    excess = "XYZ nondividend distribution exceeding basis"
    assert list(form["description"]) == ["50 sh XYZ", excess, excess]
    assert list(form["term"]) == ["long", "long", "short"]
    assert list(form["proceeds"]) == [pytest.approx(1000.0), pytest.approx(200.0),
                                      pytest.approx(10.0)]  # 50 x $4; 10 x $4 - $30 basis
    row = ledger.annual_tax().set_index("year").loc[2020]
    assert row["st_gain"] == pytest.approx(10.0)
    assert row["lt_gain"] == pytest.approx(1200.0) == form.query("term == 'long'")["gain"].sum()
    audit = ledger.audit()
    assert audit["roc_excess_gain"] == pytest.approx(100.0 + 200.0 + 10.0)


def test_split_scales_shares_and_open_wash_window():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 100, 10.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 100, 8.0, "2024-03-01")  # $200 loss, window open
    ledger.buy("taxable", "XYZ", 10, 20.0, "2024-03-02")
    ledger.split("XYZ", "2024-03-05", 2.0)
    lot = ledger.lots().iloc[0]
    assert lot["shares"] == pytest.approx(20.0)
    assert lot["basis"] == pytest.approx(200.0 + 20.0)  # 10 sh * $2 loss carried in
    # 90 old loss shares still open = 180 new shares at $1 of loss each
    ledger.buy("taxable", "XYZ", 180, 4.5, "2024-03-06")
    assert ledger.realized().iloc[0]["wash_disallowed"] == pytest.approx(200.0)


# --------------------------------------------------------------------------- annual tax
def test_3000_limit_and_character_keeping_carryforward():
    ledger = ledger_for(Account("taxable"), assets=("A", "B", "C"))
    ledger.buy("taxable", "B", 100, 100.0, "2022-01-03")
    ledger.buy("taxable", "A", 100, 100.0, "2024-01-02")
    ledger.buy("taxable", "C", 100, 100.0, "2024-01-02")
    ledger.sell("taxable", "A", 100, 50.0, "2024-06-03")  # short-term loss 5,000
    ledger.sell("taxable", "B", 100, 80.0, "2024-06-03")  # long-term loss 2,000
    assert ledger.close_year(2024) == pytest.approx(-3000 * 0.37, abs=CENT)
    row = ledger.annual_tax().set_index("year").loc[2024]
    assert row["loss_deduction"] == pytest.approx(3000.0)
    assert row["carryforward_st_out"] == pytest.approx(2000.0)
    assert row["carryforward_lt_out"] == pytest.approx(2000.0)
    ledger.sell("taxable", "C", 100, 200.0, "2025-03-03")  # long-term gain 10,000
    # 2025: net ST -2,000, net LT 8,000 -> 6,000 long-term at 20% + 3.8%
    assert ledger.close_year(2025) == pytest.approx(6000 * 0.238, abs=CENT)


def test_married_filing_separately_limit_is_1500():
    ledger = ledger_for(Account("taxable"), filing_status="married_separate")
    ledger.buy("taxable", "XYZ", 100, 100.0, "2024-01-02")
    ledger.sell("taxable", "XYZ", 100, 50.0, "2024-06-03")
    assert ledger.close_year(2024) == pytest.approx(-1500 * 0.37, abs=CENT)
    assert ledger.annual_tax().iloc[0]["carryforward_st_out"] == pytest.approx(3500.0)


def test_worksheet_uses_short_term_loss_first():
    # ST loss 1,000, LT loss 5,000: the deduction takes the ST loss first, LT carries 3,000
    out = np.zeros(N_TAX_FIELDS)
    income = np.zeros(N_YEAR_FIELDS)
    income[0], income[1] = -1000.0, -5000.0
    # ordinary, long-term, qualified, NIIT, state, loss limit; no change of rate in the year;
    # §199A deduction; collectibles and unrecaptured section 1250 rates
    rates = np.array([0.37, 0.2, 0.2, 0.038, 0.0, 3000.0, 0.2, np.inf, 0.2, 0.28, 0.25])
    assert rates.shape == (N_RATE_FIELDS,)
    for function in (compute_year_tax, compute_year_tax_nb):
        function(income, 0.0, 0.0, rates, 0, out)
        assert out[3] == pytest.approx(0.0) and out[4] == pytest.approx(3000.0)


def test_short_term_loss_offsets_long_term_gain_before_rates():
    ledger = ledger_for(Account("taxable"), assets=("A", "B"))
    ledger.buy("taxable", "A", 10, 100.0, "2022-01-03")
    ledger.buy("taxable", "B", 10, 100.0, "2024-01-02")
    ledger.sell("taxable", "A", 10, 200.0, "2024-06-03")  # LT +1,000
    ledger.sell("taxable", "B", 10, 70.0, "2024-06-03")  # ST -300
    assert ledger.close_year(2024) == pytest.approx(700 * 0.238, abs=CENT)


def test_offset_convention_values_each_loss_at_its_own_rate():
    ledger = ledger_for(Account("taxable"), assets=("A", "B"), loss_convention="offset")
    ledger.buy("taxable", "A", 10, 100.0, "2022-01-03")
    ledger.buy("taxable", "B", 100, 100.0, "2024-01-02")
    ledger.sell("taxable", "A", 10, 200.0, "2024-06-03")  # LT +1,000
    ledger.sell("taxable", "B", 100, 50.0, "2024-06-03")  # ST -5,000, no limit
    expected = 1000 * 0.238 - 5000 * 0.408
    assert ledger.close_year(2024) == pytest.approx(expected, abs=CENT)
    assert ledger.annual_tax()["carryforward_st_out"].iloc[0] == 0.0


def test_rates_change_by_year():
    profile = TaxProfile(
        default=TaxRates(0.37, 0.20, 0.20, 0.038, 0.05),
        by_year={2030: TaxRates(0.40, 0.25, 0.25, 0.05, 0.0)},
    )
    ledger = ledger_for(Account("taxable"), tax_profile=profile)
    ledger.buy("taxable", "XYZ", 10, 100.0, "2028-01-03")
    ledger.sell("taxable", "XYZ", 5, 200.0, "2029-06-01")
    assert ledger.close_year(2029) == pytest.approx(500 * (0.20 + 0.038 + 0.05), abs=CENT)
    ledger.sell("taxable", "XYZ", 5, 200.0, "2030-06-01")
    assert ledger.close_year(2030) == pytest.approx(500 * (0.25 + 0.05), abs=CENT)
    historical = TaxProfile.us_top_historical()
    assert historical.rates(2005).long_term == 0.15 and historical.rates(2001).niit == 0.0
    assert historical.rates(2025).ordinary == 0.37


# --------------------------------------------------------------------------- rate change in 2003
# JGTRRA 2003 (Pub. L. 108-27) §301(a), (c): net capital gain taken into account from
# 2003-05-06 on is taxed at 15%, the rest at 20% (2003 Schedule D, column (g)); the
# post-change part is the lesser of the net capital gain of those days alone (long-term gains
# and capital gain distributions less a net short-term loss of those days) and the year's.
# No NIIT before 2013, so these are federal dollars only.
def ledger_2003(**kwargs) -> Ledger:
    return ledger_for(Account("taxable"), assets=("A", "B", "C", "D"),
                      tax_profile=TaxProfile.us_top_historical(), **kwargs)


def year_row(ledger: Ledger, year: int):
    return ledger.annual_tax().set_index("year").loc[year]


def test_2003_long_term_gain_before_may_6_is_taxed_at_20_percent_after_at_15():
    ledger = ledger_2003()
    for asset in ("A", "B"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.sell("taxable", "A", 100, 20.0, "2003-05-05")  # LT +1,000, the last day at 20%
    ledger.sell("taxable", "B", 100, 15.0, "2003-05-06")  # LT +500, the first day at 15%
    assert ledger.close_year(2003) == pytest.approx(1000 * 0.20 + 500 * 0.15, abs=CENT)
    row = year_row(ledger, 2003)
    assert row["lt_gain_after_rate_change"] == pytest.approx(500.0)
    assert row["lt_gain_base_before_rate_change"] == pytest.approx(1000.0)
    profile = TaxProfile.us_top_historical()
    assert profile.long_term_rate_on("2003-05-05") == 0.20
    assert profile.long_term_rate_on("2003-05-06") == 0.15
    assert profile.long_term_rate_on("2004-01-02") == 0.15


def test_2003_short_term_loss_after_may_5_comes_off_the_15_percent_part():
    ledger = ledger_2003()
    for asset in ("A", "B"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.sell("taxable", "A", 100, 20.0, "2003-03-03")  # LT +1,000 before
    ledger.buy("taxable", "C", 100, 10.0, "2003-06-02")
    ledger.sell("taxable", "B", 100, 15.0, "2003-07-01")  # LT +500 after
    ledger.sell("taxable", "C", 100, 7.0, "2003-08-01")  # ST -300 after
    # net capital gain 1,200; after May 5 alone: 500 - 300 = 200 at 15%, 1,000 at 20%
    assert ledger.close_year(2003) == pytest.approx(200 * 0.15 + 1000 * 0.20, abs=CENT)
    assert year_row(ledger, 2003)["st_gain_after_rate_change"] == pytest.approx(-300.0)


def test_2003_a_loss_before_may_6_leaves_the_gain_after_at_15_percent():
    ledger = ledger_2003()
    for asset in ("A", "B"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.sell("taxable", "A", 100, 6.0, "2003-02-03")  # LT -400 before
    ledger.sell("taxable", "B", 100, 15.0, "2003-09-02")  # LT +500 after
    # net capital gain 100, the lesser of it and the 500 after May 5: all at 15%
    assert ledger.close_year(2003) == pytest.approx(100 * 0.15, abs=CENT)


def test_2003_carryover_counts_before_may_6():
    ledger = ledger_2003()
    for asset in ("A", "B"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.buy("taxable", "C", 100, 100.0, "2001-06-01")
    ledger.sell("taxable", "C", 100, 63.0, "2002-08-01")  # LT -3,700: 3,000 deducted
    assert year_row_after_close(ledger, 2002)["carryforward_lt_out"] == pytest.approx(700.0)
    ledger.sell("taxable", "A", 100, 20.0, "2003-03-03")  # LT +1,000 before
    ledger.sell("taxable", "B", 100, 15.0, "2003-07-01")  # LT +500 after
    # net LT 1,500 - 700 = 800: the 500 after May 5 at 15%, 300 at 20%
    assert ledger.close_year(2003) == pytest.approx(500 * 0.15 + 300 * 0.20, abs=CENT)


def year_row_after_close(ledger: Ledger, year: int):
    ledger.close_year(year)
    return year_row(ledger, year)


def test_2003_capital_gain_distributions_count_by_their_date():
    ledger = ledger_2003()
    ledger.buy("taxable", "A", 100, 10.0, "2002-10-01")
    ledger.distribute("A", "2003-03-20", price=10.0, lt_capital_gain=2.0, dividend=0.5)
    ledger.distribute("A", "2003-06-20", price=10.0, lt_capital_gain=1.0)
    # 200 of distributions at 20%, the ones reinvested from 2003-03-20 on at 15%, and the
    # qualified dividend at 15% all year (JGTRRA §302; held since 2002)
    shares_in_june = 100 + 250 / 10.0
    expected = 200 * 0.20 + shares_in_june * 1.0 * 0.15 + 50 * 0.15
    assert ledger.close_year(2003) == pytest.approx(expected, abs=CENT)
    assert year_row(ledger, 2003)["lt_gain_after_rate_change"] == pytest.approx(shares_in_june)


def test_2003_a_wash_sale_after_may_5_adjusts_the_15_percent_part():
    ledger = ledger_2003()
    for asset in ("A", "B", "C"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.sell("taxable", "A", 100, 20.0, "2003-03-03")  # LT +1,000 before
    ledger.sell("taxable", "B", 100, 15.0, "2003-07-01")  # LT +500 after
    ledger.sell("taxable", "C", 100, 6.0, "2003-07-02")  # LT -400 after
    # before the repurchase: 1,100 of net capital gain, 100 of it after May 5 (next test)
    ledger.buy("taxable", "C", 100, 6.5, "2003-07-20")  # washes the whole loss (IRC §1091)
    assert ledger.close_year(2003) == pytest.approx(500 * 0.15 + 1000 * 0.20, abs=CENT)
    assert year_row(ledger, 2003)["lt_gain_after_rate_change"] == pytest.approx(500.0)


def test_2003_without_the_repurchase_the_loss_reduces_the_15_percent_part():
    ledger = ledger_2003()
    for asset in ("A", "B", "C"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.sell("taxable", "A", 100, 20.0, "2003-03-03")
    ledger.sell("taxable", "B", 100, 15.0, "2003-07-01")
    ledger.sell("taxable", "C", 100, 6.0, "2003-07-02")
    assert ledger.close_year(2003) == pytest.approx(100 * 0.15 + 1000 * 0.20, abs=CENT)


def test_2003_offset_convention_values_each_side_at_its_rate():
    ledger = ledger_2003(loss_convention="offset")
    for asset in ("A", "B"):
        ledger.buy("taxable", asset, 100, 10.0, "2001-06-01")
    ledger.sell("taxable", "A", 100, 20.0, "2003-03-03")  # LT +1,000 before: 20%
    ledger.sell("taxable", "B", 100, 6.0, "2003-07-01")  # LT -400 after: worth 15%
    assert ledger.close_year(2003) == pytest.approx(1000 * 0.20 - 400 * 0.15, abs=CENT)


def test_2003_liquidation_and_what_if_use_the_rate_of_the_day():
    ledger = ledger_2003()
    ledger.buy("taxable", "A", 100, 10.0, "2001-06-01")
    before = ledger.liquidation("2003-05-05", {"A": 20.0, "B": 1.0, "C": 1.0, "D": 1.0})
    after = ledger.liquidation("2003-05-06", {"A": 20.0, "B": 1.0, "C": 1.0, "D": 1.0})
    assert before["liquidation_tax"] == pytest.approx(1000 * 0.20, abs=CENT)
    assert after["liquidation_tax"] == pytest.approx(1000 * 0.15, abs=CENT)
    answer = ledger.what_if_sell("taxable", "A", 100, 20.0, "2003-04-01")
    assert answer["tax_change"] == pytest.approx(1000 * 0.20, abs=CENT)


def test_rate_change_within_a_year_is_validated():
    with pytest.raises(ConfigError, match="not a date"):
        TaxProfile(long_term_before={"May 6th-ish": 0.2})
    with pytest.raises(ConfigError, match="January 1"):
        TaxProfile(long_term_before={"2003-01-01": 0.2})
    with pytest.raises(ConfigError, match="more than one change in 2003"):
        TaxProfile(long_term_before={"2003-05-06": 0.2, "2003-09-01": 0.1})
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        TaxProfile(long_term_before={"2003-05-06": 1.5})
    with pytest.raises(ConfigError, match="within"):
        TaxProfile(long_term_before={"1850-05-06": 0.2})
    profile = TaxProfile(long_term_before={pd.Timestamp("2003-05-06"): 0.2})
    assert dict(profile.long_term_before) == {"2003-05-06": 0.2}
    assert profile.rate_change(2003) == ("2003-05-06", 0.2) and profile.rate_change(2004) is None
    table = TaxProfile.us_top_historical().rate_table(3000.0)
    row_2003, row_2004 = table[2003 - FIRST_YEAR], table[2004 - FIRST_YEAR]
    assert row_2003[RATE_CHANGE_DAY] == to_day("2003-05-06")
    assert row_2003[RATE_LONG_TERM_BEFORE_CHANGE] == 0.20 and row_2003[RATE_LONG_TERM] == 0.15
    assert row_2004[RATE_CHANGE_DAY] == np.inf
    assert row_2004[RATE_LONG_TERM_BEFORE_CHANGE] == row_2004[RATE_LONG_TERM] == 0.15


def test_profiles_and_households_pickle_for_process_pools():
    import pickle

    profile = TaxProfile(TaxRates(0.3, 0.1, 0.1, 0.0, 0.07), {2026: TaxRates()}, name="mine",
                         long_term_before={"2027-07-01": 0.25})
    back = pickle.loads(pickle.dumps(profile))
    assert back == profile and dict(back.long_term_before) == {"2027-07-01": 0.25}
    assert dict(back.by_year) == {2026: TaxRates()} and back.name == "mine"
    family = household(Account("a"), Account("b", kind="tax_exempt", owner="bob"),
                       filing_status="married_joint", identity_groups={"SPY": "x", "IVV": "x"})
    again = pickle.loads(pickle.dumps(family))
    assert again == family and dict(again.identity_groups) == {"SPY": "x", "IVV": "x"}


# --------------------------------------------------------------------------- liquidation
def test_liquidation_tax_and_value():
    ledger = ledger_for(Account("taxable"), Account("roth", kind="tax_exempt"), assets=("A", "B"))
    ledger.buy("taxable", "A", 10, 100.0, "2022-01-03")
    ledger.buy("taxable", "B", 10, 100.0, "2024-01-02")
    ledger.buy("roth", "A", 10, 100.0, "2024-01-02")
    result = ledger.liquidation("2024-06-03", {"A": 150.0, "B": 80.0})
    # LT +500, ST -200: net LT 300 at 23.8%
    assert result["liquidation_tax"] == pytest.approx(300 * 0.238, abs=CENT)
    value = 10 * 150 + 10 * 80 + 10 * 150 - 3000
    assert result["liquidation_value"] == pytest.approx(value - 300 * 0.238, abs=CENT)
    with pytest.raises(LedgerError, match="no price"):
        ledger.liquidation("2024-06-03", {"A": 150.0})


def test_what_if_sell_changes_nothing():
    ledger = method_ledger()
    lots_before = ledger.lots()
    answer = ledger.what_if_sell("taxable", "XYZ", 10, 110.0, "2024-01-10", method="hifo")
    assert answer["rows"]["lot_id"].tolist() == [2]
    assert answer["realized_gain"] == pytest.approx(-200.0)
    assert answer["tax_change"] == pytest.approx(-200 * 0.37, abs=CENT)
    pd.testing.assert_frame_equal(ledger.lots(), lots_before)
    assert len(ledger.realized()) == 0


# --------------------------------------------------------------------------- bad input
def snapshot(ledger: Ledger):
    return ledger.lots(), ledger.realized(), ledger.cash("taxable")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda L: L.sell("taxable", "XYZ", 11, 10.0, "2024-05-01"), "not enough shares"),
        (lambda L: L.sell("taxable", "XYZ", 0, 10.0, "2024-05-01"), "shares must be"),
        (lambda L: L.sell("taxable", "XYZ", 1, -1.0, "2024-05-01"), "price must be"),
        (lambda L: L.buy("taxable", "XYZ", 1, float("nan"), "2024-05-01"), "price must be"),
        (lambda L: L.buy("taxable", "XYZ", -5, 10.0, "2024-05-01"), "shares must be"),
        (lambda L: L.buy("taxable", "XYZ", 1, 10.0, "2024-03-31"), "before the previous"),
        (lambda L: L.buy("nowhere", "XYZ", 1, 10.0, "2024-05-01"), "unknown account 'nowhere'"),
        (lambda L: L.buy("taxable", "ABC", 1, 10.0, "2024-05-01"), "unknown asset 'ABC'"),
        (
            lambda L: L.sell(
                "taxable", "XYZ", None, 10.0, "2024-05-01", method="specific", lots={99: 1.0}
            ),
            "unknown or closed lot",
        ),
        (
            lambda L: L.sell(
                "taxable", "XYZ", None, 10.0, "2024-05-01", method="specific", lots={1: 6.0}
            ),
            "not enough shares",
        ),
        (
            lambda L: L.sell(
                "taxable", "XYZ", 4, 10.0, "2024-05-01", method="specific", lots={1: 3.0}
            ),
            r"the lots' shares add up to 3\.0, not 4\.0",
        ),
        (lambda L: L.sell("taxable", "XYZ", 1, 10.0, "2024-05-01", method="best"), "lot method"),
        (lambda L: L.split("XYZ", "2024-05-01", 0.0), "split ratio"),
        (lambda L: L.distribute("XYZ", "2024-05-01", 10.0, dividend=-1.0), "amounts"),
        (lambda L: L.buy("taxable", "XYZ", 1, 10.0, "not a date"), "not a date"),
    ],
)
def test_bad_input_raises_naming_the_item_and_changes_nothing(call, message):
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 5, 10.0, "2024-03-01")
    ledger.buy("taxable", "XYZ", 5, 12.0, "2024-04-01")
    before = snapshot(ledger)
    with pytest.raises(LedgerError, match=message):
        call(ledger)
    after = snapshot(ledger)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    assert before[2] == after[2]


def test_closed_year_refuses_events():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 5, 10.0, "2024-03-01")
    ledger.close_year(2024)
    with pytest.raises(LedgerError, match="already closed"):
        ledger.close_year(2024)
    with pytest.raises(LedgerError, match="already closed"):
        ledger.buy("taxable", "XYZ", 5, 10.0, "2024-12-31")


def test_many_lots_grow_the_arrays():
    ledger = ledger_for(Account("taxable"), Account("ira", kind="tax_deferred"))
    days = pd.bdate_range("2020-01-01", periods=400)
    for i, day in enumerate(days):
        ledger.buy("taxable" if i % 2 else "ira", "XYZ", 1.0, 10.0 + (i % 7), day)
    assert len(ledger.lots()) == 400
    rows = ledger.sell("taxable", "XYZ", 150, 12.0, days[-1], method="hifo")
    assert rows["shares"].sum() == pytest.approx(150.0)
    assert len(ledger.lots()) == 250


def test_lot_ids_stop_at_the_int32_limit_with_a_clear_error():
    """Lot ids and slots are int32 (the lot's 64-byte row, ``taxsim/ledger/state.py``): an
    event that could need a lot id past ``MAX_LOT_ID`` is refused, naming the limit, and the
    ledger is unchanged; ids just below the limit are still stored exactly."""
    from taxsim.ledger.enums import CNT_NEXT_LOT_ID, MAX_LOT_ID

    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 5, 10.0, "2024-03-01")
    counters = ledger._state.counters
    counters[CNT_NEXT_LOT_ID] = MAX_LOT_ID - 10
    ledger.buy("taxable", "XYZ", 5, 12.0, "2024-04-01")
    assert ledger.lots()["lot_id"].tolist() == [1, MAX_LOT_ID - 10]
    assert ledger.lots()["lot_id"].dtype == np.int64
    counters[CNT_NEXT_LOT_ID] = MAX_LOT_ID - 2
    before = snapshot(ledger)
    with pytest.raises(LedgerError, match="2,147,483,647 lot ids"):
        ledger.buy("taxable", "XYZ", 1, 10.0, "2024-05-01")
    after = snapshot(ledger)
    pd.testing.assert_frame_equal(before[0], after[0])
    pd.testing.assert_frame_equal(before[1], after[1])
    assert before[2] == after[2]


def test_more_accounts_than_the_realized_rows_hold_is_a_config_error():
    from taxsim.ledger.enums import MAX_ACCOUNTS
    from taxsim.ledger.household import ConfigError

    accounts = [Account(f"a{i}") for i in range(MAX_ACCOUNTS + 1)]
    with pytest.raises(ConfigError, match="32,768 accounts, more than the ledger's 32,767"):
        Household(accounts)


def test_closing_a_year_without_income_reports_a_zero_row():
    ledger = ledger_for(Account("taxable"))
    ledger.split("XYZ", "2012-12-31", 2.0)
    assert ledger.close_year(2012) == 0.0
    table = ledger.annual_tax()
    assert table["year"].tolist() == [2012] and table["total_tax"].tolist() == [0.0]


def test_carryforward_in_is_used_from_the_first_year_only():
    # $4,500 long-term loss carried in: $3,000 deducted in the first year, $1,500 the next.
    ledger = ledger_for(Account("taxable"), carryforward=(0.0, 4500.0))
    ledger.split("XYZ", "2012-12-31", 2.0)
    assert ledger.close_year(2012) == pytest.approx(-3000 * 0.37)
    assert ledger.close_year(2013) == pytest.approx(-1500 * 0.37)
    table = ledger.annual_tax().set_index("year")
    assert table.loc[2012, "carryforward_lt_out"] == pytest.approx(1500.0)
    assert table.loc[2013, "carryforward_lt_in"] == pytest.approx(1500.0)


def test_shares_bought_on_the_ex_date_get_no_dividend():
    # Pub 550: the ex-dividend date is "the first date following the declaration of a dividend
    # on which the buyer of a stock isn't entitled to receive the next dividend payment". The
    # facade takes the event's date as the ex-date, whatever the order of the calls that day.
    ledger = ledger_for(Account("taxable", reinvest=False))
    ledger.buy("taxable", "XYZ", 100, 50.0, "2024-03-01")
    ledger.buy("taxable", "XYZ", 100, 50.0, "2024-04-30")
    ledger.distribute("XYZ", "2024-04-30", price=50.0, dividend=1.0, qualified_fraction=1.0,
                      return_of_capital=0.5, lt_capital_gain=0.25)
    assert ledger.cash("taxable") == pytest.approx(-10000 + 100 * 1.75)
    lots = ledger.lots().set_index("acquired")
    assert lots.loc[pd.Timestamp("2024-03-01"), "basis"] == pytest.approx(4950.0)
    assert lots.loc[pd.Timestamp("2024-04-30"), "basis"] == pytest.approx(5000.0)
    ledger.sell("taxable", "XYZ", 200, 50.0, "2024-12-30")  # held far beyond 61 days
    ledger.close_year(2024)
    row = ledger.annual_tax().set_index("year").loc[2024]
    assert row["qualified_dividends"] == pytest.approx(100.0)
    assert row["nonqualified_dividends"] == 0.0
    assert row["lt_capital_gain_distributions"] == pytest.approx(25.0)
    # a lot bought on the ex-date alone receives nothing at all
    alone = ledger_for(Account("taxable", reinvest=True))
    alone.buy("taxable", "XYZ", 100, 50.0, "2024-04-30")
    alone.distribute("XYZ", "2024-04-30", price=50.0, dividend=1.0)
    assert len(alone.lots()) == 1 and alone.cash("taxable") == pytest.approx(-5000.0)


def test_rate_table_rows_are_the_rates_in_force_each_year():
    """Each year's row holds the rates of the latest ``by_year`` entry not after it (the
    default before the first), and the household's loss limit (IRC §1211(b))."""
    from taxsim.ledger.enums import (
        FIRST_YEAR,
        N_YEARS,
        RATE_LONG_TERM,
        RATE_LOSS_LIMIT,
        RATE_NIIT,
        RATE_ORDINARY,
        RATE_QUALIFIED_DIVIDEND,
        RATE_STATE,
    )

    profile = TaxProfile.us_top_historical(state=0.05)
    table = profile.rate_table(1500.0)
    assert table.shape[0] == N_YEARS
    for year in (FIRST_YEAR, 1997, 1998, 2001, 2002, 2003, 2012, 2013, 2017, 2018, 2030):
        rates, row = profile.rates(year), table[year - FIRST_YEAR]
        assert (row[RATE_ORDINARY], row[RATE_LONG_TERM], row[RATE_QUALIFIED_DIVIDEND],
                row[RATE_NIIT], row[RATE_STATE], row[RATE_LOSS_LIMIT]) == (
            rates.ordinary, rates.long_term, rates.qualified_dividend, rates.niit, rates.state,
            1500.0)
    assert table[2002 - FIRST_YEAR, RATE_QUALIFIED_DIVIDEND] == 0.386  # ordinary before 2003
    assert table[2003 - FIRST_YEAR, RATE_QUALIFIED_DIVIDEND] == 0.15
    assert table[1997 - FIRST_YEAR, RATE_ORDINARY] == 0.37  # before 1998: the default (2018)


# ------------------------------------------------- fund shares held six months or less
def test_loss_on_fund_shares_held_six_months_is_long_term_up_to_capital_gain_distributions():
    # Pub 550 "Loss on mutual fund or REIT stock held 6 months or less", IRC §852(b)(4)(A):
    # 100 shares bought at $20, a $1 capital gain distribution ($100, long-term whatever the
    # holding), sold two months later at $18.50: the $150 loss is long-term up to $100.
    ledger = ledger_for(Account("taxable", reinvest=False), assets=("F",))
    ledger.buy("taxable", "F", 100, 20.0, "2024-01-02")
    ledger.buy("taxable", "F", 100, 10.0, "2024-01-03")  # an unrelated short-term gain
    ledger.distribute("F", "2024-02-01", price=19.0, lt_capital_gain=1.0)
    rows = ledger.sell("taxable", "F", 200, 18.5, "2024-03-01", method="fifo")
    assert list(rows["term"]) == ["short", "short"]
    assert list(rows["long_term_loss"]) == [pytest.approx(-100.0), 0.0]
    ledger.close_year(2024)
    year = ledger.annual_tax().set_index("year").loc[2024]
    assert year["lt_gain"] == pytest.approx(-100.0)  # the distribution's $200 nets it
    assert year["st_gain"] == pytest.approx(-50.0 + 850.0)
    assert year["lt_capital_gain_distributions"] == pytest.approx(200.0)
    # net short-term 800 at 37% + 3.8%; net long-term 200 - 100 = 100 at 20% + 3.8%
    assert year["total_tax"] == pytest.approx(800 * 0.408 + 100 * 0.238)


def test_six_month_rule_counts_calendar_months_from_the_lot_itself():
    # bought 2024-01-15: held six months through 2024-07-15, more from 2024-07-16
    for sold, long_term_loss in (("2024-07-15", -100.0), ("2024-07-16", 0.0)):
        ledger = ledger_for(Account("taxable", reinvest=False), assets=("F",))
        ledger.buy("taxable", "F", 100, 20.0, "2024-01-15")
        ledger.distribute("F", "2024-03-01", price=20.0, lt_capital_gain=1.0)
        rows = ledger.sell("taxable", "F", 100, 18.0, sold)
        assert rows["long_term_loss"].iloc[0] == pytest.approx(long_term_loss)
        assert rows["gain"].iloc[0] == pytest.approx(-200.0)


def test_six_month_rule_applies_to_the_allowed_loss_after_a_wash_sale():
    # $2 of capital gain distributions per share, a $3 loss per share: two thirds of each
    # allowed share's loss is long-term. Half the shares are replaced within 30 days (§1091
    # first): $150 disallowed, $150 allowed, of which $100 long-term.
    ledger = ledger_for(Account("taxable", reinvest=False), assets=("F",))
    ledger.buy("taxable", "F", 100, 20.0, "2024-01-02")
    ledger.distribute("F", "2024-02-01", price=19.0, lt_capital_gain=2.0)
    rows = ledger.sell("taxable", "F", 100, 17.0, "2024-03-01")
    assert rows["long_term_loss"].iloc[0] == pytest.approx(-200.0)
    ledger.buy("taxable", "F", 50, 17.5, "2024-03-15")  # replaces 50 shares retroactively
    row = ledger.realized().iloc[0]
    assert row["wash_disallowed"] == pytest.approx(150.0)
    assert row["long_term_loss"] == pytest.approx(-100.0)
    ledger.close_year(2024)
    year = ledger.annual_tax().set_index("year").loc[2024]
    assert year["lt_gain"] == pytest.approx(-100.0)
    assert year["st_gain"] == pytest.approx(-50.0)
    form = ledger.form_8949()
    assert form["gain"].sum() == pytest.approx(-150.0)


def test_liquidation_applies_the_sale_rules_of_young_lots():
    # a hypothetical sale is a sale: the qualified dividend of a lot sold before its 61st day
    # turns ordinary (§246(c)), and a young fund loss is long-term up to its capital gain
    # distributions (§852(b)(4)(A)), exactly as selling would
    ledger = ledger_for(Account("taxable", reinvest=False), assets=("F",))
    ledger.buy("taxable", "F", 100, 50.0, "2024-03-01")
    ledger.distribute("F", "2024-03-10", price=50.0, dividend=50.0, qualified_fraction=1.0,
                      lt_capital_gain=1.0)
    prices = {"F": 48.0}
    liquidation = ledger.liquidation("2024-03-30", prices)["liquidation_tax"]
    what_if = ledger.what_if_sell("taxable", "F", 100, 48.0, "2024-03-30")
    assert liquidation == pytest.approx(what_if["tax_change"])
    # $5,000 of dividends taxed 37% + 3.8% instead of 20% + 3.8%; the $200 loss is long-term
    # up to $100 (-100 at 23.8%, -100 at 40.8%)
    assert liquidation == pytest.approx(5000 * (0.408 - 0.238) - 100 * 0.238 - 100 * 0.408)


def test_liquidation_refuses_a_date_before_the_last_event_or_in_a_closed_year():
    ledger = ledger_for(Account("taxable"))
    ledger.buy("taxable", "XYZ", 10, 100.0, "2024-06-03")
    with pytest.raises(LedgerError, match="liquidation on 2024-06-01.*before the previous event"):
        ledger.liquidation("2024-06-01", {"XYZ": 100.0})
    ledger.close_year(2024)
    with pytest.raises(LedgerError, match="liquidation on 2024-12-31.*already closed"):
        ledger.liquidation("2024-12-31", {"XYZ": 100.0})
    assert ledger.liquidation("2025-01-02", {"XYZ": 100.0})["liquidation_tax"] == 0.0


def test_form_8949_reports_the_long_term_part_of_a_young_fund_loss_in_part_two():
    ledger = ledger_for(Account("taxable", reinvest=False), assets=("F",))
    ledger.buy("taxable", "F", 100, 20.0, "2024-01-02")
    ledger.distribute("F", "2024-02-01", price=19.0, lt_capital_gain=1.0)
    ledger.sell("taxable", "F", 100, 18.5, "2024-03-01")  # $150 loss, $100 of it long-term
    form = ledger.form_8949()
    assert list(form["term"]) == ["short", "long"] and list(form["box"]) == ["A", "D"]
    assert list(form["gain"]) == [pytest.approx(-50.0), pytest.approx(-100.0)]
    assert list(form["proceeds"]) == [pytest.approx(1850 / 3), pytest.approx(3700 / 3)]
    assert form["basis"].sum() == pytest.approx(2000.0)


# ------------------------------------------------- fund losses and exempt interest, §852(b)(4)(B)
def fund_ledgers():
    """The numba ledger and the plain-Python reference, each a taxable account that keeps its
    distributions as cash (no reinvestment, so no wash sale unless a test buys)."""
    from tests.reference.ledger import ReferenceLedger

    house = household(Account("taxable", reinvest=False))
    return [Ledger(house, ["F"], TaxProfile()), ReferenceLedger(house, ["F"], TaxProfile())]


@pytest.mark.parametrize("which", [0, 1], ids=["taxsim", "reference"])
def test_loss_on_fund_shares_held_six_months_is_disallowed_up_to_exempt_interest(which):
    # IRC §852(b)(4)(B); Pub 550 "Loss on mutual fund or REIT stock held 6 months or less":
    # "You can deduct only the amount of loss that is more than the exempt-interest
    # dividends." 100 shares bought at $10, $0.20 of exempt interest per share ($20), sold four
    # months later at $9.50: of the $50 loss, $20 is disallowed for good and $30 allowed.
    ledger = fund_ledgers()[which]
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.20)
    rows = ledger.sell("taxable", "F", 100, 9.5, "2025-05-15")
    row = rows.iloc[0]
    assert row["exempt_interest_disallowed"] == pytest.approx(20.0)
    assert row["gain"] == pytest.approx(-30.0)
    assert row["term"] == "short"
    assert row["wash_disallowed"] == 0.0
    assert ledger.lots().empty  # nothing moves to a basis
    ledger.close_year(2025)
    year = ledger.annual_tax().set_index("year").loc[2025]
    assert year["st_gain"] == pytest.approx(-30.0)
    assert year["exempt_interest"] == pytest.approx(20.0)
    # a $30 net loss deducted from ordinary income at 37% (no NIIT below zero)
    assert year["total_tax"] == pytest.approx(-30.0 * 0.37)


def test_form_8949_reports_the_exempt_interest_disallowance_with_code_l():
    # Form 8949 instructions, column (f) code L: "a nondeductible loss other than a wash sale",
    # entered as a positive adjustment in column (g)
    ledger = fund_ledgers()[0]
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.20)
    ledger.sell("taxable", "F", 100, 9.5, "2025-05-15")
    form = ledger.form_8949()
    assert list(form["code"]) == ["L"]
    assert form["adjustment"].iloc[0] == pytest.approx(20.0)
    assert form["gain"].iloc[0] == pytest.approx(-30.0)
    assert (form["proceeds"].iloc[0], form["basis"].iloc[0]) == (950.0, 1000.0)


@pytest.mark.parametrize("which", [0, 1], ids=["taxsim", "reference"])
def test_exempt_interest_above_the_loss_disallows_all_of_it_and_no_more(which):
    ledger = fund_ledgers()[which]
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=1.00)  # $100 against a $50 loss
    row = ledger.sell("taxable", "F", 100, 9.5, "2025-05-15").iloc[0]
    assert row["exempt_interest_disallowed"] == pytest.approx(50.0)
    assert row["gain"] == pytest.approx(0.0)
    # a gain is untouched
    ledger.buy("taxable", "F", 100, 10.0, "2025-06-02")
    ledger.distribute("F", "2025-06-30", 10.0, exempt_interest=0.20)
    row = ledger.sell("taxable", "F", 100, 10.5, "2025-08-01").iloc[0]
    assert row["exempt_interest_disallowed"] == 0.0
    assert row["gain"] == pytest.approx(50.0)


@pytest.mark.parametrize("which", [0, 1], ids=["taxsim", "reference"])
def test_exempt_interest_rule_counts_six_calendar_months_from_the_lot_itself(which):
    # §852(b)(4)(C) applies §246(c)(3): bought 2025-01-10, held six months through 2025-07-10
    for sold, disallowed in (("2025-07-10", 20.0), ("2025-07-11", 0.0)):
        ledger = fund_ledgers()[which]
        ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
        ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.20)
        row = ledger.sell("taxable", "F", 100, 9.5, sold).iloc[0]
        assert row["exempt_interest_disallowed"] == pytest.approx(disallowed), sold
        assert row["gain"] == pytest.approx(-50.0 + disallowed)


@pytest.mark.parametrize("which", [0, 1], ids=["taxsim", "reference"])
def test_fund_declaring_exempt_interest_daily_is_outside_the_rule(which):
    # §852(b)(4)(E)(ii): not applied to a regular dividend of a fund that declares
    # exempt-interest dividends daily and pays them at least monthly
    ledger = fund_ledgers()[which]
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.20, exempt_interest_daily=True)
    row = ledger.sell("taxable", "F", 100, 9.5, "2025-05-15").iloc[0]
    assert row["exempt_interest_disallowed"] == 0.0
    assert row["gain"] == pytest.approx(-50.0)


@pytest.mark.parametrize("which", [0, 1], ids=["taxsim", "reference"])
def test_exempt_interest_disallowance_comes_before_the_wash_sale_and_capital_gain_rules(which):
    # 100 shares at $20, then $0.50 of exempt interest and a $1 capital gain distribution per
    # share; sold at $18: a $200 loss. §852(b)(4)(B) disallows $50 for good; of the $150 left,
    # §852(b)(4)(A) ("to the extent not disallowed under subparagraph (B)") makes $100
    # long-term. 50 shares rebought within 30 days: §1091 disallows $1.50 of each of 50 sold
    # shares' remaining loss ($75, to the new lot's basis); the allowed $75 keeps the 2/3
    # long-term fraction.
    ledger = fund_ledgers()[which]
    ledger.buy("taxable", "F", 100, 20.0, "2024-01-02")
    ledger.distribute("F", "2024-02-01", 19.0, exempt_interest=0.50, lt_capital_gain=1.0)
    row = ledger.sell("taxable", "F", 100, 18.0, "2024-03-01").iloc[0]
    assert row["exempt_interest_disallowed"] == pytest.approx(50.0)
    assert row["long_term_loss"] == pytest.approx(-100.0)
    assert row["gain"] == pytest.approx(-150.0)
    ledger.buy("taxable", "F", 50, 18.5, "2024-03-15")
    row = ledger.realized().iloc[0]
    assert row["wash_disallowed"] == pytest.approx(75.0)
    assert row["exempt_interest_disallowed"] == pytest.approx(50.0)
    assert row["gain"] == pytest.approx(-75.0)
    assert row["long_term_loss"] == pytest.approx(-50.0)
    lot = ledger.lots().iloc[0]
    assert lot["basis"] == pytest.approx(50 * 18.5 + 75.0)
    ledger.close_year(2024)
    year = ledger.annual_tax().set_index("year").loc[2024]
    assert year["st_gain"] == pytest.approx(-25.0)
    assert year["lt_gain"] == pytest.approx(-50.0)
    assert year["lt_capital_gain_distributions"] == pytest.approx(100.0)
    # net long-term 100 - 50 = 50 less the short-term 25: a $25 long-term gain
    assert year["total_tax"] == pytest.approx(25.0 * 0.238)


def test_form_8949_splits_a_fund_loss_with_every_rule_applied():
    ledger = fund_ledgers()[0]
    ledger.buy("taxable", "F", 100, 20.0, "2024-01-02")
    ledger.distribute("F", "2024-02-01", 19.0, exempt_interest=0.50, lt_capital_gain=1.0)
    ledger.sell("taxable", "F", 100, 18.0, "2024-03-01")
    ledger.buy("taxable", "F", 50, 18.5, "2024-03-15")
    form = ledger.form_8949()
    assert list(form["code"]) == ["LW", "LW"]
    assert list(form["term"]) == ["short", "long"]
    assert list(form["gain"]) == [pytest.approx(-25.0), pytest.approx(-50.0)]
    assert list(form["adjustment"]) == [pytest.approx(125.0 / 3), pytest.approx(250.0 / 3)]
    assert form["proceeds"].sum() == pytest.approx(1800.0)


@pytest.mark.parametrize("which", [0, 1], ids=["taxsim", "reference"])
def test_exempt_interest_rule_binds_a_replacement_lot_long_term_by_tacking(which):
    # The six months run from the replacement's own purchase (§246(c)(3) leaves out the
    # wash-sale tacking of §1223(3)): a replacement that is long-term by tacking, sold at a
    # loss two months after its purchase, still loses its exempt interest's part.
    ledger = fund_ledgers()[which]
    ledger.buy("taxable", "F", 100, 20.0, "2022-01-03")
    ledger.sell("taxable", "F", 100, 15.0, "2024-03-01")  # $500 long-term loss
    ledger.buy("taxable", "F", 100, 15.0, "2024-03-10")  # replacement: basis $2,000
    ledger.distribute("F", "2024-04-01", 15.0, exempt_interest=0.30)
    row = ledger.sell("taxable", "F", 100, 14.0, "2024-05-01").iloc[0]
    assert row["term"] == "long"
    assert row["basis"] == pytest.approx(2000.0)
    assert row["exempt_interest_disallowed"] == pytest.approx(30.0)
    assert row["gain"] == pytest.approx(1400.0 - 2000.0 + 30.0)


def test_liquidation_applies_the_exempt_interest_rule_as_a_sale_would():
    ledger = fund_ledgers()[0]
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.20)
    liquidation = ledger.liquidation("2025-05-15", {"F": 9.5})["liquidation_tax"]
    what_if = ledger.what_if_sell("taxable", "F", 100, 9.5, "2025-05-15")
    assert liquidation == pytest.approx(what_if["tax_change"])
    assert liquidation == pytest.approx(-30.0 * 0.37)


def test_exempt_interest_daily_flag_must_be_a_boolean():
    ledger = fund_ledgers()[0]
    ledger.buy("taxable", "F", 100, 10.0, "2025-01-10")
    with pytest.raises(LedgerError, match="exempt_interest_daily must be True or False"):
        ledger.distribute("F", "2025-02-28", 10.0, exempt_interest=0.2, exempt_interest_daily=1)
    assert ledger.cash("taxable") == -1000.0  # no distribution paid: nothing changed
