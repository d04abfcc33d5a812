"""taxsim: replay market history through portfolio strategies with a real US tax ledger."""

from taxsim.ledger import (
    Account,
    ConfigError,
    Household,
    Ledger,
    LedgerError,
    TaxProfile,
    TaxRates,
)
from taxsim.market import Market, MarketDataError, load
from taxsim.numba_cache import lock_cache_index

lock_cache_index()  # before a kernel is compiled or loaded (none is at import)

__version__ = "0.1.0"

__all__ = [
    "Account",
    "ConfigError",
    "Household",
    "Ledger",
    "LedgerError",
    "Market",
    "MarketDataError",
    "TaxProfile",
    "TaxRates",
    "__version__",
    "load",
]
