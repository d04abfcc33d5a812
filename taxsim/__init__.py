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

__version__ = "0.1.0"

__all__ = [
    "Account",
    "ConfigError",
    "Household",
    "Ledger",
    "LedgerError",
    "TaxProfile",
    "TaxRates",
    "__version__",
]
