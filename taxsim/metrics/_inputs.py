"""Input handling shared by the metrics: numpy arrays and pandas Series alike (empyrical style).

A metric accepts a 1-d numpy array or a pandas Series. A Series brings its own dates (its
index, when it is a ``DatetimeIndex``); an array needs ``dates=`` wherever calendar time
matters (annualizing, windows). Series-valued metrics give back the kind they were given.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25
"""Calendar days per year used to annualize (Julian year: 365.25 days)."""

TRADING_DAYS_PER_YEAR = 252
"""Trading days per year used to annualize daily volatilities (NYSE convention)."""


class MetricsError(ValueError):
    """Input a metric cannot use; the message names the argument."""


def as_float_array(values: Any, name: str) -> np.ndarray:
    """``values`` (array, Series or sequence) as a 1-d float64 array."""
    if isinstance(values, pd.DataFrame):
        raise MetricsError(f"{name}: expected a 1-d array or Series, got a DataFrame")
    array = np.asarray(values.to_numpy() if isinstance(values, pd.Series) else values,
                       dtype=np.float64)
    if array.ndim != 1:
        raise MetricsError(f"{name}: expected a 1-d array, got shape {array.shape}")
    return array


def dates_of(values: Any, dates: Any = None) -> pd.DatetimeIndex | None:
    """The dates of ``values``: ``dates`` if given, else a Series' DatetimeIndex, else None."""
    if dates is not None:
        return pd.DatetimeIndex(pd.to_datetime(dates))
    if isinstance(values, pd.Series) and isinstance(values.index, pd.DatetimeIndex):
        return values.index
    return None


def like(result: np.ndarray, template: Any) -> Any:
    """``result`` as a Series on ``template``'s index when ``template`` is a Series."""
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index, name=template.name)
    return result


def optional_flows(flows: Any, n: int) -> np.ndarray:
    """External flows as an array of length ``n`` (zeros when None)."""
    if flows is None:
        return np.zeros(n)
    array = as_float_array(flows, "flows")
    if array.shape[0] != n:
        raise MetricsError(f"flows: length {array.shape[0]} differs from values' {n}")
    return array


def window(dates: pd.DatetimeIndex | None, n: int, start: Any, end: Any) -> tuple[int, int]:
    """Positions ``(i0, i1)`` of the window's first and last rows, both included.

    ``start`` is the last date on or before the given start (the valuation the window starts
    from), ``end`` the last date on or before the given end. Without dates, ``start``/``end``
    must be None (the whole series).
    """
    if n < 1:
        raise MetricsError("values: empty")
    if dates is None:
        if start is not None or end is not None:
            raise MetricsError("start/end need dates: pass a Series with a DatetimeIndex or dates=")
        return 0, n - 1
    if len(dates) != n:
        raise MetricsError(f"dates: length {len(dates)} differs from values' {n}")
    if dates.hasnans:
        raise MetricsError(f"dates: missing date (NaT) at row {int(np.argmax(dates.isna()))}")
    if not (dates.is_monotonic_increasing and dates.is_unique):
        bad = int(np.argmin(np.asarray(dates[1:] > dates[:-1]))) + 1
        raise MetricsError(f"dates: must be strictly increasing; {dates[bad].date()} comes "
                           f"after {dates[bad - 1].date()}")
    i0 = 0 if start is None else int(dates.searchsorted(pd.Timestamp(start), side="right")) - 1
    i1 = n - 1 if end is None else int(dates.searchsorted(pd.Timestamp(end), side="right")) - 1
    if i0 < 0:
        raise MetricsError(f"start {pd.Timestamp(start).date()} is before the first date "
                           f"{dates[0].date()}")
    if i1 <= i0:
        raise MetricsError(f"window [{start}, {end}] holds no return: end must be after start")
    return i0, i1


def years_between(first: pd.Timestamp, last: pd.Timestamp) -> float:
    """Calendar days from ``first`` to ``last`` over 365.25."""
    return (pd.Timestamp(last) - pd.Timestamp(first)).days / DAYS_PER_YEAR
