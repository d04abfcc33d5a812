"""After-tax returns of a simulation, modelled on SEC Form N-1A; tax cost ratio; tax alpha.

These functions read a simulation's daily frame (``Result.daily()``), in dollars:

- ``total_value``: household value at the close (required);
- ``contributions_cumulative``, ``withdrawals_cumulative``: external flows to date (missing:
  none);
- ``tax_paid_cumulative``: tax paid from the portfolio to date (refunds negative);
- ``tax_outside_cumulative``: tax paid from outside the portfolio to date;
- ``accrued_tax``: tax on realized results not yet paid (missing: 0, see
  ``tax_payable_at_end``);
- ``liquidation_tax``: extra tax if every taxable lot were sold that day (negative: a benefit,
  under the run's loss convention);
- ``liquidation_value``: what a full redemption that day leaves after every tax owed (missing:
  ``total_value - accrued_tax - liquidation_tax``).

Definitions, modelled on SEC Form N-1A, Item 26(b)(1)-(3) (average annual total return,
after taxes on distributions, after taxes on distributions and redemption) but measuring a
simulated household, not a fund's standardized figures. The differences: taxes are paid when
the run pays them (the form deducts them from each distribution before reinvesting it);
returns are annualized over calendar days / 365.25 (the form: whole years); a window that
starts mid-run keeps the lots held then (the form: a fresh $1,000 purchase); losses are
valued under the run's loss convention, at the run's rates. A fund's standardized figures,
exactly as the form prescribes, are ``taxsim.metrics.sec_after_tax_returns``.

- **Pre-tax return**: the time-weighted return of the portfolio with every tax payment from
  the portfolio treated as a withdrawal by the investor (taxes are the investor's, not the
  portfolio's; N-1A Item 26(b)(1)). Taxes paid from outside do not touch it.
- **After-tax return, pre-liquidation** (Item 26(b)(2)): taxes on distributions and realized
  gains at the rates in effect, when the run pays them. Paid from the portfolio they lower its
  value; paid from outside they are money the investor spends on the portfolio's behalf, so
  they are charged as a cost on the day paid (in the money-weighted return: an outflow of the
  investor, like a contribution that buys nothing). Tax accrued but not yet paid is deducted
  from the value (``accrued_tax``), so the wealth is net of every tax on realized income.
- **After-tax return, post-liquidation** (Item 26(b)(3)): as pre-liquidation, but the
  window's final value is the full-redemption value ``liquidation_value``: unrealized gains
  are taxed, and a net loss is worth its tax benefit under the run's loss convention (a
  negative ``liquidation_tax`` adds value; ``offset`` is the N-1A assumption, ``standalone``
  values only what the household's own gains and the $3,000 deduction absorb that year).
  The window starts from the value at the close of ``start`` with the lots held then (not a
  fresh purchase, as N-1A assumes), so a window starting mid-run carries the tax on gains
  accrued before it.

All returns are time-weighted (``taxsim.metrics.returns``) with the engine's flow timing
(``"end"``: a day's flows are invested at its close) unless ``method="money_weighted"``, over
``[start, end]`` from the close of ``start``, annualized over calendar days / 365.25.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from numba import njit

from taxsim.metrics._inputs import (
    MetricsError,
    as_float_array,
    like,
    window,
    years_between,
)
from taxsim.metrics.returns import (
    _EMPTY,
    _chained_return,
    _daily_returns,
    _require_finite,
    annualize,
    daily_returns,
    money_weighted_return,
)

ENGINE_FLOW_TIMING = "end"
_METHODS = ("time_weighted", "money_weighted")


# --------------------------------------------------------------------------- daily frame
def _check_daily(daily: pd.DataFrame, name: str = "daily") -> pd.DataFrame:
    if not isinstance(daily, pd.DataFrame):
        raise MetricsError(f"{name}: expected the daily DataFrame of a Result, got "
                           f"{type(daily).__name__}")
    if "total_value" not in daily.columns:
        raise MetricsError(f"{name}: needs a 'total_value' column; has {list(daily.columns)}")
    if not isinstance(daily.index, pd.DatetimeIndex):
        raise MetricsError(f"{name}: the index must be the dates (a DatetimeIndex)")
    if len(daily) < 2:
        raise MetricsError(f"{name}: needs at least two days")
    index = daily.index
    if not (index.is_monotonic_increasing and index.is_unique) or index.hasnans:
        steps = np.asarray(index[1:] > index[:-1])
        bad = int(np.argmin(steps)) + 1
        raise MetricsError(f"{name}: dates must be strictly increasing; {index[bad].date()} comes "
                           f"after {index[bad - 1].date()}")
    return daily


END_ONLY_ATTR = "liquidation_recorded_on_last_day_only"
"""``daily.attrs`` flag set by ``Result.daily()`` for ``simulate(..., daily_liquidation=False)``:
unrealized gain, accrued tax and liquidation tax are then recorded on the last day only (0
before it)."""


def _require_daily_liquidation(daily: pd.DataFrame, what: str, name: str = "daily") -> None:
    """Refuse a figure that needs accrued and liquidation tax before the last day when the run
    recorded them only on its last day (the zeros in between are not values)."""
    if daily.attrs.get(END_ONLY_ATTR, False):
        raise MetricsError(
            f"{name}: {what} needs accrued and liquidation tax on every day, but this run "
            "recorded them on its last day only; run simulate(..., daily_liquidation=True)"
        )


class _DailyArrays:
    """A checked daily frame's columns as float64 arrays, pulled out of pandas once.

    The after-tax functions take a DataFrame (pandas at the edges) and work on this view of it;
    :func:`taxsim.metrics.summarize` builds one per run and passes it to every metric, so
    the columns, the streams and the window returns are computed once. The arrays are
    read-only views: nothing here writes into them.
    """

    __slots__ = ("frame", "index", "n", "end_only", "_columns", "_cache", "_checked")

    def __init__(self, daily: pd.DataFrame, name: str = "daily") -> None:
        daily = _check_daily(daily, name)
        self.frame = daily
        self.index = daily.index
        self.n = len(daily)
        self.end_only = bool(daily.attrs.get(END_ONLY_ATTR, False))
        self._columns: dict = {}
        columns = daily.columns
        if columns.is_unique and all(dtype == np.float64 for dtype in daily.dtypes):
            block = daily.to_numpy(np.float64)  # one float block: a view, no copy
            self._columns = {column: block[:, k] for k, column in enumerate(columns)}
        self._cache: dict = {}
        self._checked: set = set()

    def has(self, name: str) -> bool:
        return name in self._columns or name in self.frame.columns

    def column(self, name: str) -> np.ndarray:
        """The column as float64 (zeros where the frame has none); NaN or infinite dollars
        raise, naming the column and the date."""
        values = self._columns.get(name)
        if values is None:
            if name not in self.frame.columns:
                return np.zeros(self.n)
            values = self._columns[name] = self.frame[name].to_numpy(dtype=np.float64)
        if name not in self._checked:
            _require_finite(f"daily[{name!r}]", values, self.index)
            self._checked.add(name)
        return values

    def cached(self, key, compute):
        """``compute()`` once per ``key`` (the results are never written into)."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


def _arrays(daily, name: str = "daily") -> _DailyArrays:
    return daily if isinstance(daily, _DailyArrays) else _DailyArrays(daily, name)


def _column(daily, name: str) -> np.ndarray:
    return _arrays(daily).column(name)


def _daily_change(daily, name: str) -> np.ndarray:
    """Day-by-day change of a cumulative column (the first day: its value)."""
    cumulative = _column(daily, name)
    return np.diff(cumulative, prepend=0.0)


def _external_flows(d: _DailyArrays) -> np.ndarray:
    return d.cached("external_flows", lambda: _daily_change(d, "contributions_cumulative")
                    - _daily_change(d, "withdrawals_cumulative"))


def external_flows(daily: pd.DataFrame) -> pd.Series:
    """External flows of each day, dollars: contributions minus withdrawals (positive in).

    Parameters
    ----------
    daily : DataFrame
        A daily frame with ``contributions_cumulative`` and ``withdrawals_cumulative``.

    Returns
    -------
    Series
        Flows by date (the first day's is the first day's contribution).
    """
    d = _DailyArrays(daily)
    return pd.Series(_external_flows(d).copy(), index=d.index, name="external_flows")


def _accrued(daily, tax_payable_at_end: float | None) -> np.ndarray:
    accrued = _column(daily, "accrued_tax").copy()
    if tax_payable_at_end is not None:
        accrued[-1] = float(tax_payable_at_end)
    return accrued


def _liquidation_values(daily, accrued: np.ndarray) -> np.ndarray:
    d = _arrays(daily)
    if d.has("liquidation_value"):
        return d.column("liquidation_value")
    if not d.has("liquidation_tax"):
        raise MetricsError("daily: post-liquidation figures need a 'liquidation_tax' or "
                           "'liquidation_value' column")
    return d.column("total_value") - accrued - d.column("liquidation_tax")


def _streams(daily, kind: str, liquidated: bool, tax_payable_at_end: float | None):
    """(values, flows) of one view of the run: kind "pre_tax" or "after_tax".

    ``daily``: a daily DataFrame or its :class:`_DailyArrays`; the arrays given back are
    shared (cached on the latter): read them, do not write into them.
    """
    d = _arrays(daily)
    return d.cached(("streams", kind, liquidated, tax_payable_at_end),
                    lambda: _compute_streams(d, kind, liquidated, tax_payable_at_end))


def _compute_streams(d: _DailyArrays, kind: str, liquidated: bool,
                     tax_payable_at_end: float | None):
    value = d.column("total_value")
    flows = _external_flows(d)
    if kind == "pre_tax":
        return value, flows - _daily_change(d, "tax_paid_cumulative"), None
    accrued = _accrued(d, tax_payable_at_end)
    wealth = value - accrued
    costs = flows + _daily_change(d, "tax_outside_cumulative")
    liquidation = _liquidation_values(d, accrued) if liquidated else None
    return wealth, costs, liquidation


def _window_cumulative(d: _DailyArrays, kind, i0, i1, liquidated, annualized, method,
                       tax_payable_at_end) -> float:
    """The return of rows ``i0..i1`` (a checked window): cumulative for the time-weighted
    method (annualize it with :func:`annualize` over the window's days), as asked for the
    money-weighted one."""
    values, flows, liquidation = _streams(d, kind, liquidated, tax_payable_at_end)
    values = values[i0 : i1 + 1].copy()
    # The window starts from the value at the close of its first day, which already holds
    # that day's flows (and, pre-tax, its tax payments): they are not flows of the window.
    flows = flows[i0 : i1 + 1].copy()
    flows[0] = 0.0
    if liquidation is not None:
        values[-1] = liquidation[i1]
    dates = d.index[i0 : i1 + 1]
    if method == "money_weighted":
        return money_weighted_return(values, flows, dates, annualized=annualized)
    return _chained_return(_daily_returns(values, flows, ENGINE_FLOW_TIMING, dates), 0,
                           len(values) - 1)


def _window_return(daily, kind, start, end, liquidated, annualized, method,
                   tax_payable_at_end) -> float:
    if method not in _METHODS:
        raise MetricsError(f"method must be one of {_METHODS}, got {method!r}")
    d = _arrays(daily)
    i0, i1 = window(d.index, d.n, start, end)
    if kind == "after_tax" and i1 != d.n - 1 and d.end_only:
        _require_daily_liquidation(d.frame, f"an after-tax return ending "
                                   f"{d.index[i1].date()} (before the last day)")
    key = ("return", kind, i0, i1, liquidated, method, tax_payable_at_end,
           annualized if method == "money_weighted" else None)
    value = d.cached(key, lambda: _window_cumulative(d, kind, i0, i1, liquidated, annualized,
                                                     method, tax_payable_at_end))
    if method == "money_weighted" or not annualized:
        return value
    return annualize(value, (d.index[i1] - d.index[i0]).days)


def pre_tax_return(
    daily: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    annualized: bool = True,
    method: str = "time_weighted",
) -> float:
    """Return before taxes (N-1A Item 26(b)(1)): tax paid from the portfolio is a withdrawal.

    Parameters
    ----------
    daily : DataFrame
        The run's daily frame (see the module notes). For the pre-tax twin (no taxes) this is
        simply its time-weighted return.
    start, end : date-like, optional
        The window, from the close of ``start`` to the close of ``end`` (whole run by default).
    annualized : bool
        Annualized over calendar days / 365.25 (default) or cumulative.
    method : {"time_weighted", "money_weighted"}

    Returns
    -------
    float
        The return, a fraction.
    """
    return _window_return(daily, "pre_tax", start, end, False, annualized, method, None)


def after_tax_return(
    daily: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    liquidated: bool = False,
    annualized: bool = True,
    method: str = "time_weighted",
    tax_payable_at_end: float | None = None,
) -> float:
    """After-tax return, pre-liquidation (N-1A Item 26(b)(2)) or post-liquidation (26(b)(3)).

    Parameters
    ----------
    daily : DataFrame
        The run's daily frame (see the module notes).
    start, end : date-like, optional
        The window, from the close of ``start`` to the close of ``end`` (whole run by default).
    liquidated : bool
        False: pre-liquidation (value net of tax paid and accrued). True: post-liquidation (the
        window ends in a full redemption worth ``liquidation_value``).
    annualized : bool
        Annualized over calendar days / 365.25 (default) or cumulative.
    method : {"time_weighted", "money_weighted"}
        Time-weighted (default) or the investor's internal rate of return.
    tax_payable_at_end : float, optional
        Tax computed but not yet paid on the frame's last day, dollars (``Result.tax_payable``);
        replaces ``accrued_tax`` there. Only needed for frames without ``accrued_tax``.

    Returns
    -------
    float
        The return, a fraction.
    """
    return _window_return(daily, "after_tax", start, end, liquidated, annualized, method,
                          tax_payable_at_end)


def after_tax_return_pre_liquidation(
    daily: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    annualized: bool = True,
    method: str = "time_weighted",
    tax_payable_at_end: float | None = None,
) -> float:
    """After-tax return before liquidation (SEC Form N-1A Item 26(b)(2)); see
    :func:`after_tax_return` (``liquidated=False``)."""
    return after_tax_return(daily, start, end, False, annualized, method, tax_payable_at_end)


def after_tax_return_post_liquidation(
    daily: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    annualized: bool = True,
    method: str = "time_weighted",
) -> float:
    """After-tax return after a full redemption at ``end`` (SEC Form N-1A Item 26(b)(3)); see
    :func:`after_tax_return` (``liquidated=True``)."""
    return after_tax_return(daily, start, end, True, annualized, method, None)


# --------------------------------------------------------------------------- whole runs
def _day_return(previous, value, flow):
    """A day's return with its flow at the close (:func:`daily_returns`, ``"end"``); NaN for
    a negative invested base."""
    empty_before = previous <= _EMPTY
    base = previous + flow if empty_before else previous
    grown = value if empty_before else value - flow
    if base < -_EMPTY:
        return math.nan
    return grown / base - 1.0 if base > _EMPTY else 0.0


_day_return_nb = njit(cache=True)(_day_return)

def whole_run_chains(account_values, account_cash, record, columns, out):
    """Cumulative returns of a whole engine run in one pass over its arrays: what
    :func:`_window_cumulative` computes for the window of every day, time-weighted, flows at
    the close (``"end"``), the first day's flows inside its close.

    Parameters
    ----------
    account_values, account_cash : float64 arrays (days, accounts)
        Dollars at each close.
    record : float64 array (days, fields)
        The engine's daily record (cumulative flows, accrued and liquidation tax).
    columns : int64 array
        Record columns of contributions, withdrawals, tax paid from the portfolio, tax paid
        from outside, accrued tax and liquidation tax (cumulative dollars; the last two not).
    out : float64 array (3,)
        Written: pre-tax (taxes paid from the portfolio are withdrawals), after-tax
        pre-liquidation (wealth = value - accrued tax; tax paid from outside is a
        contribution) and after-tax post-liquidation (the last day's wealth is the
        liquidation value) cumulative returns, fractions.

    Returns
    -------
    bool
        False when a value or flow is not finite or a day's invested base is negative (the
        caller then runs the frame path, which names the day); ``out`` is not valid then.
    """
    contributions, withdrawals, tax_paid, tax_outside, accrued, liquidation = (
        columns[0], columns[1], columns[2], columns[3], columns[4], columns[5])
    n_days = record.shape[0]
    growth_pre_tax = 1.0
    growth_after_tax = 1.0
    previous_value = 0.0
    previous_wealth = 0.0
    last_after_tax_return = 0.0
    post_liquidation_return = 0.0
    for day in range(n_days):
        value = 0.0
        for account in range(account_values.shape[1]):
            value += account_values[day, account]
        cash = 0.0
        for account in range(account_cash.shape[1]):
            cash += account_cash[day, account]
        value += cash
        wealth = value - record[day, accrued]
        liquidation_value = wealth - record[day, liquidation]
        if day == 0:
            external = record[0, contributions] - record[0, withdrawals]
            pre_tax_flow = external - record[0, tax_paid]
            after_tax_flow = external + record[0, tax_outside]
        else:
            external = ((record[day, contributions] - record[day - 1, contributions])
                        - (record[day, withdrawals] - record[day - 1, withdrawals]))
            pre_tax_flow = external - (record[day, tax_paid] - record[day - 1, tax_paid])
            after_tax_flow = external + (record[day, tax_outside] - record[day - 1, tax_outside])
        if not (math.isfinite(value) and math.isfinite(wealth) and math.isfinite(liquidation_value)
                and math.isfinite(pre_tax_flow) and math.isfinite(after_tax_flow)):
            return False
        if day > 0:
            pre_tax_return = _day_return_nb(previous_value, value, pre_tax_flow)
            after_tax_return = _day_return_nb(previous_wealth, wealth, after_tax_flow)
            post_liquidation_return = _day_return_nb(previous_wealth, liquidation_value,
                                                  after_tax_flow)
            if (math.isnan(pre_tax_return) or math.isnan(after_tax_return)
                    or math.isnan(post_liquidation_return)):
                return False
            growth_pre_tax *= 1.0 + pre_tax_return
            if day < n_days - 1:
                growth_after_tax *= 1.0 + after_tax_return
            else:
                last_after_tax_return = after_tax_return
        previous_value = value
        previous_wealth = wealth
    out[0] = growth_pre_tax - 1.0
    out[1] = growth_after_tax * (1.0 + last_after_tax_return) - 1.0
    out[2] = growth_after_tax * (1.0 + post_liquidation_return) - 1.0
    return True


whole_run_chains_nb = njit(cache=True)(whole_run_chains)

_CHAIN_COLUMNS = ("contributions_cumulative", "withdrawals_cumulative", "tax_paid_cumulative",
                  "tax_outside_cumulative", "accrued_tax", "liquidation_tax")


def whole_run_returns(result) -> tuple[float, float, float] | None:
    """Annualized (pre-tax, after-tax pre-liquidation, after-tax post-liquidation) returns of
    a whole engine run from its arrays (:func:`whole_run_chains`), the figures the frame path
    gives to about 1e-15; None where that path must run instead (a result without arrays, or
    bad numbers, which it names)."""
    record = getattr(result, "record", None)
    if not isinstance(record, np.ndarray) or record.shape[0] < 2:
        return None
    from taxsim.engine.enums import RECORD_NAMES  # the engine imports this module

    columns = np.array([RECORD_NAMES.index(name) for name in _CHAIN_COLUMNS], np.int64)
    out = np.empty(3)
    if not whole_run_chains_nb(np.ascontiguousarray(result.account_values, np.float64),
                               np.ascontiguousarray(result.account_cash, np.float64),
                               np.ascontiguousarray(record, np.float64), columns, out):
        return None
    days = result.market.dates
    calendar_days = float(days[-1] - days[0])
    return tuple(annualize(cumulative, calendar_days) for cumulative in out)


# --------------------------------------------------------------------------- wealth series
def wealth_path(start_value, returns, flows):
    """W_t = W_{t-1} (1 + r_t) + F_t from W_0 = start_value (dollars; flows at the close)."""
    wealth = np.empty_like(returns)
    wealth[0] = start_value
    for t in range(1, returns.shape[0]):
        wealth[t] = wealth[t - 1] * (1.0 + returns[t]) + flows[t]
    return wealth


wealth_path_nb = njit(cache=True)(wealth_path)


def _wealth_path(start_value: float, returns: np.ndarray, flows: np.ndarray) -> np.ndarray:
    return wealth_path_nb(float(start_value), np.ascontiguousarray(returns, np.float64),
                          np.ascontiguousarray(flows, np.float64))


def growth_frame(
    daily: pd.DataFrame,
    pre_tax_daily: pd.DataFrame | None = None,
    tax_payable_at_end: float | None = None,
    *,
    last_day_only: bool = False,
) -> pd.DataFrame:
    """Growth of wealth, dollars: pre-tax, after-tax (pre-liquidation), liquidation value.

    Each line starts from the first day's value and grows at that view's daily return with the
    run's external flows (contributions and withdrawals) added on their day, so the lines
    differ only by taxes:

    - ``pre_tax``: ``pre_tax_daily["total_value"]`` (the pre-tax twin) when given, else the
      run's own pre-tax daily returns (taxes treated as withdrawals);
    - ``after_tax``: after-tax pre-liquidation daily returns (tax paid from outside charged
      as a cost, accrued tax deducted); equals ``total_value - accrued_tax`` when taxes are
      paid from the portfolio;
    - ``liquidation_value``: ``after_tax`` minus that day's liquidation tax (what a full
      redemption would cost in tax beyond the accrued tax).

    A run recorded with ``daily_liquidation=False`` has accrued and liquidation tax on its
    last day only: its frame raises, unless ``last_day_only`` asks for the last day's values
    alone (the other days' ``after_tax`` and ``liquidation_value`` are then NaN; the
    whole-run after-tax returns use the same figures).

    Returns
    -------
    DataFrame
        Columns ``pre_tax``, ``after_tax``, ``liquidation_value`` by date.
    """
    d = _DailyArrays(daily)
    daily = d.frame
    if not last_day_only:
        _require_daily_liquidation(daily, "growth_frame (after-tax and liquidation lines)")
    flows = _external_flows(d)
    if pre_tax_daily is not None:
        pre_tax = _check_daily(pre_tax_daily, "pre_tax_daily")["total_value"].reindex(
            daily.index).to_numpy(dtype=np.float64)
    else:
        values, pre_flows, _ = _streams(d, "pre_tax", False, None)
        returns = daily_returns(values, pre_flows, ENGINE_FLOW_TIMING)
        pre_tax = _wealth_path(values[0], returns, flows)
    after_tax, liquidation = _after_tax_growth(d, tax_payable_at_end)
    frame = pd.DataFrame(
        {"pre_tax": pre_tax, "after_tax": after_tax, "liquidation_value": liquidation},
        index=daily.index,
    )
    if d.end_only:  # the days before the last have no accrued or liquidation tax recorded
        frame.iloc[:-1, frame.columns.get_indexer(["after_tax", "liquidation_value"])] = np.nan
    return frame


def _after_tax_growth(d: _DailyArrays, tax_payable_at_end: float | None):
    """The ``after_tax`` and ``liquidation_value`` lines of :func:`growth_frame` (arrays)."""
    def compute():
        wealth, costs, _ = _streams(d, "after_tax", False, tax_payable_at_end)
        after_returns = daily_returns(wealth, costs, ENGINE_FLOW_TIMING)
        after_tax = _wealth_path(wealth[0], after_returns, _external_flows(d))
        accrued = _accrued(d, tax_payable_at_end)
        liquidation_tax = wealth - _liquidation_values(d, accrued)
        return after_tax, after_tax - liquidation_tax

    return d.cached(("growth", tax_payable_at_end), compute)


def liquidation_value(total_value: Any, liquidation_tax: Any, accrued_tax: Any = None) -> Any:
    """Value after a full redemption and every tax owed, dollars.

    ``total_value - liquidation_tax - accrued_tax`` (``accrued_tax``: tax on realized income
    not yet paid, 0 if omitted). A negative ``liquidation_tax`` (losses worth a refund under
    the loss convention) adds value.

    Parameters
    ----------
    total_value, liquidation_tax : array or Series
        Dollars, per day.
    accrued_tax : array or Series, optional
        Dollars, per day.

    Returns
    -------
    array or Series (as ``total_value``)
    """
    value = as_float_array(total_value, "total_value")
    tax = as_float_array(liquidation_tax, "liquidation_tax")
    accrued = np.zeros_like(value) if accrued_tax is None else as_float_array(accrued_tax,
                                                                               "accrued_tax")
    if not value.shape == tax.shape == accrued.shape:
        raise MetricsError("total_value, liquidation_tax and accrued_tax differ in length")
    return like(value - tax - accrued, total_value)


def deferred_tax_liability(liquidation_tax: Any) -> Any:
    """Deferred tax liability, dollars: the tax a full sale would trigger that day.

    The ``liquidation_tax`` series itself, not floored: negative values are the tax benefit of
    unrealized losses under the run's loss convention.

    Returns
    -------
    array or Series (as given)
    """
    return like(as_float_array(liquidation_tax, "liquidation_tax").copy(), liquidation_tax)


# --------------------------------------------------------------------------- tax cost ratio
def tax_cost_ratio(pre_tax_return: Any, after_tax_return: Any) -> Any:
    """Tax cost ratio: the share of the pre-tax return lost to taxes, per year.

    ``1 - (1 + after_tax) / (1 + pre_tax)`` with annualized returns (Morningstar, "Tax Cost
    Ratio", Morningstar Methodology Paper; the after-tax return is pre-liquidation). Pre-tax
    10% and after-tax 7.8% give 2%.

    Parameters
    ----------
    pre_tax_return, after_tax_return : float, array or Series
        Annualized returns, fractions.

    Returns
    -------
    float, array or Series
        The ratio, a fraction.
    """
    if np.isscalar(pre_tax_return) and np.isscalar(after_tax_return):
        return float(1.0 - (1.0 + after_tax_return) / (1.0 + pre_tax_return))
    return 1.0 - (1.0 + after_tax_return) / (1.0 + pre_tax_return)


def after_tax_return_from_tax_cost_ratio(pre_tax_return: float, ratio: float) -> float:
    """The after-tax return a tax cost ratio implies: ``(1 + pre_tax)(1 - ratio) - 1``."""
    return float((1.0 + pre_tax_return) * (1.0 - ratio) - 1.0)


# --------------------------------------------------------------------------- tax alpha
def _common_window(daily, twin_daily, start, end):
    first = max(daily.index[0], twin_daily.index[0])
    last = min(daily.index[-1], twin_daily.index[-1])
    return (first if start is None else start), (last if end is None else end)


def tax_alpha(
    daily: pd.DataFrame,
    twin_daily: pd.DataFrame,
    start: Any = None,
    end: Any = None,
    liquidated: bool = False,
    method: str = "time_weighted",
    tax_payable_at_end: float | None = None,
    twin_tax_payable_at_end: float | None = None,
) -> float:
    """Tax alpha: annualized after-tax return of the strategy minus its non-managed twin's.

    Both on the same window (default: the dates both runs cover), pre-liquidation
    (``liquidated=False``, N-1A Item 26(b)(2)) or post-liquidation (``True``, Item 26(b)(3)).
    The twin has the same targets, flows, costs and taxes without tax management, so the
    difference is what the management added after tax. A run against itself gives exactly 0.

    Parameters
    ----------
    daily, twin_daily : DataFrame
        Daily frames of the strategy and its twin.
    start, end : date-like, optional
    liquidated : bool
    method : {"time_weighted", "money_weighted"}
    tax_payable_at_end, twin_tax_payable_at_end : float, optional
        See :func:`after_tax_return`.

    Returns
    -------
    float
        Annualized return difference, a fraction (0.01 = 1 percentage point a year).
    """
    return _tax_alpha(_DailyArrays(daily), _DailyArrays(twin_daily, "twin_daily"), start, end,
                      liquidated, method, tax_payable_at_end, twin_tax_payable_at_end)


def _tax_alpha(d: _DailyArrays, twin: _DailyArrays, start, end, liquidated, method,
               tax_payable_at_end, twin_tax_payable_at_end) -> float:
    """:func:`tax_alpha` on the arrays of both frames."""
    start, end = _common_window(d, twin, start, end)
    strategy = _window_return(d, "after_tax", start, end, liquidated, True, method,
                              tax_payable_at_end)
    other = _window_return(twin, "after_tax", start, end, liquidated, True, method,
                           twin_tax_payable_at_end)
    return float(strategy - other)


def _year_ends(index: pd.DatetimeIndex) -> pd.Series:
    """Last date of each calendar year in ``index``, by year."""
    dates = pd.Series(index, index=index)
    return dates.groupby(index.year).max()


def tax_alpha_by_year(
    daily: pd.DataFrame,
    twin_daily: pd.DataFrame,
    tax_payable_at_end: float | None = None,
    twin_tax_payable_at_end: float | None = None,
) -> pd.DataFrame:
    """Tax alpha of each calendar year and to date.

    Each year runs from the previous year's last close (the first year: the first close) to
    the year's last close.

    Returns
    -------
    DataFrame indexed by year
        ``strategy_return``, ``twin_return``: after-tax pre-liquidation returns of the year
        (not annualized); ``tax_alpha``: their difference; ``cumulative_pre_liquidation``
        and ``cumulative_post_liquidation``: the strategy's after-tax wealth over the twin's
        from the first close to the year's end, minus 1 (``(1 + R_s) / (1 + R_twin) - 1`` of
        the cumulative time-weighted returns; post-liquidation as if both were sold that
        day, which needs a daily ``liquidation_tax``).
    """
    _check_daily(daily)
    _check_daily(twin_daily, "twin_daily")
    _require_daily_liquidation(daily, "tax_alpha_by_year")
    _require_daily_liquidation(twin_daily, "tax_alpha_by_year", "twin_daily")
    first, last = _common_window(daily, twin_daily, None, None)
    index = daily.index[(daily.index >= first) & (daily.index <= last)]
    ends = _year_ends(index)
    rows = []
    previous = index[0]
    for year, year_end in ends.items():
        if year_end <= previous:
            continue
        s = after_tax_return(daily, previous, year_end, False, False, "time_weighted",
                             tax_payable_at_end)
        n = after_tax_return(twin_daily, previous, year_end, False, False, "time_weighted",
                             twin_tax_payable_at_end)
        cumulative = []
        for liquidated in (False, True):
            s_to_date = after_tax_return(daily, first, year_end, liquidated, False,
                                         "time_weighted", tax_payable_at_end)
            n_to_date = after_tax_return(twin_daily, first, year_end, liquidated, False,
                                         "time_weighted", twin_tax_payable_at_end)
            cumulative.append((1.0 + s_to_date) / (1.0 + n_to_date) - 1.0)
        rows.append((int(year), s, n, s - n, *cumulative))
        previous = year_end
    return pd.DataFrame(
        rows,
        columns=["year", "strategy_return", "twin_return", "tax_alpha",
                 "cumulative_pre_liquidation", "cumulative_post_liquidation"],
    ).set_index("year")


def window_years(daily: pd.DataFrame, start: Any = None, end: Any = None) -> float:
    """Years (calendar days / 365.25) of the window ``[start, end]`` of a daily frame."""
    index = daily.index
    i0, i1 = window(index, len(index), start, end)
    return years_between(index[i0], index[i1])
