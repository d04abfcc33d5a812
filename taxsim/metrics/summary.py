"""``summarize``: every metric of a run, with the conventions it was measured under."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from taxsim.ledger.household import TaxProfile
from taxsim.metrics._inputs import DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR
from taxsim.metrics.activity import harvest_yield, tracking_error, turnover
from taxsim.metrics.after_tax import (
    ENGINE_FLOW_TIMING,
    _streams,
    after_tax_return,
    pre_tax_return,
    tax_alpha,
    tax_cost_ratio,
    window_years,
)
from taxsim.metrics.attribution import PIECES, RunTables, tax_alpha_decomposition
from taxsim.metrics.returns import daily_returns

METRIC_CONVENTIONS = {
    "returns": "time-weighted, daily valuation; external flows at the close of their day "
    "(the engine's timing); windows from the close of the first day",
    "annualization": f"geometric, calendar days / {DAYS_PER_YEAR}",
    "after_tax": "SEC Form N-1A Item 26(b)(2) pre-liquidation and 26(b)(3) post-liquidation: "
    "taxes when paid, accrued tax deducted; tax paid from outside is a cost to the investor",
    "liquidation": "post-liquidation figures assume every taxable lot sold on the last day, "
    "losses valued under the run's loss convention; pre-liquidation figures do not",
    "tax_cost_ratio": "Morningstar: 1 - (1 + after-tax pre-liquidation) / (1 + pre-tax)",
    "tax_alpha": "annualized after-tax return minus the non-managed twin's, same window",
    "tracking_error": f"std of daily pre-tax return differences x sqrt({TRADING_DAYS_PER_YEAR})",
    "turnover": "min(purchases, sales) / average daily value, per calendar year (mean of years)",
    "harvest_yield": "realized losses of a year / household value at the year's start "
    "(all realized losses unless sales are flagged as harvests)",
}


def _percent(value: float) -> str:
    return f"{100 * value:.4g}%"


def rates_text(tax_profile: TaxProfile, year: int | None = None) -> str:
    """The marginal rates of ``year`` as text, e.g. "37% ordinary, 20% long-term, 20% qualified
    dividends, 3.8% NIIT, 0% state" (prefixed with the year when rates change by year)."""
    r = tax_profile.rates(int(year)) if year is not None else tax_profile.default
    text = (f"{_percent(r.ordinary)} ordinary, {_percent(r.long_term)} long-term, "
            f"{_percent(r.qualified_dividend)} qualified dividends, {_percent(r.niit)} NIIT, "
            f"{_percent(r.state)} state")
    if tax_profile.by_year and year is not None:
        return f"rates by year ({tax_profile.name}); {year}: {text}"
    return text


def conventions_of(result: Any) -> dict:
    """A run's conventions plus its tax rates as text (``tax_rates``) and the metrics'
    conventions (``metric_*``); what every chart footnote and summary states."""
    conventions = dict(getattr(result, "conventions", {}) or {})
    ledger = getattr(result, "ledger", None)
    profile = getattr(ledger, "tax_profile", None)
    if profile is not None:
        daily = result.daily()
        conventions["tax_rates"] = rates_text(profile, int(daily.index[-1].year))
    conventions.update({f"metric_{k}": v for k, v in METRIC_CONVENTIONS.items()})
    return conventions


def _payable(result: Any, daily: pd.DataFrame) -> float | None:
    if "accrued_tax" in daily.columns:
        return None
    return float(getattr(result, "tax_payable", 0.0))


def _last(daily: pd.DataFrame, column: str) -> float:
    return float(daily[column].iloc[-1]) if column in daily.columns else float("nan")


def summarize(result: Any, twin: Any = None) -> dict:
    """Every metric of a run in one dict, with its conventions attached.

    Parameters
    ----------
    result : taxsim.engine.Result
        A run (anything with ``daily()``, ``conventions``, ``ledger.annual_tax()``,
        ``ledger.form_8949()``, ``ledger.tax_profile``, ``trades_frame()``; ``twins`` and
        ``tax_payable`` used where present).
    twin : Result, optional
        The non-managed twin; default ``result.twins["non_managed"]`` when the run has twins.
        Without one, the tax-alpha entries are left out. ``result.twins["pre_tax"]``, when
        present, gives the pre-tax return.

    Returns
    -------
    dict
        Returns are annualized fractions unless named ``cumulative``; dollars at the last day.
        Keys: ``start``, ``end``, ``years``, ``pre_tax_return`` (and ``pre_tax_source``),
        ``after_tax_return_pre_liquidation``, ``after_tax_return_post_liquidation``, their
        ``_cumulative`` forms, ``money_weighted_return_post_liquidation``,
        ``tax_cost_ratio``, ``tax_cost_ratio_post_liquidation``, ``end_value``,
        ``liquidation_value``, ``deferred_tax_liability``, ``unrealized_gain``,
        ``taxes_paid``, ``harvested_losses``, ``harvest_yield_mean``, ``turnover_mean``; with a
        twin ``tax_alpha_pre_liquidation``, ``tax_alpha_post_liquidation``,
        ``tracking_error``, ``tax_alpha_<piece>`` (decomposition, annualized) and
        ``twin_strategy``; then ``convention_*`` entries: the run's conventions, ``tax_rates``
        and the metrics' own conventions.
    """
    daily = result.daily()
    payable = _payable(result, daily)
    twins = getattr(result, "twins", None) or {}
    if twin is None:
        twin = twins.get("non_managed")
    pre_tax_twin = twins.get("pre_tax")
    summary: dict = {
        "start": daily.index[0].date().isoformat(),
        "end": daily.index[-1].date().isoformat(),
        "years": window_years(daily),
    }
    if pre_tax_twin is not None:
        summary["pre_tax_return"] = pre_tax_return(pre_tax_twin.daily())
        summary["pre_tax_source"] = "pre-tax twin (same strategy, no taxes)"
    else:
        summary["pre_tax_return"] = pre_tax_return(daily)
        summary["pre_tax_source"] = "this run, taxes paid treated as withdrawals"
    for liquidated, name in ((False, "pre_liquidation"), (True, "post_liquidation")):
        summary[f"after_tax_return_{name}"] = after_tax_return(
            daily, liquidated=liquidated, tax_payable_at_end=payable)
        summary[f"after_tax_return_{name}_cumulative"] = after_tax_return(
            daily, liquidated=liquidated, annualized=False, tax_payable_at_end=payable)
    summary["money_weighted_return_post_liquidation"] = after_tax_return(
        daily, liquidated=True, method="money_weighted", tax_payable_at_end=payable)
    summary["tax_cost_ratio"] = tax_cost_ratio(summary["pre_tax_return"],
                                               summary["after_tax_return_pre_liquidation"])
    summary["tax_cost_ratio_post_liquidation"] = tax_cost_ratio(
        summary["pre_tax_return"], summary["after_tax_return_post_liquidation"])

    wealth, _, liquidation = _streams(daily, "after_tax", True, payable)
    summary["end_value"] = _last(daily, "total_value")
    summary["liquidation_value"] = float(liquidation[-1])
    summary["deferred_tax_liability"] = float(wealth[-1] - liquidation[-1])
    summary["unrealized_gain"] = _last(daily, "unrealized_gain")
    summary["taxes_paid"] = float(
        sum(_last(daily, c) for c in ("tax_paid_cumulative", "tax_outside_cumulative")
            if c in daily.columns))

    ledger = result.ledger
    form_8949 = ledger.form_8949()
    values = daily["total_value"]
    harvest = harvest_yield(form_8949, values)
    summary["harvested_losses"] = float(harvest["harvested_losses"].sum())
    summary["harvest_yield_mean"] = float(harvest["harvest_yield"].mean())
    summary["turnover_mean"] = float(turnover(result.trades_frame(), values)["turnover"].mean())

    if twin is not None:
        twin_daily = twin.daily()
        twin_payable = _payable(twin, twin_daily)
        for liquidated, name in ((False, "pre_liquidation"), (True, "post_liquidation")):
            summary[f"tax_alpha_{name}"] = tax_alpha(
                daily, twin_daily, liquidated=liquidated, tax_payable_at_end=payable,
                twin_tax_payable_at_end=twin_payable)
        own = daily_returns(*_streams(daily, "pre_tax", False, None)[:2], ENGINE_FLOW_TIMING)
        other = daily_returns(*_streams(twin_daily, "pre_tax", False, None)[:2],
                              ENGINE_FLOW_TIMING)
        summary["tracking_error"] = tracking_error(own[1:], other[1:])
        pieces = tax_alpha_decomposition(
            RunTables(daily, ledger.annual_tax(), form_8949, payable),
            RunTables(twin_daily, twin.ledger.annual_tax(), twin.ledger.form_8949(),
                      twin_payable),
            ledger.tax_profile, liquidated=True)
        for piece in PIECES:
            summary[f"tax_alpha_{piece}"] = float(pieces.loc[piece, "annualized"])
        summary["twin_strategy"] = getattr(twin, "conventions", {}).get("strategy", "twin")
    summary.update({f"convention_{k}": v for k, v in conventions_of(result).items()})
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in summary.items()}
