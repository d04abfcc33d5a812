"""Publication charts of taxsim results (matplotlib, Agg canvas, Okabe-Ito palette).

Every chart returns its Figure, saves it when given ``path`` (PNG, SVG or PDF by suffix) and
carries a footnote with its assumptions (the word "Hypothetical", tax rates, conventions,
period, data source). Inputs are pandas objects from :mod:`taxsim.metrics`.
"""

from taxsim.charts.factsheet import factsheet, factsheet_from_result
from taxsim.charts.plots import (
    TITLES,
    drift_tracking_chart,
    growth_of_wealth,
    harvested_losses_chart,
    realized_by_year,
    realized_gains_chart,
    tax_alpha_by_year_chart,
    tax_alpha_distribution_chart,
    tax_cost_ratio_chart,
)
from taxsim.charts.style import (
    OKABE_ITO,
    RC,
    ChartError,
    footnote_of,
    footnote_text,
    new_figure,
    save,
    styled,
)

__all__ = [
    "OKABE_ITO",
    "RC",
    "TITLES",
    "ChartError",
    "drift_tracking_chart",
    "factsheet",
    "factsheet_from_result",
    "footnote_of",
    "footnote_text",
    "growth_of_wealth",
    "harvested_losses_chart",
    "new_figure",
    "realized_by_year",
    "realized_gains_chart",
    "save",
    "styled",
    "tax_alpha_by_year_chart",
    "tax_alpha_distribution_chart",
    "tax_cost_ratio_chart",
]
