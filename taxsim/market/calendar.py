"""NYSE trading days from ``exchange_calendars`` (XNYS), as int64 day numbers."""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import numpy as np

from taxsim.market.market import to_day

_FIRST_YEAR = 1990
_LAST_YEAR = 2100


@lru_cache(maxsize=1)
def _xnys_days() -> np.ndarray:
    import exchange_calendars as xcals

    with warnings.catch_warnings():
        # exchange_calendars 4.13 on pandas 3.1 reads Series.values of tz-aware data
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        calendar = xcals.get_calendar(
            "XNYS", start=f"{_FIRST_YEAR}-01-01", end=f"{_LAST_YEAR}-12-31"
        )
    days = calendar.sessions.to_numpy().astype("datetime64[D]").astype(np.int64)
    days.flags.writeable = False
    return days


def calendar_bounds() -> tuple[int, int]:
    """First and last calendar day (day numbers) the XNYS calendar here covers: 1990-01-01
    and 2100-12-31."""
    return to_day(f"{_FIRST_YEAR}-01-01"), to_day(f"{_LAST_YEAR}-12-31")


def xnys_sessions() -> np.ndarray:
    """Every XNYS session from 1990 to 2100 (read-only int64 day numbers, loaded once)."""
    return _xnys_days()


def _check_in_range(day: int, what: str, value: Any) -> None:
    first, last = calendar_bounds()
    if not first <= day <= last:
        raise ValueError(
            f"XNYS sessions are available from {_FIRST_YEAR} to {_LAST_YEAR}: "
            f"{what} {value} is outside"
        )


def nyse_trading_days(start: Any, end: Any = None, *, count: int | None = None) -> np.ndarray:
    """NYSE sessions (XNYS calendar) as int64 day numbers (days since 1970-01-01).

    Parameters
    ----------
    start : date-like
        First calendar day (inclusive).
    end : date-like, optional
        Last calendar day (inclusive). Give ``end`` or ``count``.
    count : int, optional
        Number of sessions from ``start``.

    Returns
    -------
    numpy.ndarray of int64
        Strictly increasing day numbers. Future years follow the calendar's holiday rules
        (ad hoc closures cannot be known in advance).

    Raises
    ------
    ValueError
        ``start`` or ``end`` outside the supported years, 1990 to 2100 (both forms: the
        sessions are never silently clipped), or ``count`` sessions running past 2100.
    """
    days = _xnys_days()
    _check_in_range(to_day(start), "start", start)
    lo = int(np.searchsorted(days, to_day(start), "left"))
    if count is not None:
        if count < 0:
            raise ValueError(f"count must be 0 or more, not {count}")
        if lo + count > len(days):
            raise ValueError(
                f"the XNYS calendar here ends in {_LAST_YEAR}: {count} sessions "
                f"from {start} run past it"
            )
        return days[lo : lo + count].copy()
    if end is None:
        raise ValueError("give end or count")
    _check_in_range(to_day(end), "end", end)
    hi = int(np.searchsorted(days, to_day(end), "right"))
    return days[lo:hi].copy()


def sessions_per_year() -> float:
    """Average NYSE sessions per year (252), the annualisation factor of daily statistics."""
    return 252.0
