"""The :class:`Market`: prices that are not dividend-adjusted, plus every distribution and split.

A ``Market`` is what the simulator replays: one row per trading date, one column per asset,
every array float64 and C-contiguous of shape ``(n_dates, n_assets)``. Taxes live in the
events, so nothing is folded into an adjusted price:

- ``close``: the closing price in dollars per share, not dividend-adjusted. NaN before an
  asset's first price and after its last, never NaN in between (an asset exists from its first
  price; nothing is forward-filled).
- ``dividend``, ``st_capital_gain``, ``lt_capital_gain``, ``return_of_capital``, ``interest``:
  cash paid in dollars per share on the ex-date, 0 on other dates. ``interest`` of a
  ``municipal_bond`` asset is tax-exempt interest. ``lt_capital_gain`` may carry a 28%
  collectibles part and a 25% unrecaptured section 1250 part (``collectibles_fraction``,
  ``unrecaptured_1250_fraction``); a ``collectible`` asset's own sales are collectibles.
- ``split_ratio``: shares after / shares before for a split effective that date (2.0 for a
  2-for-1, 0.5 for a 1-for-2 reverse split), 1.0 on other dates. ``close`` on that date is
  already post-split.

Same-date convention: on a date with a split and a distribution, the split takes effect first
(at the open) and the distribution is per post-split share, like ``close``. Every array on date
``t`` is thus in date ``t``'s shares, and the daily total return is::

    r_t = (close_t + distributions_t) * split_ratio_t / close_{t-1} - 1

where ``distributions_t`` is the sum of the five cash fields. (This reproduces the vendor's
``adjusted_close`` of the S&P 500 file on every date with both a split and a dividend.)
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from taxsim.market.validation import (
    ARRAY_FIELDS,
    DISTRIBUTION_FIELDS,
    TAX_CHARACTERS,
    MarketDataError,
    MarketDataWarning,
    check_close,
    check_dates,
    check_events,
    check_metadata,
    check_row_closes,
    check_shapes,
    check_tickers,
    format_day,
    format_days,
    price_spans,
)

METADATA_FIELDS = (
    "asset_class",
    "tax_character",
    "qualified_fraction",
    "identity_group",
    "expense_ratio",
    "sector",
    "exempt_interest_daily",
    "section_199a_fraction",
    "collectibles_fraction",
    "unrecaptured_1250_fraction",
)
FRAME_COLUMNS = ("date", "ticker", *ARRAY_FIELDS)

DEFAULT_ASSET_CLASS = {
    "equity": "equity",
    "taxable_bond": "bond",
    "municipal_bond": "bond",
    "reit": "real_estate",
    "collectible": "commodity",
}
DEFAULT_QUALIFIED_FRACTION = {
    "equity": 1.0,
    "taxable_bond": 0.0,
    "municipal_bond": 0.0,
    "reit": 0.0,
    "collectible": 0.0,  # a grantor trust of metal pays no dividends of a corporation
}


def default_section_199a_fraction(tax_character: str, qualified_fraction: float) -> float:
    """The default ``section_199a_fraction`` of an asset: the part of a REIT's dividend that is
    not qualified (``1 - qualified_fraction``), 0 for every other tax character.

    A REIT's ordinary dividend that is not qualified dividend income is a qualified REIT
    dividend (IRC §199A(e)(3)); capital gain dividends are paid as ``lt_capital_gain``, not
    ``dividend``. Equity and bond funds report no section 199A dividends unless told so.
    """
    return 1.0 - float(qualified_fraction) if tax_character == "reit" else 0.0


def to_days(dates: Any) -> np.ndarray:
    """Day numbers (int64 days since 1970-01-01) of dates in any form pandas understands.

    Integers are taken as day numbers already; anything else goes through
    ``pandas.to_datetime`` and is floored to the calendar day.
    """
    if isinstance(dates, np.ndarray) and np.issubdtype(dates.dtype, np.integer):
        return dates.astype(np.int64, copy=False)
    if isinstance(dates, np.ndarray) and np.issubdtype(dates.dtype, np.datetime64):
        return dates.astype("datetime64[D]").astype(np.int64)
    values = pd.DatetimeIndex(pd.to_datetime(dates))
    if values.tz is not None:
        values = values.tz_localize(None)
    return values.to_numpy().astype("datetime64[D]").astype(np.int64)


def to_day(date: Any) -> int:
    """Day number of one date (anything ``pandas.Timestamp`` accepts, or an int day number)."""
    if isinstance(date, int | np.integer):
        return int(date)
    stamp = pd.Timestamp(date)
    if stamp.tz is not None:
        stamp = stamp.tz_localize(None)
    return int(np.datetime64(stamp.date(), "D").astype(np.int64))


# Arrays a constructor of this module has just built are adopted without a copy.
_ADOPTED: threading.local = threading.local()


def _frozen_array(values: Any, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A read-only float64 C-contiguous copy of ``values`` (a scalar fills ``shape``)."""
    if np.ndim(values) == 0 and shape is not None:
        value = float(values)
        # np.zeros leaves untouched pages unallocated: cheap for the usual all-zero fields
        array = np.zeros(shape) if value == 0.0 else np.full(shape, value)
    elif id(values) in getattr(_ADOPTED, "ids", ()):
        array = np.ascontiguousarray(values, dtype=np.float64)
    elif (
        isinstance(values, np.ndarray)
        and values.dtype == np.float64
        and values.flags.c_contiguous
        and not values.flags.writeable
    ):
        return values  # already read-only (another Market's array): share it
    else:
        array = np.array(values, dtype=np.float64, order="C", copy=True)
    array.flags.writeable = False
    return array


def _adopting(cls, arrays: dict[str, np.ndarray], *args, checked: bool = False, **kwargs):
    """``cls(*args, **arrays, **kwargs)`` taking ``arrays`` (fresh, private) without copies.

    ``checked``: the arrays are rows and columns of a market that passed the price and event
    checks, which hold cell by cell, so they are not run again (metadata is still checked).
    """
    _ADOPTED.ids = {id(a) for a in arrays.values()}
    _ADOPTED.checked = checked
    try:
        return cls(*args, **arrays, **kwargs)
    finally:
        _ADOPTED.ids = set()
        _ADOPTED.checked = False


def _frozen_vector(values: Any, dtype=np.float64) -> np.ndarray:
    array = np.array(values, dtype=dtype, copy=True)
    array.flags.writeable = False
    return array


def _frozen_numbers(values: Any, tickers: Sequence[str], field: str) -> np.ndarray:
    """A read-only float vector of per-ticker numbers; an entry that is not a number is an
    error naming its ticker and the field (numpy's own message names neither)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise MarketDataError(f"{field} must be numbers, one per ticker, got {values!r}")
    try:
        array = _frozen_vector(values)
    except (TypeError, ValueError):
        if len(values) != len(tickers):
            raise MarketDataError(f"misaligned metadata: {field} has {len(values)} entries for "
                                  f"{len(tickers)} tickers") from None
        for ticker, value in zip(tickers, values, strict=True):
            try:
                float(value)
            except (TypeError, ValueError):
                raise MarketDataError(
                    f"{ticker}: {field} must be a number, got {value!r}") from None
        raise
    if array.ndim != 1:
        raise MarketDataError(f"{field} must be numbers, one per ticker, got shape {array.shape}")
    return array


def _frozen_flags(values: Any, tickers: Sequence[str]) -> np.ndarray:
    """A read-only bool vector of per-ticker flags; a value that is not a bool is an error
    naming its ticker (1 or "yes" would otherwise pass as True)."""
    items = list(values) if not isinstance(values, (str, bytes)) else [values]
    for ticker, value in zip(tickers, items, strict=False):
        if not isinstance(value, (bool, np.bool_)):
            raise MarketDataError(
                f"{ticker}: exempt_interest_daily must be True or False, got {value!r}")
    return _frozen_vector(items, np.bool_)


@dataclass(frozen=True, eq=False)
class Market:
    """Daily market data for a set of assets: prices, distributions, splits and tax metadata.

    Parameters
    ----------
    dates : array-like
        Trading dates, strictly increasing. Stored as numpy int64 day numbers (days since
        1970-01-01); datetimes and strings are converted.
    tickers : sequence of str
        Asset names, one per column.
    close : array-like, shape (n_dates, n_assets)
        Closing price in dollars per share, not dividend-adjusted; NaN where the asset has no
        price (before its first price and after its last only).
    dividend, st_capital_gain, lt_capital_gain, return_of_capital, interest : array-like
        Cash distributions in dollars per share on the ex-date (0 otherwise), same shape as
        ``close``. Default: all 0.
    split_ratio : array-like
        Split factor effective that date (2.0 for a 2-for-1), 1.0 otherwise. Default: all 1.
    asset_class : sequence of str
        Free-form class for reports ("equity", "bond", "real_estate", ...). Default from
        ``tax_character``.
    tax_character : sequence of str
        One of "equity", "taxable_bond", "municipal_bond", "reit", "collectible". Default
        "equity". A "collectible" is a share of a grantor trust holding physical metal (GLD,
        SLV, ...): the holder is treated as owning the metal, so a sale of its shares is a
        sale of collectibles, whose long-term gain is taxed at up to 28% (IRC §408(m),
        §1(h)(4)-(5); IRS Pub 550, "Collectibles gain or loss"); see :attr:`collectible`.
    qualified_fraction : array-like of float
        Fraction of ``dividend`` that is qualified. Default 1.0 for equity, 0.0 otherwise.
    identity_group : sequence of str
        Wash-sale group: assets of one group are substantially identical. Default: the ticker.
    expense_ratio : array-like of float
        Annual fund expense ratio as a fraction (0.0003 = 3 basis points). Default 0. Real
        fund prices are already net of it; it is metadata for reports.
    sector : sequence of str
        Sector name, for direct indexing. Default "".
    exempt_interest_daily : array-like of bool
        For a ``municipal_bond`` fund: it declares exempt-interest dividends daily (at least
        90% of its net tax-exempt interest) and pays them at least monthly, as most municipal
        bond mutual funds do, so a loss on its shares held six months or less is not
        disallowed up to them (IRC §852(b)(4)(E)(ii)). Default False: the rule of
        §852(b)(4)(B) applies.
    section_199a_fraction : array-like of float
        Fraction (0..1) of ``dividend`` that is a qualified REIT dividend (IRC §199A(e)(3):
        neither a capital gain dividend nor qualified dividend income) or, for a fund, a
        section 199A dividend (Treas. Reg. §1.199A-3(d); Form 1099-DIV box 5, part of box 1a
        and never of box 1b), of which the household deducts ``TaxRates.section_199a_deduction``
        (20% from 2018) when the shares pass the 46-day holding test. With
        ``qualified_fraction`` at most 1. Default ``1 - qualified_fraction`` for "reit", 0.0
        otherwise (:func:`default_section_199a_fraction`).
    collectibles_fraction : array-like of float
        Fraction (0..1) of ``lt_capital_gain`` that is 28% rate gain, collectibles gain
        (Form 1099-DIV box 2d, part of box 2a; IRC §1(h)(4)-(5)), e.g. a fund's sales of
        metal. Default 0.0.
    unrecaptured_1250_fraction : array-like of float
        Fraction (0..1) of ``lt_capital_gain`` that is unrecaptured section 1250 gain, taxed
        at up to 25% (Form 1099-DIV box 2b, part of box 2a; IRC §1(h)(6)), typical of a
        REIT's capital gain dividends. Default 0.0. With ``collectibles_fraction`` at most 1.
    source : str
        Where the data came from, for chart footnotes.

    Notes
    -----
    Frozen: fields cannot be reassigned and every array is read-only. Use
    :func:`dataclasses.replace` or the methods to derive a new ``Market``; every construction
    is validated (:mod:`taxsim.market.validation`) and raises :class:`MarketDataError`
    naming the ticker and date of the first problem.
    """

    dates: np.ndarray
    tickers: tuple[str, ...]
    close: np.ndarray
    dividend: np.ndarray | None = None
    st_capital_gain: np.ndarray | None = None
    lt_capital_gain: np.ndarray | None = None
    return_of_capital: np.ndarray | None = None
    interest: np.ndarray | None = None
    split_ratio: np.ndarray | None = None
    asset_class: tuple[str, ...] | None = None
    tax_character: tuple[str, ...] | None = None
    qualified_fraction: np.ndarray | None = None
    identity_group: tuple[str, ...] | None = None
    expense_ratio: np.ndarray | None = None
    sector: tuple[str, ...] | None = None
    exempt_interest_daily: np.ndarray | None = None
    section_199a_fraction: np.ndarray | None = None
    collectibles_fraction: np.ndarray | None = None
    unrecaptured_1250_fraction: np.ndarray | None = None
    source: str = field(default="")

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        dates = np.array(to_days(self.dates), dtype=np.int64, copy=True)
        dates.flags.writeable = False
        set_(self, "dates", dates)
        if isinstance(self.tickers, str):
            raise MarketDataError("tickers must be a sequence of names, not one string")
        tickers = tuple(str(t) for t in self.tickers)
        set_(self, "tickers", tickers)
        check_tickers(tickers)
        check_dates(dates)
        shape = (len(dates), len(tickers))
        close = self.close if isinstance(self.close, np.ndarray) else np.asarray(self.close)
        check_shapes(len(dates), tickers, {"close": close})
        set_(self, "close", _frozen_array(close))
        for name in DISTRIBUTION_FIELDS:
            value = getattr(self, name)
            set_(self, name, _frozen_array(0.0 if value is None else value, shape))
        split = self.split_ratio
        set_(self, "split_ratio", _frozen_array(1.0 if split is None else split, shape))
        check_shapes(len(dates), tickers, {name: getattr(self, name) for name in ARRAY_FIELDS})

        n = len(tickers)
        character = self.tax_character
        character = ("equity",) * n if character is None else tuple(map(str, character))
        set_(self, "tax_character", character)
        valid = [c if c in TAX_CHARACTERS else "equity" for c in character]
        if self.asset_class is None:
            set_(self, "asset_class", tuple(DEFAULT_ASSET_CLASS[c] for c in valid))
        else:
            set_(self, "asset_class", tuple(map(str, self.asset_class)))
        if self.qualified_fraction is None:
            qualified = [DEFAULT_QUALIFIED_FRACTION[c] for c in valid]
        else:
            qualified = self.qualified_fraction
        set_(self, "qualified_fraction", _frozen_numbers(qualified, tickers, "qualified_fraction"))
        group = tickers if self.identity_group is None else tuple(map(str, self.identity_group))
        set_(self, "identity_group", group)
        expense = np.zeros(n) if self.expense_ratio is None else self.expense_ratio
        set_(self, "expense_ratio", _frozen_numbers(expense, tickers, "expense_ratio"))
        set_(self, "sector", ("",) * n if self.sector is None else tuple(map(str, self.sector)))
        daily = np.zeros(n, np.bool_) if self.exempt_interest_daily is None else (
            self.exempt_interest_daily)
        set_(self, "exempt_interest_daily", _frozen_flags(daily, tickers))
        if self.section_199a_fraction is None:
            section_199a = [default_section_199a_fraction(c, q)
                            for c, q in zip(valid, self.qualified_fraction, strict=False)]
        else:
            section_199a = self.section_199a_fraction
        set_(self, "section_199a_fraction",
             _frozen_numbers(section_199a, tickers, "section_199a_fraction"))
        for name in ("collectibles_fraction", "unrecaptured_1250_fraction"):
            value = getattr(self, name)
            value = np.zeros(n) if value is None else value
            set_(self, name, _frozen_numbers(value, tickers, name))
        set_(self, "source", str(self.source))
        check_metadata(
            tickers,
            self.tax_character,
            self.qualified_fraction,
            self.expense_ratio,
            {
                "asset_class": self.asset_class,
                "identity_group": self.identity_group,
                "sector": self.sector,
                "exempt_interest_daily": self.exempt_interest_daily,
            },
            self.section_199a_fraction,
            self.collectibles_fraction,
            self.unrecaptured_1250_fraction,
        )

        if getattr(_ADOPTED, "checked", False):
            return  # a subset of a checked market (Market._take)
        check_close(self.close, dates, tickers)
        check_events(
            self.close,
            dates,
            tickers,
            {name: getattr(self, name) for name in DISTRIBUTION_FIELDS},
            self.split_ratio,
        )

    # ------------------------------------------------------------------ basic views
    @property
    def n_dates(self) -> int:
        """Number of trading dates."""
        return len(self.dates)

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return len(self.tickers)

    @property
    def pandas_dates(self) -> pd.DatetimeIndex:
        """The trading dates as a ``pandas.DatetimeIndex`` (midnight, no time zone).

        Converted once; each call returns a new index object over the same values, so renaming
        it does not rename the market's.
        """
        return self._pandas_dates.copy()

    @functools.cached_property
    def _pandas_dates(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.dates.astype("datetime64[D]").astype("datetime64[ns]"))

    @functools.cached_property
    def event_day(self) -> np.ndarray:
        """True on the dates with a split or a distribution of any asset (bool, shape
        (n_dates,)); the day loop tests the assets' events only on these."""
        events = (self.split_ratio != 1.0) | (self.distributions != 0.0)
        flags = events.any(axis=1)
        flags.flags.writeable = False
        return flags

    @functools.cached_property
    def first_index(self) -> np.ndarray:
        """Index into ``dates`` of each asset's first price (int64, shape (n_assets,))."""
        first = price_spans(self.close)[0]
        first.flags.writeable = False
        return first

    @functools.cached_property
    def last_index(self) -> np.ndarray:
        """Index into ``dates`` of each asset's last price (int64, shape (n_assets,))."""
        last = price_spans(self.close)[1]
        last.flags.writeable = False
        return last

    @functools.cached_property
    def collectible(self) -> np.ndarray:
        """True for the assets whose shares are collectibles (bool, shape (n_assets,)):
        ``tax_character == "collectible"``. Their long-term gains on sale are taxed at up to
        28% (IRC §1(h)(4)-(5)); the simulator passes them to the ledger's ``collectibles``."""
        flags = np.array([c == "collectible" for c in self.tax_character], np.bool_)
        flags.flags.writeable = False
        return flags

    @property
    def collectible_tickers(self) -> tuple[str, ...]:
        """The tickers whose tax character is "collectible", in column order."""
        return tuple(t for t, c in zip(self.tickers, self.collectible, strict=True) if c)

    @property
    def distributions(self) -> np.ndarray:
        """All cash distributions per share and date: the sum of the five fields (dollars)."""
        return (
            self.dividend
            + self.st_capital_gain
            + self.lt_capital_gain
            + self.return_of_capital
            + self.interest
        )

    def index_of(self, ticker: str) -> int:
        """Column of ``ticker``; raises ``KeyError`` naming it if absent."""
        try:
            return self.tickers.index(ticker)
        except ValueError:
            raise KeyError(f"{ticker}: not in this market ({len(self.tickers)} tickers)") from None

    def __repr__(self) -> str:
        if self.n_dates:
            span = f"{format_day(self.dates[0])}..{format_day(self.dates[-1])}"
        else:
            span = "no dates"
        names = ", ".join(self.tickers[:6]) + (", ..." if self.n_assets > 6 else "")
        return (
            f"Market({self.n_dates} dates {span}, {self.n_assets} assets [{names}], "
            f"source={self.source!r})"
        )

    # ------------------------------------------------------------------ returns
    def total_return(self) -> np.ndarray:
        """Daily total return (fraction), shape (n_dates, n_assets).

        ``(close_t + distributions_t) * split_ratio_t / close_{t-1} - 1``; NaN on an asset's
        first date and wherever it has no price.
        """
        out = np.full(self.close.shape, np.nan)
        with np.errstate(invalid="ignore"):
            out[1:] = (self.close[1:] + self.distributions[1:]) * self.split_ratio[1:] / self.close[
                :-1
            ] - 1.0
        return out

    def total_return_index(self) -> np.ndarray:
        """Growth of one dollar with every distribution reinvested at the close.

        Shape (n_dates, n_assets); 1.0 on each asset's first price date, NaN where it has
        no price.
        """
        growth = 1.0 + self.total_return()
        growth[np.isnan(growth)] = 1.0  # first price date (and dates without a price)
        index = np.cumprod(growth, axis=0)
        index[np.isnan(self.close)] = np.nan
        return index

    # ------------------------------------------------------------------ derived markets
    def select(self, tickers: Iterable[str]) -> Market:
        """A market with only ``tickers``, in that order (metadata follows)."""
        tickers = [tickers] if isinstance(tickers, str) else list(tickers)
        cols = [self.index_of(t) for t in tickers]
        return self._take(slice(None), cols)

    def between(self, start: Any = None, end: Any = None) -> Market:
        """A market with the dates from ``start`` to ``end``, both inclusive (None: open).

        Assets keep their columns even if they have no price in the window (then all NaN).
        """
        lo = 0 if start is None else int(np.searchsorted(self.dates, to_day(start), "left"))
        hi = self.n_dates if end is None else int(np.searchsorted(self.dates, to_day(end), "right"))
        return self._take(slice(lo, hi), list(range(self.n_assets)))

    def _take(self, rows: slice, cols: list[int]) -> Market:
        def pick(seq):
            return tuple(seq[c] for c in cols)

        arrays = {name: np.ascontiguousarray(getattr(self, name)[rows][:, cols])
                  for name in ARRAY_FIELDS}
        return _adopting(
            Market, arrays, checked=True,
            dates=self.dates[rows],
            tickers=pick(self.tickers),
            asset_class=pick(self.asset_class),
            tax_character=pick(self.tax_character),
            qualified_fraction=self.qualified_fraction[cols],
            identity_group=pick(self.identity_group),
            expense_ratio=self.expense_ratio[cols],
            sector=pick(self.sector),
            exempt_interest_daily=self.exempt_interest_daily[cols],
            section_199a_fraction=self.section_199a_fraction[cols],
            collectibles_fraction=self.collectibles_fraction[cols],
            unrecaptured_1250_fraction=self.unrecaptured_1250_fraction[cols],
            source=self.source,
        )

    def split_adjusted(self) -> Market:
        """The same history restated in today's shares: no split events.

        Prices and distributions before each split are divided by the product of the split
        ratios that follow them; ``split_ratio`` becomes 1 everywhere. Total returns are
        unchanged.
        """
        split = self.split_ratio
        # product of the ratios strictly after each date
        after = np.ones_like(split)
        after[:-1] = np.cumprod(split[::-1], axis=0)[::-1][1:]
        arrays = {name: getattr(self, name) / after for name in ("close", *DISTRIBUTION_FIELDS)}
        return dataclasses.replace(self, **arrays, split_ratio=None)

    def net_of_expenses(self) -> Market:
        """The same history with each asset's ``expense_ratio`` taken out, as a fund does.

        For prices gross of fund expenses (an index level, a model's index returns). A fund
        takes its expenses out of its assets day by day, so its price and its distributions
        are lower by the expenses accrued since: close and distributions on day ``t`` are
        multiplied by ``(1 - expense_ratio) ** (calendar days since the first date / 365.25)``.
        Each day's total return is then the gross one times the day's expense factor, and a
        year's is lower by the expense ratio (a fraction of assets per year). Nothing is
        taxed or paid in cash: fund expenses are not the shareholder's deduction. Real fund
        prices (Yahoo, the files of ``../shared/data``) and the synthetic generator's are
        already net of them: do not apply this to those. ``source`` says it was applied.
        """
        expense_ratio = np.asarray(self.expense_ratio, dtype=np.float64)
        if np.any(~np.isfinite(expense_ratio) | (expense_ratio < 0) | (expense_ratio >= 1)):
            bad = int(np.nonzero(~((expense_ratio >= 0) & (expense_ratio < 1)))[0][0])
            raise MarketDataError(
                f"{self.tickers[bad]}: expense_ratio {expense_ratio[bad]!r} is not a fraction "
                "in [0, 1)"
            )
        years = (self.dates - self.dates[0]).astype(np.float64)[:, None] / 365.25
        factor = (1.0 - expense_ratio[None, :]) ** years
        arrays = {name: getattr(self, name) * factor for name in ("close", *DISTRIBUTION_FIELDS)}
        charged = [t for t, e in zip(self.tickers, expense_ratio, strict=True) if e > 0]
        note = f"net of expense ratios ({len(charged)} of {self.n_assets} assets)"
        source = f"{self.source}; {note}" if self.source else note
        return dataclasses.replace(self, **arrays, source=source)

    def with_metadata(
        self, metadata: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None, **fields
    ) -> Market:
        """A copy with metadata replaced.

        Parameters
        ----------
        metadata : mapping or DataFrame, optional
            Per ticker (keys or index) a mapping of metadata fields; tickers left out keep
            theirs. Every ticker named must be in the market.
        **fields
            Whole metadata fields, aligned with ``tickers`` (e.g. ``expense_ratio=[...]``).

        Notes
        -----
        A ticker given a ``tax_character`` but not a ``qualified_fraction``,
        ``asset_class`` or ``section_199a_fraction`` gets the new character's defaults for
        them. A new ``qualified_fraction`` without a ``section_199a_fraction`` moves the
        latter only where it was the default (``1 - qualified_fraction`` for a REIT), so a
        value set before is kept. Whole fields follow the same rule for
        ``section_199a_fraction``. ``collectibles_fraction`` and
        ``unrecaptured_1250_fraction`` (parts of the capital gain distribution, whatever the
        character) are kept when the tax character changes.

        Raises
        ------
        MarketDataError
            A ticker of ``metadata`` that is not in the market (a typo would otherwise leave
            the intended ticker with its defaults), or an unknown metadata field.
        """
        current = {name: list(getattr(self, name)) for name in METADATA_FIELDS}
        items = _metadata_items(metadata)
        unknown = [ticker for ticker, _ in items if ticker not in self.tickers]
        if unknown:
            names = ", ".join(self.tickers[:8]) + (", ..." if self.n_assets > 8 else "")
            raise MarketDataError(
                f"{', '.join(unknown)}: metadata given for a ticker not in this market "
                f"({self.n_assets} tickers: {names})"
            )
        for ticker, values in items:
            col = self.tickers.index(ticker)
            section_199a_was_default = _section_199a_is_default(current, col)
            for name, value in values.items():
                if name not in METADATA_FIELDS:
                    raise MarketDataError(f"{ticker}: unknown metadata field {name!r}")
                current[name][col] = value
                if name == "tax_character" and "qualified_fraction" not in values:
                    current["qualified_fraction"][col] = DEFAULT_QUALIFIED_FRACTION.get(value, 1.0)
                if name == "tax_character" and "asset_class" not in values:
                    current["asset_class"][col] = DEFAULT_ASSET_CLASS.get(value, "equity")
            # a new character resets the §199A fraction like the qualified one; a new qualified
            # fraction moves it only where it was the default, so a REIT's stays 1 - q
            if "section_199a_fraction" not in values and (
                "tax_character" in values
                or ("qualified_fraction" in values and section_199a_was_default)
            ):
                _reset_section_199a(current, col)
        was_default = []  # per column, for whole fields that move the §199A default
        if "section_199a_fraction" not in fields and (
            "tax_character" in fields or "qualified_fraction" in fields
        ):
            was_default = [_section_199a_is_default(current, col) for col in range(self.n_assets)]
        current.update(fields)
        if was_default and all(  # misaligned fields are refused by the checks
            np.ndim(current[name]) == 1 and len(current[name]) == self.n_assets
            for name in ("tax_character", "qualified_fraction")
        ):
            for col in np.nonzero(was_default)[0]:
                _reset_section_199a(current, int(col))
        return dataclasses.replace(self, **current)

    # ------------------------------------------------------------------ pandas edges
    def to_frame(self) -> pd.DataFrame:
        """Tidy long frame: one row per (date, ticker) with a price, sorted by ticker then date.

        Columns: ``date`` (datetime64), ``ticker``, ``close``, ``dividend``,
        ``st_capital_gain``, ``lt_capital_gain``, ``return_of_capital``, ``interest``,
        ``split_ratio``. Metadata is in :meth:`metadata_frame`.
        """
        has = ~np.isnan(self.close.T)  # assets x dates, so rows come out ticker-major
        asset_idx, date_idx = np.nonzero(has)
        frame = {
            "date": self.dates[date_idx].astype("datetime64[D]").astype("datetime64[ns]"),
            "ticker": pd.Categorical.from_codes(asset_idx, categories=list(self.tickers)),
        }
        for name in ARRAY_FIELDS:
            frame[name] = getattr(self, name).T[has]
        return pd.DataFrame(frame)

    def metadata_frame(self) -> pd.DataFrame:
        """Per-asset metadata, indexed by ticker (columns: the metadata fields)."""
        return pd.DataFrame(
            {name: list(getattr(self, name)) for name in METADATA_FIELDS},
            index=pd.Index(self.tickers, name="ticker"),
        )

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        tickers: Sequence[str] | None = None,
        metadata: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None,
        source: str = "",
        gaps: str = "error",
        calendar: str = "auto",
    ) -> Market:
        """Build a market from a tidy long frame (one row per date and ticker).

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns ``date``, ``ticker``, ``close`` and optionally ``dividend``,
            ``st_capital_gain``, ``lt_capital_gain``, ``return_of_capital``, ``interest``
            (dollars per share on the ex-date) and ``split_ratio`` (raw-price form). Other
            columns (e.g. ``adjusted_close``) are ignored. Rows may come in any ticker order
            but each ticker's dates must increase. See ``data/README.md``.
        tickers : sequence of str, optional
            Column order of the market; every one must have rows. Default: sorted tickers.
        metadata : mapping or DataFrame, optional
            Per-ticker metadata (see :meth:`with_metadata`).
        source : str
            Where the data came from.
        gaps : {"error", "carry_forward"}
            What to do with a date, between a ticker's first and last row, on which other
            tickers have rows but it has none (or a NaN close). "error" (default) raises
            :class:`MarketDataError` naming the ticker and dates. "carry_forward" is an
            explicit opt-in: the previous close is repeated (no distribution, no split that
            day), a :class:`MarketDataWarning` lists every filled ticker and date, and
            ``source`` says how many prices were filled. A row whose close is NaN on a
            ticker's first or last row is an error either way: before a listing and after a
            delisting rows are absent, not NaN.
        calendar : {"auto", "nyse", "dates"}
            The date axis, which decides what a missing date is:

            - "nyse": the NYSE sessions (XNYS, :func:`taxsim.market.calendar.nyse_trading_days`)
              from the first date to the last, so a session missing from one ticker's rows is
              a gap even when no other ticker has a row that day (one ticker loaded alone).
              Sessions inside no ticker's span (between two tickers' histories) are left
              out. A date that is not a session, or outside 1990-2100, is an error naming
              the ticker and date.
            - "dates": the dates present in the frame, for data on another calendar (a
              foreign exchange, hand-made or synthetic dates). A date missing from one
              ticker is a gap only where other tickers have rows.
            - "auto" (default): "nyse" when every date is an NYSE session within 1990-2100
              and the rows cover at least half of the sessions of the tickers' spans (daily
              US data: every file of ``../shared/data``, Yahoo's US listings); otherwise
              "dates" (a date that is not a session: another calendar; or weekly, monthly
              or other sparse dates).

        Raises
        ------
        MarketDataError
            Missing columns, a ticker without rows, duplicate or unsorted dates within a
            ticker, a NaN close on a ticker's first or last row, a date off the NYSE calendar
            with ``calendar="nyse"``, and every check of :mod:`taxsim.market.validation`.
        """
        if gaps not in ("error", "carry_forward"):
            raise ValueError(f"gaps must be 'error' or 'carry_forward', not {gaps!r}")
        if calendar not in CALENDARS:
            raise ValueError(f"calendar must be one of {CALENDARS}, not {calendar!r}")
        missing = [c for c in ("date", "ticker", "close") if c not in frame.columns]
        if missing:
            raise MarketDataError(f"frame lacks required column(s) {missing}")
        codes, names = pd.factorize(frame["ticker"], sort=False)
        names = [str(n) for n in names]
        if (codes < 0).any():
            row = int(np.nonzero(codes < 0)[0][0])
            raise MarketDataError(f"row {row}: missing ticker")
        days = to_days(frame["date"].to_numpy())

        # each ticker's dates must increase in file order
        if len(codes) > 1 and (np.diff(codes) < 0).any():
            order = np.argsort(codes, kind="stable")
            codes_sorted, days_sorted = codes[order], days[order]
        else:
            codes_sorted, days_sorted = codes, days
        same = codes_sorted[1:] == codes_sorted[:-1]
        step = np.diff(days_sorted)
        checks = (("duplicate date", same & (step == 0)), ("dates not sorted", same & (step < 0)))
        for problem, bad in checks:
            if bad.any():
                i = int(np.nonzero(bad)[0][0])
                ticker = names[codes_sorted[i + 1]]
                raise MarketDataError(
                    f"{ticker}: {problem}: {format_day(days_sorted[i + 1])} after "
                    f"{format_day(days_sorted[i])} ({int(bad.sum())} in all)"
                )

        if tickers is None:
            column_of = np.argsort(np.argsort(names, kind="stable"))
            ordered = sorted(names)
        else:
            ordered = [str(t) for t in tickers]
            position = {t: i for i, t in enumerate(ordered)}
            absent = [t for t in ordered if t not in set(names)]
            if absent:
                raise MarketDataError(f"{absent[0]}: no rows in the data")
            column_of = np.array([position.get(n, -1) for n in names], dtype=np.int64)
            keep = column_of[codes] >= 0
            codes, days = codes[keep], days[keep]
            frame = frame.loc[keep] if not keep.all() else frame

        cols = column_of[codes]
        all_dates = _date_axis(days, cols, len(ordered), ordered, calendar)
        if len(all_dates):  # every row's date is on the axis
            row_of = np.zeros(int(all_dates[-1] - all_dates[0]) + 1, dtype=np.int64)
            row_of[all_dates - all_dates[0]] = np.arange(len(all_dates))
            rows = row_of[days - all_dates[0]]
        else:
            rows = np.zeros(0, dtype=np.int64)
        shape = (len(all_dates), len(ordered))

        arrays: dict[str, np.ndarray] = {}
        for name in ARRAY_FIELDS:
            if name not in frame.columns:
                continue
            values = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
            if name == "close":
                array = np.full(shape, np.nan)
                array[rows, cols] = values
            else:
                # events are sparse: write only the cells that differ from the default
                default = 1.0 if name == "split_ratio" else 0.0
                array = np.zeros(shape) if default == 0.0 else np.full(shape, default)
                event = values != default  # NaN included, for validation to name it
                array[rows[event], cols[event]] = values[event]
            arrays[name] = array
        if "close" in arrays:
            has_row = np.zeros(shape, dtype=bool)
            has_row[rows, cols] = True
            check_row_closes(has_row, arrays["close"], all_dates, ordered)
        if gaps == "carry_forward" and "close" in arrays:
            filled = carry_forward_gaps(arrays["close"])
            if filled.any():
                cols_filled = np.nonzero(filled.any(axis=0))[0]
                listing = "; ".join(
                    f"{ordered[c]}: {format_days(all_dates[np.nonzero(filled[:, c])[0]])}"
                    for c in cols_filled
                )
                warnings.warn(
                    f"{int(filled.sum())} missing close prices carried forward: {listing}",
                    MarketDataWarning,
                    stacklevel=2,
                )
                note = f"{int(filled.sum())} missing closes carried forward"
                source = f"{source}; {note}" if source else note
        market = _adopting(cls, arrays, all_dates, tuple(ordered), source=source)
        if metadata is not None:
            market = market.with_metadata(metadata)
        return market


#: Date axes of :meth:`Market.from_frame` (see its ``calendar`` parameter).
CALENDARS = ("auto", "nyse", "dates")

# "auto" takes data for daily NYSE data when its rows cover at least this share of the
# sessions of its tickers' spans (daily data with a few gaps: ~1.0; weekly: 0.2)
_AUTO_MIN_COVERAGE = 0.5


def _date_axis(
    days: np.ndarray, cols: np.ndarray, n_assets: int, tickers: Sequence[str], calendar: str
) -> np.ndarray:
    """The date axis (sorted day numbers) of :meth:`Market.from_frame` for rows on ``days``
    of the assets ``cols``; ``calendar`` as there."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    lo = int(days.min())
    present = np.zeros(int(days.max()) - lo + 1, dtype=bool)
    present[days - lo] = True
    dates = np.nonzero(present)[0].astype(np.int64) + lo
    if calendar == "dates":
        return dates

    from taxsim.market.calendar import calendar_bounds, xnys_sessions

    def off_calendar(bad_dates: np.ndarray, problem: str) -> MarketDataError:
        row = int(np.nonzero(np.isin(days, bad_dates))[0][0])
        ticker = tickers[cols[row]]
        mine = np.unique(days[cols == cols[row]])
        return MarketDataError(
            f"{ticker}: {problem} (calendar='nyse'): "
            f"{format_days(mine[np.isin(mine, bad_dates)])}; "
            "use calendar='dates' for data on another calendar"
        )

    first_day, last_day = calendar_bounds()
    outside = (dates < first_day) | (dates > last_day)
    if outside.any():
        if calendar == "auto":
            return dates
        raise off_calendar(dates[outside], "dates outside the XNYS calendar's 1990-2100")
    sessions = xnys_sessions()
    at = np.searchsorted(sessions, dates)
    not_session = sessions[np.minimum(at, len(sessions) - 1)] != dates
    if not_session.any():
        if calendar == "auto":
            return dates
        raise off_calendar(dates[not_session], "not an NYSE trading day")
    candidates = sessions[at[0] : at[-1] + 1]
    # sessions inside some asset's span (first to last row): a missing one is a gap
    first = np.full(n_assets, np.iinfo(np.int64).max)
    last = np.full(n_assets, np.iinfo(np.int64).min)
    np.minimum.at(first, cols, days)
    np.maximum.at(last, cols, days)
    listed = first <= last
    starts = np.searchsorted(candidates, first[listed])
    stops = np.searchsorted(candidates, last[listed], "right")
    depth = np.zeros(len(candidates) + 1, dtype=np.int64)
    np.add.at(depth, starts, 1)
    np.add.at(depth, stops, -1)
    axis = candidates[np.cumsum(depth[:-1]) > 0]
    if calendar == "auto" and len(dates) < _AUTO_MIN_COVERAGE * len(axis):
        return dates  # sparse dates (weekly, monthly, ...): not daily NYSE data
    return axis


def carry_forward_gaps(close: np.ndarray) -> np.ndarray:
    """Fill, in place, NaN closes inside each asset's span with the previous close.

    Parameters
    ----------
    close : numpy.ndarray, shape (n_dates, n_assets)
        Modified in place.

    Returns
    -------
    numpy.ndarray of bool
        The cells that were filled.
    """
    first, last = price_spans(close)
    rows = np.arange(close.shape[0])[:, None]
    inside = (rows >= first[None, :]) & (rows <= last[None, :])
    filled = inside & np.isnan(close)
    if filled.any():
        source_row = np.where(np.isnan(close), 0, rows)
        np.maximum.accumulate(source_row, axis=0, out=source_row)
        cols = np.nonzero(filled)
        close[cols] = close[source_row[cols], cols[1]]
    return filled


def _section_199a_is_default(current: dict[str, list], col: int) -> bool:
    """Whether column ``col`` of :meth:`Market.with_metadata`'s metadata lists has the default
    ``section_199a_fraction`` of its tax character and qualified fraction."""
    try:
        default = default_section_199a_fraction(current["tax_character"][col],
                                                current["qualified_fraction"][col])
    except (TypeError, ValueError):  # a bad qualified fraction: validation names it
        return False
    return current["section_199a_fraction"][col] == default


def _reset_section_199a(current: dict[str, list], col: int) -> None:
    """Set column ``col``'s ``section_199a_fraction`` to the default of its tax character and
    qualified fraction (left as is when the qualified fraction is not a number)."""
    try:
        current["section_199a_fraction"][col] = default_section_199a_fraction(
            current["tax_character"][col], current["qualified_fraction"][col])
    except (TypeError, ValueError):
        pass


def _metadata_items(metadata) -> Iterable[tuple[str, Mapping[str, Any]]]:
    if metadata is None:
        return []
    if isinstance(metadata, pd.DataFrame):
        frame = metadata.set_index("ticker") if "ticker" in metadata.columns else metadata
        return [(str(t), row.dropna().to_dict()) for t, row in frame.iterrows()]
    return [(str(t), dict(v)) for t, v in metadata.items()]
