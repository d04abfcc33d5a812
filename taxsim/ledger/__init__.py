"""The tax-lot ledger: lots, holding periods, wash sales, distributions, annual tax.

See README.md in this folder for the rules, their sources and the conventions.
"""

from taxsim.ledger.facade import Ledger, LedgerError
from taxsim.ledger.household import (
    Account,
    ConfigError,
    Household,
    TaxProfile,
    TaxRates,
)

__all__ = ["Account", "ConfigError", "Household", "Ledger", "LedgerError", "TaxProfile", "TaxRates"]
