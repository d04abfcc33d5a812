"""Yahoo Finance via yfinance: closes, dividends, splits and fund capital gains, cached.

What yfinance 1.7 returns (``Ticker.history(period="max", auto_adjust=False,
actions=True)``): a frame indexed by exchange-local midnight timestamps (``Date``,
tz ``America/New_York`` for US listings) with columns ``Open, High, Low, Close, Adj Close,
Volume, Dividends, Stock Splits`` and, for funds, ``Capital Gains``. ``Close`` is adjusted
for every split up to the download date but not for dividends; ``Dividends`` and ``Capital
Gains`` are cash per (equally split-adjusted) share on the ex-date, 0 otherwise; ``Stock
Splits`` is the split ratio on its effective date (4.0 for a 4-for-1), 0 otherwise.
yfinance itself writes 0 for "no event" (``history()`` sets the NaN cells left by merging the
event tables into the prices to 0) and returns the rows sorted by date.

Checks on a response (:func:`history_to_frame`), each a :class:`MarketDataError` naming the
ticker and date: a NaN, infinite or negative ``Stock Splits`` (0 means no split), a NaN
``Dividends`` or ``Capital Gains`` (NaN is not yfinance's "no event", so it is not read as
0), and, once loaded, every check of :meth:`Market.from_frame` (a NaN close on a row, a
missing NYSE session of a US listing, duplicate dates, ...). Rows that come out of date order
are put in date order: a response is a set of dated rows (yfinance sorts its own output), not
a file whose order means anything; duplicate dates are still an error. The cache is checked
again when it is read, so an edited cache file cannot bypass the split check.

Convention chosen here (``splits="raw"``, the default): undo Yahoo's split adjustment, so the
market holds the prices and per-share cash as they were on each day, with ``split_ratio`` on
the effective date: ``raw_t = yahoo_t * product of split ratios after t``. Totals returns
are the same either way; ``splits="adjusted"`` keeps Yahoo's split-adjusted numbers with
``split_ratio`` 1 everywhere. ``Capital Gains`` go to ``lt_capital_gain`` (Yahoo does not
separate short-term gains). ``Adj Close`` is not used.

The cache: one parquet file per ticker, ``<cache_dir>/yfinance/<TICKER>.parquet``, holding
the tidy conversion of the full history (``date, ticker, close, dividend, lt_capital_gain,
split_ratio`` in Yahoo's split-adjusted form). It is reused without any network access
unless ``refresh=True``; ``offline=True`` forbids the network (a missing cache entry is an
error). The default cache folder is ``data/cache`` of the repository (gitignored), or
``$TAXSIM_CACHE_DIR``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from taxsim.market.market import Market
from taxsim.market.validation import MarketDataError, format_days

SOURCE = "Yahoo Finance via yfinance"
CACHE_COLUMNS = ("date", "ticker", "close", "dividend", "lt_capital_gain", "split_ratio")


def default_cache_dir() -> Path:
    """``$TAXSIM_CACHE_DIR``, else ``data/cache`` of the repository (or of the working dir)."""
    configured = os.environ.get("TAXSIM_CACHE_DIR")
    if configured:
        return Path(configured)
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists():
        return repo / "data" / "cache"
    return Path.cwd() / "data" / "cache"


def fetch_history(ticker: str) -> pd.DataFrame:
    """Download the full daily history of ``ticker`` from Yahoo (network).

    The only function here that touches the network; tests replace it.
    """
    import yfinance

    return yfinance.Ticker(ticker).history(
        period="max", interval="1d", auto_adjust=False, actions=True
    )


def history_to_frame(history: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Tidy frame (Yahoo's split-adjusted form) from a yfinance ``history`` frame.

    Parameters
    ----------
    history : pandas.DataFrame
        As returned by ``yfinance.Ticker(...).history(auto_adjust=False, actions=True)``.
    ticker : str

    Returns
    -------
    pandas.DataFrame
        Columns ``date, ticker, close, dividend, lt_capital_gain, split_ratio``;
        ``split_ratio`` is 1.0 where Yahoo has 0 (no split).
    """
    if history is None or len(history) == 0:
        raise MarketDataError(f"{ticker}: Yahoo returned no history")
    if "Close" not in history.columns:
        raise MarketDataError(f"{ticker}: Yahoo history lacks a Close column")
    index = pd.DatetimeIndex(history.index)
    if index.tz is not None:
        index = index.tz_localize(None)
    dates = index.normalize()

    def column(name: str, fill: float) -> np.ndarray:
        if name not in history.columns:
            return np.full(len(history), fill)
        return history[name].to_numpy(dtype=np.float64, na_value=np.nan)

    days = dates.to_numpy().astype("datetime64[D]").astype(np.int64)
    split = column("Stock Splits", 0.0)
    bad_split = ~np.isfinite(split) | (split < 0)
    if bad_split.any():
        raise MarketDataError(
            f"{ticker}: Yahoo Stock Splits of {split[bad_split][0]} on "
            f"{format_days(days[bad_split])} (a split ratio must be positive; 0 means no split)"
        )
    split = np.where(split == 0.0, 1.0, split)
    cash = {}
    for name, field_name in (("Dividends", "dividend"), ("Capital Gains", "lt_capital_gain")):
        values = column(name, 0.0)
        # yfinance writes 0 on dates without an event, never NaN: a NaN is unknown cash
        missing = np.isnan(values)
        if missing.any():
            raise MarketDataError(
                f"{ticker}: Yahoo {name} is NaN on {format_days(days[missing])} (yfinance "
                "writes 0 for no event; NaN is an unknown amount)"
            )
        cash[field_name] = values
    frame = pd.DataFrame(
        {
            "date": dates,
            "ticker": ticker,
            "close": column("Close", np.nan),
            **cash,
            "split_ratio": split,
        }
    )
    # A distribution on a row without a price is kept: validation names it. Row order is
    # not information in a response (yfinance sorts its own output): sort, stably, so that
    # duplicate dates stay adjacent and Market.from_frame names them.
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


def check_split_column(frame: pd.DataFrame, ticker: str) -> None:
    """Raise unless every ``split_ratio`` of a tidy Yahoo frame is finite and positive.

    Run before :func:`unadjust_splits` (which would turn a bad ratio into bad prices, reported
    as a bad close) and before ``splits="adjusted"`` drops the column, so a bad ratio is named
    as such, with its ticker and date, in both conventions.
    """
    split = frame["split_ratio"].to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(split) | (split <= 0)
    if bad.any():
        days = frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        raise MarketDataError(
            f"{ticker}: split ratio {split[bad][0]} on {format_days(days[bad])} "
            "(must be finite and positive)"
        )


def unadjust_splits(frame: pd.DataFrame) -> pd.DataFrame:
    """Yahoo's split-adjusted prices and cash back to the raw numbers of each day.

    Multiplies ``close`` and the per-share cash of each date by the product of the split
    ratios strictly after it (one ticker, rows sorted by date).
    """
    split = frame["split_ratio"].to_numpy(dtype=np.float64)
    after = np.ones_like(split)
    if len(split) > 1:
        after[:-1] = np.cumprod(split[::-1])[::-1][1:]
    out = frame.copy()
    for name in ("close", "dividend", "lt_capital_gain"):
        out[name] = frame[name].to_numpy(dtype=np.float64) * after
    return out


def cached_history(
    ticker: str,
    *,
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
    offline: bool = False,
) -> pd.DataFrame:
    """The tidy history of ``ticker`` from the cache, downloading it when needed.

    Parameters
    ----------
    ticker : str
    cache_dir : path-like, optional
        Cache root (default :func:`default_cache_dir`).
    refresh : bool
        Download again even if cached, and overwrite the cache.
    offline : bool
        Never download; a ticker missing from the cache raises ``MarketDataError``.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = root / "yfinance" / f"{ticker}.parquet"
    if path.exists() and not refresh:
        frame = pd.read_parquet(path)
        frame["ticker"] = frame["ticker"].astype(str)
        return frame
    if offline:
        raise MarketDataError(f"{ticker}: not in the yfinance cache at {path} (offline)")
    frame = history_to_frame(fetch_history(ticker), ticker)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)
    return frame


def load_yfinance(
    tickers: Sequence[str],
    start: Any = None,
    end: Any = None,
    *,
    splits: str = "raw",
    cache_dir: str | os.PathLike | None = None,
    refresh: bool = False,
    offline: bool = False,
    metadata: Mapping[str, Mapping[str, Any]] | pd.DataFrame | None = None,
    gaps: str = "error",
    calendar: str = "auto",
    distributions: Any = "known",
) -> Market:
    """Load tickers from Yahoo Finance (through the local cache) into a :class:`Market`.

    Parameters
    ----------
    tickers : sequence of str
        Yahoo symbols, in column order.
    start, end : date-like, optional
        Inclusive date bounds.
    splits : {"raw", "adjusted"}
        "raw" (default): prices and cash as on each day, splits as ``split_ratio`` events.
        "adjusted": Yahoo's split-adjusted numbers, no split events.
    cache_dir, refresh, offline
        See :func:`cached_history`.
    metadata : mapping or DataFrame, optional
        Per-ticker metadata; default entries of :data:`taxsim.market.metadata.KNOWN_ASSETS`.
    gaps : {"error", "carry_forward"}
        See :meth:`Market.from_frame`.
    calendar : {"auto", "nyse", "dates"}
        The date axis, see :meth:`Market.from_frame`: by default a US listing is checked
        against the NYSE sessions, so a session missing from Yahoo's rows is a gap even for
        one ticker; a listing on another exchange keeps its own dates.
    distributions : "known", "as_recorded" or pandas.DataFrame
        Spin-offs and stock distributions that Yahoo lists as dividends (MO's Kraft and
        Philip Morris, DHR's Fortive, ...) are not income: the known ones become split-like
        events, also with ``splits="adjusted"`` (see
        :func:`taxsim.market.corrections.reclassify_distributions` and :func:`load_file`).
    """
    from taxsim.market.corrections import reclassify_distributions, with_reclassified_note
    from taxsim.market.market import to_day
    from taxsim.market.metadata import with_known_metadata

    if splits not in ("raw", "adjusted"):
        raise ValueError(f"splits must be 'raw' or 'adjusted', not {splits!r}")
    tickers = [tickers] if isinstance(tickers, str) else list(tickers)
    frames = []
    for ticker in tickers:
        frame = cached_history(ticker, cache_dir=cache_dir, refresh=refresh, offline=offline)
        check_split_column(frame, ticker)
        if splits == "raw":
            frame = unadjust_splits(frame)
        days = frame["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
        keep = np.ones(len(frame), dtype=bool)
        if start is not None:
            keep &= days >= to_day(start)
        if end is not None:
            keep &= days <= to_day(end)
        if not keep.any():
            raise MarketDataError(f"{ticker}: no Yahoo prices between {start} and {end}")
        frame = frame.loc[keep]
        if splits == "adjusted":
            frame = frame.assign(split_ratio=1.0)
        frames.append(frame)
    tidy = pd.concat(frames, ignore_index=True)
    tidy, n_reclassified = reclassify_distributions(tidy, distributions)
    form = "raw closes with split events" if splits == "raw" else "split-adjusted closes"
    source = with_reclassified_note(f"{SOURCE}, {form}", n_reclassified)
    market = Market.from_frame(tidy, tickers=tickers, source=source, gaps=gaps,
                               calendar=calendar)
    return with_known_metadata(market, metadata)
