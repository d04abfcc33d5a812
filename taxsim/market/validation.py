"""Checks that market data is complete and consistent, with errors that name ticker and date.

Every check raises :class:`MarketDataError` (a ``ValueError``) whose message names the ticker
and the offending date(s), so a bad row in a 2-million-row file can be found at once. The
checks are vectorised over the whole (dates x assets) array; they cost a few tens of
milliseconds on the 504-stock, 22-year S&P 500 file.

Rules (the contract the simulator relies on):

- ``dates`` are int64 day numbers (days since 1970-01-01), strictly increasing: no duplicate,
  no unsorted date.
- Every array field has shape ``(n_dates, n_assets)``; metadata has one entry per ticker.
- ``close`` is finite and positive from an asset's first price to its last and NaN outside
  that span. A NaN inside the span is a gap: it is an error, never forward-filled. In tidy
  data a row whose close is NaN outside the span (on a ticker's first or last row) is an
  error too: rows outside a ticker's history are absent, not NaN.
- Distributions (dollars per share) are finite and non-negative, and non-zero only on dates
  where the asset has a price.
- ``split_ratio`` is finite and positive, and differs from 1 only on dates with a price.
- ``qualified_fraction`` and ``section_199a_fraction`` are within [0, 1] and, per ticker, sum
  to at most 1; ``expense_ratio`` is within [0, 1).
- ``collectibles_fraction`` and ``unrecaptured_1250_fraction`` (parts of the long-term capital
  gain distribution) are within [0, 1] and, per ticker, sum to at most 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: "collectible": shares of a grantor trust holding physical metal (GLD, SLV, ...), whose sale
#: is a sale of collectibles (IRC §408(m), §1(h)(5); IRS Pub 550, "Collectibles gain or loss")
TAX_CHARACTERS = ("equity", "taxable_bond", "municipal_bond", "reit", "collectible")
DISTRIBUTION_FIELDS = (
    "dividend",
    "st_capital_gain",
    "lt_capital_gain",
    "return_of_capital",
    "interest",
)
ARRAY_FIELDS = ("close", *DISTRIBUTION_FIELDS, "split_ratio")

_MAX_DATES_LISTED = 5
#: qualified_fraction + section_199a_fraction may exceed 1 by this much (the rounding of
#: ``1 - q``); the ledger's distribute allows the same
SECTION_199A_TOLERANCE = 1e-12
#: collectibles_fraction + unrecaptured_1250_fraction may exceed 1 by as much (the same
#: rounding); the ledger's distribute allows the same
GAIN_PARTS_TOLERANCE = SECTION_199A_TOLERANCE


class MarketDataError(ValueError):
    """Market data that cannot be used as is; the message names the ticker and date(s)."""


class MarketDataWarning(UserWarning):
    """Market data was repaired on request (e.g. gaps carried forward); lists what changed."""


def format_day(day: int | np.integer) -> str:
    """ISO date (``YYYY-MM-DD``) of a day number (days since 1970-01-01)."""
    return str(np.datetime64(int(day), "D"))


def format_days(days: Sequence[int] | np.ndarray) -> str:
    """A short list of ISO dates: the first few, then how many there are in all."""
    days = np.asarray(days)
    shown = ", ".join(format_day(d) for d in days[:_MAX_DATES_LISTED])
    if len(days) > _MAX_DATES_LISTED:
        shown += f", ... ({len(days)} dates in all)"
    return shown


def check_dates(dates: np.ndarray, what: str = "market") -> None:
    """Raise unless ``dates`` (day numbers) are strictly increasing.

    Parameters
    ----------
    dates : numpy.ndarray of int64
        Day numbers (days since 1970-01-01).
    what : str
        Name used in the error message (a ticker, or "market" for the shared date axis).
    """
    if dates.ndim != 1:
        raise MarketDataError(f"{what}: dates must be one-dimensional, got shape {dates.shape}")
    if len(dates) < 2:
        return
    step = np.diff(dates)
    dup = np.nonzero(step == 0)[0]
    if len(dup):
        raise MarketDataError(f"{what}: duplicate dates {format_days(dates[dup + 1])}")
    back = np.nonzero(step < 0)[0]
    if len(back):
        i = back[0]
        raise MarketDataError(
            f"{what}: dates not sorted: {format_day(dates[i + 1])} comes after "
            f"{format_day(dates[i])} ({len(back)} out-of-order dates in all)"
        )


def check_shapes(n_dates: int, tickers: Sequence[str], arrays: dict[str, np.ndarray]) -> None:
    """Raise unless every array is ``(n_dates, n_assets)``."""
    expected = (n_dates, len(tickers))
    for name, array in arrays.items():
        if array.shape != expected:
            raise MarketDataError(
                f"misaligned arrays: {name} has shape {array.shape}, expected {expected} "
                f"(dates x tickers {', '.join(tickers[:5])}{', ...' if len(tickers) > 5 else ''})"
            )


def check_tickers(tickers: Sequence[str]) -> None:
    """Raise on empty or duplicate tickers."""
    seen: set[str] = set()
    for ticker in tickers:
        if not ticker:
            raise MarketDataError("empty ticker name")
        if ticker in seen:
            raise MarketDataError(f"{ticker}: ticker appears twice")
        seen.add(ticker)


def price_spans(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each asset's first and last finite price (-1, -1 for an asset without one).

    Parameters
    ----------
    close : numpy.ndarray, shape (n_dates, n_assets)

    Returns
    -------
    first, last : numpy.ndarray of int64, shape (n_assets,)
    """
    has = ~np.isnan(close)
    any_price = has.any(axis=0)
    first = np.where(any_price, has.argmax(axis=0), -1)
    last = np.where(any_price, close.shape[0] - 1 - has[::-1].argmax(axis=0), -1)
    return first.astype(np.int64), last.astype(np.int64)


def _raise_cells(mask: np.ndarray, dates: np.ndarray, tickers: Sequence[str], problem: str):
    """Raise for the first asset with a True cell in ``mask``, listing its dates."""
    if not mask.any():  # the usual case; a whole-array test is ~50x faster than by column
        return
    cols = np.nonzero(mask.any(axis=0))[0]
    if len(cols) == 0:
        return
    a = cols[0]
    rows = np.nonzero(mask[:, a])[0]
    others = ""
    if len(cols) > 1:
        more = ", ..." if len(cols) > 4 else ""
        others = f" (also {', '.join(tickers[c] for c in cols[1:4])}{more})"
    raise MarketDataError(f"{tickers[a]}: {problem} on {format_days(dates[rows])}{others}")


def check_close(close: np.ndarray, dates: np.ndarray, tickers: Sequence[str]) -> None:
    """Raise on non-finite, zero or negative prices and on gaps inside an asset's span."""
    inf = np.isinf(close)
    _raise_cells(inf, dates, tickers, "infinite close price")
    nonpositive = close <= 0  # NaN compares False
    _raise_cells(nonpositive, dates, tickers, "zero or negative close price")
    first, last = price_spans(close)
    rows = np.arange(close.shape[0])[:, None]
    inside = (rows >= first[None, :]) & (rows <= last[None, :])
    gaps = inside & np.isnan(close)
    _raise_cells(
        gaps,
        dates,
        tickers,
        "missing close price (NaN or no row) between its first and last price, a gap",
    )


def check_row_closes(
    has_row: np.ndarray, close: np.ndarray, dates: np.ndarray, tickers: Sequence[str]
) -> None:
    """Raise on a row present with a NaN close outside its ticker's priced span.

    For tidy data (:meth:`Market.from_frame`), where a row is present or absent. A wide
    ``close`` array cannot tell them apart (NaN there means both "no row" and "not listed");
    rows can: a ticker's rows start on its first price and end on its last, so a NaN close
    on its first or last row (or on every row) is bad data, never a listing date. A NaN close
    between priced rows is a gap, left to :func:`check_close` (or ``gaps="carry_forward"``).

    Parameters
    ----------
    has_row : numpy.ndarray of bool, shape (n_dates, n_assets)
        True where the data has a row.
    close : numpy.ndarray, shape (n_dates, n_assets)
    dates : numpy.ndarray of int64
    tickers : sequence of str
    """
    nan_rows = has_row & np.isnan(close)
    if not nan_rows.any():
        return
    first, last = price_spans(close)
    rows = np.arange(close.shape[0])[:, None]
    inside = (rows >= first[None, :]) & (rows <= last[None, :])
    _raise_cells(
        nan_rows & ~inside,
        dates,
        tickers,
        "NaN close price on its first or last row(s), outside its priced span (rows before "
        "a listing or after a delisting must be absent, not NaN)",
    )


def check_events(
    close: np.ndarray,
    dates: np.ndarray,
    tickers: Sequence[str],
    distributions: dict[str, np.ndarray],
    split_ratio: np.ndarray,
) -> None:
    """Raise on bad distributions or split ratios, or events on dates without a price."""
    no_price = np.isnan(close)
    for name, amount in distributions.items():
        _raise_cells(~np.isfinite(amount), dates, tickers, f"{name} is NaN or infinite")
        _raise_cells(amount < 0, dates, tickers, f"negative {name}")
        _raise_cells(no_price & (amount != 0), dates, tickers, f"{name} on a date with no price")
    _raise_cells(~np.isfinite(split_ratio), dates, tickers, "split ratio is NaN or infinite")
    _raise_cells(split_ratio <= 0, dates, tickers, "split ratio of zero or less")
    _raise_cells(no_price & (split_ratio != 1), dates, tickers, "split on a date with no price")


def check_metadata(
    tickers: Sequence[str],
    tax_character: Sequence[str],
    qualified_fraction: np.ndarray,
    expense_ratio: np.ndarray,
    others: dict[str, Sequence],
    section_199a_fraction: np.ndarray | None = None,
    collectibles_fraction: np.ndarray | None = None,
    unrecaptured_1250_fraction: np.ndarray | None = None,
) -> None:
    """Raise on metadata of the wrong length or with values out of range.

    ``section_199a_fraction`` (optional, fractions): each within [0, 1] and, with the same
    ticker's ``qualified_fraction``, at most 1 (a dividend's qualified part and its section
    199A part are disjoint, IRC §199A(e)(3); Form 1099-DIV box 5 is never part of box 1b).
    ``collectibles_fraction`` and ``unrecaptured_1250_fraction`` (optional, fractions of the
    long-term capital gain distribution, Form 1099-DIV boxes 2d and 2b as parts of box 2a):
    each finite within [0, 1], and per ticker their sum at most 1 (the two parts are
    disjoint). A missing one counts as 0.
    """
    n = len(tickers)
    optional = {
        name: values
        for name, values in (
            ("section_199a_fraction", section_199a_fraction),
            ("collectibles_fraction", collectibles_fraction),
            ("unrecaptured_1250_fraction", unrecaptured_1250_fraction),
        )
        if values is not None
    }
    for name, values in {
        "tax_character": tax_character,
        "qualified_fraction": qualified_fraction,
        "expense_ratio": expense_ratio,
        **others,
        **optional,
    }.items():
        if len(values) != n:
            raise MarketDataError(
                f"misaligned metadata: {name} has {len(values)} entries for {n} tickers"
            )
    for ticker, character in zip(tickers, tax_character, strict=True):
        if character not in TAX_CHARACTERS:
            raise MarketDataError(
                f"{ticker}: tax_character {character!r} is not one of {TAX_CHARACTERS}"
            )
    for ticker, q in zip(tickers, qualified_fraction, strict=True):
        if not 0.0 <= q <= 1.0:
            raise MarketDataError(f"{ticker}: qualified_fraction {q} is not within [0, 1]")
    for ticker, e in zip(tickers, expense_ratio, strict=True):
        if not (np.isfinite(e) and 0.0 <= e < 1.0):
            raise MarketDataError(f"{ticker}: expense_ratio {e} is not a fraction in [0, 1)")
    if section_199a_fraction is not None:
        for ticker, s, q in zip(tickers, section_199a_fraction, qualified_fraction, strict=True):
            if not (np.isfinite(s) and 0.0 <= s <= 1.0):
                raise MarketDataError(f"{ticker}: section_199a_fraction {s} is not within [0, 1]")
            if q + s > 1.0 + SECTION_199A_TOLERANCE:
                raise MarketDataError(
                    f"{ticker}: section_199a_fraction {s} plus qualified_fraction {q} exceeds 1"
                )
    parts = [(name, optional[name]) for name in
             ("collectibles_fraction", "unrecaptured_1250_fraction") if name in optional]
    for name, values in parts:
        for ticker, f in zip(tickers, values, strict=True):
            if not (np.isfinite(f) and 0.0 <= f <= 1.0):
                raise MarketDataError(f"{ticker}: {name} {f} is not within [0, 1]")
    if len(parts) == 2:
        for ticker, c, u in zip(tickers, collectibles_fraction, unrecaptured_1250_fraction,
                                strict=True):
            if c + u > 1.0 + GAIN_PARTS_TOLERANCE:
                raise MarketDataError(
                    f"{ticker}: collectibles_fraction {c} plus unrecaptured_1250_fraction {u} "
                    "exceeds 1 (parts of the long-term capital gain distribution)"
                )
