"""Worked examples of net capital gain's 28% and 25% groups, as exact-number tests.

Sources: IRC §1(h)(1)(E)-(F) (25% on unrecaptured section 1250 gain, 28% on the rest of net
capital gain above adjusted net capital gain: maximum rates, the tax "shall not exceed" them);
§1(h)(4) (28-percent rate gain: collectibles gain less collectibles loss, the net short-term
capital loss and the long-term carryover); §1(h)(5) and §408(m) (collectibles; a grantor trust
holding physical metal passes its metal through: Pub 550, "Collectibles gain or loss");
§1(h)(6)(A) (unrecaptured section 1250 gain, reduced by what the §1(h)(4)(B) items leave over);
Form 1099-DIV boxes 2b and 2d; the Schedule D instructions' 28% Rate Gain Worksheet,
Unrecaptured Section 1250 Gain Worksheet and Schedule D Tax Worksheet. Every amount is
computed by hand in the test (2025 top rates: 37% ordinary, 20% long-term, 28%, 25%, 3.8%
NIIT), never by the ledger.
"""

from __future__ import annotations

import pytest

from taxsim import Account, Household, Ledger, LedgerError, TaxProfile, TaxRates
from tests.reference.ledger import ReferenceLedger

CENT = 0.005
NIIT = 0.038


def ledgers(*, loss_convention: str = "standalone", carryforward=(0.0, 0.0),
            profile: TaxProfile | None = None):
    """The numba ledger and the reference, GLD a collectible, SPY and REIT not."""
    household = Household((Account("taxable", reinvest=False), Account("ira", "tax_deferred")))
    assets = ["GLD", "SPY", "REIT"]
    profile = profile or TaxProfile()
    return (
        Ledger(household, assets, profile, loss_convention, carryforward,
               collectibles=["GLD"]),
        ReferenceLedger(household, assets, profile, loss_convention, carryforward,
                        collectibles=("GLD",)),
    )


def run_both(steps, **kwargs) -> list[dict]:
    """Apply ``steps`` ((method, args, kwargs)) to both ledgers; returns each one's last year
    row, the two checked to the cent against each other."""
    rows = []
    for ledger in ledgers(**kwargs):
        for method, args, keywords in steps:
            getattr(ledger, method)(*args, **keywords)
        rows.append(ledger.annual_tax().iloc[-1].to_dict())
    for name in ("total_tax", "federal_preferential_tax", "collectibles_gain_base",
                 "unrecaptured_1250_gain_base", "niit", "lt_gain_base"):
        assert rows[0][name] == pytest.approx(rows[1][name], abs=CENT), name
    return rows


def assert_dollars(row: dict, **expected: float) -> None:
    for name, value in expected.items():
        assert row[name] == pytest.approx(value, abs=CENT), name


def buy(asset, shares, price, date, account="taxable"):
    return ("buy", (account, asset, shares, price, date), {})


def sell(asset, shares, price, date, account="taxable", method="fifo"):
    return ("sell", (account, asset, shares, price, date), {"method": method})


def close(year):
    return ("close_year", (year,), {})


def test_long_term_collectible_gain_is_taxed_at_28_percent():
    """100 GLD shares bought at $100 on 2020-01-02, sold at $150 on 2021-01-04: a $5,000
    long-term collectibles gain, $5,000 x 28% = $1,400 federal, plus $190 NIIT."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"),
                         sell("GLD", 100, 150.0, "2021-01-04"), close(2020), close(2021)]):
        assert_dollars(row, lt_gain=5000.0, collectibles_gain=5000.0,
                       collectibles_gain_base=5000.0, unrecaptured_1250_gain_base=0.0,
                       federal_preferential_tax=1400.0, niit=190.0, total_tax=1590.0)


def test_the_same_gain_on_stock_is_taxed_at_20_percent():
    for row in run_both([buy("SPY", 100, 100.0, "2020-01-02"),
                         sell("SPY", 100, 150.0, "2021-01-04"), close(2020), close(2021)]):
        assert_dollars(row, collectibles_gain=0.0, collectibles_gain_base=0.0,
                       federal_preferential_tax=1000.0, total_tax=1190.0)


def test_a_short_term_collectible_gain_is_ordinary():
    """Held one year exactly (2020-01-02 to 2021-01-02): short-term, 37%, no 28% group."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"),
                         sell("GLD", 100, 150.0, "2021-01-02"), close(2020), close(2021)]):
        assert_dollars(row, st_gain=5000.0, collectibles_gain=0.0, collectibles_gain_base=0.0,
                       federal_ordinary_tax=1850.0, total_tax=1850.0 + 190.0)


def test_a_stock_loss_reduces_the_20_percent_group_first():
    """GLD long-term gain $5,000, SPY long-term loss $1,000: net capital gain $4,000, and the
    28-percent rate gain (collectibles gain, not reduced by other long-term losses) is $5,000,
    so all $4,000 is taxed at 28% (Schedule D Tax Worksheet line 12): $1,120 + $152 NIIT."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"), buy("SPY", 100, 100.0,
                                                                     "2020-01-02"),
                         sell("GLD", 100, 150.0, "2021-06-01"),
                         sell("SPY", 100, 90.0, "2021-06-01"), close(2020), close(2021)]):
        assert_dollars(row, lt_gain=4000.0, collectibles_gain=5000.0,
                       collectibles_gain_base=4000.0, federal_preferential_tax=1120.0,
                       niit=152.0, total_tax=1272.0)


def test_a_collectibles_loss_offsets_stock_gain_at_20_percent():
    """GLD long-term loss $2,000, SPY long-term gain $5,000: no 28-percent rate gain; the
    $3,000 net capital gain is taxed at 20%: $600 + $114 NIIT."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"), buy("SPY", 100, 100.0,
                                                                     "2020-01-02"),
                         sell("GLD", 100, 80.0, "2021-06-01"),
                         sell("SPY", 100, 150.0, "2021-06-01"), close(2020), close(2021)]):
        assert_dollars(row, collectibles_gain=-2000.0, collectibles_gain_base=0.0,
                       lt_gain_base=3000.0, federal_preferential_tax=600.0, total_tax=714.0)


def test_a_net_short_term_loss_reduces_the_28_percent_group():
    """GLD long-term gain $5,000, SPY short-term loss $3,000: 28% Rate Gain Worksheet line 6
    takes the $3,000, so $2,000 at 28% = $560, + $76 NIIT."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"),
                         buy("SPY", 100, 100.0, "2021-03-01"),
                         sell("GLD", 100, 150.0, "2021-06-01"),
                         sell("SPY", 100, 70.0, "2021-06-01"), close(2020), close(2021)]):
        assert_dollars(row, net_st=-3000.0, net_lt=5000.0, lt_gain_base=2000.0,
                       collectibles_gain_base=2000.0, federal_preferential_tax=560.0,
                       total_tax=636.0)


def test_a_long_term_carryover_reduces_the_28_percent_group():
    """$7,000 of long-term loss carried into 2020, whose $3,000 deduction leaves $4,000 for
    2021; there GLD long-term gain $5,000 and SPY long-term gain $3,000: net long-term $4,000.
    28-percent rate gain $5,000 - $4,000 = $1,000 (worksheet line 5); the other $3,000 at
    20%: $280 + $600 + $152 NIIT = $1,032."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"), buy("SPY", 100, 100.0,
                                                                     "2020-01-02"),
                         sell("GLD", 100, 150.0, "2021-06-01"),
                         sell("SPY", 100, 130.0, "2021-06-01"), close(2020), close(2021)],
                        carryforward=(0.0, 7000.0)):
        assert_dollars(row, carryforward_lt_in=4000.0, net_lt=4000.0, collectibles_gain_base=1000.0,
                       federal_preferential_tax=880.0, niit=152.0, total_tax=1032.0)


def test_unrecaptured_section_1250_gain_from_box_2b():
    """A REIT pays $20 of long-term capital gain a share on 100 shares, half of it box 2b
    ($1,000 unrecaptured section 1250 gain); a $300 short-term loss elsewhere. Net capital
    gain $1,700; the 1250 gain less what the short-term loss leaves over the (zero)
    collectibles gain: $1,000 - $300 = $700 at 25% ($175), $1,000 at 20% ($200), NIIT $64.60."""
    steps = [buy("REIT", 100, 50.0, "2021-01-04"), buy("SPY", 100, 100.0, "2021-02-01"),
             ("distribute", ("REIT", "2021-06-01", 50.0),
              {"lt_capital_gain": 20.0, "unrecaptured_1250_fraction": 0.5}),
             sell("SPY", 100, 97.0, "2021-06-01"), close(2021)]
    for row in run_both(steps):
        assert_dollars(row, lt_capital_gain_distributions=2000.0, unrecaptured_1250_gain=1000.0,
                       lt_gain_base=1700.0, unrecaptured_1250_gain_base=700.0,
                       collectibles_gain_base=0.0, federal_preferential_tax=375.0,
                       niit=64.6, total_tax=439.6)


def test_both_groups_from_one_distribution_and_a_short_term_loss():
    """$10,000 of long-term capital gain distributions: 30% box 2d ($3,000 collectibles), 50%
    box 2b ($5,000), $2,000 other; a $4,000 short-term loss. The loss takes the 28% group
    ($3,000) and $1,000 of the 25% group: $4,000 at 25% ($1,000) and $2,000 at 20% ($400);
    NIIT on $6,000 = $228."""
    steps = [buy("REIT", 100, 50.0, "2021-01-04"), buy("SPY", 100, 100.0, "2021-02-01"),
             ("distribute", ("REIT", "2021-06-01", 50.0),
              {"lt_capital_gain": 100.0, "collectibles_fraction": 0.3,
               "unrecaptured_1250_fraction": 0.5}),
             sell("SPY", 100, 60.0, "2021-06-01"), close(2021)]
    for row in run_both(steps):
        assert_dollars(row, collectibles_gain=3000.0, unrecaptured_1250_gain=5000.0,
                       lt_gain_base=6000.0, collectibles_gain_base=0.0,
                       unrecaptured_1250_gain_base=4000.0, federal_preferential_tax=1400.0,
                       niit=228.0, total_tax=1628.0)


def test_the_28_percent_rate_is_a_maximum():
    """A household at a 24% ordinary rate pays 24%, not 28%, on a collectibles gain."""
    profile = TaxProfile(default=TaxRates(ordinary=0.24, long_term=0.15,
                                          qualified_dividend=0.15, niit=0.0))
    for row in run_both([buy("GLD", 10, 100.0, "2020-01-02"),
                         sell("GLD", 10, 200.0, "2021-06-01"), close(2020), close(2021)],
                        profile=profile):
        assert_dollars(row, collectibles_gain_base=1000.0, federal_preferential_tax=240.0,
                       total_tax=240.0)


def test_offset_values_a_collectibles_loss_at_28_percent():
    """Under the offset convention a $1,000 long-term GLD loss is worth 28% and a $1,000 SPY
    long-term gain costs 20%: -$80 federal."""
    for row in run_both([buy("GLD", 100, 100.0, "2020-01-02"), buy("SPY", 100, 100.0,
                                                                     "2020-01-02"),
                         sell("GLD", 100, 90.0, "2021-06-01"),
                         sell("SPY", 100, 110.0, "2021-06-01"), close(2020), close(2021)],
                        loss_convention="offset"):
        assert_dollars(row, collectibles_gain_base=-1000.0, federal_preferential_tax=-80.0,
                       niit=0.0, total_tax=-80.0)


def test_a_washed_collectibles_loss_leaves_no_group():
    """A long-term GLD loss of $2,000 washed by a rebuy 9 days later: disallowed in full
    (IRC §1091), so nothing is left in the 28% group; the replacement carries it in basis."""
    ledger, reference = ledgers()
    for book in (ledger, reference):
        book.buy("taxable", "GLD", 100, 100.0, "2020-01-02")
        book.buy("taxable", "SPY", 100, 100.0, "2020-01-02")
        book.sell("taxable", "GLD", 100, 80.0, "2021-03-01")
        book.sell("taxable", "SPY", 100, 150.0, "2021-03-01")
        book.buy("taxable", "GLD", 100, 81.0, "2021-03-10")
        book.close_year(2020)
        book.close_year(2021)
        row = book.annual_tax().iloc[-1].to_dict()
        assert_dollars(row, wash_disallowed=2000.0, collectibles_gain=0.0, lt_gain=5000.0,
                       collectibles_gain_base=0.0, federal_preferential_tax=1000.0)
    lots = ledger.lots()
    assert float(lots[lots["asset"] == "GLD"]["basis"].iloc[0]) == pytest.approx(10100.0)


def test_return_of_capital_beyond_basis_on_a_collectible_is_28_percent_gain():
    """$60 a share of return of capital on 10 GLD shares of $50 basis held over a year: $500
    reduces basis to zero, the $100 beyond it is long-term collectibles gain ($28)."""
    for row in run_both([buy("GLD", 10, 50.0, "2020-01-02"),
                         ("distribute", ("GLD", "2021-06-01", 60.0), {"return_of_capital": 60.0}),
                         close(2020), close(2021)]):
        assert_dollars(row, lt_gain=100.0, collectibles_gain=100.0,
                       collectibles_gain_base=100.0, federal_preferential_tax=28.0)


def test_liquidation_and_what_if_sale_use_the_28_percent_rate():
    """Liquidating 100 GLD shares of $100 basis at $150 after a year: $5,000 x (28% + 3.8%)."""
    ledger, _ = ledgers()
    ledger.buy("taxable", "GLD", 100, 100.0, "2020-01-02")
    result = ledger.liquidation("2021-06-01", {"GLD": 150.0})
    assert result["liquidation_tax"] == pytest.approx(1590.0, abs=CENT)
    what_if = ledger.what_if_sell("taxable", "GLD", 100, 150.0, "2021-06-01")
    assert what_if["tax_change"] == pytest.approx(1590.0, abs=CENT)


def test_tax_optimal_relief_prices_a_collectibles_gain_at_28_percent():
    """Two lots at $100: long-term of basis $60 ($40 gain a share) and short-term of basis
    $72 ($28). Tax per dollar sold: stock, long-term 40 x 23.8% = 9.52 cents against
    short-term 28 x 40.8% = 11.42: the long-term lot goes first. A collectible's long-term lot
    costs 40 x 31.8% = 12.72 cents: the short-term lot goes first."""
    first_lot_sold = {}
    for asset in ("SPY", "GLD"):
        ledger, _ = ledgers()
        ledger.buy("taxable", asset, 10, 60.0, "2020-01-02")
        ledger.buy("taxable", asset, 10, 72.0, "2021-03-01")
        rows = ledger.sell("taxable", asset, 5, 100.0, "2021-06-01", method="tax_optimal")
        first_lot_sold[asset] = float(rows["basis"].iloc[0]) / float(rows["shares"].iloc[0])
    assert first_lot_sold == pytest.approx({"SPY": 60.0, "GLD": 72.0})


def test_bad_collectible_settings_name_the_field_and_change_nothing():
    household = Household((Account("taxable"),))
    with pytest.raises(LedgerError, match="XYZ"):
        Ledger(household, ["GLD"], collectibles=["XYZ"])
    with pytest.raises(LedgerError, match="sequence"):
        Ledger(household, ["GLD"], collectibles="GLD")
    ledger = Ledger(household, ["GLD", "REIT"], collectibles=["GLD"])
    ledger.buy("taxable", "REIT", 10, 50.0, "2021-01-04")
    before = ledger.lots()
    cash_before = ledger.cash("taxable")
    for keywords, field in (({"collectibles_fraction": 1.2}, "collectibles_fraction"),
                            ({"unrecaptured_1250_fraction": -0.1}, "unrecaptured_1250_fraction"),
                            ({"collectibles_fraction": 0.6, "unrecaptured_1250_fraction": 0.5},
                             "exceeds 1")):
        with pytest.raises(LedgerError, match=field):
            ledger.distribute("REIT", "2021-06-01", 50.0, lt_capital_gain=1.0, **keywords)
    assert ledger.lots().equals(before)
    assert ledger.cash("taxable") == cash_before
    ledger.close_year(2021)  # the refused distributions left no income behind
    row = ledger.annual_tax().iloc[-1]
    assert row["lt_capital_gain_distributions"] == row["collectibles_gain"] == 0.0
    assert row["unrecaptured_1250_gain"] == 0.0
