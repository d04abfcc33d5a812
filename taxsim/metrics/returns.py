"""Returns: daily, time-weighted, money-weighted (IRR), cumulative and annualized.

Conventions (named in :func:`taxsim.metrics.summarize`):

- **Values** are end-of-day (close) values in dollars; **flows** are external flows in dollars
  on the day they occur, positive into the portfolio (contributions), negative out
  (withdrawals).
- **Flow timing**: ``"start"`` (default) treats a day's flow as arriving at the start of the
  day, before that day's market move: ``r_t = V_t / (V_{t-1} + F_t) - 1`` (the time-weighted
  return with daily valuation and flows at the start of the day, as in the GIPS standards,
  CFA Institute, *GIPS Standards for Firms*, 2020: portfolios valued at each external cash
  flow, sub-period returns geometrically linked). ``"end"`` treats
  it as arriving at the close: ``r_t = (V_t - F_t) / V_{t-1} - 1``; this is the taxsim engine's
  own timing (flows are invested by orders at the close), so the functions that read a
  simulation's daily frame use it. Where the previous value is zero (the first day, or after
  a full withdrawal) both use the start form.
- **Windows** ``[start, end]`` run from the close of ``start`` to the close of ``end``: the
  returns of the days after ``start`` up to and including ``end`` are chained; the value at
  the close of ``start`` is the starting wealth. A date that is not in the series means the
  last date on or before it.
- **Annualizing** uses calendar days: ``(1 + R) ** (365.25 / days) - 1`` with ``days`` the
  calendar days from ``start`` to ``end`` (365.25 = the Julian year, leap years averaged in).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from taxsim.metrics._inputs import (
    DAYS_PER_YEAR,
    MetricsError,
    as_float_array,
    dates_of,
    like,
    optional_flows,
    window,
)

_FLOW_TIMINGS = ("start", "end")
_EMPTY = 1e-9  # dollars: a previous value at or below this is an empty portfolio


def daily_returns(values: Any, flows: Any = None, flow_timing: str = "start") -> Any:
    """Return of each day from end-of-day values and external flows.

    Parameters
    ----------
    values : array or Series
        End-of-day portfolio values, dollars.
    flows : array or Series, optional
        External flows on each day, dollars (positive in, negative out); zeros if omitted.
    flow_timing : {"start", "end"}
        When a day's flow arrives (see the module notes): ``"start"``
        ``r_t = V_t / (V_{t-1} + F_t) - 1``; ``"end"`` ``r_t = (V_t - F_t) / V_{t-1} - 1``.

    Returns
    -------
    array or Series (as ``values``)
        Daily returns, fractions. The first day's previous value is taken as 0: its return is
        ``V_0 / F_0 - 1`` when money arrived that day (the cost of investing it), else 0 (the
        series starts from an existing portfolio). A day that starts and ends empty has 0.

    Raises
    ------
    MetricsError
        If a day's base (the money invested over the day) is negative.
    """
    v = as_float_array(values, "values")
    f = optional_flows(flows, v.shape[0])
    return like(_daily_returns(v, f, flow_timing, dates_of(values)), values)


def _require_finite(name: str, array: np.ndarray, where: pd.DatetimeIndex | None) -> None:
    """Refuse NaN or infinite dollars, naming the first bad day (its date, or its row)."""
    finite = np.isfinite(array)
    if not finite.all():
        first = int(np.argmin(finite))
        label = where[first].date() if where is not None else f"row {first}"
        raise MetricsError(f"{name}: {array[first]} on {label} is not a finite number of dollars")


def _daily_returns(v: np.ndarray, f: np.ndarray, flow_timing: str,
                   where: pd.DatetimeIndex | None = None) -> np.ndarray:
    """:func:`daily_returns` on float64 arrays; ``where``: their dates, to name a bad day."""
    if flow_timing not in _FLOW_TIMINGS:
        raise MetricsError(f"flow_timing must be one of {_FLOW_TIMINGS}, got {flow_timing!r}")
    _require_finite("values", v, where)
    _require_finite("flows", f, where)
    previous = np.concatenate([[0.0], v[:-1]])
    empty_before = previous <= _EMPTY
    if flow_timing == "start":
        base, grown = previous + f, v
    else:
        base = np.where(empty_before, previous + f, previous)
        grown = np.where(empty_before, v, v - f)
    if np.any(base < -_EMPTY):
        first = int(np.argmax(base < -_EMPTY))
        label = where[first].date() if where is not None else f"row {first}"
        raise MetricsError(f"values/flows: negative invested base on {label} ({base[first]:.2f})")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > _EMPTY, grown / base - 1.0, 0.0)


def annualize(cumulative: float, days: float) -> float:
    """Annualized return from a cumulative return over ``days`` calendar days.

    ``(1 + cumulative) ** (365.25 / days) - 1`` (geometric, calendar days over 365.25).
    """
    if not days > 0:
        raise MetricsError(f"days must be positive to annualize, got {days}")
    growth = 1.0 + float(cumulative)
    if growth < 0:
        return float("nan")
    return float(growth ** (DAYS_PER_YEAR / float(days)) - 1.0)


def _chained_return(returns: np.ndarray, i0: int, i1: int) -> float:
    """``prod(1 + r) - 1`` of the returns after row ``i0`` through row ``i1``."""
    return float(np.prod(1.0 + returns[i0 + 1 : i1 + 1]) - 1.0)


def cumulative_return(returns: Any, dates: Any = None, start: Any = None, end: Any = None) -> float:
    """Chained return of the days after ``start`` through ``end``: ``prod(1 + r) - 1``.

    Parameters
    ----------
    returns : array or Series
        Daily returns, fractions.
    dates : array-like of dates, optional
        Needed with an array when ``start``/``end`` are given (a Series uses its index).
    start, end : date-like, optional
        The window (see the module notes); the whole series by default, from its first close.

    Returns
    -------
    float
        Cumulative return, a fraction.
    """
    r = as_float_array(returns, "returns")
    i0, i1 = window(dates_of(returns, dates), r.shape[0], start, end)
    return float(np.prod(1.0 + r[i0 + 1 : i1 + 1]) - 1.0)


def annualized_return(returns: Any, dates: Any = None, start: Any = None, end: Any = None) -> float:
    """Annualized chained return over ``[start, end]`` (calendar days / 365.25).

    Parameters
    ----------
    returns : array or Series
        Daily returns, fractions.
    dates : array-like of dates, optional
        Required with an array (a Series uses its DatetimeIndex).
    start, end : date-like, optional
        The window; the whole series by default.

    Returns
    -------
    float
        ``(1 + cumulative) ** (365.25 / days) - 1``.
    """
    r = as_float_array(returns, "returns")
    when = dates_of(returns, dates)
    if when is None:
        raise MetricsError("annualized_return needs dates: a Series with a DatetimeIndex or dates=")
    i0, i1 = window(when, r.shape[0], start, end)
    cumulative = float(np.prod(1.0 + r[i0 + 1 : i1 + 1]) - 1.0)
    return annualize(cumulative, (when[i1] - when[i0]).days)


def time_weighted_return(
    values: Any,
    flows: Any = None,
    dates: Any = None,
    start: Any = None,
    end: Any = None,
    annualized: bool = True,
    flow_timing: str = "start",
) -> float:
    """Time-weighted return from end-of-day values and external flows.

    The daily returns of :func:`daily_returns` chained over the window (the GIPS
    time-weighted return with daily valuation), so flows do not move the result.

    Parameters
    ----------
    values : array or Series
        End-of-day values, dollars.
    flows : array or Series, optional
        External flows, dollars, positive in.
    dates : array-like of dates, optional
        Required with an array to annualize or to cut a window.
    start, end : date-like, optional
        The window, from the close of ``start`` to the close of ``end``.
    annualized : bool
        Annualize over calendar days / 365.25 (default) or give the cumulative return.
    flow_timing : {"start", "end"}
        See :func:`daily_returns`.

    Returns
    -------
    float
        The return, a fraction (annualized or cumulative).
    """
    v = as_float_array(values, "values")
    when = dates_of(values, dates)
    if annualized and when is None:
        raise MetricsError("an annualized return needs dates: a Series with a DatetimeIndex or "
                           "dates=")
    i0, i1 = window(when, v.shape[0], start, end)
    r = _daily_returns(v, optional_flows(flows, v.shape[0]), flow_timing, when)
    cumulative = _chained_return(r, i0, i1)
    if not annualized:
        return cumulative
    return annualize(cumulative, (when[i1] - when[i0]).days)


def internal_rate_of_return(amounts: Any, dates: Any) -> float:
    """Annual internal rate of return of dated cash flows.

    Solves ``sum(a_i * (1 + r) ** (-(d_i - d_0) / 365.25)) = 0`` for ``r`` in numpy (no scipy):
    with ``x = ln(1 + r)`` the net present value is scanned on a grid of ``x`` in
    [-12, 8] (r from -99.9994% to about 298,000%) for sign changes, the bracket nearest
    ``x = 0`` (the rate nearest 0% where several exist) is kept, and bisection narrows it to
    1e-15 in ``x``. Sums are scaled by their largest discount factor, so long horizons do not
    overflow.

    Parameters
    ----------
    amounts : array or Series
        Cash flows in dollars from the investor's side: money invested negative, money received
        positive.
    dates : array-like of dates
        The date of each flow (any order).

    Returns
    -------
    float
        The annual rate (a fraction), or NaN where no rate makes the value zero (all flows
        of one sign, or no sign change on the grid).
    """
    a = as_float_array(amounts, "amounts")
    when = pd.DatetimeIndex(pd.to_datetime(dates))
    if len(when) != a.shape[0]:
        raise MetricsError(f"dates: length {len(when)} differs from amounts' {a.shape[0]}")
    t = np.asarray((when - when.min()) / pd.Timedelta(days=1), np.float64) / DAYS_PER_YEAR
    keep = a != 0.0
    a, t = a[keep], t[keep]
    if a.size < 2 or np.all(a > 0) or np.all(a < 0) or np.ptp(t) == 0:
        return float("nan")

    def npv_sign(x: np.ndarray) -> np.ndarray:
        exponent = -np.outer(np.atleast_1d(x), t)
        exponent -= exponent.max(axis=1, keepdims=True)
        return np.sign(np.exp(exponent) @ a)

    row = np.empty((1, t.size))

    def npv_sign_at(x: float) -> float:
        """``npv_sign([x])[0]``: the same arithmetic, in one reused row."""
        np.multiply(-x, t, out=row[0])
        np.subtract(row, row.max(), out=row)
        return np.sign(np.exp(row) @ a)[0]

    grid = np.linspace(-12.0, 8.0, 4001)
    signs = npv_sign(grid)
    zero = np.flatnonzero(signs == 0)
    changes = np.flatnonzero(signs[:-1] * signs[1:] < 0)
    candidates = [(abs(grid[i]), grid[i], grid[i]) for i in zero]
    candidates += [(abs(0.5 * (grid[i] + grid[i + 1])), grid[i], grid[i + 1]) for i in changes]
    if not candidates:
        return float("nan")
    _, low, high = min(candidates)
    if low != high:
        sign_low = npv_sign_at(low)
        for _ in range(200):
            middle = 0.5 * (low + high)
            if middle in (low, high) or high - low < 1e-15:
                break
            sign_middle = npv_sign_at(middle)
            if sign_middle == 0:
                low = high = middle
                break
            if sign_middle == sign_low:
                low = middle
            else:
                high = middle
    return float(np.expm1(0.5 * (low + high)))


def money_weighted_return(
    values: Any,
    flows: Any = None,
    dates: Any = None,
    start: Any = None,
    end: Any = None,
    annualized: bool = True,
) -> float:
    """Money-weighted return (internal rate of return) over ``[start, end]``.

    The investor's cash flows are: the value at the close of ``start`` invested (negative),
    each later day's external flow (a contribution negative, a withdrawal positive), and the
    value at the close of ``end`` received (positive). Flows are dated on their day; the rate
    is solved by :func:`internal_rate_of_return` (calendar days / 365.25).

    Parameters
    ----------
    values : array or Series
        End-of-day values, dollars.
    flows : array or Series, optional
        External flows, dollars, positive into the portfolio.
    dates : array-like of dates, optional
        Required with an array.
    start, end : date-like, optional
        The window.
    annualized : bool
        The annual rate (default), or ``(1 + irr) ** years - 1`` over the window.

    Returns
    -------
    float
        The return, a fraction; NaN where no rate solves.
    """
    v = as_float_array(values, "values")
    when = dates_of(values, dates)
    if when is None:
        raise MetricsError("money_weighted_return needs dates: a Series with a DatetimeIndex or "
                           "dates=")
    f = optional_flows(flows, v.shape[0])
    i0, i1 = window(when, v.shape[0], start, end)
    _require_finite("values", v[i0 : i1 + 1], when[i0 : i1 + 1])
    _require_finite("flows", f[i0 : i1 + 1], when[i0 : i1 + 1])
    amounts = np.concatenate([[-v[i0]], -f[i0 + 1 : i1 + 1], [v[i1]]])
    flow_dates = when[i0 : i1 + 1].append(when[i1 : i1 + 1])
    rate = internal_rate_of_return(amounts, flow_dates)
    if annualized:
        return rate
    return float((1.0 + rate) ** ((when[i1] - when[i0]).days / DAYS_PER_YEAR) - 1.0)
