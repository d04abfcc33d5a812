"""Measuring tax alpha: returns, after-tax returns (SEC Form N-1A), tax alpha and its pieces.

Pure functions. The return and risk metrics take numpy arrays or pandas Series (a Series
brings its dates); the after-tax ones take a simulation's daily frame (``Result.daily()``).
Returns are fractions (0.01 = 1%), money is dollars, annualizing uses calendar days / 365.25.
See each module for the definitions and their sources.
"""

from taxsim.metrics._inputs import DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR, MetricsError
from taxsim.metrics.activity import (
    cumulative_harvested_losses,
    drift,
    drift_statistics,
    harvest_yield,
    harvested_losses_by_year,
    rolling_tracking_error,
    tracking_error,
    turnover,
)
from taxsim.metrics.after_tax import (
    after_tax_return,
    after_tax_return_from_tax_cost_ratio,
    after_tax_return_post_liquidation,
    after_tax_return_pre_liquidation,
    deferred_tax_liability,
    external_flows,
    growth_frame,
    liquidation_value,
    pre_tax_return,
    tax_alpha,
    tax_alpha_by_year,
    tax_cost_ratio,
    window_years,
)
from taxsim.metrics.attribution import (
    RunTables,
    character_rates,
    tax_alpha_decomposition,
)
from taxsim.metrics.calculators import deferral_value, hypothetical_after_tax_return
from taxsim.metrics.returns import (
    annualize,
    annualized_return,
    cumulative_return,
    daily_returns,
    internal_rate_of_return,
    money_weighted_return,
    time_weighted_return,
)
from taxsim.metrics.sec_after_tax import sec_after_tax_returns, sec_inputs_from_market
from taxsim.metrics.summary import conventions_of, headline, rates_text, summarize

__all__ = [
    "DAYS_PER_YEAR",
    "TRADING_DAYS_PER_YEAR",
    "MetricsError",
    "RunTables",
    "after_tax_return",
    "after_tax_return_from_tax_cost_ratio",
    "after_tax_return_post_liquidation",
    "after_tax_return_pre_liquidation",
    "annualize",
    "annualized_return",
    "character_rates",
    "conventions_of",
    "cumulative_harvested_losses",
    "cumulative_return",
    "daily_returns",
    "deferral_value",
    "deferred_tax_liability",
    "drift",
    "drift_statistics",
    "external_flows",
    "growth_frame",
    "harvest_yield",
    "harvested_losses_by_year",
    "headline",
    "hypothetical_after_tax_return",
    "internal_rate_of_return",
    "liquidation_value",
    "money_weighted_return",
    "pre_tax_return",
    "rates_text",
    "rolling_tracking_error",
    "sec_after_tax_returns",
    "sec_inputs_from_market",
    "summarize",
    "tax_alpha",
    "tax_alpha_by_year",
    "tax_alpha_decomposition",
    "tax_cost_ratio",
    "time_weighted_return",
    "tracking_error",
    "turnover",
    "window_years",
]
