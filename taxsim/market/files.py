"""Tidy market-data files (parquet, CSV) in the schema of ``data/README.md``.

One row per (date, ticker). Required columns: ``date``, ``ticker``, ``close``. Optional:
``dividend``, ``st_capital_gain``, ``lt_capital_gain``, ``return_of_capital``, ``interest``
(dollars per share on the ex-date, 0 or empty otherwise) and ``split_ratio``. Two forms:

- raw-price form: ``close`` as traded and ``split_ratio`` on each split's effective date
  (the ``sp500_*`` file of ``../shared/data``);
- split-adjusted form: ``close`` and distributions restated in today's shares, no
  ``split_ratio`` column (the ``us_*`` files).

Neither form is dividend-adjusted. Extra columns such as ``adjusted_close`` are ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from taxsim.market.corrections import reclassify_distributions, with_reclassified_note
from taxsim.market.market import Market, to_day
from taxsim.market.validation import ARRAY_FIELDS, MarketDataError

#: The real data sets of ``../shared/data`` by short name (see its README).
SHARED_DATASETS = {
    "sp500": "sp500_stocks_1999_2021.parquet",
    "us_etfs": "us_etfs_1999_2026.parquet",
    "us_stocks": "us_stocks_1999_2026.parquet",
}
SHARED_SOURCES = {
    "sp500": "Alpha Vantage daily data (raw closes, splits, dividends), S&P 500 members of "
    "April 2021: survivorship-biased",
    "us_etfs": "Yahoo Finance (split-adjusted closes, dividends)",
    "us_stocks": "Yahoo Finance (split-adjusted closes, dividends), large US stocks of 2026: "
    "survivorship-biased",
}


def shared_data_dir() -> Path:
    """The shared real-data folder: ``$TAXSIM_SHARED_DATA`` or ``../shared/data`` beside the
    repository (falling back to ``../shared/data`` of the working directory)."""
    configured = os.environ.get("TAXSIM_SHARED_DATA")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[2]
    candidate = repo.parent / "shared" / "data"
    if candidate.exists():
        return candidate
    return Path.cwd().parent / "shared" / "data"


def read_tidy(
    path: str | os.PathLike,
    tickers: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
) -> pd.DataFrame:
    """Read a tidy parquet or CSV file, keeping only ``tickers`` and dates in [start, end].

    Parameters
    ----------
    path : path-like
        ``.parquet`` / ``.pq`` or ``.csv`` (optionally compressed, e.g. ``.csv.gz``).
    tickers : sequence of str, optional
        Tickers to keep (default all).
    start, end : date-like, optional
        Inclusive date bounds.

    Returns
    -------
    pandas.DataFrame
        With ``date`` as datetime64 and ``ticker`` as str or categorical.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"market data file not found: {path}")
    name = path.name.lower()
    if name.endswith((".parquet", ".pq")):
        filters = []
        if tickers is not None:
            filters.append(("ticker", "in", list(tickers)))
        if start is not None:
            filters.append(("date", ">=", pd.Timestamp(start)))
        if end is not None:
            filters.append(("date", "<=", pd.Timestamp(end)))
        frame = pd.read_parquet(path, filters=filters or None)
    elif ".csv" in name:
        frame = pd.read_csv(path)
        if "date" not in frame.columns or "ticker" not in frame.columns:
            raise MarketDataError(f"{path}: needs columns 'date' and 'ticker'")
        frame["date"] = pd.to_datetime(frame["date"])
        frame["ticker"] = frame["ticker"].astype(str)
        keep = np.ones(len(frame), dtype=bool)
        if tickers is not None:
            keep &= frame["ticker"].isin(list(tickers)).to_numpy()
        if start is not None:
            keep &= (frame["date"] >= pd.Timestamp(start)).to_numpy()
        if end is not None:
            keep &= (frame["date"] <= pd.Timestamp(end)).to_numpy()
        if not keep.all():
            frame = frame.loc[keep].reset_index(drop=True)
    else:
        raise MarketDataError(f"{path}: unknown file type (use .parquet or .csv)")
    for column in ARRAY_FIELDS:
        if column in frame.columns and column != "close":
            # an empty cell in an event column means no event that day
            fill = 1.0 if column == "split_ratio" else 0.0
            frame[column] = frame[column].fillna(fill)
    return frame


def load_file(
    path: str | os.PathLike,
    tickers: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    *,
    metadata: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None,
    source: str | None = None,
    gaps: str = "error",
    distributions: Any = "known",
    calendar: str = "auto",
) -> Market:
    """Load a tidy file into a :class:`Market` (validated).

    Parameters
    ----------
    path : path-like
        Parquet or CSV file in the schema of ``data/README.md``.
    tickers : sequence of str, optional
        Tickers in column order (default: all, sorted). Each must have rows in the range.
    start, end : date-like, optional
        Inclusive date bounds.
    metadata : mapping or DataFrame, optional
        Per-ticker metadata; default :data:`taxsim.market.metadata.KNOWN_ASSETS` entries.
    source : str, optional
        Description for chart footnotes (default: the file name).
    gaps : {"error", "carry_forward"}
        Missing prices inside a ticker's history: an error (default) or, explicitly,
        carried forward with a warning listing them (see :meth:`Market.from_frame`).
    distributions : "known", "as_recorded" or pandas.DataFrame
        Distributions recorded as dividends that are not income, such as spin-offs (IRC
        §355) and stock dividends (§305(a)). "known" (default): those of
        :data:`taxsim.market.corrections.KNOWN_DISTRIBUTIONS` found in the file become
        split-like events (no tax, basis allocated by market value, the same total return;
        see :func:`taxsim.market.corrections.reclassify_distributions`), and any other
        dividend of 20% or more of the previous close is warned of. A DataFrame (``ticker``,
        ``date``, optional ``treatment``): the caller's list instead. "as_recorded": every
        dividend as the file has it.
    calendar : {"auto", "nyse", "dates"}
        The date axis (see :meth:`Market.from_frame`): by default US data is checked
        against the NYSE sessions, so a session missing from one ticker's rows is a gap.

    Notes
    -----
    A split date before ``start`` is outside the window; inside it ``split_ratio`` is kept.
    If the window starts on a split date, the split of that first date is kept as recorded.
    """
    from taxsim.market.metadata import with_known_metadata

    frame = read_tidy(path, tickers, start, end)
    if tickers is not None:
        present = set(frame["ticker"].astype(str).unique())
        absent = [t for t in tickers if t not in present]
        if absent:
            raise MarketDataError(
                f"{absent[0]}: no rows in {Path(path).name} between {start} and {end}"
            )
    frame, n_reclassified = reclassify_distributions(frame, distributions)
    source = with_reclassified_note(source if source is not None else Path(path).name,
                                    n_reclassified)
    market = Market.from_frame(frame, tickers=tickers, source=source, gaps=gaps,
                               calendar=calendar)
    return with_known_metadata(market, metadata)


def load_shared(
    name: str,
    tickers: Sequence[str] | None = None,
    start: Any = None,
    end: Any = None,
    **kwargs,
) -> Market:
    """Load one of the shared real data sets by name ("sp500", "us_etfs", "us_stocks")."""
    if name not in SHARED_DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {sorted(SHARED_DATASETS)}")
    path = shared_data_dir() / SHARED_DATASETS[name]
    kwargs.setdefault("source", SHARED_SOURCES[name])
    return load_file(path, tickers, start, end, **kwargs)


def write_tidy(market: Market, path: str | os.PathLike) -> Path:
    """Write a market as a tidy parquet or CSV file (the inverse of :func:`load_file`)."""
    path = Path(path)
    frame = market.to_frame()
    if path.name.lower().endswith((".parquet", ".pq")):
        frame.to_parquet(path, index=False)
    else:
        frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


__all__ = [
    "SHARED_DATASETS",
    "load_file",
    "load_shared",
    "read_tidy",
    "shared_data_dir",
    "to_day",
    "write_tidy",
]
