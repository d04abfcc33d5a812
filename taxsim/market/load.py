"""One entry point: ``load(tickers, start, end, source=...)``."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from taxsim.market.files import SHARED_DATASETS, load_file, load_shared
from taxsim.market.market import Market

SOURCES = ("synthetic", "yfinance", *SHARED_DATASETS, "<path to a .parquet or .csv file>")


def load(
    tickers: Sequence[str] | str | None = None,
    start: Any = None,
    end: Any = None,
    *,
    source: str | os.PathLike = "synthetic",
    **options: Any,
) -> Market:
    """Load market data for ``tickers`` between ``start`` and ``end`` (inclusive).

    Parameters
    ----------
    tickers : str or sequence of str, optional
        Tickers in column order. None: every ticker of the source (not for "yfinance").
    start, end : date-like, optional
        Inclusive bounds (anything ``pandas.Timestamp`` accepts).
    source : str or path-like
        - "synthetic" (default): one path of the seeded synthetic universe
          (:func:`taxsim.market.synthetic.synthetic_market`; options ``seed``, ``path``,
          ``universe``, ``tail_df``; ``start`` defaults to 2006-01-03 and ``end`` to 20
          years later);
        - "yfinance": Yahoo Finance through the local cache
          (:func:`taxsim.market.yahoo.load_yfinance`; options ``splits``, ``refresh``,
          ``offline``, ``cache_dir``, ``metadata``, ``gaps``, ``calendar``);
        - "sp500", "us_etfs", "us_stocks": the real data sets of ``../shared/data``
          (or ``$TAXSIM_SHARED_DATA``);
        - a path to a tidy ``.parquet`` or ``.csv`` file (schema in ``data/README.md``).
    **options
        Passed to the loader named above.

    Examples
    --------
    >>> market = load(["SPY", "QQQ"], "2010-01-01", "2020-12-31", source="us_etfs")
    >>> demo = load()  # the synthetic default universe, 20 years
    """
    if isinstance(tickers, str):
        tickers = [tickers]
    name = os.fspath(source)
    if name == "synthetic":
        from taxsim.market.synthetic import synthetic_market

        begin = start if start is not None else "2006-01-03"
        years = options.pop("years", None)
        if years is None:
            years = 20.0
            if end is not None:
                span = (pd.Timestamp(end) - pd.Timestamp(begin)).days + 1
                years = span / 365.25 + 0.01
        market = synthetic_market(start=begin, years=years, **options)
        if end is not None:
            market = market.between(None, end)
        return market.select(tickers) if tickers is not None else market
    if name == "yfinance":
        from taxsim.market.yahoo import load_yfinance

        if tickers is None:
            raise ValueError("source='yfinance' needs tickers")
        return load_yfinance(tickers, start, end, **options)
    if name in SHARED_DATASETS:
        return load_shared(name, tickers, start, end, **options)
    path = Path(name)
    if path.suffix.lower() in (".parquet", ".pq", ".csv", ".gz") or path.exists():
        return load_file(path, tickers, start, end, **options)
    raise ValueError(f"unknown source {name!r}; use one of {SOURCES}")
