"""Built-in strategies; see README.md in this folder for the interface."""

from strategies.asset_location import asset_location, household_mix
from strategies.buy_and_hold import buy_and_hold
from strategies.calendar_rebalance import calendar_rebalance
from strategies.direct_indexing import direct_indexing
from strategies.drift_bands import drift_bands
from strategies.loss_harvest import loss_harvest
from strategies.tax_aware_rebalance import tax_aware_rebalance

__all__ = ["buy_and_hold", "calendar_rebalance", "drift_bands", "loss_harvest"]
__all__ += ["asset_location", "household_mix", "tax_aware_rebalance"]
__all__ += ["direct_indexing"]
