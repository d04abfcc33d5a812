"""SEC Form N-1A standardized after-tax returns, computed exactly from a fund's prices and
distributions (no simulation).

:func:`sec_after_tax_returns` replays one fund's share price and distributions for each
standard period and returns the three figures a prospectus shows (Form N-1A, Item 26(b)(1)-(3)):

- **Return before taxes** ``T``: ``P (1 + T)^n = ERV``, every distribution reinvested in full;
- **Return after taxes on distributions** ``T_D``: ``P (1 + T_D)^n = ATV_D``, every
  distribution taxed on its reinvestment date and reinvested net of that tax; the final
  redemption is assumed to have no tax consequences;
- **Return after taxes on distributions and redemption** ``T_DR``: ``P (1 + T_DR)^n = ATV_DR``,
  as ``T_D`` but the period ends in a complete redemption whose capital gains tax is paid
  (or whose capital loss gives a tax benefit).

``P`` is a hypothetical initial payment of $1,000 and ``n`` the number of years. Every rule
below is the form's or the tax law's, and says where it comes from. Sources (the form of 2001
numbered this item 21(b), and the staff FAQ quotes its instructions under that number; the
instruction numbers cited here are the FAQ's):

- [N-1A] SEC Form N-1A, Item 26(b)(1) "Average Annual Total Return Quotation", (b)(2)
  "Average Annual Total Return (After Taxes on Distributions) Quotation", (b)(3) "Average
  Annual Total Return (After Taxes on Distributions and Redemption) Quotation", and their
  Instructions; adopted in *Disclosure of Mutual Fund After-Tax Returns*, Release 33-7941
  (2001), https://www.sec.gov/rules/final/33-7941.htm. Text of Item 26(b)(1):
  https://www.formsbank.com/template/109609/form-n-1a-united-states-securities-and-exchange-commission.html?page=42
- [FAQ] SEC Division of Investment Management, *Frequently Asked Questions About Mutual Fund
  After-Tax Return Requirements*, https://www.sec.gov/divisions/investment/guidance/mutualq-a.htm
  ("the federal tax law netting rules should first be applied to losses and gains from the
  sale of fund shares. A fund should only assume that a shareholder has sufficient gains of
  the same character from other investments to offset any capital losses from the redemption
  after the fund has netted all gains and losses from the sale of fund shares").
- [NIIT] SEC staff guidance (2013) that the 3.8% tax on net investment income (IRC §1411)
  is part of the highest individual marginal federal rate, for distributions, redemption
  gains and the benefit of capital losses alike (summarized at
  https://www.lexology.com/library/detail.aspx?g=69e672e1-2c94-4f84-b9ff-c71e06d89182).
- [IRC] Internal Revenue Code §1(h) (capital gain and qualified dividend rates), §1222
  (short- and long-term; netting), §301(c)(2)-(3) (return of capital reduces basis, the
  excess is gain), §852(b)(4)(A) (loss on RIC shares held 6 months or less is long-term to the
  extent of capital gain dividends received on them), §852(b)(4)(B) (and disallowed to the
  extent of exempt-interest dividends received on them; not for a fund declaring them daily,
  §852(b)(4)(E)(ii)), §852(b)(5) (exempt-interest dividends); IRS Pub 550 "Holding Period",
  "Mutual Fund Distributions" and "Loss on mutual fund or REIT stock held 6 months or less".
- [N-1A Instr. 4] of Item 26(b)(2)-(3): distributions are taxed as they would be for an
  individual, so no tax is due on the part that would not be taxed, such as tax-exempt
  interest; state and local taxes and the federal alternative minimum tax are disregarded.

Units: prices and distribution amounts are dollars per share, values and taxes dollars,
returns and rates fractions (0.01 = 1%), ``n`` years.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from taxsim.dates import (
    held_more_than_months_from,
    is_long_term,
    to_day,
    to_timestamp,
)
from taxsim.ledger.household import TaxProfile, TaxRates
from taxsim.metrics._inputs import MetricsError

INITIAL_PAYMENT = 1000.0
"""``P``, the hypothetical initial payment in dollars (Form N-1A Item 26(b)(1)-(3))."""

SINCE_INCEPTION = "since_inception"
STANDARD_YEARS = (1, 5, 10)
"""The form's periods in years (Item 26(b)(1): "the 1-, 5-, and 10-year periods")."""

QUALIFIED_DIVIDEND = "qualified_dividend"
NONQUALIFIED_DIVIDEND = "nonqualified_dividend"
ST_CAPITAL_GAIN = "st_capital_gain"
LT_CAPITAL_GAIN = "lt_capital_gain"
RETURN_OF_CAPITAL = "return_of_capital"
EXEMPT_INTEREST_DIVIDEND = "exempt_interest_dividend"
COLLECTIBLES_GAIN = "collectibles_gain"
UNRECAPTURED_1250_GAIN = "unrecaptured_1250_gain"
KINDS = (QUALIFIED_DIVIDEND, NONQUALIFIED_DIVIDEND, ST_CAPITAL_GAIN, LT_CAPITAL_GAIN,
         RETURN_OF_CAPITAL, EXEMPT_INTEREST_DIVIDEND, COLLECTIBLES_GAIN, UNRECAPTURED_1250_GAIN)
"""Distribution kinds (tax characters, Form 1099-DIV boxes 1b, 1a less 1b, 1a (short-term
gain distributions are ordinary dividends), 2a, 3 and 12 (exempt-interest dividends, IRC
§852(b)(5))); ``collectibles_gain`` and ``unrecaptured_1250_gain`` are the parts of a capital
gain distribution in net capital gain's 28% and 25% groups (boxes 2d and 2b, IRC
§1(h)(4)-(6)), given as their own rows: the ``lt_capital_gain`` row then holds the rest of box
2a."""

SECTION_852_MONTHS = 6
"""IRC §852(b)(4)(A): shares "held by the taxpayer for 6 months or less"."""

_CAPITAL_GAIN_DIVIDENDS = (LT_CAPITAL_GAIN, COLLECTIBLES_GAIN, UNRECAPTURED_1250_GAIN)
"""The kinds that are capital gain dividends, every part of box 2a (§852(b)(4)(A) counts
them all)."""

RULES = (
    "P(1+T)^n = ERV, P(1+T_D)^n = ATV_D, P(1+T_DR)^n = ATV_DR with P = $1,000 and n the "
    "number of years (Form N-1A Item 26(b)(1)-(3))",
    "periods of 1, 5 and 10 years ended on the end date, or since inception, each starting "
    "with a fresh $1,000 purchase at the price in effect on its first day (Item 26(b)(1))",
    "n of a period that is not whole years: the whole years counted back from the end date "
    "plus the remaining days over the length of the year they fall in (this project's "
    "convention; Item 26(b)(1) says 'number of years' and '(or fractional portion)')",
    "before taxes: every distribution reinvested in full on its reinvestment date (Item "
    "26(b)(1))",
    "after taxes: every distribution, less the taxes due on it, reinvested at the price on "
    "the reinvestment date (Item 26(b)(2)-(3), Instr. 2)",
    "each component taxed at its character as specified (Instr. 3): qualified dividends at "
    "the qualified-dividend rate, non-qualified dividends and short-term capital gain "
    "distributions at the ordinary rate, long-term capital gain distributions at the "
    "long-term rate (IRC §1(h)), their collectibles part (Form 1099-DIV box 2d) at the 28% "
    "rate and their unrecaptured section 1250 part (box 2b) at the 25% rate, each at most the "
    "ordinary rate (IRC §1(h)(1)(E)-(F), (h)(4)-(6)); return of capital untaxed, reducing "
    "basis, the excess over a lot's basis a capital gain (Instr. 3; IRC §301(c)(2)-(3))",
    "rates: the highest individual marginal federal rates in effect on the reinvestment or "
    "redemption date (Instr. 4, Instr. 7(d)), NIIT (IRC §1411) included where the tax profile "
    "has it (SEC staff guidance, 2013); state and local taxes disregarded (Instr. 4)",
    "basis tracked separately for the initial purchase and each reinvestment; a reinvested "
    "lot's basis is the amount reinvested, net of the tax (Instr. 7(b))",
    "each lot short- or long-term by its own holding period to the redemption date "
    "(Instr. 7(c); IRC §1222; IRS Pub 550, taxsim.dates)",
    "exempt-interest dividends (IRC §852(b)(5)) are not taxed and are reinvested in full "
    "(Instr. 4: no tax is due on the portion of a distribution that would not result in "
    "federal income tax on an individual, such as tax-exempt interest)",
    "a loss on a lot held 6 months or less is disallowed up to the exempt-interest dividends "
    "received on it, unless the fund declares them daily (IRC §852(b)(4)(B), (E)(ii); Pub 550), "
    "and what is left of a short-term one is long-term to the extent of the long-term capital "
    "gain distributions received on it (IRC §852(b)(4)(A))",
    "ATV_D: the redemption has no tax consequences (Item 26(b)(2), definition of ATV_D)",
    "ATV_DR: the lots' gains and losses are netted under federal law first (short-term and "
    "long-term separately, then across; IRC §1222), and a net loss left is assumed to offset "
    "other gains of the same character in full, a tax benefit at that character's rate "
    "(Instr. 7(d); staff FAQ)",
)

NOT_MODELLED = (
    "sales loads, redemption fees and recurring account fees (the Item 26(b) instructions on "
    "loads and fees): prices are NAVs",
    "foreign tax credits; the federal alternative minimum tax on private-activity bond "
    "interest (Instr. 4 disregards the AMT)",
    "the shareholder's 61-day holding requirement for qualified dividends (IRC §1(h)(11)(B)"
    "(iii)): the fund's designation is used as given",
    "wash sales (IRC §1091): the complete redemption leaves no replacement shares",
    "rate changes within a calendar year: a TaxProfile gives one set of rates per year",
)


# --------------------------------------------------------------------------- inputs
@dataclass
class _Lot:
    """Shares bought on one day: the initial purchase or one reinvestment."""

    acquired: int  # day number
    shares: float
    basis: float  # dollars
    lt_distributions: float = 0.0  # long-term capital gain distributions received, dollars
    exempt_distributions: float = 0.0  # exempt-interest dividends received (§852(b)(4)(B))


def _check_prices(prices: Any) -> tuple[np.ndarray, np.ndarray]:
    """(day numbers, prices) of a price Series, checked."""
    if not isinstance(prices, pd.Series):
        raise MetricsError(
            f"prices: expected a pandas Series of prices by date, got {type(prices).__name__}")
    if len(prices) < 2:
        raise MetricsError(f"prices: needs at least two dates, got {len(prices)}")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(prices.index))
    except (TypeError, ValueError) as error:
        raise MetricsError(f"prices: the index must be dates ({error})") from None
    if index.tz is not None:
        index = index.tz_localize(None)
    if index.hasnans:
        raise MetricsError("prices: the index has a missing date (NaT)")
    days = (index.values.astype("datetime64[D]")
            - np.datetime64("1970-01-01", "D")).astype(np.int64)
    steps = np.diff(days)
    if np.any(steps <= 0):
        k = int(np.argmax(steps <= 0)) + 1
        what = "is repeated" if steps[k - 1] == 0 else f"comes after {_iso(days[k - 1])}"
        raise MetricsError(
            f"prices: dates must be strictly increasing; {_iso(days[k])} {what}")
    try:
        values = prices.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise MetricsError("prices: values must be numbers (dollars per share)") from None
    bad = ~(np.isfinite(values) & (values > 0.0))
    if np.any(bad):
        k = int(np.argmax(bad))
        raise MetricsError(
            f"prices: the price on {_iso(days[k])} is {float(values[k])}; prices must be positive "
            "and finite (dollars per share)")
    return days, values


def _check_distributions(distributions: Any, days: np.ndarray,
                         values: np.ndarray) -> list[tuple[int, str, float, float]]:
    """Rows (day, kind, amount per share, reinvestment price), sorted by day (stable)."""
    if distributions is None:
        return []
    if not isinstance(distributions, pd.DataFrame):
        raise MetricsError(
            "distributions: expected a DataFrame with columns date, kind, amount (dollars per "
            f"share) and optionally price; got {type(distributions).__name__}")
    frame = distributions
    if "date" not in frame.columns:
        if isinstance(frame.index, pd.DatetimeIndex):
            frame = frame.reset_index(names="date")
        else:
            raise MetricsError(
                "distributions: needs a 'date' column (or a DatetimeIndex); has "
                f"{list(frame.columns)}")
    for column in ("kind", "amount"):
        if column not in frame.columns:
            raise MetricsError(
                f"distributions: needs a {column!r} column; has {list(frame.columns)}")
    unknown = sorted(set(frame.columns) - {"date", "kind", "amount", "price"})
    if unknown:
        raise MetricsError(
            f"distributions: unknown columns {unknown}; use date, kind, amount, price")
    rows = []
    has_price = "price" in frame.columns
    for position, record in enumerate(frame.itertuples(index=False)):
        try:
            day = to_day(record.date)
        except (TypeError, ValueError):
            raise MetricsError(
                f"distributions: row {position} has date {record.date!r}, not a date") from None
        when = _iso(day)
        kind = record.kind
        if kind not in KINDS:
            raise MetricsError(
                f"distributions: unknown kind {kind!r} on {when}; use one of {list(KINDS)}")
        amount = _number(record.amount)
        if not (np.isfinite(amount) and amount >= 0.0):
            raise MetricsError(
                f"distributions: amount of the {kind} on {when} is {record.amount}; it must "
                "be a finite number >= 0 (dollars per share)")
        if day < days[0] or day > days[-1]:
            raise MetricsError(
                f"distributions: the {kind} on {when} is outside the prices' dates "
                f"{_iso(days[0])}..{_iso(days[-1])}")
        price = _number(record.price) if has_price else np.nan
        if np.isnan(price):
            k = int(np.searchsorted(days, day))
            if days[k] != day:
                raise MetricsError(
                    f"distributions: no price on {when} to reinvest the {kind} at; add that "
                    "date to prices or give the reinvestment price in a 'price' column")
            price = float(values[k])
        elif not (np.isfinite(price) and price > 0.0):
            raise MetricsError(
                f"distributions: price of the {kind} on {when} is {record.price}; it must be "
                "positive and finite (dollars per share)")
        if amount > 0.0:
            rows.append((day, kind, amount, price))
    rows.sort(key=lambda row: row[0])
    for (day_a, _, _, price_a), (day_b, kind_b, _, price_b) in zip(rows, rows[1:], strict=False):
        if day_a == day_b and price_a != price_b:
            raise MetricsError(
                f"distributions: two reinvestment prices on {_iso(day_b)} ({price_a} and "
                f"{price_b}, the second for the {kind_b})")
    return rows


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _iso(day: int) -> str:
    return to_timestamp(int(day)).date().isoformat()


# --------------------------------------------------------------------------- rates
class _Rates:
    """The rates of each year, combined per character, and a record of the years used."""

    def __init__(self, tax_profile: Any, include_state: bool) -> None:
        if tax_profile is None:
            tax_profile = TaxProfile.us_top_historical()
        self._rate_change = lambda year: None
        if isinstance(tax_profile, TaxRates):
            self._lookup = lambda year, rates=tax_profile: rates
            self.name = (f"constant rates: {tax_profile.ordinary:.1%} ordinary, "
                         f"{tax_profile.long_term:.1%} long-term, "
                         f"{tax_profile.qualified_dividend:.1%} qualified, "
                         f"{tax_profile.niit:.1%} NIIT")
        elif isinstance(tax_profile, TaxProfile):
            self._lookup = tax_profile.rates
            self._rate_change = tax_profile.rate_change
            self.name = tax_profile.name
        else:
            raise MetricsError(
                "tax_profile: expected a TaxProfile or TaxRates, got "
                f"{type(tax_profile).__name__}")
        self.include_state = bool(include_state)
        self.used: dict[int, dict] = {}

    def of(self, day: int) -> dict:
        """Combined marginal rates (fractions) on ``day`` by character.

        In a year whose long-term rate changes within it (``TaxProfile.long_term_before``:
        20% before 2003-05-06, 15% from it, JGTRRA 2003 §301), a day before the change gets
        the earlier long-term rate for capital gain distributions and redemptions (Form N-1A
        Item 26(b)(2), Instr. 4: the rates in effect on the reinvestment or redemption date);
        ``used`` then lists that year under ``"<year> before <date>"`` too.
        """
        when = to_timestamp(day)
        year = when.year
        change = self._rate_change(year)
        key = year
        if change is not None and when < pd.Timestamp(change[0]):
            key = f"{year} before {change[0]}"
        combined = self.used.get(key)
        if combined is None:
            r = self._lookup(year)
            if key != year:  # only the long-term rate changed (the 28% and 25% did not)
                r = dataclasses.replace(r, long_term=change[1])
            extra = r.niit + (r.state if self.include_state else 0.0)
            combined = {
                QUALIFIED_DIVIDEND: r.qualified_dividend + extra,
                NONQUALIFIED_DIVIDEND: r.ordinary + extra,
                ST_CAPITAL_GAIN: r.ordinary + extra,
                LT_CAPITAL_GAIN: r.long_term + extra,
                # §1(h)(1)(E)-(F): the 25% and 28% groups at the lesser of that rate and the
                # ordinary rate
                COLLECTIBLES_GAIN: min(r.ordinary, r.collectibles) + extra,
                UNRECAPTURED_1250_GAIN: min(r.ordinary, r.unrecaptured_1250) + extra,
                RETURN_OF_CAPITAL: 0.0,
                EXEMPT_INTEREST_DIVIDEND: 0.0,
                "short_term_gain": r.ordinary + extra,
                "long_term_gain": r.long_term + extra,
                "components": {
                    "ordinary": r.ordinary,
                    "long_term": r.long_term,
                    "qualified_dividend": r.qualified_dividend,
                    "collectibles": min(r.ordinary, r.collectibles),
                    "unrecaptured_1250": min(r.ordinary, r.unrecaptured_1250),
                    "niit": r.niit,
                    "state": r.state if self.include_state else 0.0,
                },
            }
            self.used[key] = combined
        return combined


# --------------------------------------------------------------------------- periods
def _years_ago(day: int, years: int) -> int:
    """The same calendar date ``years`` years before ``day`` (Feb 29 -> Feb 28)."""
    return to_day(to_timestamp(day) - pd.DateOffset(years=years))


def _fractional_years(start: int, end: int) -> float:
    """Years from ``start`` to ``end``: whole years counted back from ``end`` plus the rest
    over the length of the year it falls in (a whole number for whole years)."""
    whole = 0
    while _years_ago(end, whole + 1) >= start:
        whole += 1
    anchor = _years_ago(end, whole)
    previous = _years_ago(end, whole + 1)
    return whole + (anchor - start) / (anchor - previous)


def _periods(periods: Any, first: int, end: int) -> list[tuple[str, int, float]]:
    """(label, start day, n years) of each period."""
    default = periods is None
    if default:
        periods = [k for k in STANDARD_YEARS if _years_ago(end, k) >= first]
        if _years_ago(end, max(STANDARD_YEARS)) < first:
            periods.append(SINCE_INCEPTION)
    elif isinstance(periods, str) or np.ndim(periods) == 0:
        periods = [periods]
    out = []
    for period in periods:
        if isinstance(period, str) and period == SINCE_INCEPTION:
            out.append((SINCE_INCEPTION, first, _fractional_years(first, end)))
            continue
        if isinstance(period, bool) or not isinstance(period, int | np.integer) or period < 1:
            raise MetricsError(
                f"periods: {period!r} is not a number of years >= 1 or {SINCE_INCEPTION!r}")
        start = _years_ago(end, int(period))
        if start < first:
            raise MetricsError(
                f"periods: the {int(period)}-year period {_iso(start)}..{_iso(end)} is longer "
                f"than the data, whose first price is on {_iso(first)}")
        out.append((f"{int(period)}y", start, float(period)))
    labels = [label for label, _, _ in out]
    if len(set(labels)) != len(labels):
        raise MetricsError(f"periods: repeated periods {labels}")
    return out


# --------------------------------------------------------------------------- redemption
def _net_gains(short_term: float, long_term: float) -> tuple[float, float]:
    """Net short- and long-term results after netting across characters (IRC §1222; Schedule D
    lines 7, 15 and 16): a net loss of one character offsets a net gain of the other; what is
    left keeps the character of the larger side. Positive = gain, negative = loss, dollars."""
    if (short_term >= 0.0) == (long_term >= 0.0):
        return short_term, long_term
    total = short_term + long_term
    if short_term < 0.0:  # short-term loss against long-term gain
        return (0.0, total) if total >= 0.0 else (total, 0.0)
    return (total, 0.0) if total >= 0.0 else (0.0, total)  # long-term loss, short-term gain


# --------------------------------------------------------------------------- the calculator
def sec_after_tax_returns(
    prices: pd.Series,
    distributions: pd.DataFrame | None = None,
    *,
    periods: Any = None,
    end: Any = None,
    tax_profile: TaxProfile | TaxRates | None = None,
    include_state: bool = False,
    exempt_interest_daily: bool | None = None,
) -> dict:
    """SEC Form N-1A average annual total returns before taxes, after taxes on distributions,
    and after taxes on distributions and redemption.

    For each period a hypothetical $1,000 buys shares at the price in effect on the period's
    first day (a fresh purchase: a trailing window inherits no older basis or shares). Each
    distribution received (dated after that day, up to and including ``end``) is, on its date:

    - before taxes: reinvested in full at the reinvestment price (Item 26(b)(1));
    - after taxes: taxed by character at the highest individual marginal federal rates in
      effect that day, and reinvested net of the tax as a new lot whose basis is the amount
      reinvested (Item 26(b)(2)-(3), Instr. 2, 3, 4 and 7(b)). A return of capital is not
      taxed; it reduces each lot's basis pro rata to its shares and the excess over a lot's
      basis is a capital gain of that lot's holding period, taxed at once (IRC §301(c)(2)-(3)).
      An exempt-interest dividend is not taxed (Instr. 4) and is reinvested in full.
      Distributions of one date are paid on the shares held before that date's reinvestment.

    At the end of the period all shares are redeemed at the price in effect on ``end``:
    ``ATV_D`` is their value (no tax on the redemption, Item 26(b)(2)). For ``ATV_DR`` each
    lot's gain or loss (proceeds - basis) is short-term or long-term by its own holding period
    (Instr. 7(c); ``taxsim.dates.is_long_term``: long-term if held more than one year, so the
    initial lot of a 1-year period, held exactly one year, is short-term). A loss on a lot held
    6 months or less (``taxsim.dates.held_more_than_months_from``) is first disallowed up to
    the exempt-interest dividends received on it (IRC §852(b)(4)(B); not for a fund declaring
    them daily, §852(b)(4)(E)(ii)), and what is left of a short-term one is long-term up to the
    long-term capital gain distributions received on it (§852(b)(4)(A)). The results are netted
    under federal law (IRC §1222), and the net gain of each character is taxed at its rate on
    the redemption date; a net loss left is assumed to offset other gains of the same
    character in full, so it adds its tax benefit (Instr. 7(d); SEC staff FAQ: netting
    first). Then ``T = (V / 1000)^(1/n) - 1`` for ``V`` = ERV, ATV_D, ATV_DR.

    Parameters
    ----------
    prices : Series
        Price per share (the NAV at which the fund buys and redeems), dollars, indexed by date
        (strictly increasing, positive and finite). Prices and distributions must be in the
        same shares: restate history for splits first (``Market.split_adjusted()``, done by
        :func:`sec_inputs_from_market`).
    distributions : DataFrame, optional
        One row per distribution component: ``date`` (the reinvestment date; a column or a
        DatetimeIndex), ``kind`` (one of :data:`KINDS`: ``qualified_dividend``,
        ``nonqualified_dividend``, ``st_capital_gain``, ``lt_capital_gain``,
        ``return_of_capital``, ``exempt_interest_dividend``, and the capital gain
        distribution's 28% and 25% parts ``collectibles_gain`` and ``unrecaptured_1250_gain``,
        which the ``lt_capital_gain`` row then excludes), ``amount`` (dollars per share,
        >= 0) and optionally ``price``
        (reinvestment price, dollars per share; default the price on ``date``, which must then
        be in ``prices``). Rows may come in any order; a distribution on a period's first day
        is not received (the purchase is at that day's ex-distribution price), one on ``end``
        is.
    periods : int, "since_inception" or a sequence of them, optional
        Periods in whole years ending on ``end``, and/or since inception (the first date of
        ``prices``). Default: those of 1, 5 and 10 years the data covers, plus since inception
        when it covers less than 10 (Item 26(b)(1): "or for the periods of the Fund's
        operations"). A period starting before the first price raises.
    end : date-like, optional
        Last day of every period (the redemption date), on or before the last date of
        ``prices``; default that last date. The price in effect on a day is the last price on
        or before it.
    tax_profile : TaxProfile or TaxRates, optional
        Marginal federal rates by year (default ``TaxProfile.us_top_historical()``: top rates
        since 1998, NIIT from 2013). A day uses the rates of its calendar year.
    include_state : bool
        Add the profile's flat state rate to every rate. Form N-1A disregards state and local
        taxes (Instr. 4), so the default False is the form's figure; True is not.
    exempt_interest_daily : bool, optional
        The fund declares its exempt-interest dividends daily and pays them at least monthly,
        which takes its shares out of IRC §852(b)(4)(B) (§852(b)(4)(E)(ii)). Default: the
        ``distributions``' ``attrs["exempt_interest_daily"]`` (set by
        :func:`sec_inputs_from_market` from the market's metadata), else False (the statute's
        default).

    Returns
    -------
    dict
        ``"returns"``: DataFrame indexed by period label (``"1y"``, ``"5y"``, ``"10y"``,
        ``"since_inception"``) with ``start``, ``end`` (Timestamps), ``years`` (n),
        ``before_taxes`` (T), ``after_taxes_on_distributions`` (T_D),
        ``after_taxes_on_distributions_and_redemption`` (T_DR; annual fractions), ``erv``,
        ``atv_d``, ``atv_dr`` (ending values, dollars), ``distribution_taxes`` (taxes on the
        distributions, dollars), ``short_term_net``, ``long_term_net`` (the redemption's net
        gains after netting, dollars; negative = loss) and ``redemption_tax`` (dollars;
        negative = the benefit of a loss). ``"lots"``: DataFrame, one row per lot redeemed, with
        ``period``, ``acquired``, ``shares``, ``basis``, ``proceeds``, ``gain`` (dollars),
        ``term`` (``gain`` is the recognized gain: ``proceeds - basis`` plus any loss disallowed),
        ``exempt_interest_disallowed`` (dollars of loss disallowed by §852(b)(4)(B)) and
        ``long_term_by_852`` (dollars of loss made long-term by §852(b)(4)(A)).
        ``"conventions"``: dict naming the tax profile, the rates used by year (combined per
        character and their components), the state-tax and NIIT treatment, the rules applied
        with their sources and what is not modelled. The returns frame carries the same dict
        in ``attrs["conventions"]``.

    Raises
    ------
    MetricsError
        (a ``ValueError``) naming the field and date: unsorted or repeated dates, non-positive
        or missing prices, an unknown distribution kind, a negative amount, a distribution
        without a reinvestment price, a period longer than the data, a bad ``end``.

    Examples
    --------
    >>> prices = pd.Series([10.0, 12.7, 13.0],
    ...                    index=pd.to_datetime(["2023-01-10", "2023-04-10", "2024-01-10"]))
    >>> distributions = pd.DataFrame({"date": ["2023-04-10"], "kind": ["qualified_dividend"],
    ...                               "amount": [0.50]})
    >>> out = sec_after_tax_returns(prices, distributions, periods=1, tax_profile=TaxRates())
    >>> print(round(out["returns"].loc["1y", "atv_d"], 2))  # (100 + 38.10 / 12.70) x 13.00
    1339.0
    """
    days, values = _check_prices(prices)
    rows = _check_distributions(distributions, days, values)
    if exempt_interest_daily is None:
        exempt_interest_daily = (distributions.attrs.get("exempt_interest_daily", False)
                                 if isinstance(distributions, pd.DataFrame) else False)
    if not isinstance(exempt_interest_daily, bool | np.bool_):
        raise MetricsError(
            f"exempt_interest_daily: must be True or False, got {exempt_interest_daily!r}")
    exempt_interest_daily = bool(exempt_interest_daily)
    if end is None:
        end_day = int(days[-1])
    else:
        try:
            end_day = to_day(end)
        except (TypeError, ValueError):
            raise MetricsError(f"end: {end!r} is not a date") from None
        if not days[0] < end_day <= days[-1]:
            raise MetricsError(
                f"end: {_iso(end_day)} must be after the first price ({_iso(days[0])}) and on "
                f"or before the last ({_iso(days[-1])})")
    rates = _Rates(tax_profile, include_state)

    def price_on(day: int) -> float:
        return float(values[int(np.searchsorted(days, day, side="right")) - 1])

    end_price = price_on(end_day)
    redemption_rates = rates.of(end_day)
    records, lot_records = [], []
    for label, start_day, n in _periods(periods, int(days[0]), end_day):
        lots = [_Lot(start_day, INITIAL_PAYMENT / price_on(start_day), INITIAL_PAYMENT)]
        gross_shares = lots[0].shares
        distribution_taxes = 0.0
        received = [row for row in rows if start_day < row[0] <= end_day]
        k = 0
        while k < len(received):
            day, first = received[k][0], k
            while k < len(received) and received[k][0] == day:
                k += 1
            same_day = received[first:k]
            held = sum(lot.shares for lot in lots)  # before this date's reinvestment
            rate = rates.of(day)
            cash = gross_cash = tax = 0.0
            for _, kind, amount, _ in same_day:
                cash += amount * held
                gross_cash += amount * gross_shares
                if kind == RETURN_OF_CAPITAL:
                    for lot in lots:  # IRC §301(c)(2)-(3), lot by lot
                        lot.basis -= amount * lot.shares
                        if lot.basis < 0.0:
                            excess, lot.basis = -lot.basis, 0.0
                            term = ("long_term_gain" if is_long_term(lot.acquired, day)
                                    else "short_term_gain")
                            tax += excess * rate[term]
                else:
                    tax += amount * held * rate[kind]
                    if kind in _CAPITAL_GAIN_DIVIDENDS:
                        for lot in lots:
                            lot.lt_distributions += amount * lot.shares
                    elif kind == EXEMPT_INTEREST_DIVIDEND and not exempt_interest_daily:
                        for lot in lots:
                            lot.exempt_distributions += amount * lot.shares
            price = same_day[0][3]
            net = cash - tax
            lots.append(_Lot(day, net / price, net))
            gross_shares += gross_cash / price
            distribution_taxes += tax

        erv = gross_shares * end_price
        atv_d = sum(lot.shares for lot in lots) * end_price
        short_term = long_term = 0.0
        for lot in lots:
            proceeds = lot.shares * end_price
            gain = proceeds - lot.basis
            young = end_day < held_more_than_months_from(lot.acquired, SECTION_852_MONTHS)
            exempt_disallowed = by_852 = 0.0
            if gain < 0.0 and young:  # §852(b)(4)(B) first, for good
                exempt_disallowed = min(-gain, lot.exempt_distributions)
                gain += exempt_disallowed
            if is_long_term(lot.acquired, end_day):
                term = "long_term"
                long_term += gain
            else:
                term = "short_term"
                if gain < 0.0 and young:  # §852(b)(4)(A) on what (B) left
                    by_852 = min(-gain, lot.lt_distributions)
                short_term += gain + by_852
                long_term -= by_852
            lot_records.append({
                "period": label, "acquired": to_timestamp(lot.acquired), "shares": lot.shares,
                "basis": lot.basis, "proceeds": proceeds, "gain": gain, "term": term,
                "exempt_interest_disallowed": exempt_disallowed, "long_term_by_852": by_852,
            })
        short_net, long_net = _net_gains(short_term, long_term)
        # a net loss is worth its rate: it offsets other gains of the same character in full
        redemption_tax = (short_net * redemption_rates["short_term_gain"]
                          + long_net * redemption_rates["long_term_gain"])
        atv_dr = atv_d - redemption_tax
        records.append({
            "period": label,
            "start": to_timestamp(start_day),
            "end": to_timestamp(end_day),
            "years": n,
            "before_taxes": (erv / INITIAL_PAYMENT) ** (1.0 / n) - 1.0,
            "after_taxes_on_distributions": (atv_d / INITIAL_PAYMENT) ** (1.0 / n) - 1.0,
            "after_taxes_on_distributions_and_redemption":
                (atv_dr / INITIAL_PAYMENT) ** (1.0 / n) - 1.0,
            "erv": erv,
            "atv_d": atv_d,
            "atv_dr": atv_dr,
            "distribution_taxes": distribution_taxes,
            "short_term_net": short_net,
            "long_term_net": long_net,
            "redemption_tax": redemption_tax,
        })

    conventions = {
        "method": "SEC Form N-1A Item 26(b)(1)-(3) standardized after-tax returns",
        "initial_payment": INITIAL_PAYMENT,
        "tax_profile": rates.name,
        "rates_by_year": {year: dict(rates.used[year])
                          for year in sorted(rates.used, key=lambda key: (str(key)[:4], str(key)))},
        "niit": "included at the profile's rate in each year (SEC staff guidance, 2013)",
        "state_tax": ("included at the profile's flat rate (not the N-1A figure)"
                      if rates.include_state else "none (Form N-1A Item 26(b), Instr. 4)"),
        "exempt_interest": ("declared daily: outside IRC §852(b)(4)(B) (§852(b)(4)(E)(ii))"
                            if exempt_interest_daily else
                            "not declared daily: IRC §852(b)(4)(B) applies to young lots"),
        "rules": list(RULES),
        "not_modelled": list(NOT_MODELLED),
    }
    returns = pd.DataFrame.from_records(records, index="period")
    returns.attrs["conventions"] = conventions
    lots_frame = pd.DataFrame.from_records(
        lot_records, columns=["period", "acquired", "shares", "basis", "proceeds", "gain", "term",
                              "exempt_interest_disallowed", "long_term_by_852"])
    return {"returns": returns, "lots": lots_frame, "conventions": conventions}


def sec_inputs_from_market(market: Any, ticker: str) -> tuple[pd.Series, pd.DataFrame]:
    """The ``prices`` and ``distributions`` of one asset of a :class:`taxsim.market.Market`,
    for :func:`sec_after_tax_returns`.

    History is restated in today's shares first (``Market.split_adjusted()``: prices and
    per-share amounts before a split divided by it, so every lot's dollars are unchanged).
    ``dividend`` splits into ``qualified_dividend`` (its ``qualified_fraction``) and
    ``nonqualified_dividend``; taxable ``interest`` is paid to shareholders as an ordinary
    (non-qualified) dividend (IRS Pub 550 "Mutual Fund Distributions"), and the interest of a
    ``municipal_bond`` asset as an ``exempt_interest_dividend`` (IRC §852(b)(5)), with the
    asset's ``exempt_interest_daily`` flag in ``distributions.attrs["exempt_interest_daily"]``
    for :func:`sec_after_tax_returns`; ``lt_capital_gain`` splits into its
    ``collectibles_gain`` and ``unrecaptured_1250_gain`` parts (the asset's
    ``collectibles_fraction`` and ``unrecaptured_1250_fraction``) and the rest;
    ``st_capital_gain`` and ``return_of_capital`` keep their character. Reinvestment is at
    the close of the ex-date, the market's convention (``market.py``).

    Parameters
    ----------
    market : Market
    ticker : str

    Returns
    -------
    (Series, DataFrame)
        Prices per share by date (dollars) over the asset's span, and the distributions
        (``date``, ``kind``, ``amount`` in dollars per share).

    Raises
    ------
    MetricsError
        For a ticker the market lacks.
    """
    try:
        column = market.index_of(ticker)
    except KeyError as error:
        raise MetricsError(f"ticker: {error.args[0]}") from None
    one = market.select([ticker]).split_adjusted()
    close = one.close[:, 0]
    has = ~np.isnan(close)
    dates = one.pandas_dates[has]
    prices = pd.Series(close[has], index=dates, name=ticker)
    qualified = float(market.qualified_fraction[column])
    municipal = market.tax_character[column] == "municipal_bond"
    interest = one.interest[has, 0]
    lt_gain = one.lt_capital_gain[has, 0]
    collectibles = float(market.collectibles_fraction[column])
    unrecaptured = float(market.unrecaptured_1250_fraction[column])
    pieces = {
        QUALIFIED_DIVIDEND: one.dividend[has, 0] * qualified,
        NONQUALIFIED_DIVIDEND: one.dividend[has, 0] * (1.0 - qualified)
        + (0.0 if municipal else interest),
        ST_CAPITAL_GAIN: one.st_capital_gain[has, 0],
        LT_CAPITAL_GAIN: lt_gain * (1.0 - collectibles - unrecaptured),
        COLLECTIBLES_GAIN: lt_gain * collectibles,
        UNRECAPTURED_1250_GAIN: lt_gain * unrecaptured,
        RETURN_OF_CAPITAL: one.return_of_capital[has, 0],
        EXEMPT_INTEREST_DIVIDEND: interest if municipal else np.zeros_like(interest),
    }
    frames = []
    for kind, amounts in pieces.items():
        paid = amounts != 0.0
        if np.any(paid):
            frames.append(pd.DataFrame({"date": dates[paid], "kind": kind,
                                        "amount": amounts[paid]}))
    if frames:
        distributions = pd.concat(frames, ignore_index=True)
        distributions = distributions.sort_values("date", kind="stable", ignore_index=True)
    else:
        distributions = pd.DataFrame({"date": pd.DatetimeIndex([]), "kind": [], "amount": []})
    distributions.attrs["exempt_interest_daily"] = bool(market.exempt_interest_daily[column])
    return prices, distributions
