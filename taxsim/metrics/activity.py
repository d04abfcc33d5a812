"""Trading and risk statistics: harvest yield, turnover, tracking error, drift."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from taxsim.metrics._inputs import TRADING_DAYS_PER_YEAR, MetricsError, as_float_array


def _dated_values(values: Any, name: str = "values") -> pd.Series:
    if not (isinstance(values, pd.Series) and isinstance(values.index, pd.DatetimeIndex)):
        raise MetricsError(f"{name}: expected a Series of dollars indexed by date")
    if values.empty:
        raise MetricsError(f"{name}: empty")
    return values.astype(np.float64)


def _start_of_year_values(values: pd.Series) -> pd.Series:
    """Value at each year's start: the previous year's last close (first year: first close)."""
    last_close = values.groupby(values.index.year).last()
    start = last_close.shift(1)
    start.iloc[0] = values.iloc[0]
    return start


def _check_realized(gain: np.ndarray, sold: pd.DatetimeIndex) -> None:
    """Refuse a row without a finite gain or a sale date: it would silently not count."""
    bad = ~np.isfinite(gain) | np.asarray(sold.isna())
    if bad.any():
        row = int(np.argmax(bad))
        raise MetricsError(f"form_8949: row {row} has gain {gain[row]} sold on {sold[row]}; "
                           "every realized row needs a finite gain (dollars) and a sale date")


def _loss_rows(form_8949: pd.DataFrame) -> pd.DataFrame:
    """Rows with a realized loss (only those flagged ``harvest`` where the column exists)."""
    for column in ("sold", "gain"):
        if column not in form_8949.columns:
            raise MetricsError(f"form_8949: needs a {column!r} column")
    _check_realized(form_8949["gain"].to_numpy(np.float64), pd.DatetimeIndex(form_8949["sold"]))
    rows = form_8949
    if "harvest" in rows.columns:
        rows = rows[rows["harvest"].astype(bool)]
    return rows[rows["gain"] < 0]


def harvested_losses_by_year(form_8949: pd.DataFrame) -> pd.Series:
    """Realized capital losses by year of sale, positive dollars.

    Parameters
    ----------
    form_8949 : DataFrame
        Realized rows in ``Ledger.form_8949()`` columns: at least ``sold`` (date) and ``gain``
        (dollars, after wash-sale adjustments, so a disallowed loss does not count). With a
        boolean ``harvest`` column only the rows flagged True count (sales made to harvest a
        loss); without it every realized loss counts, whatever the reason of the sale.

    Returns
    -------
    Series
        Losses (positive dollars) by calendar year of sale, years with losses only.
    """
    losses = _loss_rows(form_8949)
    by_year = (-losses["gain"]).groupby(pd.DatetimeIndex(losses["sold"]).year).sum()
    by_year.index.name = "year"
    return by_year.rename("harvested_losses").astype(np.float64)


def cumulative_harvested_losses(form_8949: pd.DataFrame) -> pd.Series:
    """Running total of realized (or flagged harvested) losses by sale date, positive dollars.

    Same row selection as :func:`harvested_losses_by_year`.
    """
    losses = _loss_rows(form_8949)
    series = (-losses["gain"]).groupby(pd.DatetimeIndex(losses["sold"])).sum().sort_index()
    series.index.name = "date"
    return series.cumsum().rename("cumulative_harvested_losses").astype(np.float64)


def harvest_yield(form_8949: pd.DataFrame, values: pd.Series) -> pd.DataFrame:
    """Harvest yield by year: losses harvested in a year over the value at its start.

    Parameters
    ----------
    form_8949 : DataFrame
        See :func:`harvested_losses_by_year` (``harvest`` flag optional: without it, all
        realized losses count).
    values : Series
        Portfolio value by date, dollars (the taxable account's, or the household's: say
        which). A year's start value is the previous year's last close (the first year: its
        first close). Harvested losses in a year outside ``values`` are an error, not dropped.

    Returns
    -------
    DataFrame indexed by year (every year of ``values``)
        ``harvested_losses`` (dollars), ``start_value`` (dollars), ``harvest_yield``
        (fraction).
    """
    values = _dated_values(values)
    start = _start_of_year_values(values)
    by_year = harvested_losses_by_year(form_8949)
    outside = sorted(int(year) for year, loss in by_year.items()
                     if loss != 0.0 and year not in start.index)
    if outside:
        raise MetricsError(
            f"harvest_yield: form_8949 has harvested losses in {outside}, outside the years of "
            f"values ({int(start.index.min())}-{int(start.index.max())}); pass the values that "
            "cover them, or only the rows of the years to measure")
    losses = by_year.reindex(start.index, fill_value=0.0)
    frame = pd.DataFrame({"harvested_losses": losses, "start_value": start})
    frame["harvest_yield"] = frame["harvested_losses"] / frame["start_value"]
    frame.index.name = "year"
    return frame


def turnover(
    trades: pd.DataFrame,
    values: pd.Series,
    exclude_reasons: Iterable[str] = (),
) -> pd.DataFrame:
    """Annual portfolio turnover: the lesser of purchases and sales over the average value.

    SEC Form N-1A, Item 13(a), Instruction 4(d) (portfolio turnover rate): the lesser of
    purchases or sales of the year divided by the average value. Here the average is of the
    daily values of the year (the form uses the monthly average); a partial year is not
    annualized.

    Parameters
    ----------
    trades : DataFrame
        ``Result.trades_frame()``-like: ``date``, ``shares`` (signed), ``price`` (dollars per
        share); optional ``reason``.
    values : Series
        Portfolio value by date, dollars.
    exclude_reasons : iterable of str
        Trade reasons to leave out (e.g. ``("contribution", "withdrawal")``).

    Returns
    -------
    DataFrame indexed by year
        ``purchases``, ``sales``, ``average_value`` (dollars) and ``turnover`` (fraction).
    """
    values = _dated_values(values)
    for column in ("date", "shares", "price"):
        if column not in trades.columns:
            raise MetricsError(f"trades: needs a {column!r} column")
    excluded = set(exclude_reasons)
    if excluded and "reason" in trades.columns:
        trades = trades[~trades["reason"].isin(excluded)]
    notional = trades["shares"].to_numpy(np.float64) * trades["price"].to_numpy(np.float64)
    years = pd.DatetimeIndex(trades["date"]).year
    purchases = pd.Series(np.where(notional > 0, notional, 0.0)).groupby(years).sum()
    sales = pd.Series(np.where(notional < 0, -notional, 0.0)).groupby(years).sum()
    average = values.groupby(values.index.year).mean()
    frame = pd.DataFrame({
        "purchases": purchases.reindex(average.index, fill_value=0.0),
        "sales": sales.reindex(average.index, fill_value=0.0),
        "average_value": average,
    })
    frame["turnover"] = np.minimum(frame["purchases"], frame["sales"]) / frame["average_value"]
    frame.index.name = "year"
    return frame


# --------------------------------------------------------------------------- array forms
# The rules of harvest_yield and turnover above with the frames' columns taken as arrays once,
# for summarize. The sums by year stay pandas groupby sums (on bare Series) and the totals
# follow Series.sum/Series.mean (NaN as 0, NaN left out): pandas sums a group in its own order
# (np.add.reduceat or Kahan-compensated, depending on the version and the keys), so the figures
# match the public functions' to the last bit; tests/test_metrics_speed_paths.py checks it.
def _sums_by_key(values: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted keys, sum of the values of each), as ``Series.groupby(keys).sum()``."""
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    sums = pd.Series(values).groupby(keys).sum()
    return sums.index.to_numpy(np.int64), sums.to_numpy(np.float64)


def _on_years(years: np.ndarray, keys: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """``sums`` by ``keys`` reindexed on ``years`` (0 where a year has none)."""
    where = np.searchsorted(keys, years)
    found = where < keys.size
    found[found] = keys[where[found]] == years[found]
    out = np.zeros(years.size)
    out[found] = sums[where[found]]
    return out


def _series_sum(values: np.ndarray) -> float:
    """``Series.sum()`` of float64 values: NaN counted as 0."""
    return float(np.where(np.isnan(values), 0.0, values).sum())


def _series_mean(values: np.ndarray) -> float:
    """``Series.mean()`` of float64 values: NaN left out (NaN when nothing is left)."""
    missing = np.isnan(values)
    count = float(values.size - int(missing.sum()))
    if count == 0:
        return float("nan")
    return float(np.where(missing, 0.0, values).sum() / count)


def _loss_arrays(form_8949: pd.DataFrame, rows: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """(year of sale, loss in positive dollars) of the rows :func:`_loss_rows` keeps.

    ``rows``: the frame's ``year`` and ``gain`` as arrays when already taken out (the
    ``_RealizedArrays`` of ``attribution``).
    """
    for column in ("sold", "gain"):
        if column not in form_8949.columns:
            raise MetricsError(f"form_8949: needs a {column!r} column")
    if rows is None:
        gain = form_8949["gain"].to_numpy(np.float64)
        sold = pd.DatetimeIndex(form_8949["sold"])
        _check_realized(gain, sold)
        years = np.asarray(sold.year, np.int64)
    else:
        gain, years = rows.gain, rows.year
    keep = gain < 0
    if "harvest" in form_8949.columns:
        keep &= form_8949["harvest"].astype(bool).to_numpy(bool)
    return years[keep], -gain[keep]


def _harvest_yield_arrays(value_years: np.ndarray, values: np.ndarray, loss_years: np.ndarray,
                          losses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`harvest_yield` on arrays, the same rule: (harvested losses, start value,
    harvest yield), one entry per year of ``value_years`` (the values' dates' years)."""
    years, labels = np.unique(value_years, return_inverse=True)
    present = np.flatnonzero(~np.isnan(values))  # groupby().last(): the last non-NaN value
    last_row = np.full(years.size, -1)
    np.maximum.at(last_row, labels[present], present)
    last_close = np.where(last_row >= 0, values[np.maximum(last_row, 0)], np.nan)
    start = np.concatenate([values[:1], last_close[:-1]])
    harvested = _on_years(years, *_sums_by_key(losses, loss_years))
    with np.errstate(divide="ignore", invalid="ignore"):
        return harvested, start, harvested / start


def _turnover_arrays(value_years: np.ndarray, values: np.ndarray, trade_years: np.ndarray,
                     notional: np.ndarray) -> np.ndarray:
    """:func:`turnover` on arrays (no excluded reasons), the same rule: the turnover of each
    year of ``value_years``."""
    average = pd.Series(values).groupby(value_years).mean()
    years = average.index.to_numpy(np.int64)
    purchases = _on_years(years, *_sums_by_key(np.where(notional > 0, notional, 0.0),
                                               trade_years))
    sales = _on_years(years, *_sums_by_key(np.where(notional < 0, -notional, 0.0),
                                           trade_years))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.minimum(purchases, sales) / average.to_numpy(np.float64)


def _aligned(returns: Any, benchmark: Any) -> tuple[np.ndarray, Any]:
    if isinstance(returns, pd.Series) and isinstance(benchmark, pd.Series):
        joined = pd.concat([returns, benchmark], axis=1, join="inner").dropna()
        return (joined.iloc[:, 0] - joined.iloc[:, 1]).to_numpy(np.float64), joined.iloc[:, 0]
    a = as_float_array(returns, "returns")
    b = as_float_array(benchmark, "benchmark_returns")
    if a.shape != b.shape:
        raise MetricsError(f"returns and benchmark_returns differ in length ({a.size}, {b.size})")
    return a - b, returns


def tracking_error(
    returns: Any,
    benchmark_returns: Any,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> float:
    """Annualized tracking error: standard deviation of daily return differences.

    ``std(r - b, ddof=1) * sqrt(252)`` (sample standard deviation; 252 trading days a year).
    Two Series are aligned on their common dates.

    Parameters
    ----------
    returns, benchmark_returns : array or Series
        Daily returns, fractions.
    periods_per_year : int
        Periods per year (252 for daily data).

    Returns
    -------
    float
        Annualized tracking error, a fraction; NaN with fewer than two days.
    """
    difference, _ = _aligned(returns, benchmark_returns)
    if difference.size < 2:
        return float("nan")
    return float(np.std(difference, ddof=1) * np.sqrt(periods_per_year))


def rolling_tracking_error(
    returns: Any,
    benchmark_returns: Any,
    window: int = 63,
    periods_per_year: int = TRADING_DAYS_PER_YEAR,
) -> Any:
    """Tracking error over a trailing window of ``window`` days, annualized (see
    :func:`tracking_error`); NaN until the window fills. Array or Series, as given."""
    difference, template = _aligned(returns, benchmark_returns)
    rolling = pd.Series(difference).rolling(window, min_periods=window).std(ddof=1)
    result = rolling.to_numpy() * np.sqrt(periods_per_year)
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index, name="tracking_error")
    return result


def _weights_and_targets(weights: Any, targets: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(weights, pd.DataFrame):
        w = weights.to_numpy(np.float64)
        if isinstance(targets, Mapping | pd.Series):
            targets = dict(targets)
            missing = [c for c in weights.columns if c not in targets]
            extra = [k for k in targets if k not in weights.columns]
            if missing or extra:
                raise MetricsError(
                    f"targets: assets {missing} of weights have no target and targets {extra} "
                    "have no weights column; name every asset in both (0 for none)")
            t = np.array([float(targets[c]) for c in weights.columns])
        else:
            t = np.asarray(targets, np.float64)
    else:
        w = np.asarray(weights, np.float64)
        if isinstance(targets, Mapping):
            raise MetricsError("targets: a mapping needs weights as a DataFrame (named columns)")
        t = np.asarray(targets.to_numpy() if isinstance(targets, pd.Series) else targets,
                       np.float64)
    if w.ndim == 1:
        w = w[:, None]
    if t.ndim == 1:
        t = np.broadcast_to(t, w.shape)
    if t.shape != w.shape:
        raise MetricsError(f"targets: shape {t.shape} does not fit weights {w.shape}")
    return w, t


def drift(weights: Any, targets: Any) -> Any:
    """Largest absolute deviation of any asset's weight from its target, each day.

    Parameters
    ----------
    weights : 2-d array (days, assets) or DataFrame
        Actual weights, fractions of the portfolio.
    targets : 1-d array / Series / mapping (per asset), or an array like ``weights``
        Target weights (a time-varying glide path as a 2-d array).

    Returns
    -------
    array or Series (indexed like ``weights``)
        ``max_i |w_i - target_i|`` per day, a fraction.
    """
    w, t = _weights_and_targets(weights, targets)
    deviation = np.abs(w - t).max(axis=1)
    if isinstance(weights, pd.DataFrame):
        return pd.Series(deviation, index=weights.index, name="drift")
    return deviation


def drift_statistics(weights: Any, targets: Any) -> dict:
    """Drift statistics of weights against targets.

    Returns
    -------
    dict
        ``max_abs_deviation``: the largest ``|w - target|`` of any asset on any day;
        ``mean_abs_deviation``: the mean of ``|w - target|`` over days and assets;
        ``mean_max_deviation``: the mean over days of each day's largest deviation;
        ``mean_total_drift``: the mean over days of ``sum |w - target| / 2`` (the share of the
        portfolio that would have to trade to be back on target). All fractions.
    """
    w, t = _weights_and_targets(weights, targets)
    deviation = np.abs(w - t)
    return {
        "max_abs_deviation": float(deviation.max()),
        "mean_abs_deviation": float(deviation.mean()),
        "mean_max_deviation": float(deviation.max(axis=1).mean()),
        "mean_total_drift": float(0.5 * deviation.sum(axis=1).mean()),
    }


__all__ = [
    "cumulative_harvested_losses",
    "drift",
    "drift_statistics",
    "harvest_yield",
    "harvested_losses_by_year",
    "rolling_tracking_error",
    "tracking_error",
    "turnover",
]
