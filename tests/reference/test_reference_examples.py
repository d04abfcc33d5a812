"""Worked examples with exact numbers, run on the reference ledger itself.

These pin the reference (``tests/reference/ledger.py``) to the tax rules so that it can be
trusted as the oracle of ``tests/test_ledger_vs_reference.py``. Every example cites its source.
They use small stand-in configuration objects (the reference is duck-typed), so they run even
before ``taxsim`` exports its own ``Household``/``Account``/``TaxProfile``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pytest

from tests.reference.ledger import (
    ReferenceLedger,
    ReferenceLedgerError,
    capital_loss_carryover,
    first_day_held_more_than,
    is_long_term,
)

CENT = 0.005


@dataclass
class StandInAccount:
    """Stand-in for ``taxsim.Account``."""

    name: str
    kind: str = "taxable"
    owner: str = "alice"
    reinvest: bool = True


@dataclass
class StandInHousehold:
    """Stand-in for ``taxsim.Household``."""

    accounts: list[StandInAccount]
    filing_status: str = "married_joint"
    identity_groups: dict[str, str] = field(default_factory=dict)
    loss_limit: float = 3000.0


@dataclass
class StandInRates:
    """Marginal rates (fractions)."""

    ordinary: float = 0.35
    long_term: float = 0.15
    qualified_dividend: float = 0.15
    niit: float = 0.038
    state: float = 0.05
    section_199a_deduction: float = 0.20


@dataclass
class StandInTaxProfile:
    """Stand-in for ``taxsim.TaxProfile``: the same rates every year."""

    yearly: StandInRates = field(default_factory=StandInRates)

    def rates(self, year: int) -> StandInRates:
        return self.yearly


def make_ledger(
    loss_convention: str = "standalone",
    loss_limit: float = 3000.0,
    reinvest: bool = False,
    rates: StandInRates | None = None,
) -> ReferenceLedger:
    """Household: alice's taxable, bob's taxable, alice's IRA, bob's Roth; SPY~IVV."""
    household = StandInHousehold(
        accounts=[
            StandInAccount("alice_taxable", "taxable", "alice", reinvest=reinvest),
            StandInAccount("bob_taxable", "taxable", "bob", reinvest=reinvest),
            StandInAccount("alice_ira", "tax_deferred", "alice", reinvest=reinvest),
            StandInAccount("bob_roth", "tax_exempt", "bob", reinvest=reinvest),
        ],
        identity_groups={"SPY": "sp500", "IVV": "sp500"},
        loss_limit=loss_limit,
    )
    profile = StandInTaxProfile(StandInRates() if rates is None else rates)
    return ReferenceLedger(household, ["SPY", "IVV", "QQQ", "BND"], profile, loss_convention)


def only_row(frame):
    assert len(frame) == 1, frame
    return frame.iloc[0]


def lot_by_id(ledger: ReferenceLedger, lot_id: int):
    lots = ledger.lots()
    return lots[lots.lot_id == lot_id].iloc[0]


# ------------------------------------------------------------------------- holding period


def test_holding_period_anniversary_is_short_term():
    """Pub 550 "Holding Period", Rev. Rul. 66-7: bought 2024-02-05, sold 2025-02-05 is short
    term; sold 2025-02-06 long term (IRC §1222: held *more than* one year)."""
    for sold, term in ((date(2025, 2, 5), "short"), (date(2025, 2, 6), "long")):
        ledger = make_ledger()
        ledger.buy("alice_taxable", "QQQ", shares=10, price=100.0, date="2024-02-05")
        row = only_row(ledger.sell("alice_taxable", "QQQ", 10, 120.0, sold))
        assert row.term == term
        assert row.gain == pytest.approx(200.0)


def test_holding_period_feb29_acquisition():
    """Bought on Feb 29 (a month end): the holding months end on the last day of each later
    month, so the twelfth ends 2025-02-28: sold that day short-term, 2025-03-01 long-term."""
    assert first_day_held_more_than(date(2024, 2, 29), 12) == date(2025, 3, 1)
    assert not is_long_term(date(2024, 2, 29), date(2025, 2, 28))
    assert is_long_term(date(2024, 2, 29), date(2025, 3, 1))
    for sold, term in (("2025-02-28", "short"), ("2025-03-01", "long")):
        ledger = make_ledger()
        ledger.buy("alice_taxable", "QQQ", shares=1, price=100.0, date="2024-02-29")
        assert only_row(ledger.sell("alice_taxable", "QQQ", 1, 90.0, sold)).term == term


def test_holding_period_month_end_into_a_leap_year():
    """Caspe v. United States (8th Cir. 1982): bought on the last day of a month, the holding
    months end on the last days of the later months. Bought 2023-02-28, the twelfth month ends
    2024-02-29 (a leap day), so selling then is short-term, the day after the anniversary
    notwithstanding; 2024-03-01 is long-term."""
    assert first_day_held_more_than(date(2023, 2, 28), 12) == date(2024, 3, 1)
    assert first_day_held_more_than(date(1972, 11, 30), 6) == date(1973, 6, 1)
    for sold, term in (("2024-02-29", "short"), ("2024-03-01", "long")):
        ledger = make_ledger()
        ledger.buy("alice_taxable", "QQQ", shares=1, price=100.0, date="2023-02-28")
        assert only_row(ledger.sell("alice_taxable", "QQQ", 1, 90.0, sold)).term == term


# ------------------------------------------------------------------------- wash sales


def test_pub550_wash_sale_example():
    """Pub 550 "Wash Sales" example: 100 shares bought for $1,000, sold for $750, 100 shares
    bought within 30 days for $800: the $250 loss is disallowed, the new basis is $1,050 and
    the holding period of the old shares is added to the new ones (IRC §1091(a), (d);
    §1223(3))."""
    ledger = make_ledger()
    first = ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    sale = only_row(ledger.sell("alice_taxable", "SPY", 100, 7.5, "2024-02-01"))
    assert sale.lot_id == first
    assert sale.gain == pytest.approx(-250.0)  # nothing bought yet: loss stands for now
    replacement_id = ledger.buy("alice_taxable", "SPY", shares=100, price=8.0, date="2024-02-10")
    sale = only_row(ledger.realized())
    assert sale.proceeds == pytest.approx(750.0)
    assert sale.basis == pytest.approx(1000.0)
    assert sale.wash_disallowed == pytest.approx(250.0)
    assert sale.wash_lost == 0.0
    assert sale.gain == pytest.approx(0.0)
    lot = only_row(ledger.lots())
    assert lot.lot_id == replacement_id  # the whole lot matched: no piece, same id
    assert lot.basis == pytest.approx(1050.0)
    assert lot.wash_adjustment == pytest.approx(250.0)
    assert bool(lot.replacement)
    # Sold shares were held 2024-01-02 .. 2024-02-01 = 30 days; tacked onto 2024-02-10.
    assert lot.holding_start == date(2024, 1, 11)
    assert lot.acquired == date(2024, 2, 10)
    # With tacking the replacement is long-term one day after the 2025-01-11 anniversary.
    assert only_row(ledger.sell("alice_taxable", "SPY", 100, 11.0, "2025-01-12")).term == "long"


def test_replacement_bought_before_the_sale():
    """IRC §1091(a): shares bought within 30 days *before* the loss sale are replacements too.
    FIFO sells the old lot; the lot bought 10 days earlier absorbs the loss."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    newer = ledger.buy("alice_taxable", "SPY", shares=100, price=8.0, date="2024-01-22")
    sale = only_row(ledger.sell("alice_taxable", "SPY", 100, 7.5, "2024-02-01", method="fifo"))
    assert sale.wash_disallowed == pytest.approx(250.0)
    lot = only_row(ledger.lots())
    assert lot.lot_id == newer
    assert lot.basis == pytest.approx(1050.0)
    assert lot.holding_start == date(2024, 1, 22) - (date(2024, 2, 1) - date(2024, 1, 2))


def test_rev_rul_2008_5_ira_repurchase_loses_the_loss():
    """Rev. Rul. 2008-5: a loss sale in a taxable account with the replacement bought in the
    owner's IRA within 30 days is disallowed, and the IRA basis is not increased: the loss is
    lost for good (``wash_lost``)."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    ledger.sell("alice_taxable", "SPY", 100, 7.5, "2024-02-01")
    ira_lot = ledger.buy("alice_ira", "IVV", shares=100, price=8.0, date="2024-02-15")
    sale = only_row(ledger.realized())
    assert sale.wash_disallowed == pytest.approx(250.0)
    assert sale.wash_lost == pytest.approx(250.0)
    assert sale.gain == pytest.approx(0.0)
    lot = only_row(ledger.lots())
    assert lot.lot_id == ira_lot
    assert lot.basis == pytest.approx(800.0)
    assert lot.wash_adjustment == 0.0
    assert lot.holding_start == date(2024, 2, 15)
    assert bool(lot.replacement)


def test_spouse_and_roth_accounts_are_replacements():
    """IRC §1091 via §267 and Pub 550: a purchase by the spouse counts; Rev. Rul. 2008-5 covers
    the Roth IRA too. The first 60 sold shares match bob's taxable lot (acquired first), the
    other 40 the Roth lot; only the Roth part is lost."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    ledger.buy("bob_taxable", "IVV", shares=60, price=8.0, date="2024-01-25")
    ledger.buy("bob_roth", "SPY", shares=40, price=8.0, date="2024-01-26")
    sale = only_row(ledger.sell("alice_taxable", "SPY", 100, 7.5, "2024-02-01"))
    assert sale.wash_disallowed == pytest.approx(250.0)
    assert sale.wash_lost == pytest.approx(100.0)
    lots = ledger.lots().set_index("lot_id")
    assert lots.loc[2, "basis"] == pytest.approx(60 * 8.0 + 150.0)
    assert lots.loc[3, "basis"] == pytest.approx(40 * 8.0)


def test_partial_replacement():
    """Treas. Reg. §1.1091-1(c): when fewer shares are bought than sold, only the loss on as
    many sold shares as were bought is disallowed: 100 sold at a $2.50 loss each, 40 rebought:
    40% ($100) disallowed, $150 allowed."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    ledger.sell("alice_taxable", "SPY", 100, 7.5, "2024-02-01")
    ledger.buy("alice_taxable", "SPY", shares=40, price=8.0, date="2024-02-20")
    sale = only_row(ledger.realized())
    assert sale.wash_disallowed == pytest.approx(100.0)
    assert sale.gain == pytest.approx(-150.0)
    lot = only_row(ledger.lots())
    assert lot.basis == pytest.approx(420.0)
    # A later purchase still inside the window takes the remaining 60 loss shares.
    ledger.buy("alice_taxable", "SPY", shares=100, price=8.0, date="2024-03-02")
    sale = only_row(ledger.realized())
    assert sale.wash_disallowed == pytest.approx(250.0)
    lots = ledger.lots().set_index("lot_id")
    # Lot 3 (100 shares) gave a 60-share piece (lot 4); lot 3 keeps the other 40 unadjusted.
    assert lots.loc[3, "shares"] == pytest.approx(40.0)
    assert not bool(lots.loc[3, "replacement"])
    assert lots.loc[3, "basis"] == pytest.approx(320.0)
    assert lots.loc[4, "shares"] == pytest.approx(60.0)
    assert bool(lots.loc[4, "replacement"])
    assert lots.loc[4, "basis"] == pytest.approx(480.0 + 150.0)
    assert lots.loc[4, "acquired"] == date(2024, 3, 2)


@pytest.mark.parametrize("method", ["tax_optimal", "lifo"])
def test_one_sale_of_two_loss_lots_washes_the_earliest_acquired_first(method):
    """Treas. Reg. §1.1091-1(b): the lots of one sale are disposed of together, in an order
    that cannot be determined, so they count as disposed of in the order they were originally
    acquired: 100 replacement shares take the loss of the lot bought first ($20 a share,
    long-term), although the lot method relieved the newer lot ($10 a share, short-term)
    first. A second 100 replacement shares take the newer lot's loss."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=50.0, date="2022-01-03")  # lot 1
    ledger.buy("alice_taxable", "SPY", shares=100, price=40.0, date="2023-11-01")  # lot 2
    rows = ledger.sell("alice_taxable", "SPY", 200, 30.0, "2024-03-01", method=method)
    assert list(rows.lot_id) == [2, 1]
    ledger.buy("bob_taxable", "IVV", shares=100, price=35.0, date="2024-03-15")  # lot 3
    realized = ledger.realized().set_index("lot_id")
    assert realized.loc[1, "wash_disallowed"] == pytest.approx(2000.0)
    assert realized.loc[2, "wash_disallowed"] == 0.0
    assert realized.loc[2, "gain"] == pytest.approx(-1000.0)
    assert lot_by_id(ledger, 3).basis == pytest.approx(5500.0)
    assert lot_by_id(ledger, 3).holding_start == date(2024, 3, 15) - (
        date(2024, 3, 1) - date(2022, 1, 3)
    )
    ledger.buy("bob_taxable", "IVV", shares=100, price=35.0, date="2024-03-20")  # lot 4
    realized = ledger.realized().set_index("lot_id")
    assert realized.loc[2, "wash_disallowed"] == pytest.approx(1000.0)
    assert lot_by_id(ledger, 4).basis == pytest.approx(4500.0)


def test_window_is_thirty_days():
    """IRC §1091(a): 30 days after the sale is inside the window, 31 days is outside."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=10, price=10.0, date="2024-01-02")
    ledger.sell("alice_taxable", "SPY", 10, 7.5, "2024-02-01")
    ledger.buy("alice_taxable", "SPY", shares=5, price=8.0, date="2024-03-02")  # day 30
    ledger.buy("alice_taxable", "SPY", shares=5, price=8.0, date="2024-03-03")  # day 31
    assert only_row(ledger.realized()).wash_disallowed == pytest.approx(12.5)


def test_retroactive_adjustment_of_a_closed_year():
    """Contract rule 4 and 6: a purchase in January after a December loss sale disallows the
    loss retroactively; the closed year's extra tax is paid at the next close."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "QQQ", shares=100, price=100.0, date="2024-03-01")
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-06-03")
    ledger.sell("alice_taxable", "QQQ", 100, 110.0, "2024-11-01")  # +1,000 short-term
    ledger.sell("alice_taxable", "SPY", 100, 8.0, "2024-12-20")  # -200 short-term
    rates = StandInRates()
    short_term_rate = rates.ordinary + rates.niit + rates.state
    due_2024 = ledger.close_year(2024)
    assert due_2024 == pytest.approx(800.0 * short_term_rate)
    ledger.buy("bob_taxable", "IVV", shares=100, price=8.5, date="2025-01-10")
    sale = ledger.realized().iloc[1]
    assert sale.wash_disallowed == pytest.approx(200.0)
    assert sale.gain == pytest.approx(0.0)
    due_2025 = ledger.close_year(2025)
    assert due_2025 == pytest.approx(200.0 * short_term_rate)
    table = ledger.annual_tax().set_index("year")
    assert table.loc[2024, "st_gain"] == pytest.approx(1000.0)
    assert table.loc[2024, "total_tax"] == pytest.approx(1000.0 * short_term_rate)
    assert table.loc[2024, "due"] == pytest.approx(due_2024)
    assert table.loc[2025, "total_tax"] == pytest.approx(0.0)
    assert table.loc[2025, "due"] == pytest.approx(due_2025)


def test_same_purchase_is_never_its_own_replacement():
    """Contract rule 4: selling part of a lot at a loss while its other shares stay open is not
    a wash sale against those shares (they were not acquired in the window as a new purchase)."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-20")
    sale = only_row(ledger.sell("alice_taxable", "SPY", 40, 8.0, "2024-02-01"))
    assert sale.wash_disallowed == 0.0
    assert sale.gain == pytest.approx(-80.0)


def test_replacement_cannot_absorb_a_second_loss():
    """Pub 550 and Treas. Reg. §1.1091-1: shares used as replacement for one loss are not used
    again for another loss sale; the second loss takes other shares or stands."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=10, price=10.0, date="2023-12-01")
    ledger.buy("bob_taxable", "SPY", shares=10, price=10.0, date="2023-12-01")
    ledger.buy("alice_ira", "SPY", shares=10, price=8.0, date="2024-01-25")
    first = only_row(ledger.sell("alice_taxable", "SPY", 10, 8.0, "2024-02-01"))
    second = only_row(ledger.sell("bob_taxable", "SPY", 10, 8.0, "2024-02-01"))
    assert first.wash_disallowed == pytest.approx(20.0)
    assert first.wash_lost == pytest.approx(20.0)
    assert second.wash_disallowed == 0.0


def test_no_wash_sale_on_gain_or_in_ira():
    """IRC §1091 disallows losses only; a loss inside an IRA is not a deductible loss at all."""
    ledger = make_ledger()
    ledger.buy("alice_ira", "SPY", shares=10, price=10.0, date="2024-01-02")
    ira_sale = only_row(ledger.sell("alice_ira", "SPY", 10, 8.0, "2024-02-01"))
    ledger.buy("alice_taxable", "SPY", shares=10, price=8.0, date="2024-02-02")
    assert not bool(ira_sale.taxable)
    assert only_row(ledger.realized()).wash_disallowed == 0.0
    assert not bool(only_row(ledger.lots()).replacement)


# ------------------------------------------------------------------------- lot relief


def test_relief_orders():
    """Treas. Reg. §1.1012-1(c): FIFO by default; LIFO, HIFO, specific identification."""
    prices = {"2024-01-02": 10.0, "2024-01-03": 14.0, "2024-01-04": 12.0}

    def ledger_with_three_lots():
        ledger = make_ledger()
        for day, price in prices.items():
            ledger.buy("alice_ira", "QQQ", shares=10, price=price, date=day)
        return ledger

    expected = {"fifo": [1, 2], "lifo": [3, 2], "hifo": [2, 3]}
    for method, lot_ids in expected.items():
        rows = ledger_with_three_lots().sell("alice_ira", "QQQ", 15, 13.0, "2024-02-01", method)
        assert list(rows.lot_id) == lot_ids
        assert list(rows.shares) == [10.0, 5.0]
    rows = ledger_with_three_lots().sell(
        "alice_ira", "QQQ", 4, 13.0, "2024-02-01", method="specific", lots={3: 1.0, 1: 3.0}
    )
    assert list(rows.lot_id) == [3, 1]
    assert list(rows.basis) == pytest.approx([12.0, 30.0])


def test_tax_optimal_order():
    """Contract rule 2: short-term losses, then long-term losses, largest loss per share first,
    then the rest by increasing tax per dollar sold."""
    ledger = make_ledger()
    ledger.buy("alice_ira", "QQQ", shares=1, price=30.0, date="2022-01-03")  # 1: LT loss 10
    ledger.buy("alice_ira", "QQQ", shares=1, price=10.0, date="2022-01-04")  # 2: LT gain 10
    ledger.buy("alice_ira", "QQQ", shares=1, price=21.0, date="2024-01-02")  # 3: ST loss 1
    ledger.buy("alice_ira", "QQQ", shares=1, price=25.0, date="2024-01-03")  # 4: ST loss 5
    ledger.buy("alice_ira", "QQQ", shares=1, price=15.0, date="2024-01-04")  # 5: ST gain 5
    ledger.buy("alice_ira", "QQQ", shares=1, price=20.0, date="2024-01-05")  # 6: zero gain
    rows = ledger.sell("alice_ira", "QQQ", 6, 20.0, "2024-06-03", method="tax_optimal")
    # Tax per dollar: zero gain 0; LT 10*(0.15+0.088)/20 = 0.119; ST 5*(0.35+0.088)/20 = 0.1095
    assert list(rows.lot_id) == [4, 3, 1, 6, 5, 2]


def test_average_basis_pools_then_relieves_fifo():
    """Treas. Reg. §1.1012-1(e): average basis per share over the account's shares of the
    fund; the shares acquired first are sold first for the holding period."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "BND", shares=10, price=10.0, date="2023-01-03")
    ledger.buy("alice_taxable", "BND", shares=30, price=14.0, date="2024-01-02")
    rows = ledger.sell("alice_taxable", "BND", 20, 15.0, "2024-03-01", method="average")
    assert list(rows.lot_id) == [1, 2]
    assert list(rows.basis) == pytest.approx([130.0, 130.0])
    assert list(rows.term) == ["long", "short"]
    lot = only_row(ledger.lots())
    assert lot.basis_per_share == pytest.approx(13.0)
    assert lot.shares == pytest.approx(20.0)


# ------------------------------------------------------------------------- distributions


def test_qualified_dividend_failing_the_61_day_test():
    """IRC §1(h)(11)(B)(iii), §246(c); Pub 550 "Qualified Dividends": shares must be held more
    than 60 days of the 121-day window. 100 shares bought 2024-03-01, $1.00 dividend on
    2024-03-15: 60 shares sold 2024-04-15 (45 days) make their $60 ordinary; the other 40 sold
    2024-05-01 (61 days) keep theirs qualified."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "QQQ", shares=100, price=10.0, date="2024-03-01")
    ledger.distribute("QQQ", date="2024-03-15", price=10.0, dividend=1.0, qualified_fraction=1.0)
    ledger.sell("alice_taxable", "QQQ", 60, 10.0, "2024-04-15")
    ledger.sell("alice_taxable", "QQQ", 40, 10.0, "2024-05-01")
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.qualified_dividends == pytest.approx(40.0)
    assert row.nonqualified_dividends == pytest.approx(60.0)
    assert ledger.cash("alice_taxable") == pytest.approx(100.0 + 600.0 + 400.0 - 1000.0)


def test_failed_holding_test_moves_dividend_in_its_own_closed_year():
    """Contract rule 5: the dividend moves to ordinary in the dividend's year, even when that
    year is already closed; the difference is paid at the next close."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "QQQ", shares=100, price=10.0, date="2024-12-01")
    ledger.distribute("QQQ", date="2024-12-15", price=10.0, dividend=1.0, qualified_fraction=0.5)
    ledger.close_year(2024)
    ledger.sell("alice_taxable", "QQQ", 100, 10.0, "2025-01-10")  # 40 days
    due_2025 = ledger.close_year(2025)
    rates = StandInRates()
    assert due_2025 == pytest.approx(50.0 * (rates.ordinary - rates.qualified_dividend))
    row_2024 = ledger.annual_tax().set_index("year").loc[2024]
    assert row_2024.qualified_dividends == pytest.approx(0.0)
    assert row_2024.nonqualified_dividends == pytest.approx(100.0)


# §199A: qualified REIT dividends and a fund's section 199A dividends (Form 1099-DIV box 5).
# Top-bracket rates of 2024 with a 5% state: 37% ordinary, 20% deduction, 3.8% NIIT.
RATES_2024 = StandInRates(ordinary=0.37, long_term=0.20, qualified_dividend=0.20, niit=0.038,
                          state=0.05, section_199a_deduction=0.20)


@pytest.mark.parametrize("loss_convention", ["standalone", "offset"])
def test_section_199a_deduction_lowers_only_the_federal_ordinary_tax(loss_convention):
    """IRC §199A(a), (b)(1)(B), (e)(3); Treas. Reg. §1.199A-1(e)(3): 100 REIT shares bought
    2024-01-02 receive a $1.00 dividend on 2024-03-01 (59 days later), all of it a qualified
    REIT dividend, and are never sold. The $100 is a non-qualified dividend; the deduction is
    20% of it, $20, so the federal ordinary tax is (100 - 20) * 37% = $29.60. NIIT (3.8% of
    $100 = $3.80) and the 5% state tax ($5.00) are on the full dividend: total $38.40."""
    ledger = make_ledger(loss_convention, rates=RATES_2024)
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2024-01-02")
    ledger.distribute("QQQ", date="2024-03-01", price=50.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    due = ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.qualified_dividends == 0.0
    assert row.nonqualified_dividends == pytest.approx(100.0)
    assert row.section_199a_dividends == pytest.approx(100.0)
    assert row.section_199a_deduction == pytest.approx(20.0)
    assert row.ordinary_base == pytest.approx(100.0)
    assert row.federal_ordinary_tax == pytest.approx(29.60)
    assert row.niit == pytest.approx(3.80)
    assert row.state_tax == pytest.approx(5.00)
    assert row.total_tax == pytest.approx(38.40)
    assert due == pytest.approx(38.40)


def test_section_199a_dividend_next_to_a_qualified_part():
    """Form 1099-DIV: box 5 is part of box 1a and never of box 1b. A $2.00 dividend on 50
    shares, 40% qualified and 60% section 199A: $40 qualified at 20%, $60 non-qualified of
    which all $60 is a section 199A dividend (deduction $12): federal (60 - 12) * 37% + 40 *
    20% = $17.76 + $8.00; NIIT 3.8% of $100, state 5% of $100: $26.56 in all."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("bob_taxable", "QQQ", shares=50, price=20.0, date="2024-01-02")
    ledger.distribute("QQQ", date="2024-06-03", price=20.0, dividend=2.0, qualified_fraction=0.4,
                      section_199a_fraction=0.6)
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.qualified_dividends == pytest.approx(40.0)
    assert row.nonqualified_dividends == pytest.approx(60.0)
    assert row.section_199a_dividends == pytest.approx(60.0)
    assert row.section_199a_deduction == pytest.approx(12.0)
    assert row.federal_ordinary_tax == pytest.approx(17.76)
    assert row.total_tax == pytest.approx(17.76 + 8.00 + 3.80 + 5.00)


@pytest.mark.parametrize(
    ("sale_day", "days_held", "passes"),
    [("2024-02-16", 45, False), ("2024-02-17", 46, True), ("2024-03-20", 78, True)],
)
def test_section_199a_holding_period_counted_from_the_acquisition(sale_day, days_held, passes):
    """Treas. Reg. §1.199A-3(c)(2)(ii), (d)(4)(ii): shares held 45 days or less in the 91-day
    period beginning 45 days before the ex-date, counted under §246(c)(3) (acquisition day out,
    disposal day in). Bought 2024-01-02, ex-date 2024-02-01 (30 days later; the period runs
    2023-12-18 to 2024-03-17): sold 2024-02-16 the shares were held Jan 3 - Feb 16, 45 days,
    and the $100 is no qualified REIT dividend; sold 2024-02-17 (46 days) or later it is.
    Either way the $100 stays a non-qualified dividend."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2024-01-02")
    ledger.distribute("QQQ", date="2024-02-01", price=50.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.sell("alice_taxable", "QQQ", 100, 50.0, sale_day)
    assert (date.fromisoformat(sale_day) - date(2024, 1, 2)).days == days_held
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    expected = 100.0 if passes else 0.0
    assert row.nonqualified_dividends == pytest.approx(100.0)
    assert row.section_199a_dividends == pytest.approx(expected)
    assert row.section_199a_deduction == pytest.approx(0.2 * expected)
    assert row.federal_ordinary_tax == pytest.approx((100.0 - 0.2 * expected) * 0.37)


@pytest.mark.parametrize(
    ("sale_day", "passes"), [("2024-06-15", False), ("2024-06-16", True)]
)
def test_section_199a_lot_bought_ten_days_before_the_ex_date(sale_day, passes):
    """The same rule for a lot bought 10 days before the ex-date: bought 2024-05-01, ex-date
    2024-05-11 (91-day period 2024-03-27 to 2024-06-25). Sold 36 days after the ex-date,
    2024-06-16, the shares were held May 2 - Jun 16, 46 days: it passes. Sold 35 days after,
    2024-06-15 (45 days held), it fails. 40 shares, $0.50 a share: $20."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_taxable", "QQQ", shares=40, price=25.0, date="2024-05-01")
    ledger.distribute("QQQ", date="2024-05-11", price=25.0, dividend=0.5, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.sell("alice_taxable", "QQQ", 40, 25.0, sale_day)
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.nonqualified_dividends == pytest.approx(20.0)
    assert row.section_199a_dividends == pytest.approx(20.0 if passes else 0.0)


def test_section_199a_partial_sale_after_a_split():
    """Only the shares sold before day 46 fail, at the per-share amount after a split (IRC
    §307: the old shares' amounts spread over the new ones). 100 shares bought 2024-01-02,
    $1.00 on 2024-02-01 ($100), split 2:1 on 2024-02-05, 50 of the 200 shares sold on
    2024-02-16 (day 45): they carry $0.50 each, so $25 fails and $75 remains."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2024-01-02")
    ledger.distribute("QQQ", date="2024-02-01", price=50.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.split("QQQ", "2024-02-05", 2.0)
    ledger.sell("alice_taxable", "QQQ", 50, 25.0, "2024-02-16")
    ledger.sell("alice_taxable", "QQQ", 150, 25.0, "2024-02-17")
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.section_199a_dividends == pytest.approx(75.0)
    assert row.section_199a_deduction == pytest.approx(15.0)
    assert ledger.section_199a_failed() == pytest.approx(25.0)


def test_section_199a_holding_period_is_not_tacked_by_a_wash_sale():
    """§246(c)(3) counts from the shares' own acquisition; the wash-sale tacking of IRC
    §1223(3) does not apply. 10 SPY bought 2024-01-02 at $100, sold 2024-03-01 at $80 (a $200
    loss); 20 IVV (substantially identical) bought 2024-03-05: 10 of them become a replacement
    piece (lot 3) whose holding period starts 2024-01-06, but whose acquisition day is still
    2024-03-05. $1.00 section 199A dividend on 2024-03-10: $20. Lot 3 sold 2024-04-19 (45 days
    after 2024-03-05, though 104 days after its tacked start) fails: $10; lot 2 sold
    2024-04-20 (46 days) passes: $10 remains."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_taxable", "SPY", shares=10, price=100.0, date="2024-01-02")
    ledger.sell("alice_taxable", "SPY", 10, 80.0, "2024-03-01")
    ledger.buy("alice_taxable", "IVV", shares=20, price=80.0, date="2024-03-05")
    piece = lot_by_id(ledger, 3)
    assert piece.shares == pytest.approx(10.0)
    assert piece.holding_start == date(2024, 1, 6)
    assert piece.acquired == date(2024, 3, 5)
    ledger.distribute("IVV", date="2024-03-10", price=80.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.sell("alice_taxable", "IVV", None, 80.0, "2024-04-19", "specific", {3: 10.0})
    ledger.sell("alice_taxable", "IVV", None, 80.0, "2024-04-20", "specific", {2: 10.0})
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.nonqualified_dividends == pytest.approx(20.0)
    assert row.section_199a_dividends == pytest.approx(10.0)


def test_section_199a_failing_in_a_closed_year_is_paid_at_the_next_close():
    """Contract rule 5 applied to §199A: the failing amount leaves the ex-date's year even when
    that year is closed. 100 shares bought 2024-12-01, $0.50 on 2024-12-20 ($50): 2024 tax
    (50 - 10) * 37% + 3.8% * 50 + 5% * 50 = $19.20. Sold 2025-01-10 at cost (40 days): 2024
    becomes 50 * 37% + 1.90 + 2.50 = $22.90, so $3.70 is due at the 2025 close."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_taxable", "QQQ", shares=100, price=20.0, date="2024-12-01")
    ledger.distribute("QQQ", date="2024-12-20", price=20.0, dividend=0.5, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    assert ledger.close_year(2024) == pytest.approx(19.20)
    ledger.sell("alice_taxable", "QQQ", 100, 20.0, "2025-01-10")
    assert ledger.close_year(2025) == pytest.approx(3.70)
    row_2024 = ledger.annual_tax().set_index("year").loc[2024]
    assert row_2024.section_199a_dividends == pytest.approx(0.0)
    assert row_2024.section_199a_deduction == pytest.approx(0.0)
    assert row_2024.federal_ordinary_tax == pytest.approx(18.50)


def test_section_199a_only_in_taxable_accounts_and_not_on_the_ex_date():
    """Contract rule 5 and Pub 550 "Ex-dividend date": the IRA's shares and shares bought on
    the ex-date add nothing."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_ira", "QQQ", shares=100, price=20.0, date="2024-01-02")
    ledger.buy("alice_taxable", "QQQ", shares=10, price=20.0, date="2024-01-02")
    ledger.buy("bob_taxable", "QQQ", shares=100, price=20.0, date="2024-03-01")
    ledger.distribute("QQQ", date="2024-03-01", price=20.0, dividend=1.0, qualified_fraction=0.0,
                      section_199a_fraction=1.0)
    ledger.close_year(2024)
    assert only_row(ledger.annual_tax()).section_199a_dividends == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("qualified_fraction", "section_199a_fraction"),
    [(0.0, -0.1), (0.0, 1.2), (0.0, float("nan")), (0.0, float("inf")), (0.7, 0.4), (1.0, 0.01)],
)
def test_section_199a_fraction_rejected(qualified_fraction, section_199a_fraction):
    """A fraction outside [0, 1], or one that with the qualified fraction exceeds 1 (box 5 is
    never part of box 1b), is rejected and changes nothing."""
    ledger = make_ledger(rates=RATES_2024)
    ledger.buy("alice_taxable", "QQQ", shares=100, price=20.0, date="2024-01-02")
    before = ledger.lots().to_dict("records")
    with pytest.raises(ReferenceLedgerError):
        ledger.distribute("QQQ", date="2024-03-01", price=20.0, dividend=1.0,
                          qualified_fraction=qualified_fraction,
                          section_199a_fraction=section_199a_fraction)
    assert ledger.lots().to_dict("records") == before
    ledger.distribute("QQQ", date="2024-03-01", price=20.0, dividend=1.0, qualified_fraction=0.6,
                      section_199a_fraction=0.4)  # exactly 1 is allowed
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.qualified_dividends == pytest.approx(60.0)
    assert row.section_199a_dividends == pytest.approx(40.0)


def test_capital_gain_distributions_and_interest():
    """Pub 550: long-term capital-gain distributions are long-term gains on Schedule D;
    short-term ones are ordinary dividends; interest is ordinary; exempt interest untaxed."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "BND", shares=100, price=10.0, date="2024-01-02")
    ledger.distribute(
        "BND",
        date="2024-06-03",
        price=10.0,
        interest=0.3,
        exempt_interest=0.2,
        st_capital_gain=0.1,
        lt_capital_gain=0.5,
    )
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    rates = StandInRates()
    assert row.interest == pytest.approx(30.0)
    assert row.exempt_interest == pytest.approx(20.0)
    assert row.st_capital_gain_distributions == pytest.approx(10.0)
    assert row.lt_capital_gain_distributions == pytest.approx(50.0)
    expected = 40.0 * rates.ordinary + 50.0 * rates.long_term + 90.0 * (rates.niit + rates.state)
    assert row.total_tax == pytest.approx(expected)
    assert ledger.cash("alice_taxable") == pytest.approx(110.0 - 1000.0)


def test_return_of_capital_exceeding_basis():
    """Pub 550 "Nondividend Distributions": a return of capital reduces basis; once the basis
    is zero the excess is a capital gain, long-term here (shares held over a year)."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "QQQ", shares=10, price=5.0, date="2022-01-03")
    ledger.distribute("QQQ", date="2024-01-02", price=5.0, return_of_capital=3.0)
    assert only_row(ledger.lots()).basis == pytest.approx(20.0)
    ledger.distribute("QQQ", date="2024-02-01", price=5.0, return_of_capital=4.0)
    assert only_row(ledger.lots()).basis == 0.0
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax().query("year == 2024"))
    assert row.lt_gain == pytest.approx(20.0)
    assert row.st_gain == 0.0
    sale = only_row(ledger.sell("alice_taxable", "QQQ", 10, 6.0, "2025-01-02"))
    assert sale.basis == 0.0
    assert sale.gain == pytest.approx(60.0)


def test_reinvestment_creates_a_lot_and_a_wash_sale():
    """Pub 550 "Wash Sales": a dividend reinvested within 30 days of a loss sale is a purchase
    of replacement shares."""
    ledger = make_ledger(reinvest=True)
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    ledger.sell("alice_taxable", "SPY", 100, 8.0, "2024-02-15", method="specific", lots={1: 100})
    ledger.distribute("SPY", date="2024-03-01", price=8.0, dividend=0.4, qualified_fraction=1.0)
    sale = only_row(ledger.realized())
    reinvested = lot_by_id(ledger, 3)
    assert reinvested.shares == pytest.approx(5.0)
    assert bool(reinvested.replacement)
    assert sale.wash_disallowed == pytest.approx(5 * 2.0)
    assert reinvested.basis == pytest.approx(40.0 + 10.0)


# ------------------------------------------------------------------------- splits


def test_split():
    """IRC §305(a), §307: a 2-for-1 split doubles the shares and halves the basis per share,
    without tax; the open wash-sale window scales with it (contract rule 3)."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-02")
    ledger.buy("alice_taxable", "SPY", shares=100, price=10.0, date="2024-01-03")
    ledger.sell("alice_taxable", "SPY", 50, 8.0, "2024-03-01", method="specific", lots={1: 50})
    ledger.split("SPY", date="2024-03-05", ratio=2.0)
    lots = ledger.lots().set_index("lot_id")
    assert lots.loc[1, "shares"] == pytest.approx(100.0)
    assert lots.loc[1, "basis"] == pytest.approx(500.0)
    assert lots.loc[1, "basis_per_share"] == pytest.approx(5.0)
    assert lots.loc[2, "shares"] == pytest.approx(200.0)
    # 50 loss shares at $2 each became 100 loss shares at $1 each: buying 100 takes it all.
    ledger.buy("bob_taxable", "SPY", shares=150, price=4.0, date="2024-03-10")
    sale = only_row(ledger.realized())
    assert sale.wash_disallowed == pytest.approx(100.0)
    piece = lot_by_id(ledger, 4)
    assert piece.shares == pytest.approx(100.0)
    assert piece.basis == pytest.approx(400.0 + 100.0)
    assert lot_by_id(ledger, 3).shares == pytest.approx(50.0)


# ------------------------------------------------------------------------- annual tax


def test_loss_limit_and_character_keeping_carryforward():
    """IRC §1211(b), §1212(b); Schedule D Capital Loss Carryover Worksheet: 2024 net ST -5,000
    and LT -2,000: $3,000 deducted, taken from the short-term loss first; $2,000 ST and $2,000
    LT carry to 2025, where they absorb part of a $10,000 long-term gain."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2023-01-03")
    ledger.buy("alice_taxable", "BND", shares=100, price=10.0, date="2023-01-03")
    ledger.buy("alice_taxable", "SPY", shares=100, price=100.0, date="2024-01-02")
    ledger.close_year(2023)
    ledger.sell("alice_taxable", "SPY", 100, 50.0, "2024-06-03")  # ST -5,000
    ledger.sell("alice_taxable", "QQQ", 100, 30.0, "2024-06-03")  # LT -2,000
    due_2024 = ledger.close_year(2024)
    rates = StandInRates()
    # NIIT is floored at zero; the state base is signed (the deduction lowers state AGI too).
    assert due_2024 == pytest.approx(-3000.0 * (rates.ordinary + rates.state))
    ledger.sell("alice_taxable", "BND", 100, 110.0, "2025-06-02")  # LT +10,000
    due_2025 = ledger.close_year(2025)
    table = ledger.annual_tax().set_index("year")
    assert table.loc[2024, "loss_deduction"] == pytest.approx(3000.0)
    assert table.loc[2024, "carryforward_st_out"] == pytest.approx(2000.0)
    assert table.loc[2024, "carryforward_lt_out"] == pytest.approx(2000.0)
    assert table.loc[2025, "carryforward_st_in"] == pytest.approx(2000.0)
    assert table.loc[2025, "net_lt"] == pytest.approx(8000.0)
    assert table.loc[2025, "loss_deduction"] == 0.0
    assert table.loc[2025, "carryforward_st_out"] == 0.0
    assert table.loc[2025, "carryforward_lt_out"] == 0.0
    assert due_2025 == pytest.approx(6000.0 * (rates.long_term + rates.niit + rates.state))


def test_married_filing_separately_limit():
    """IRC §1211(b)(1): $1,500 for a married individual filing a separate return."""
    ledger = make_ledger(loss_limit=1500.0)
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2024-01-02")
    ledger.sell("alice_taxable", "QQQ", 100, 30.0, "2024-06-03")
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax())
    assert row.loss_deduction == pytest.approx(1500.0)
    assert row.carryforward_st_out == pytest.approx(500.0)


def test_carryover_worksheet_formula():
    """Capital Loss Carryover Worksheet lines 5-13 (Schedule D instructions)."""
    # ST -1,000, LT -5,000: deduction 3,000 uses the 1,000 ST loss first, 2,000 of LT.
    assert capital_loss_carryover(-1000.0, -5000.0, 3000.0) == pytest.approx((0.0, 3000.0))
    # ST -8,000, LT +2,000: LT gain absorbs 2,000, deduction 3,000: 3,000 ST carries.
    assert capital_loss_carryover(-8000.0, 2000.0, 3000.0) == pytest.approx((3000.0, 0.0))
    # ST +1,000, LT -6,000: ST gain absorbs 1,000, deduction 3,000: 2,000 LT carries.
    assert capital_loss_carryover(1000.0, -6000.0, 3000.0) == pytest.approx((0.0, 2000.0))


def test_net_short_term_gain_against_long_term_loss_is_ordinary():
    """IRC §1(h), §1222(11): the preferential "net capital gain" is the excess of net LT gain
    over net ST loss; a net ST gain reduced by a LT loss stays ordinary."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2022-01-03")
    ledger.buy("alice_taxable", "BND", shares=100, price=10.0, date="2024-01-02")
    ledger.sell("alice_taxable", "QQQ", 100, 40.0, "2024-06-03")  # LT -1,000
    ledger.sell("alice_taxable", "BND", 100, 40.0, "2024-06-03")  # ST +3,000
    ledger.close_year(2024)
    row = only_row(ledger.annual_tax().query("year == 2024"))
    rates = StandInRates()
    assert row.ordinary_base == pytest.approx(2000.0)
    assert row.preferential_base == 0.0
    assert row.total_tax == pytest.approx(2000.0 * (rates.ordinary + rates.niit + rates.state))


def test_offset_convention():
    """Contract rule 6 ``offset``: each term taxed on its own signed net at its own rate, no
    limit, no carryforward; the tax may be negative."""
    ledger = make_ledger(loss_convention="offset")
    ledger.buy("alice_taxable", "QQQ", shares=100, price=50.0, date="2022-01-03")
    ledger.buy("alice_taxable", "BND", shares=100, price=10.0, date="2024-01-02")
    ledger.sell("alice_taxable", "QQQ", 100, 10.0, "2024-06-03")  # LT -4,000
    ledger.sell("alice_taxable", "BND", 100, 20.0, "2024-06-03")  # ST +1,000
    due = ledger.close_year(2024)
    rates = StandInRates()
    expected = (
        1000.0 * rates.ordinary - 4000.0 * rates.long_term - 3000.0 * (rates.niit + rates.state)
    )
    assert due == pytest.approx(expected)
    row = only_row(ledger.annual_tax().query("year == 2024"))
    assert row.carryforward_lt_out == 0.0


# ------------------------------------------------------------------------- errors


def test_rejected_calls_change_nothing():
    """Contract "Errors": a rejected call leaves the ledger exactly as it was."""
    ledger = make_ledger()
    ledger.buy("alice_taxable", "SPY", shares=10, price=10.0, date="2024-01-02")
    before = (ledger.lots().to_dict("records"), ledger.realized().to_dict("records"))
    bad_calls = [
        lambda: ledger.sell("alice_taxable", "SPY", 11, 9.0, "2024-02-01"),
        lambda: ledger.sell("alice_taxable", "SPY", 5, 9.0, "2024-02-01", "specific", {9: 5}),
        lambda: ledger.sell("alice_taxable", "SPY", 5, 9.0, "2024-02-01", "specific", {1: 11}),
        lambda: ledger.sell("alice_taxable", "SPY", 5, float("nan"), "2024-02-01"),
        lambda: ledger.buy("nobody", "SPY", 5, 9.0, "2024-02-01"),
        lambda: ledger.buy("alice_taxable", "XYZ", 5, 9.0, "2024-02-01"),
        lambda: ledger.buy("alice_taxable", "SPY", -5, 9.0, "2024-02-01"),
        lambda: ledger.buy("alice_taxable", "SPY", 5, 9.0, "2023-12-01"),
    ]
    for call in bad_calls:
        with pytest.raises(ReferenceLedgerError):
            call()
        assert (ledger.lots().to_dict("records"), ledger.realized().to_dict("records")) == before
    ledger.close_year(2024)
    with pytest.raises(ReferenceLedgerError):
        ledger.buy("alice_taxable", "SPY", 5, 9.0, "2024-12-31")
    with pytest.raises(ReferenceLedgerError):
        ledger.close_year(2024)
