"""Yahoo Finance via yfinance: closes, dividends, splits and fund capital gains, cached.

What yfinance 1.7 returns (``Ticker.history(period="max", auto_adjust=False,
actions=True)``): a frame indexed by exchange-local midnight timestamps (``Date``,
tz ``America/New_York`` for US listings) with columns ``Open, High, Low, Close, Adj Close,
Volume, Dividends, Stock Splits`` and, for funds, ``Capital Gains``. ``Close`` is adjusted
for every split up to the download date but not for dividends; ``Dividends`` and ``Capital
Gains`` are cash per (equally split-adjusted) share on the ex-date, 0 otherwise; ``Stock
Splits`` is the split ratio on its effective date (4.0 for a 4-for-1), 0 otherwise.

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
from taxsim.market.validation import MarketDataError

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

    split = column("Stock Splits", 0.0)
    split = np.where(np.nan_to_num(split) == 0.0, 1.0, split)
    frame = pd.DataFrame(
        {
            "date": dates,
            "ticker": ticker,
            "close": column("Close", np.nan),
            "dividend": np.nan_to_num(column("Dividends", 0.0)),
            "lt_capital_gain": np.nan_to_num(column("Capital Gains", 0.0)),
            "split_ratio": split,
        }
    )
    # a distribution on a row without a price is kept: validation names it
    return frame.sort_values("date", kind="stable").reset_index(drop=True)


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
    """
    from taxsim.market.market import to_day
    from taxsim.market.metadata import with_known_metadata

    if splits not in ("raw", "adjusted"):
        raise ValueError(f"splits must be 'raw' or 'adjusted', not {splits!r}")
    tickers = [tickers] if isinstance(tickers, str) else list(tickers)
    frames = []
    for ticker in tickers:
        frame = cached_history(ticker, cache_dir=cache_dir, refresh=refresh, offline=offline)
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
    form = "raw closes with split events" if splits == "raw" else "split-adjusted closes"
    market = Market.from_frame(tidy, tickers=tickers, source=f"{SOURCE}, {form}", gaps=gaps)
    return with_known_metadata(market, metadata)
