"""Market data: real prices with every distribution and split, and synthetic markets.

The simulator replays a :class:`Market` (see ``market.py`` for the conventions and
``data/README.md`` for the file schema). Get one with :func:`load`::

    from taxsim.market import load
    market = load(["SPY", "QQQ"], "2010-01-01", "2020-12-31", source="us_etfs")
    demo = load()                       # synthetic default universe, 20 years, seed 0

Many synthetic paths at once (arrays of shape paths x dates x assets)::

    from taxsim.market.synthetic import generate, default_universe
    paths = generate(1000, universe=default_universe(n_stocks=44), seed=1)
    market_7 = paths.path(7)
"""

from taxsim.market.calendar import nyse_trading_days
from taxsim.market.files import load_file, load_shared, read_tidy, write_tidy
from taxsim.market.load import load
from taxsim.market.market import Market
from taxsim.market.synthetic import (
    AssetSpec,
    SyntheticMarkets,
    default_universe,
    generate,
    synthetic_market,
)
from taxsim.market.validation import (
    DISTRIBUTION_FIELDS,
    TAX_CHARACTERS,
    MarketDataError,
    MarketDataWarning,
)
from taxsim.market.yahoo import load_yfinance

__all__ = [
    "DISTRIBUTION_FIELDS",
    "TAX_CHARACTERS",
    "AssetSpec",
    "Market",
    "MarketDataError",
    "MarketDataWarning",
    "SyntheticMarkets",
    "default_universe",
    "generate",
    "load",
    "load_file",
    "load_shared",
    "load_yfinance",
    "nyse_trading_days",
    "read_tidy",
    "synthetic_market",
    "write_tidy",
]
