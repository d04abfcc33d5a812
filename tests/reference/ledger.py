"""Independent, slow, plain-Python reference tax-lot ledger.

This module re-implements the contract in ``taxsim/ledger/README.md`` from the tax rules, with
no numba and no code shared with ``taxsim.ledger``: Python objects, ``datetime.date`` calendar
arithmetic and Python floats. It exists only to be compared against the fast ledger
(``tests/test_ledger_vs_reference.py``) and is trusted because of the worked examples in
``tests/reference/test_reference_examples.py``.

Units: shares are float shares, every money amount is dollars, day counts are calendar days.

Sources cited in the docstrings:

- IRC §1091 and Treas. Reg. §1.1091-1 (wash sales), Rev. Rul. 2008-5 (IRA replacement),
  IRC §1223(3) (tacked holding period), IRS Publication 550 "Wash Sales".
- IRC §1222, Rev. Rul. 66-7, Pub 550 "Holding Period" (short- or long-term).
- Treas. Reg. §1.1012-1(c) and (e) (identifying shares sold, average basis).
- IRC §305(a), §307 (stock splits).
- Pub 550 "Dividends and Other Distributions", "Nondividend Distributions", Form 1099-DIV,
  IRC §1(h)(11)(B)(iii) and §246(c) (qualified-dividend holding period).
- IRC §1211(b), §1212(b), Schedule D instructions and its Capital Loss Carryover Worksheet,
  Form 8960 (net investment income tax).
- IRC §199A(a), (b)(1)(B), (e)(3) (Pub. L. 115-97 §11011, from 2018; made permanent by Pub. L.
  119-21), Treas. Reg. §1.199A-3(c)(2)(ii), (d) and §1.199A-1(e)(3) (the deduction for
  qualified REIT dividends and a fund's section 199A dividends, Form 1099-DIV box 5).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

#: Shares below this are treated as zero (float dust left by fractional arithmetic), shares.
SHARE_EPSILON = 1e-9

#: A sale portion is a loss only if basis exceeds proceeds by more than this fraction of the
#: basis: a "loss" of float rounding (cost 6.6, sold at 6.6) must not start a wash sale.
LOSS_EPSILON = 1e-9

#: Calendar days on either side of a sale in which a purchase is a wash-sale replacement.
WASH_WINDOW_DAYS = 30

#: Days (disposal day minus acquisition day) a share must be held for a qualified dividend.
QUALIFIED_HOLDING_DAYS = 61

#: Days (disposal day minus acquisition day) a share must be held for its REIT dividend to be a
#: qualified REIT dividend (more than 45 days, Treas. Reg. §1.199A-3(c)(2)(ii), (d)(4)(ii)).
SECTION_199A_HOLDING_DAYS = 46

#: Slack allowed on ``qualified_fraction + section_199a_fraction <= 1`` (float rounding).
FRACTION_SUM_SLACK = 1e-12

#: Annual-tax columns that ``annual_tax()`` shows as known now rather than at the last close.
LIVE_ANNUAL_COLUMNS = (
    "st_gain",
    "lt_gain",
    "qualified_dividends",
    "nonqualified_dividends",
    "interest",
    "exempt_interest",
    "st_capital_gain_distributions",
    "lt_capital_gain_distributions",
    "return_of_capital",
    "proceeds",
    "wash_disallowed",
    "wash_lost",
    "st_gain_after_rate_change",
    "lt_gain_after_rate_change",
    "section_199a_dividends",
    "collectibles_gain",
    "unrecaptured_1250_gain",
)

SELL_METHODS = ("fifo", "lifo", "hifo", "tax_optimal", "gains_first", "average", "specific")
LOSS_CONVENTIONS = ("standalone", "offset")
ACCOUNT_KINDS = ("taxable", "tax_deferred", "tax_exempt")


class ReferenceLedgerError(ValueError):
    """An operation the contract rejects; the ledger is left exactly as it was."""


# --------------------------------------------------------------------------------------------
# Calendar rules
# --------------------------------------------------------------------------------------------


def to_date(value: Any) -> date:
    """Convert anything ``pandas.Timestamp`` accepts to a ``datetime.date``."""
    if isinstance(value, date) and not isinstance(value, pd.Timestamp):
        return date(value.year, value.month, value.day)
    return pd.Timestamp(value).date()


def is_last_day_of_month(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


def first_day_held_more_than(acquired: date, months: int) -> date:
    """The first day on which property acquired on ``acquired`` is held more than ``months``
    calendar months.

    Pub 550 "Holding Period": start counting on the day after acquisition; the day of
    disposal counts. A holding month ends on the same numbered day as the acquisition date in
    each later month; for an acquisition on the last day of a month it ends on the last day of
    each later month (Caspe v. United States, 694 F.2d 1116 (8th Cir. 1982): bought Nov 30,
    sold May 31 is six months, not more). Where the numbered day does not exist in the month,
    the month ends on its last day.
    """
    month_index = acquired.month - 1 + months
    year, month = acquired.year + month_index // 12, month_index % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    month_end = following - timedelta(days=1)
    if is_last_day_of_month(acquired) or acquired.day > month_end.day:
        return following  # the last holding month ends on month_end
    return date(year, month, acquired.day) + timedelta(days=1)


def is_long_term(holding_start: date, disposal_day: date) -> bool:
    """Whether shares whose holding period starts ``holding_start`` are long-term when sold.

    IRC §1222(3): long-term means held *more than* one year, counted in calendar months from
    the day after acquisition (Pub 550; Rev. Rul. 66-7): bought 2024-02-05, 2025-02-05 is
    short and 2025-02-06 long; bought on the last day of a month, long from the first day of
    the 13th month after (bought 2023-02-28: 2024-02-29 short, 2024-03-01 long).
    """
    return disposal_day >= first_day_held_more_than(holding_start, 12)


def term_of(holding_start: date, disposal_day: date) -> str:
    """``"long"`` or ``"short"`` (see :func:`is_long_term`)."""
    return "long" if is_long_term(holding_start, disposal_day) else "short"


def tacked_holding_start(replacement_acquired: date, sale_day: date, sold_start: date) -> date:
    """Holding-period start of a wash-sale replacement.

    IRC §1223(3) and Pub 550 "Wash Sales": the holding period of the replacement includes the
    holding period of the shares sold, ``sale_day - sold_start`` calendar days, so the start is
    moved back by that many days: ``replacement.acquired - (sale_day - sold.holding_start)``.
    """
    return replacement_acquired - (sale_day - sold_start)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class ProvisionalDividend:
    """A dividend counted as qualified while the lot is younger than 61 days.

    Attributes
    ----------
    year : int
        Calendar year of the dividend (its ex-date).
    qualified_per_share : float
        Qualified dollars per share still subject to the holding test.
    """

    year: int
    qualified_per_share: float


@dataclass
class ProvisionalSection199A:
    """A section 199A dividend counted while the lot is younger than 46 days.

    Attributes
    ----------
    year : int
        Calendar year of the dividend (its ex-date).
    per_share : float
        Section 199A dollars per (current) share still subject to the 46-day holding test.
    """

    year: int
    per_share: float


@dataclass
class Lot:
    """One tax lot (shares of one purchase, or a piece of one, in one account).

    Attributes
    ----------
    lot_id : int
        Consecutive from 1 in creation order (buys, reinvestments, pieces).
    account, asset : str
        Where the shares are held and what they are.
    shares : float
        Open shares.
    basis : float
        Total adjusted basis of the open shares, dollars (includes ``wash_adjustment``).
    acquired : datetime.date
        Acquisition date of the purchase.
    holding_start : datetime.date
        Holding-period start (the acquisition date, moved back by tacking).
    wash_adjustment : float
        Disallowed wash-sale loss added to the basis, dollars.
    replacement : bool
        These shares already absorbed a wash-sale loss and cannot absorb another.
    origin : int
        Lot id of the purchase these shares came from (pieces share it).
    provisional : list of ProvisionalDividend
        Dividends that are qualified only if the shares are held at least 61 days.
    provisional_section_199a : list of ProvisionalSection199A
        Section 199A dividends that count only if the shares are held at least 46 days.
    capital_gain_distributions : list of float
        Capital gain distributions received, dollars per (current) share, one per
        distribution: a loss within six months is long-term up to their total (§852(b)(4)(A)).
    exempt_interest_dividends : list of float
        Exempt-interest dividends received, dollars per (current) share, one per distribution,
        except those of a fund declaring them daily: a loss within six months is disallowed up
        to their total (§852(b)(4)(B)).
    """

    lot_id: int
    account: str
    asset: str
    shares: float
    basis: float
    acquired: date
    holding_start: date
    wash_adjustment: float = 0.0
    replacement: bool = False
    origin: int = 0
    provisional: list[ProvisionalDividend] = field(default_factory=list)
    provisional_section_199a: list[ProvisionalSection199A] = field(default_factory=list)
    capital_gain_distributions: list[float] = field(default_factory=list)
    exempt_interest_dividends: list[float] = field(default_factory=list)

    @property
    def basis_per_share(self) -> float:
        """Adjusted basis per share, dollars per share."""
        return self.basis / self.shares


@dataclass
class SalePortion:
    """The part of one sale relieved from one lot (one ``realized()`` row).

    ``gain = proceeds - basis + wash_disallowed + exempt_interest_disallowed`` (dollars).
    ``unmatched_loss_shares`` are loss shares of a taxable sale still open to retroactive
    wash-sale matching.
    """

    sale_id: int
    lot_id: int
    account: str
    asset: str
    taxable: bool
    shares: float
    acquired: date
    holding_start: date
    sold: date
    proceeds: float
    basis: float
    origin: int
    wash_disallowed: float = 0.0
    wash_lost: float = 0.0
    loss_per_share: float = 0.0
    unmatched_loss_shares: float = 0.0
    six_month_distributions_per_share: float = 0.0
    exempt_interest_disallowed: float = 0.0

    @property
    def gain(self) -> float:
        """Realized gain after the wash-sale and §852(b)(4)(B) adjustments, dollars."""
        return self.proceeds - self.basis + self.wash_disallowed + self.exempt_interest_disallowed

    @property
    def long_term_loss(self) -> float:
        """The part of the allowed loss that is long-term, dollars (<= 0).

        IRC §852(b)(4)(A) (and §857(b)(8) for REITs); Pub 550 "Loss on mutual fund or REIT
        stock held 6 months or less": "The loss is treated as long-term capital loss up to
        the total of any capital gain distributions you received". The rule works share by
        share: each sold share whose loss §1091 did not disallow has a loss of
        (basis - proceeds - exempt_interest_disallowed) / shares (§852(b)(4)(A): "to the
        extent not disallowed under subparagraph (B)"), long-term up to the distributions it
        received.
        """
        if self.six_month_distributions_per_share <= 0.0 or self.gain >= 0.0:
            return 0.0
        loss = self.basis - self.proceeds - self.exempt_interest_disallowed
        loss_per_share = loss / self.shares
        allowed_shares = -self.gain / loss_per_share
        return -allowed_shares * min(loss_per_share, self.six_month_distributions_per_share)

    @property
    def term(self) -> str:
        """``"short"`` or ``"long"`` from the holding-period start and the sale day."""
        return term_of(self.holding_start, self.sold)


@dataclass
class YearIncome:
    """Distribution income of one calendar year in taxable accounts, dollars."""

    qualified_dividends: float = 0.0
    nonqualified_dividends: float = 0.0
    interest: float = 0.0
    exempt_interest: float = 0.0
    st_capital_gain_distributions: float = 0.0
    lt_capital_gain_distributions: float = 0.0
    return_of_capital: float = 0.0
    # the same items received on or after the year's change of the long-term rate, if any
    # (JGTRRA 2003 §301(c); 2003 Schedule D column (g) and Form 1099-DIV box 2b, "Post-May 5
    # capital gain distributions")
    lt_capital_gain_distributions_after_rate_change: float = 0.0
    # qualified REIT dividends and a fund's section 199A dividends that pass (or may still
    # pass) the 46-day test: a part of nonqualified_dividends (IRC §199A(e)(3) excludes
    # qualified dividend income), by the ex-date's year
    section_199a_dividends: float = 0.0
    # section 199A dollars taken out of section_199a_dividends by the holding test (they stay
    # in nonqualified_dividends); only a view for tests, not a tax item
    section_199a_failed: float = 0.0
    # Form 1099-DIV box 2d (28% rate gain: collectibles, IRC §1(h)(4)-(5)) and box 2b
    # (unrecaptured section 1250 gain, §1(h)(6)): parts of lt_capital_gain_distributions
    collectibles_distributions: float = 0.0
    unrecaptured_1250_distributions: float = 0.0
    # (a return of capital beyond basis is a Form 8949 line: a SalePortion, not income here)


# --------------------------------------------------------------------------------------------
# Configuration access (duck-typed: works with taxsim's config classes or test stand-ins)
# --------------------------------------------------------------------------------------------


def _field(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _account_name(account: Any) -> str:
    for attribute in ("name", "account_id", "id"):
        value = _field(account, attribute)
        if value is not None:
            return str(value)
    raise TypeError(f"cannot find the name of account {account!r}")


# --------------------------------------------------------------------------------------------
# Annual tax
# --------------------------------------------------------------------------------------------


def capital_loss_carryover(
    net_short_term: float, net_long_term: float, loss_deduction: float
) -> tuple[float, float]:
    """Short- and long-term carryovers to next year, dollars (both >= 0).

    Schedule D instructions, Capital Loss Carryover Worksheet (lines 5-13), IRC §1212(b)
    (carryovers keep their character), assuming taxable income before the deduction is
    positive (worksheet line 4 = the deduction):

    - ST carryover = max(0, ST loss - (LT gain + deduction))
    - LT carryover = max(0, LT loss - (ST gain + max(0, deduction + LT gain - ST loss)))
    """
    short_term_loss = max(0.0, -net_short_term)
    long_term_gain = max(0.0, net_long_term)
    long_term_loss = max(0.0, -net_long_term)
    short_term_gain = max(0.0, net_short_term)
    carryover_short = max(0.0, short_term_loss - (long_term_gain + loss_deduction))
    unused_deduction = max(0.0, loss_deduction + long_term_gain - short_term_loss)
    carryover_long = max(0.0, long_term_loss - (short_term_gain + unused_deduction))
    return carryover_short, carryover_long


def annual_tax_row(
    year: int,
    short_term_gain: float,
    long_term_gain: float,
    income: YearIncome,
    rates: Any,
    loss_convention: str,
    carryforward_st_in: float,
    carryforward_lt_in: float,
    loss_limit: float,
    state_on_nonnegative_base: bool = False,
    st_gain_after_rate_change: float = 0.0,
    lt_gain_after_rate_change: float = 0.0,
    long_term_rate_before_change: float | None = None,
    collectibles_gain: float = 0.0,
    unrecaptured_1250_gain: float = 0.0,
) -> dict[str, float]:
    """Tax of one calendar year, dollars.

    ``standalone`` (Schedule D, IRC §1211(b), §1212(b), Form 8960): short-term gains net with
    the short-term carryforward, long-term gains and long-term capital-gain distributions with
    the long-term carryforward, then across terms. A net loss offsets ordinary income up to
    ``loss_limit`` dollars ($3,000; $1,500 married filing separately, §1211(b)); the rest
    carries forward keeping its character (:func:`capital_loss_carryover`). A net gain is
    preferential
    only to the extent of the net long-term gain (the "net capital gain", §1(h), §1222(11)).
    Short-term capital-gain distributions are ordinary dividends (Pub 550).

    ``offset``: every loss offsets outside gains of its own character, so each term is taxed
    on its own signed net at its own rate, no cross netting, no limit, no carryforward (a loss
    carried in from before the first year is used up in the first year).

    NIIT (IRC §1411, Form 8960) is ``niit * max(0, ordinary + preferential)`` under
    ``standalone``: NII cannot be negative. State tax is flat on the signed ``ordinary +
    preferential`` (states start from federal AGI, which the loss deduction lowers); set
    ``state_on_nonnegative_base`` to floor it at zero like NIIT instead (the contract's "on the
    same base" allows both readings). Under ``offset`` NIIT and state are on the signed sum.

    A long-term rate that changes within the year (``long_term_rate_before_change`` is the
    rate before the change; ``st_gain_after_rate_change`` and ``lt_gain_after_rate_change`` the
    gains and losses "properly taken into account" on or after the change day, capital gain
    distributions included, carryovers not): the Jobs and Growth Tax Relief Reconciliation Act
    of 2003, Pub. L. 108-27, §301(c)(2), taxes at the new rate "the lesser of" the net capital
    gain determined from those items only (§1222(11): net long-term gain less net short-term
    loss) and the amount taxed at the preferential rate for the whole year; the rest of that
    amount is taxed at the old rate (2003 Schedule D lines 7a and 15a, column (g)). Qualified
    dividends keep their own rate (§301(c)(5) counts them as taken into account after the
    change). Under ``offset`` each part's signed net long-term result is valued at its own rate.

    The §199A deduction (IRC §199A(a), (b)(1)(B), (e)(3), from 2018; Treas. Reg.
    §1.199A-3(d) for a fund's section 199A dividends) is ``rates.section_199a_deduction``
    (20%) of the year's qualified REIT dividends, ``income.section_199a_dividends`` (a part of
    the non-qualified dividends, already net of the 46-day holding test). It is a deduction
    below adjusted gross income (IRC §62(a), §63(b)(3)), so it lowers only the federal tax at
    the ordinary rate: ``federal_ordinary_tax = (ordinary_base - deduction) * ordinary``.
    ``ordinary_base`` keeps the full dividend, and so do NIIT (net investment income is not
    reduced by it, Treas. Reg. §1.199A-1(e)(3)) and the flat state tax (states start from
    federal AGI). Alike under both loss conventions. Not modelled: the overall limit of 20% of
    taxable income less net capital gain (§199A(a)(2), assumed not to bind for the top-bracket
    household these rates describe), PTP income, and the §246(c)(4) rule on hedged positions.

    The 25% and 28% groups of net capital gain (IRC §1(h)(1)(E)-(F)):
    ``collectibles_gain`` is the year's long-term collectibles gain less collectibles loss
    (§1(h)(5): sales of collectibles held more than one year, and Form 1099-DIV box 2d) and
    ``unrecaptured_1250_gain`` the box 2b distributions. Under ``standalone``, following the
    Schedule D instructions' worksheets:

    - 28% Rate Gain Worksheet: lines 1 and 4 (collectibles gain or loss) + line 5 (the
      long-term carryover, negative) + line 6 (Schedule D line 7 if a loss: the short-term
      net with its carryover), zero if negative (§1(h)(4): collectibles gain over
      collectibles loss, net short-term capital loss and the long-term carryover).
    - Unrecaptured section 1250 gain: box 2b less the excess, if any, of §1(h)(4)(B)
      (collectibles loss + net short-term loss + long-term carryover) over §1(h)(4)(A)
      (collectibles gain) (§1(h)(6)(A)).
    - Schedule D Tax Worksheet for a top-bracket household: line 9 the net capital gain,
      line 12 the smaller of line 9 and the two groups' sum; the 25% rate takes the smaller
      of line 9 and the unrecaptured gain (line 33; lines 34-36 zero with other income above
      the brackets), the 28% rate the rest of line 12; line 13, adjusted net capital gain,
      takes the long-term rate.

    Each rate is a maximum (§1(h)(1): the tax "shall not exceed"), so an ``ordinary`` rate
    below it applies instead. Under ``offset`` each group is valued on its own signed amount.
    A rate change within the year (2003) changes only adjusted net capital gain's rate, so
    ``lt_gain_after_rate_change`` must leave the two groups out (the ledger's convention).
    """
    ordinary_rate = float(_field(rates, "ordinary"))
    long_term_rate = float(_field(rates, "long_term"))
    qualified_rate = float(_field(rates, "qualified_dividend"))
    niit_rate = float(_field(rates, "niit"))
    state_rate = float(_field(rates, "state"))
    section_199a_rate = float(_field(rates, "section_199a_deduction"))
    collectibles_rate = min(ordinary_rate, float(_field(rates, "collectibles", 0.28)))
    unrecaptured_rate = min(ordinary_rate, float(_field(rates, "unrecaptured_1250", 0.25)))
    loss_limit = float(loss_limit)

    long_term_total = long_term_gain + income.lt_capital_gain_distributions
    other_ordinary = (
        income.interest + income.nonqualified_dividends + income.st_capital_gain_distributions
    )
    if loss_convention == "standalone":
        net_short_term = short_term_gain - carryforward_st_in
        net_long_term = long_term_total - carryforward_lt_in
        net_capital = net_short_term + net_long_term
        if net_capital >= 0.0:
            loss_deduction = 0.0
            long_term_part = max(0.0, min(net_long_term, net_capital))
            short_term_part = net_capital - long_term_part
        else:
            loss_deduction = min(loss_limit, -net_capital)
            long_term_part = 0.0
            short_term_part = 0.0
        carryforward_st_out, carryforward_lt_out = capital_loss_carryover(
            net_short_term, net_long_term, loss_deduction
        )
        ordinary_base = other_ordinary + short_term_part - loss_deduction
        preferential_base = income.qualified_dividends + long_term_part
        investment_base = max(0.0, ordinary_base + preferential_base)
        state_base = (
            investment_base if state_on_nonnegative_base else ordinary_base + preferential_base
        )
    elif loss_convention == "offset":
        net_short_term = short_term_gain - carryforward_st_in
        net_long_term = long_term_total - carryforward_lt_in
        loss_deduction = 0.0
        carryforward_st_out = carryforward_lt_out = 0.0
        long_term_part = net_long_term
        short_term_part = net_short_term
        ordinary_base = other_ordinary + net_short_term
        preferential_base = income.qualified_dividends + net_long_term
        investment_base = ordinary_base + preferential_base
        state_base = investment_base
    else:  # pragma: no cover - validated in the constructor
        raise ReferenceLedgerError(f"unknown loss convention {loss_convention!r}")

    if loss_convention == "standalone":
        # 28% Rate Gain Worksheet, lines 5-7
        rate_gain_28 = max(0.0, collectibles_gain - carryforward_lt_in
                           + min(0.0, net_short_term))
        reductions_over_gain = max(0.0, carryforward_lt_in + max(0.0, -net_short_term)
                                   - collectibles_gain)
        rate_gain_25 = max(0.0, unrecaptured_1250_gain - reductions_over_gain)
        line_12 = min(long_term_part, rate_gain_28 + rate_gain_25)
        unrecaptured_part = min(long_term_part, rate_gain_25)
        collectibles_part = line_12 - unrecaptured_part
    else:
        unrecaptured_part = unrecaptured_1250_gain
        collectibles_part = collectibles_gain
    adjusted_part = long_term_part - unrecaptured_part - collectibles_part
    long_term_part_before_change = 0.0
    old_rate = long_term_rate
    if long_term_rate_before_change is not None:
        old_rate = float(long_term_rate_before_change)
        long_term_after = lt_gain_after_rate_change + (
            income.lt_capital_gain_distributions_after_rate_change)
        if loss_convention == "offset":
            long_term_part_before_change = adjusted_part - long_term_after
        else:
            short_term_loss_after = max(0.0, -st_gain_after_rate_change)
            net_capital_gain_after = max(0.0, long_term_after - short_term_loss_after)
            long_term_part_before_change = adjusted_part - min(net_capital_gain_after,
                                                               adjusted_part)
    section_199a_deduction = section_199a_rate * income.section_199a_dividends
    federal_ordinary_tax = (ordinary_base - section_199a_deduction) * ordinary_rate
    federal_preferential_tax = (
        (adjusted_part - long_term_part_before_change) * long_term_rate
        + long_term_part_before_change * old_rate
        + unrecaptured_part * unrecaptured_rate
        + collectibles_part * collectibles_rate
        + income.qualified_dividends * qualified_rate
    )
    federal_tax = federal_ordinary_tax + federal_preferential_tax
    niit = niit_rate * investment_base
    state_tax = state_rate * state_base
    return {
        "year": year,
        "st_gain": short_term_gain,
        "lt_gain": long_term_gain,
        "qualified_dividends": income.qualified_dividends,
        "nonqualified_dividends": income.nonqualified_dividends,
        "section_199a_dividends": income.section_199a_dividends,
        "interest": income.interest,
        "exempt_interest": income.exempt_interest,
        "return_of_capital": income.return_of_capital,
        "st_capital_gain_distributions": income.st_capital_gain_distributions,
        "lt_capital_gain_distributions": income.lt_capital_gain_distributions,
        "carryforward_st_in": carryforward_st_in,
        "carryforward_lt_in": carryforward_lt_in,
        "net_st": net_short_term,
        "net_lt": net_long_term,
        "loss_deduction": loss_deduction,
        "carryforward_st_out": carryforward_st_out,
        "carryforward_lt_out": carryforward_lt_out,
        "ordinary_base": ordinary_base,
        "lt_gain_base": long_term_part,
        "qualified_base": income.qualified_dividends,
        "preferential_base": preferential_base,
        "federal_ordinary_tax": federal_ordinary_tax,
        "federal_preferential_tax": federal_preferential_tax,
        "federal_tax": federal_tax,
        "niit": niit,
        "state_tax": state_tax,
        "total_tax": federal_tax + niit + state_tax,
        "st_gain_after_rate_change": st_gain_after_rate_change,
        "lt_gain_after_rate_change": (
            lt_gain_after_rate_change + income.lt_capital_gain_distributions_after_rate_change),
        "lt_gain_base_before_rate_change": long_term_part_before_change,
        "section_199a_deduction": section_199a_deduction,
        "collectibles_gain": collectibles_gain,
        "unrecaptured_1250_gain": unrecaptured_1250_gain,
        "unrecaptured_1250_gain_base": unrecaptured_part,
        "collectibles_gain_base": collectibles_part,
    }


# --------------------------------------------------------------------------------------------
# The ledger
# --------------------------------------------------------------------------------------------


class ReferenceLedger:
    """Plain-Python tax-lot ledger following ``taxsim/ledger/README.md``.

    Parameters
    ----------
    household : Household-like
        ``accounts`` (each with ``name``, ``kind`` in taxable / tax_deferred / tax_exempt,
        ``reinvest``), ``filing_status`` and ``identity_groups`` (asset -> group; an asset not
        listed is its own group).
    assets : list of str
        Tradable assets.
    tax_profile : TaxProfile-like
        ``rates(year)`` returns ``ordinary``, ``long_term``, ``qualified_dividend``, ``niit``,
        ``state`` (fractions) and ``loss_limit`` (dollars).
    loss_convention : {"standalone", "offset"}
        How capital losses are valued (see :func:`annual_tax_row`).
    carryforward : (float, float)
        Capital loss carried in from before the first year, (short-term, long-term), positive
        dollars (IRC §1212(b)).
    cash_includes_trades : bool
        Whether ``cash(account)`` also counts sale proceeds (+) and purchase costs (-), not only
        distributions kept in cash.
    state_on_nonnegative_base : bool
        Whether state tax is on ``max(0, ordinary + preferential)`` under ``standalone``.
    """

    def __init__(
        self,
        household: Any,
        assets: list[str],
        tax_profile: Any,
        loss_convention: str = "standalone",
        carryforward: tuple[float, float] = (0.0, 0.0),
        *,
        cash_includes_trades: bool = True,
        state_on_nonnegative_base: bool = False,
        atomic: bool = True,
        collectibles: tuple[str, ...] = (),
    ) -> None:
        if loss_convention not in LOSS_CONVENTIONS:
            raise ReferenceLedgerError(f"unknown loss convention {loss_convention!r}")
        self.household = household
        self.tax_profile = tax_profile
        self.loss_convention = loss_convention
        self.cash_includes_trades = cash_includes_trades
        self.state_on_nonnegative_base = state_on_nonnegative_base
        # atomic=False skips the per-operation snapshot (a deep copy of the whole state, so
        # quadratic over a run): only for replaying logs whose every operation is valid
        self.atomic = atomic
        self.assets = [str(asset) for asset in assets]
        if len(set(self.assets)) != len(self.assets):
            raise ReferenceLedgerError("duplicate asset")
        # collectibles (IRC §408(m)): a long-term sale's gain or loss is collectibles gain or
        # loss (§1(h)(5))
        self.collectibles = frozenset(str(asset) for asset in collectibles)
        if not self.collectibles <= set(self.assets):
            raise ReferenceLedgerError("a collectible that is not an asset")
        groups = dict(_field(household, "identity_groups", None) or {})
        self.identity_group = {asset: str(groups.get(asset, asset)) for asset in self.assets}
        self.account_names: list[str] = []
        self.account_kind: dict[str, str] = {}
        self.account_reinvests: dict[str, bool] = {}
        for account in _field(household, "accounts"):
            name = _account_name(account)
            kind = str(_field(account, "kind", "taxable"))
            if kind not in ACCOUNT_KINDS or name in self.account_kind:
                raise ReferenceLedgerError(f"bad account {name!r} of kind {kind!r}")
            self.account_names.append(name)
            self.account_kind[name] = kind
            reinvest = _field(account, "reinvest", True)
            self.account_reinvests[name] = True if reinvest is None else bool(reinvest)
        self.filing_status = _field(household, "filing_status", "single")
        household_limit = _field(household, "loss_limit", None)
        if household_limit is None:
            household_limit = 1500.0 if self.filing_status == "married_separate" else 3000.0
        self.loss_limit = float(household_limit)
        self.carryforward_in = (float(carryforward[0]), float(carryforward[1]))

        self._lots: dict[int, Lot] = {}  # open lots by lot id
        self._next_lot_id = 1
        self._portions: list[SalePortion] = []  # every sale portion, in sale then relief order
        # the same portions in the wash-sale rule's order: sale, then acquisition within a sale
        self._wash_order: list[SalePortion] = []
        self._next_sale_id = 1
        self._income: dict[int, YearIncome] = {}
        self._cash = {name: 0.0 for name in self.account_names}
        self._last_date: date | None = None
        self._first_year: int | None = None
        self._last_closed_year: int | None = None
        self._paid = 0.0
        self._due_by_year: dict[int, float] = {}
        self._rows_at_last_close: list[dict[str, float]] = []

    # ---------------------------------------------------------------- validation helpers

    def _check_account(self, account: str) -> None:
        if account not in self.account_kind:
            raise ReferenceLedgerError(f"unknown account {account!r}")

    def _check_asset(self, asset: str) -> None:
        if asset not in self.identity_group:
            raise ReferenceLedgerError(f"unknown asset {asset!r}")

    @staticmethod
    def _check_positive(name: str, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise ReferenceLedgerError(f"{name} must be a number, got {value!r}") from error
        if not math.isfinite(number) or number <= 0.0:
            raise ReferenceLedgerError(f"{name} must be finite and positive, got {value!r}")
        return number

    @staticmethod
    def _check_nonnegative(name: str, value: Any) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError) as error:
            raise ReferenceLedgerError(f"{name} must be a number, got {value!r}") from error
        if not math.isfinite(number) or number < 0.0:
            raise ReferenceLedgerError(f"{name} must be finite and non-negative, got {value!r}")
        return number

    def _check_date(self, value: Any) -> date:
        day = to_date(value)
        if self._last_date is not None and day < self._last_date:
            raise ReferenceLedgerError(f"date {day} is before the previous event {self._last_date}")
        if self._last_closed_year is not None and day.year <= self._last_closed_year:
            raise ReferenceLedgerError(f"date {day} is in closed year {self._last_closed_year}")
        return day

    def _advance(self, day: date) -> None:
        self._last_date = day
        if self._first_year is None:
            self._first_year = day.year

    def _transaction(self, operation, *args, **kwargs):
        """Run ``operation``; on any error restore the state exactly (contract "Errors")."""
        if not self.atomic:
            return operation(*args, **kwargs)
        snapshot = copy.deepcopy(self._state())
        try:
            return operation(*args, **kwargs)
        except Exception:
            self._restore(snapshot)
            raise

    def _state(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in (
                "_lots",
                "_next_lot_id",
                "_portions",
                "_wash_order",
                "_next_sale_id",
                "_income",
                "_cash",
                "_last_date",
                "_first_year",
                "_last_closed_year",
                "_paid",
                "_due_by_year",
                "_rows_at_last_close",
            )
        }

    def _restore(self, snapshot: dict[str, Any]) -> None:
        for name, value in snapshot.items():
            setattr(self, name, value)

    def _year_income(self, year: int) -> YearIncome:
        return self._income.setdefault(year, YearIncome())

    def _is_taxable(self, account: str) -> bool:
        return self.account_kind[account] == "taxable"

    def _open_lots(self, account: str, asset: str) -> list[Lot]:
        return [lot for lot in self._lots.values() if lot.account == account and lot.asset == asset]

    # ---------------------------------------------------------------- lot creation

    def _new_lot(self, account: str, asset: str, shares: float, basis: float, day: date) -> Lot:
        lot_id = self._next_lot_id
        self._next_lot_id += 1
        lot = Lot(
            lot_id=lot_id,
            account=account,
            asset=asset,
            shares=shares,
            basis=basis,
            acquired=day,
            holding_start=day,
            origin=lot_id,
        )
        self._lots[lot_id] = lot
        return lot

    def _split_off(self, lot: Lot, shares: float) -> Lot:
        """Split ``shares`` off ``lot`` into a new lot (next id), same per-share basis.

        Contract rule 4 "Pieces": same account, asset, acquisition date, purchase origin and
        per-share basis (and per-share wash adjustment and provisional dividends).
        """
        fraction = shares / lot.shares
        piece_basis = lot.basis * fraction
        piece_adjustment = lot.wash_adjustment * fraction
        lot_id = self._next_lot_id
        self._next_lot_id += 1
        piece = Lot(
            lot_id=lot_id,
            account=lot.account,
            asset=lot.asset,
            shares=shares,
            basis=piece_basis,
            acquired=lot.acquired,
            holding_start=lot.holding_start,
            wash_adjustment=piece_adjustment,
            replacement=lot.replacement,
            origin=lot.origin,
            provisional=[copy.copy(entry) for entry in lot.provisional],
            provisional_section_199a=[copy.copy(entry) for entry in lot.provisional_section_199a],
            capital_gain_distributions=list(lot.capital_gain_distributions),
            exempt_interest_dividends=list(lot.exempt_interest_dividends),
        )
        lot.shares -= shares
        lot.basis -= piece_basis
        lot.wash_adjustment -= piece_adjustment
        self._lots[lot_id] = piece
        return piece

    # ---------------------------------------------------------------- wash sales

    def _apply_wash_match(self, portion: SalePortion, lot: Lot, matched_shares: float) -> None:
        """Disallow the loss of ``matched_shares`` sold shares against replacement ``lot``.

        IRC §1091(a), (d); Treas. Reg. §1.1091-1; Pub 550 "Wash Sales": the disallowed loss is
        added to the basis of the replacement shares and their holding period includes that
        of the sold shares (§1223(3)). Rev. Rul. 2008-5: if the replacement is bought in an
        IRA or Roth IRA the loss is disallowed and the IRA basis is not increased, so the loss
        is lost for good (``wash_lost``). The matched shares become their own lot (a "piece")
        unless they are the whole lot, and are marked as a replacement.
        """
        disallowed = matched_shares * portion.loss_per_share
        if matched_shares < lot.shares - SHARE_EPSILON:
            replacement = self._split_off(lot, matched_shares)
        else:
            replacement = lot
        replacement.replacement = True
        portion.wash_disallowed += disallowed
        portion.unmatched_loss_shares -= matched_shares
        if portion.unmatched_loss_shares <= SHARE_EPSILON:
            portion.unmatched_loss_shares = 0.0
        if self._is_taxable(replacement.account):
            replacement.basis += disallowed
            replacement.wash_adjustment += disallowed
            replacement.holding_start = tacked_holding_start(
                replacement.acquired, portion.sold, portion.holding_start
            )
        else:
            portion.wash_lost += disallowed

    def _is_replacement_candidate(self, lot: Lot, portion: SalePortion) -> bool:
        """Whether ``lot`` can replace the loss shares of ``portion`` (contract rule 4).

        IRC §1091(a): substantially identical stock (same identity group) acquired within 30
        days before or after the sale day, in any account of the household (Rev. Rul. 2008-5
        for IRAs); not already a replacement; not from the same purchase as the sold shares.
        """
        sale_day = portion.sold
        return (
            not lot.replacement
            and lot.origin != portion.origin
            and self.identity_group[lot.asset] == self.identity_group[portion.asset]
            and sale_day - timedelta(days=WASH_WINDOW_DAYS)
            <= lot.acquired
            <= sale_day + timedelta(days=WASH_WINDOW_DAYS)
            and lot.shares > SHARE_EPSILON
        )

    def _match_sale(self, portions: list[SalePortion]) -> None:
        """Match a new sale's loss portions against open replacement shares.

        Contract rule 4 "Matching": portions in the order their lots were acquired (acquisition
        date, then lot id: Treas. Reg. §1.1091-1(b), shares of one sale are disposed of together
        and so count as disposed of in the order they were originally acquired), not in the
        order the lot method relieved them; each takes replacement shares in acquisition order
        (acquisition date, then lot id), one share per sold share (§1.1091-1(c)-(d)).
        """
        for portion in portions:
            if portion.unmatched_loss_shares <= 0.0:
                continue
            candidates = sorted(
                (
                    lot
                    for lot in self._lots.values()
                    if self._is_replacement_candidate(lot, portion)
                ),
                key=lambda lot: (lot.acquired, lot.lot_id),
            )
            for lot in candidates:
                if portion.unmatched_loss_shares <= 0.0:
                    break
                matched = min(portion.unmatched_loss_shares, lot.shares)
                self._apply_wash_match(portion, lot, matched)

    def _match_acquisition(self, lot: Lot) -> None:
        """Match a new acquisition retroactively to earlier sales' open loss shares.

        Contract rule 4: a later acquisition within 30 days after a sale is matched to open
        loss shares in sale order (sale id, then the acquisition order of ``_match_sale``),
        adjusting the earlier sale (IRC §1091(a) counts purchases up to 30 days *after* the
        sale).
        """
        for portion in self._wash_order:
            if lot.replacement or lot.shares <= SHARE_EPSILON:
                break
            if portion.unmatched_loss_shares <= 0.0:
                continue
            if not self._is_replacement_candidate(lot, portion):
                continue
            matched = min(portion.unmatched_loss_shares, lot.shares)
            self._apply_wash_match(portion, lot, matched)

    # ---------------------------------------------------------------- relief orders

    def _rate_change(self, year: int) -> tuple[date, float] | None:
        """(day the year's long-term rate starts, the rate before it), or None: a change of
        the long-term rate within ``year`` (JGTRRA 2003 §301(c))."""
        lookup = getattr(self.tax_profile, "rate_change", None)
        change = lookup(year) if lookup is not None else None
        if change is None:
            return None
        return pd.Timestamp(change[0]).date(), float(change[1])

    def _after_rate_change(self, day: date) -> bool:
        """Whether an item of ``day`` is "taken into account" on or after its year's change
        of the long-term rate (False in a year without one)."""
        change = self._rate_change(day.year)
        return change is not None and day >= change[0]

    def _tax_rate(self, day: date, term: str, asset: str | None = None) -> float:
        """Marginal rate on a gain of ``term`` realized on ``day`` (contract rule 2,
        tax_optimal): the long-term rate before the year's change for a day before it; a
        collectible's long-term gain at the 28% maximum rate (IRC §1(h)(1)(F), (h)(4)), or
        the ordinary rate if lower."""
        rates = self.tax_profile.rates(day.year)
        base = float(_field(rates, "niit")) + float(_field(rates, "state"))
        if term == "short":
            return float(_field(rates, "ordinary")) + base
        if asset in self.collectibles:
            return min(float(_field(rates, "ordinary")),
                       float(_field(rates, "collectibles", 0.28))) + base
        change = self._rate_change(day.year)
        if change is not None and day < change[0]:
            return change[1] + base
        return float(_field(rates, "long_term")) + base

    def _relief_order(self, lots: list[Lot], method: str, price: float, day: date) -> list[Lot]:
        """Order in which ``lots`` are relieved (Treas. Reg. §1.1012-1(c); contract rule 2)."""

        def fifo_key(lot: Lot) -> tuple[date, int]:
            return (lot.acquired, lot.lot_id)

        if method in ("fifo", "average"):
            return sorted(lots, key=fifo_key)
        if method == "lifo":
            return sorted(lots, key=fifo_key, reverse=True)
        # Contract rule 2: keys rounded to 1e-9 dollars per share (1e-12 tax per dollar) so
        # float noise never decides between lots; exact ties go FIFO.
        if method == "hifo":
            return sorted(lots, key=lambda lot: (-round(lot.basis_per_share, 9), *fifo_key(lot)))

        def tax_per_dollar(lot: Lot, gain_per_share: float) -> float:
            rate = self._tax_rate(day, term_of(lot.holding_start, day), lot.asset)
            return round(gain_per_share * rate / price, 12)

        if method == "tax_optimal":

            def optimal_key(lot: Lot) -> tuple:
                gain_per_share = round(price - lot.basis_per_share, 9)
                if gain_per_share < 0.0:
                    group = 0 if term_of(lot.holding_start, day) == "short" else 1
                    return (group, gain_per_share, *fifo_key(lot))
                return (2, tax_per_dollar(lot, gain_per_share), *fifo_key(lot))

            return sorted(lots, key=optimal_key)
        if method == "gains_first":
            # every lot at a gain (or none) before any at a loss; gains by their tax per dollar
            # sold, as tax_optimal weighs them; losses from the smallest per share

            def gains_first_key(lot: Lot) -> tuple:
                gain_per_share = round(price - lot.basis_per_share, 9)
                if gain_per_share < 0.0:
                    return (1, -gain_per_share, *fifo_key(lot))
                return (0, tax_per_dollar(lot, gain_per_share), *fifo_key(lot))

            return sorted(lots, key=gains_first_key)
        raise ReferenceLedgerError(f"unknown sell method {method!r}")

    def _pool_average(self, lots: list[Lot]) -> None:
        """Average basis (Treas. Reg. §1.1012-1(e)): pool basis and wash adjustment per share."""
        total_shares = sum(lot.shares for lot in lots)
        total_basis = sum(lot.basis for lot in lots)
        total_adjustment = sum(lot.wash_adjustment for lot in lots)
        for lot in lots:
            lot.basis = lot.shares * total_basis / total_shares
            lot.wash_adjustment = lot.shares * total_adjustment / total_shares

    # ---------------------------------------------------------------- public API

    def buy(self, account: str, asset: str, shares: float, price: float, date: Any) -> int:
        """Buy ``shares`` at ``price`` dollars per share; returns the new lot id.

        Basis is the cost (IRC §1012). The purchase may be a wash-sale replacement for
        earlier sales within 30 days (IRC §1091(a)), matched retroactively.
        """
        return self._transaction(self._buy, account, asset, shares, price, date)

    def _buy(self, account, asset, shares, price, date_value) -> int:
        self._check_account(account)
        self._check_asset(asset)
        shares = self._check_positive("shares", shares)
        price = self._check_positive("price", price)
        day = self._check_date(date_value)
        self._advance(day)
        cost = shares * price
        lot = self._new_lot(account, asset, shares, cost, day)
        if self.cash_includes_trades:
            self._cash[account] -= cost
        self._match_acquisition(lot)
        return lot.lot_id

    def sell(
        self,
        account: str,
        asset: str,
        shares: float | None = None,
        price: float | None = None,
        date: Any = None,
        method: str = "fifo",
        lots: dict[int, float] | None = None,
    ) -> pd.DataFrame:
        """Sell shares at ``price`` dollars per share; returns the sale's realized rows.

        Lots are relieved in the order of ``method`` (Treas. Reg. §1.1012-1(c), (e)); a loss
        in a taxable account is matched against replacement shares (IRC §1091).
        """
        return self._transaction(self._sell, account, asset, shares, price, date, method, lots)

    def _sell(self, account, asset, shares, price, date_value, method, lots):
        self._check_account(account)
        self._check_asset(asset)
        price = self._check_positive("price", price)
        day = self._check_date(date_value)
        if method not in SELL_METHODS:
            raise ReferenceLedgerError(f"unknown sell method {method!r}")
        open_lots = self._open_lots(account, asset)
        if method == "specific":
            if not lots:
                raise ReferenceLedgerError("method 'specific' needs lots={lot_id: shares}")
            plan: list[tuple[Lot, float]] = []
            for lot_id, lot_shares in lots.items():
                lot = self._lots.get(int(lot_id))
                if lot is None or lot.account != account or lot.asset != asset:
                    raise ReferenceLedgerError(
                        f"lot {lot_id} is not an open lot of {asset} in {account}"
                    )
                lot_shares = self._check_positive(f"shares of lot {lot_id}", lot_shares)
                if lot_shares > lot.shares + SHARE_EPSILON:
                    raise ReferenceLedgerError(
                        f"lot {lot_id} holds {lot.shares} shares, cannot sell {lot_shares}"
                    )
                if lot.shares - lot_shares <= SHARE_EPSILON:
                    lot_shares = lot.shares
                plan.append((lot, lot_shares))
            if len({lot.lot_id for lot, _ in plan}) != len(plan):
                raise ReferenceLedgerError("a lot id is given twice")
            total = sum(lot_shares for _, lot_shares in plan)
            if shares is not None:
                shares = self._check_positive("shares", shares)
                if abs(shares - total) > SHARE_EPSILON * max(1.0, shares):
                    raise ReferenceLedgerError(
                        f"shares {shares} differ from the lots' total {total}"
                    )
        else:
            if lots:
                raise ReferenceLedgerError("lots= is only for method 'specific'")
            shares = self._check_positive("shares", shares)
            held = sum(lot.shares for lot in open_lots)
            if shares > held + SHARE_EPSILON:
                raise ReferenceLedgerError(
                    f"cannot sell {shares} shares of {asset} in {account} on {day}: {held} held"
                )
            if method == "average":
                self._pool_average(open_lots)
            plan = []
            remaining = shares
            for lot in self._relief_order(open_lots, method, price, day):
                if remaining <= SHARE_EPSILON:
                    break
                taken = min(remaining, lot.shares)
                if lot.shares - taken <= SHARE_EPSILON:
                    taken = lot.shares
                plan.append((lot, taken))
                remaining -= taken

        self._advance(day)
        sale_id = self._next_sale_id
        self._next_sale_id += 1
        taxable = self._is_taxable(account)
        new_portions = []
        for lot, taken in plan:
            new_portions.append(self._relieve(lot, taken, price, day, sale_id, taxable))
        self._portions.extend(new_portions)
        wash_order = sorted(new_portions, key=lambda portion: (portion.acquired, portion.lot_id))
        self._wash_order.extend(wash_order)
        if self.cash_includes_trades:
            self._cash[account] += sum(portion.proceeds for portion in new_portions)
        self._match_sale(wash_order)
        return self._realized_frame(new_portions)

    def _relieve(
        self, lot: Lot, shares: float, price: float, day: date, sale_id: int, taxable: bool
    ) -> SalePortion:
        """Remove ``shares`` from ``lot`` at ``price``; returns the sale portion.

        Basis is relieved pro rata (Treas. Reg. §1.1012-1(c)). A qualified dividend received
        on these shares while they were younger than 61 days becomes ordinary when they are
        sold before day 61 (IRC §1(h)(11)(B)(iii), §246(c)(1); contract rule 5). A section 199A
        dividend received while they were younger than 46 days stops being a qualified REIT
        dividend when they are sold before day 46 (Treas. Reg. §1.199A-3(c)(2)(ii),
        (d)(4)(ii): held 45 days or less); it stays a non-qualified dividend of its year.
        """
        if shares >= lot.shares:
            shares = lot.shares
            basis = lot.basis
            del self._lots[lot.lot_id]
        else:
            fraction = shares / lot.shares
            basis = lot.basis * fraction
            adjustment = lot.wash_adjustment * fraction
            lot.shares -= shares
            lot.basis -= basis
            lot.wash_adjustment -= adjustment
        proceeds = shares * price
        if taxable and (day - lot.acquired).days < QUALIFIED_HOLDING_DAYS:
            for entry in lot.provisional:
                moved = shares * entry.qualified_per_share
                income = self._year_income(entry.year)
                income.qualified_dividends -= moved
                income.nonqualified_dividends += moved
        # §246(c)(3) counts from the lot's own acquisition day: a wash-sale replacement's
        # tacked holding period does not help
        if taxable and (day - lot.acquired).days < SECTION_199A_HOLDING_DAYS:
            for entry in lot.provisional_section_199a:
                failed = shares * entry.per_share
                income = self._year_income(entry.year)
                income.section_199a_dividends -= failed
                income.section_199a_failed += failed
        portion = SalePortion(
            sale_id=sale_id,
            lot_id=lot.lot_id,
            account=lot.account,
            asset=lot.asset,
            taxable=taxable,
            shares=shares,
            acquired=lot.acquired,
            holding_start=lot.holding_start,
            sold=day,
            proceeds=proceeds,
            basis=basis,
            origin=lot.origin,
        )
        # §852(b)(4)(C) counts six months as §246(c)(3) does: from the lot's own acquisition
        # (no wash-sale tacking)
        six_months_or_less = day < first_day_held_more_than(lot.acquired, 6)
        if taxable and proceeds < basis and six_months_or_less:
            # §852(b)(4)(B), Pub 550: "You can deduct only the amount of loss that is more than
            # the exempt-interest dividends"; only the rest can be a wash sale's loss
            portion.exempt_interest_disallowed = min(
                basis - proceeds, shares * sum(lot.exempt_interest_dividends))
        loss = basis - proceeds - portion.exempt_interest_disallowed
        if taxable and loss > LOSS_EPSILON * max(1.0, basis):
            portion.loss_per_share = loss / shares
            portion.unmatched_loss_shares = shares
        # §852(b)(4)(A): a long-term loss needs no help
        if taxable and proceeds < basis and portion.term == "short" and six_months_or_less:
            portion.six_month_distributions_per_share = sum(lot.capital_gain_distributions)
        return portion

    def distribute(
        self,
        asset: str,
        date: Any,
        price: float,
        dividend: float = 0.0,
        qualified_fraction: float = 1.0,
        interest: float = 0.0,
        exempt_interest: float = 0.0,
        st_capital_gain: float = 0.0,
        lt_capital_gain: float = 0.0,
        return_of_capital: float = 0.0,
        exempt_interest_daily: bool = False,
        section_199a_fraction: float = 0.0,
        collectibles_fraction: float = 0.0,
        unrecaptured_1250_fraction: float = 0.0,
    ) -> None:
        """A distribution of dollars per share to every lot of ``asset`` open now.

        Pub 550 "Dividends and Other Distributions", Form 1099-DIV. See :meth:`_distribute`.
        ``section_199a_fraction`` is the fraction (0..1) of ``dividend`` that is a qualified
        REIT dividend or a fund's section 199A dividend (Form 1099-DIV box 5) before the
        shareholder's holding test; ``qualified_fraction + section_199a_fraction`` must not
        exceed 1 (§199A(e)(3) excludes qualified dividend income).
        """
        self._transaction(
            self._distribute,
            asset,
            date,
            price,
            dividend,
            qualified_fraction,
            interest,
            exempt_interest,
            st_capital_gain,
            lt_capital_gain,
            return_of_capital,
            exempt_interest_daily,
            section_199a_fraction,
            collectibles_fraction,
            unrecaptured_1250_fraction,
        )

    def _distribute(
        self,
        asset,
        date_value,
        price,
        dividend,
        qualified_fraction,
        interest,
        exempt_interest,
        st_capital_gain,
        lt_capital_gain,
        return_of_capital,
        exempt_interest_daily=False,
        section_199a_fraction=0.0,
        collectibles_fraction=0.0,
        unrecaptured_1250_fraction=0.0,
    ) -> None:
        """Apply a distribution.

        - Taxed only in taxable accounts, in the year of the ex-date (contract rule 5).
        - Dividends: ``qualified_fraction`` qualified (IRC §1(h)(11)), the rest ordinary. A lot
          younger than 61 days at the ex-date gets the qualified part provisionally; it is
          moved to ordinary if those shares are sold before day 61 (§246(c), see
          :meth:`_relieve`).
        - Section 199A dividends (IRC §199A(b)(1)(B), (e)(3); Treas. Reg. §1.199A-3(c)(2),
          (d)): ``section_199a_fraction`` of the dividend, a part of the non-qualified
          dividends, counted in ``section_199a_dividends`` of the ex-date's year. A lot younger
          than 46 days at the ex-date gets it provisionally: shares held 45 days or less in the
          91-day period beginning 45 days before the ex-date fail (Treas. Reg.
          §1.199A-3(c)(2)(ii), (d)(4)(ii), counted under §246(c)(3)); for shares bought before
          the ex-date that is a sale with ``sale day - acquisition day < 46`` (see
          :meth:`_relieve`). Shares never sold pass.
        - Interest: ordinary; exempt interest: untaxed, reported. Each lot remembers its
          exempt-interest dividends for §852(b)(4)(B) (see :meth:`_relieve`), unless the fund
          declares them daily and pays them at least monthly (``exempt_interest_daily``,
          §852(b)(4)(E)(ii)).
        - Short-term capital-gain distributions: ordinary dividends; long-term ones: long-term
          capital gains on Schedule D (Pub 550 "Capital Gain Distributions").
          ``collectibles_fraction`` of them is 28% rate gain (Form 1099-DIV box 2d) and
          ``unrecaptured_1250_fraction`` unrecaptured section 1250 gain (box 2b), both still
          long-term capital gain distributions (Schedule D instructions, line 13).
        - Return of capital reduces each lot's basis; the excess over basis is a capital gain
          of that lot's term (Pub 550 "Nondividend Distributions").
        - Each account reinvests the whole cash distribution in a new lot at ``price`` (one per
          account, in account order) or keeps it as cash.
        - Lots bought on the ex-date (``date``) get nothing: Pub 550, "Ex-dividend date", the
          first date "on which the buyer of a stock isn't entitled to receive the next
          dividend payment".
        """
        self._check_asset(asset)
        price = self._check_positive("price", price)
        amounts = {
            "dividend": dividend,
            "interest": interest,
            "exempt_interest": exempt_interest,
            "st_capital_gain": st_capital_gain,
            "lt_capital_gain": lt_capital_gain,
            "return_of_capital": return_of_capital,
        }
        per_share = {name: self._check_nonnegative(name, value) for name, value in amounts.items()}
        fraction = self._check_nonnegative("qualified_fraction", qualified_fraction)
        if fraction > 1.0:
            raise ReferenceLedgerError(f"qualified_fraction {fraction} is above 1")
        section_199a = self._check_nonnegative("section_199a_fraction", section_199a_fraction)
        if section_199a > 1.0:
            raise ReferenceLedgerError(f"section_199a_fraction {section_199a} is above 1")
        if fraction + section_199a > 1.0 + FRACTION_SUM_SLACK:
            raise ReferenceLedgerError(
                f"qualified_fraction {fraction} + section_199a_fraction {section_199a} is above 1"
            )
        parts = {}
        for name, value in (("collectibles_fraction", collectibles_fraction),
                            ("unrecaptured_1250_fraction", unrecaptured_1250_fraction)):
            parts[name] = self._check_nonnegative(name, value)
            if parts[name] > 1.0:
                raise ReferenceLedgerError(f"{name} {parts[name]} is above 1")
        if sum(parts.values()) > 1.0 + FRACTION_SUM_SLACK:
            raise ReferenceLedgerError("box 2d and box 2b parts are above the whole box 2a")
        day = self._check_date(date_value)
        self._advance(day)
        cash_per_share = sum(per_share.values())
        qualified_per_share = per_share["dividend"] * fraction
        section_199a_per_share = per_share["dividend"] * section_199a
        income = self._year_income(day.year)
        held_by_account: dict[str, float] = {}
        for account in self.account_names:
            # Pub 550 "Ex-dividend date": a buyer on the ex-date is not entitled to the payment
            # by date acquired: the order of the Form 8949 lines of a return of capital
            # beyond basis (the order of the rest does not matter)
            account_lots = sorted(
                (lot for lot in self._open_lots(account, asset) if lot.acquired < day),
                key=lambda lot: (lot.acquired, lot.lot_id),
            )
            if not account_lots:
                continue
            taxable = self._is_taxable(account)
            held_by_account[account] = sum(lot.shares for lot in account_lots)
            for lot in account_lots:
                if taxable:
                    lot_qualified = qualified_per_share
                    dividend_amount = lot.shares * per_share["dividend"]
                    qualified_amount = lot.shares * lot_qualified
                    income.qualified_dividends += qualified_amount
                    income.nonqualified_dividends += dividend_amount - qualified_amount
                    income.interest += lot.shares * per_share["interest"]
                    income.exempt_interest += lot.shares * per_share["exempt_interest"]
                    income.st_capital_gain_distributions += (
                        lot.shares * per_share["st_capital_gain"]
                    )
                    income.lt_capital_gain_distributions += (
                        lot.shares * per_share["lt_capital_gain"]
                    )
                    box_2d = lot.shares * per_share["lt_capital_gain"] * parts[
                        "collectibles_fraction"]
                    box_2b = lot.shares * per_share["lt_capital_gain"] * parts[
                        "unrecaptured_1250_fraction"]
                    income.collectibles_distributions += box_2d
                    income.unrecaptured_1250_distributions += box_2b
                    if self._after_rate_change(day):
                        # only the rate of the rest changed in 2003
                        income.lt_capital_gain_distributions_after_rate_change += (
                            lot.shares * per_share["lt_capital_gain"] - box_2d - box_2b)
                    young = (day - lot.acquired).days < QUALIFIED_HOLDING_DAYS
                    if young and lot_qualified > 0.0:
                        lot.provisional.append(ProvisionalDividend(day.year, lot_qualified))
                    income.section_199a_dividends += lot.shares * section_199a_per_share
                    young = (day - lot.acquired).days < SECTION_199A_HOLDING_DAYS
                    if young and section_199a_per_share > 0.0:
                        lot.provisional_section_199a.append(
                            ProvisionalSection199A(day.year, section_199a_per_share))
                    if per_share["lt_capital_gain"] > 0.0:
                        lot.capital_gain_distributions.append(per_share["lt_capital_gain"])
                    if per_share["exempt_interest"] > 0.0 and not exempt_interest_daily:
                        lot.exempt_interest_dividends.append(per_share["exempt_interest"])
                return_amount = lot.shares * per_share["return_of_capital"]
                if taxable:
                    income.return_of_capital += return_amount
                self._return_capital(lot, return_amount, day)
        for account, held in held_by_account.items():
            cash_amount = held * cash_per_share
            if cash_amount <= 0.0:
                continue
            if self.account_reinvests[account]:
                lot = self._new_lot(account, asset, cash_amount / price, cash_amount, day)
                self._match_acquisition(lot)
            else:
                self._cash[account] += cash_amount

    def _return_capital(self, lot: Lot, amount: float, day: date) -> None:
        """Reduce ``lot``'s basis by ``amount`` dollars; any excess is a capital gain.

        Pub 550 "Nondividend Distributions": a return of capital reduces basis; once basis is
        zero the excess is a capital gain, long- or short-term by the shares' holding period.
        """
        if amount <= 0.0:
            return
        if amount <= lot.basis:
            lot.basis -= amount
            return
        excess = amount - lot.basis
        lot.basis = 0.0
        if self._is_taxable(lot.account):
            # Pub 550: "reduce your basis in each share to zero and report $1 of gain. See the
            # Instructions for Form 8949": a Form 8949 line of the excess, no basis, the lot's
            # dates; no shares leave the lot. Taxed as every line is (_tax_rows).
            self._portions.append(SalePortion(
                sale_id=0, lot_id=lot.lot_id, account=lot.account, asset=lot.asset,
                taxable=True, shares=0.0, acquired=lot.acquired,
                holding_start=lot.holding_start, sold=day, proceeds=excess, basis=0.0,
                origin=lot.origin))

    def split(self, asset: str, date: Any, ratio: float) -> None:
        """Split every lot of ``asset``: shares times ``ratio``, basis per share divided.

        IRC §305(a) (no income) and §307 (basis allocated over old and new shares). Open
        wash-sale windows of sales of ``asset`` (unmatched loss shares, loss per share) and
        provisional dividend per-share amounts (qualified and section 199A) scale too (contract
        rule 3).
        """
        self._transaction(self._split, asset, date, ratio)

    def _split(self, asset, date_value, ratio) -> None:
        self._check_asset(asset)
        ratio = self._check_positive("ratio", ratio)
        day = self._check_date(date_value)
        self._advance(day)
        for lot in self._lots.values():
            if lot.asset != asset:
                continue
            lot.shares *= ratio
            for entry in lot.provisional:
                entry.qualified_per_share /= ratio
            for entry in lot.provisional_section_199a:
                entry.per_share /= ratio
            lot.capital_gain_distributions = [
                amount / ratio for amount in lot.capital_gain_distributions
            ]
            lot.exempt_interest_dividends = [
                amount / ratio for amount in lot.exempt_interest_dividends
            ]
        for portion in self._portions:
            if portion.asset == asset and portion.unmatched_loss_shares > 0.0:
                portion.unmatched_loss_shares *= ratio
                portion.loss_per_share /= ratio

    def close_year(self, year: int) -> float:
        """Close ``year``; returns the tax due (dollars; negative is a refund or credit).

        Contract rule 6: due is all tax computed to date (every year up to ``year``, with
        retroactive wash-sale and qualified-dividend changes to earlier years) minus all tax
        paid at earlier closes.
        """
        return self._transaction(self._close_year, year)

    def _close_year(self, year) -> float:
        if isinstance(year, bool) or int(year) != year:
            raise ReferenceLedgerError(f"year must be an integer, got {year!r}")
        year = int(year)
        if self._last_closed_year is not None and year <= self._last_closed_year:
            raise ReferenceLedgerError(f"year {year} is already closed")
        if self._first_year is None or self._first_year > year:
            self._first_year = year
        self._last_closed_year = year
        rows = self._tax_rows(year)
        computed = sum(row["total_tax"] for row in rows)
        due = computed - self._paid
        self._paid += due
        self._due_by_year[year] = due
        self._rows_at_last_close = rows
        return due

    def _tax_rows(self, last_year: int) -> list[dict[str, float]]:
        """Annual-tax rows from the first year through ``last_year`` (carryforwards chained)."""
        gains: dict[tuple[int, str], float] = {}
        gains_after_change: dict[tuple[int, str], float] = {}
        sale_totals: dict[tuple[int, str], float] = {}
        collectibles_by_year: dict[int, float] = {}
        for portion in self._portions:
            if portion.taxable:
                key = (portion.sold.year, portion.term)
                long_term_loss = portion.long_term_loss
                gains[key] = gains.get(key, 0.0) + portion.gain - long_term_loss
                long_key = (portion.sold.year, "long")
                gains[long_key] = gains.get(long_key, 0.0) + long_term_loss
                # a collectible held more than one year (IRC §1(h)(5)): its whole gain or loss
                collectible = portion.term == "long" and portion.asset in self.collectibles
                if collectible:
                    collectibles_by_year[portion.sold.year] = (
                        collectibles_by_year.get(portion.sold.year, 0.0) + portion.gain)
                if self._after_rate_change(portion.sold) and not collectible:
                    gains_after_change[key] = (gains_after_change.get(key, 0.0)
                                               + portion.gain - long_term_loss)
                    gains_after_change[long_key] = (gains_after_change.get(long_key, 0.0)
                                                    + long_term_loss)
                for name in ("proceeds", "wash_disallowed", "wash_lost"):
                    total_key = (portion.sold.year, name)
                    sale_totals[total_key] = sale_totals.get(total_key, 0.0) + getattr(
                        portion, name
                    )
        rows = []
        carryforward_st, carryforward_lt = self.carryforward_in
        first_year = self._first_year if self._first_year is not None else last_year
        for year in range(first_year, last_year + 1):
            income = self._income.get(year, YearIncome())
            rate_change = self._rate_change(year)
            row = annual_tax_row(
                year=year,
                short_term_gain=gains.get((year, "short"), 0.0),
                long_term_gain=gains.get((year, "long"), 0.0),
                income=income,
                rates=self.tax_profile.rates(year),
                loss_convention=self.loss_convention,
                carryforward_st_in=carryforward_st,
                carryforward_lt_in=carryforward_lt,
                loss_limit=self.loss_limit,
                state_on_nonnegative_base=self.state_on_nonnegative_base,
                st_gain_after_rate_change=gains_after_change.get((year, "short"), 0.0),
                lt_gain_after_rate_change=gains_after_change.get((year, "long"), 0.0),
                long_term_rate_before_change=None if rate_change is None else rate_change[1],
                collectibles_gain=(collectibles_by_year.get(year, 0.0)
                                   + income.collectibles_distributions),
                unrecaptured_1250_gain=income.unrecaptured_1250_distributions,
            )
            carryforward_st = row["carryforward_st_out"]
            carryforward_lt = row["carryforward_lt_out"]
            for name in ("proceeds", "wash_disallowed", "wash_lost"):
                row[name] = sale_totals.get((year, name), 0.0)
            rows.append(row)
        return rows

    # ---------------------------------------------------------------- outputs

    def lots(self) -> pd.DataFrame:
        """Open lots, one row per lot, by lot id (contract "Outputs")."""
        columns = [
            "lot_id",
            "account",
            "asset",
            "shares",
            "basis",
            "basis_per_share",
            "acquired",
            "holding_start",
            "wash_adjustment",
            "replacement",
        ]
        rows = [
            {
                "lot_id": lot.lot_id,
                "account": lot.account,
                "asset": lot.asset,
                "shares": lot.shares,
                "basis": lot.basis,
                "basis_per_share": lot.basis_per_share,
                "acquired": lot.acquired,
                "holding_start": lot.holding_start,
                "wash_adjustment": lot.wash_adjustment,
                "replacement": lot.replacement,
            }
            for lot in sorted(self._lots.values(), key=lambda lot: lot.lot_id)
        ]
        return pd.DataFrame(rows, columns=columns)

    @staticmethod
    def _realized_frame(portions: list[SalePortion]) -> pd.DataFrame:
        columns = [
            "sale_id",
            "lot_id",
            "account",
            "asset",
            "taxable",
            "shares",
            "acquired",
            "holding_start",
            "sold",
            "proceeds",
            "basis",
            "wash_disallowed",
            "wash_lost",
            "exempt_interest_disallowed",
            "gain",
            "term",
            "long_term_loss",
        ]
        rows = [
            {
                "sale_id": portion.sale_id,
                "lot_id": portion.lot_id,
                "account": portion.account,
                "asset": portion.asset,
                "taxable": portion.taxable,
                "shares": portion.shares,
                "acquired": portion.acquired,
                "holding_start": portion.holding_start,
                "sold": portion.sold,
                "proceeds": portion.proceeds,
                "basis": portion.basis,
                "wash_disallowed": portion.wash_disallowed,
                "wash_lost": portion.wash_lost,
                "exempt_interest_disallowed": portion.exempt_interest_disallowed,
                "gain": portion.gain,
                "term": portion.term,
                "long_term_loss": portion.long_term_loss,
            }
            for portion in portions
        ]
        return pd.DataFrame(rows, columns=columns)

    def realized(self) -> pd.DataFrame:
        """One row per (sale, lot) portion, with wash-sale adjustments to date."""
        return self._realized_frame(self._portions)

    def annual_tax(self) -> pd.DataFrame:
        """One row per year through the last closed one.

        The income and sale columns (:data:`LIVE_ANNUAL_COLUMNS`) include everything known
        now; the Schedule D results and the taxes are as computed at the last close, so a
        retroactive adjustment made since then shows in them at the next close (as the
        facade documents). ``due`` is what was payable at that year's close (contract rule 6).
        """
        if self._last_closed_year is None:
            return pd.DataFrame(columns=["year", "total_tax", "due"])
        live = {row["year"]: row for row in self._tax_rows(self._last_closed_year)}
        rows = [dict(row) for row in self._rows_at_last_close]
        for row in rows:
            for name in LIVE_ANNUAL_COLUMNS:
                row[name] = live[row["year"]][name]
            row["due"] = self._due_by_year.get(row["year"], 0.0)
        return pd.DataFrame(rows)

    def cash(self, account: str) -> float:
        """Cash of ``account``, dollars: distributions kept in cash (and trades, if counted)."""
        self._check_account(account)
        return self._cash[account]

    # ---------------------------------------------------------------- extra views for tests

    def unmatched_loss_shares(self) -> float:
        """Loss shares of taxable sales not (yet) matched to a replacement, shares."""
        return sum(portion.unmatched_loss_shares for portion in self._portions)

    def section_199a_failed(self) -> float:
        """Section 199A dividends taken out by the 46-day holding test so far, dollars."""
        return sum(income.section_199a_failed for income in self._income.values())
