"""``summarize``: every metric of a run, with the conventions it was measured under."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from taxsim.ledger.household import TaxProfile
from taxsim.metrics._inputs import DAYS_PER_YEAR, TRADING_DAYS_PER_YEAR, MetricsError
from taxsim.metrics.activity import (
    _harvest_yield_arrays,
    _loss_arrays,
    _series_mean,
    _series_sum,
    _turnover_arrays,
    tracking_error,
)
from taxsim.metrics.after_tax import (
    ENGINE_FLOW_TIMING,
    _DailyArrays,
    _streams,
    _tax_alpha,
    _window_return,
    pre_tax_return,
    tax_cost_ratio,
    whole_run_returns,
    window_years,
)
from taxsim.metrics.attribution import PIECES, _decomposition, _RealizedArrays, _Run
from taxsim.metrics.returns import daily_returns

PRE_TAX_FROM_TWIN = "pre-tax twin (same strategy, no taxes)"
PRE_TAX_FROM_THIS_RUN = "this run, taxes paid treated as withdrawals"
"""The two values of ``summarize(...)["pre_tax_source"]``: where ``pre_tax_return`` comes
from."""

METRIC_CONVENTIONS = {
    "returns": "time-weighted, daily valuation; external flows at the close of their day "
    "(the engine's timing); windows from the close of the first day",
    "annualization": f"geometric, calendar days / {DAYS_PER_YEAR}",
    "after_tax": "SEC Form N-1A Item 26(b)(2) pre-liquidation and 26(b)(3) post-liquidation: "
    "taxes when paid, accrued tax deducted; tax paid from outside is a cost to the investor",
    "liquidation": "post-liquidation figures assume every taxable lot sold on the last day, "
    "losses valued under the run's loss convention; pre-liquidation figures do not",
    "tax_cost_ratio": "Morningstar: 1 - (1 + after-tax pre-liquidation) / (1 + pre-tax), "
    "both of this run (pre-tax: its taxes paid treated as withdrawals, as a fund's total "
    "return is before its investors' taxes), not of a pre-tax twin on a path of its own",
    "tax_alpha": "annualized after-tax return minus the non-managed twin's, same window",
    "tax_alpha_decomposition": "tax_alpha_harvested_losses + tax_alpha_deferral + "
    "tax_alpha_character + tax_alpha_location + tax_alpha_other = tax_alpha_post_liquidation "
    "(annualized pieces of the post-liquidation tax alpha, other = the remainder; "
    "taxsim.metrics.tax_alpha_decomposition)",
    "tracking_error": f"std of daily pre-tax return differences x sqrt({TRADING_DAYS_PER_YEAR})",
    "turnover": "min(purchases, sales) / average daily value, per calendar year (mean of years)",
    "harvest_yield": "realized losses of a year / household value at the year's start "
    "(all realized losses unless sales are flagged as harvests)",
}


def _percent(value: float) -> str:
    return f"{100 * value:.4g}%"


def rates_text(tax_profile: TaxProfile, year: int | None = None) -> str:
    """The marginal rates of ``year`` as text, e.g. "37% ordinary, 20% long-term, 20% qualified
    dividends, 3.8% NIIT, 0% state, 20% §199A deduction on REIT dividends" (prefixed
    with the year when rates change by year; followed
    by each change of the long-term rate within a year up to ``year``, e.g. "long-term 20%
    before 2003-05-06 in that year")."""
    r = tax_profile.rates(int(year)) if year is not None else tax_profile.default
    text = (f"{_percent(r.ordinary)} ordinary, {_percent(r.long_term)} long-term, "
            f"{_percent(r.qualified_dividend)} qualified dividends, {_percent(r.niit)} NIIT, "
            f"{_percent(r.state)} state")
    if r.section_199a_deduction > 0.0:  # IRC §199A(b)(1)(B), federal only
        text += f", {_percent(r.section_199a_deduction)} §199A deduction on REIT dividends"
    if tax_profile.by_year and year is not None:
        text = f"rates by year ({tax_profile.name}); {year}: {text}"
    changes = [f"{_percent(rate)} before {when}"
               for when, rate in tax_profile.long_term_before.items()
               if year is None or int(when[:4]) <= int(year)]
    if changes:  # a long-term rate that changed within a year (2003's May 6)
        text += f"; long-term {', '.join(changes)} in that year"
    return text


def conventions_of(result: Any) -> dict:
    """A run's conventions plus its tax rates as text (``tax_rates``) and the metrics'
    conventions (``metric_*``); what every chart footnote and summary states."""
    ledger = getattr(result, "ledger", None)
    last_year = None
    if getattr(ledger, "tax_profile", None) is not None:
        last_year = int(result.daily().index[-1].year)
    return _conventions(result, last_year)


def _conventions(result: Any, last_year: int | None) -> dict:
    """:func:`conventions_of` with the last day's year given (None: no tax profile)."""
    conventions = dict(getattr(result, "conventions", {}) or {})
    ledger = getattr(result, "ledger", None)
    profile = getattr(ledger, "tax_profile", None)
    if profile is not None:
        conventions["tax_rates"] = rates_text(profile, last_year)
        collectibles = tuple(getattr(ledger, "collectibles", ()) or ())
        if collectibles:  # IRC §1(h)(4)-(5): their long-term gains are in the 28% group
            rates = profile.rates(int(last_year)) if last_year is not None else profile.default
            conventions["tax_rates"] += (f", {_percent(rates.collectibles)} on long-term "
                                         f"collectibles gain ({', '.join(collectibles)})")
    conventions.update({f"metric_{k}": v for k, v in METRIC_CONVENTIONS.items()})
    return conventions


def _payable(result: Any, daily: _DailyArrays) -> float | None:
    if daily.has("accrued_tax"):
        return None
    return float(getattr(result, "tax_payable", 0.0))


def _last(daily: _DailyArrays, column: str) -> float:
    return float(daily.column(column)[-1]) if daily.has(column) else float("nan")


def _returns(daily: _DailyArrays, liquidated: bool, payable: float | None):
    """(annualized, cumulative) after-tax time-weighted return of the whole run."""
    cumulative = _window_return(daily, "after_tax", None, None, liquidated, False,
                                "time_weighted", payable)
    annualized = _window_return(daily, "after_tax", None, None, liquidated, True,
                                "time_weighted", payable)
    return annualized, cumulative


HEADLINE_KEYS = (
    "pre_tax_return",
    "after_tax_return_pre_liquidation",
    "after_tax_return_post_liquidation",
    "tax_alpha_pre_liquidation",
    "tax_alpha_post_liquidation",
)
"""The entries of :func:`headline`, named as in :func:`summarize`."""


def headline(result: Any) -> dict:
    """The headline figures of an engine run, :func:`summarize`'s numbers (to about 1e-15),
    from its arrays in one compiled pass (microseconds, not the milliseconds of a summary:
    the per-scenario figures of sweeps).

    Parameters
    ----------
    result : taxsim.engine.Result
        A run; with twins (``simulate(..., twins=True)``) the tax alphas against its
        non-managed twin and the pre-tax return of its pre-tax twin are given too.

    Returns
    -------
    dict
        ``pre_tax_return`` (of the pre-tax twin, else of this run with taxes paid treated as
        withdrawals), ``after_tax_return_pre_liquidation``,
        ``after_tax_return_post_liquidation`` and, with a non-managed twin,
        ``tax_alpha_pre_liquidation`` and ``tax_alpha_post_liquidation``: annualized
        fractions, time-weighted over the whole run, with the conventions they follow
        (``convention_metric_*``, as in :func:`summarize`).
    """
    twins = getattr(result, "twins", None) or {}
    own = _whole_run(result)
    pre_tax_twin = twins.get("pre_tax")
    out = {"pre_tax_return": own[0] if pre_tax_twin is None else _whole_run(pre_tax_twin)[0],
           "after_tax_return_pre_liquidation": own[1],
           "after_tax_return_post_liquidation": own[2]}
    twin = twins.get("non_managed")
    if twin is not None:
        other = _whole_run(twin)
        if not np.array_equal(twin.market.dates[[0, -1]], result.market.dates[[0, -1]]):
            raise MetricsError("headline: the non-managed twin covers other dates than the run")
        out["tax_alpha_pre_liquidation"] = own[1] - other[1]
        out["tax_alpha_post_liquidation"] = own[2] - other[2]
    out.update({f"convention_metric_{k}": METRIC_CONVENTIONS[k]
                for k in ("returns", "annualization", "after_tax", "liquidation", "tax_alpha")})
    return out


def _whole_run(result: Any) -> tuple[float, float, float]:
    """(pre-tax, after-tax pre-liquidation, post-liquidation) annualized returns of a run;
    through its frame where the compiled pass cannot (which then names what is wrong)."""
    returns = whole_run_returns(result)
    if returns is not None:
        return returns
    daily = _DailyArrays(result.daily())
    payable = _payable(result, daily)
    return (_window_return(daily, "pre_tax", None, None, False, True, "time_weighted", None),
            _returns(daily, False, payable)[0], _returns(daily, True, payable)[0])


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
        Keys: ``start``, ``end``, ``years``, ``pre_tax_return`` (and ``pre_tax_source``: of
        the pre-tax twin when the run has one), ``pre_tax_return_this_run`` (this run's, its
        taxes paid treated as withdrawals), ``after_tax_return_pre_liquidation``,
        ``after_tax_return_post_liquidation``, their ``_cumulative`` forms,
        ``money_weighted_return_post_liquidation``, ``tax_cost_ratio`` and
        ``tax_cost_ratio_post_liquidation`` (both against ``pre_tax_return_this_run``),
        ``end_value``,
        ``liquidation_value``, ``deferred_tax_liability``, ``unrealized_gain``,
        ``taxes_paid``, ``harvested_losses``, ``harvest_yield_mean``, ``turnover_mean``; with a
        twin ``tax_alpha_pre_liquidation``, ``tax_alpha_post_liquidation``,
        ``tracking_error``, ``tax_alpha_<piece>``, ``tax_alpha_pieces_add_up_to`` and
        ``twin_strategy``; then ``convention_*`` entries: the run's conventions,
        ``tax_rates`` and the metrics' own conventions. The ``tax_alpha_<piece>`` entries
        (``harvested_losses``, ``deferral``, ``character``, ``location``, ``other``)
        decompose the *post-liquidation* tax alpha: annualized, they add up to
        ``tax_alpha_post_liquidation``, which the dict itself says
        (``tax_alpha_pieces_add_up_to`` names it, ``convention_metric_tax_alpha_decomposition``
        explains it); they are NaN when the rates are unknown (``result.ledger.tax_profile``
        None: a results folder written without its rates).

    Notes
    -----
    Each frame (daily, Form 8949, trades, annual tax) is read once and its columns taken as
    arrays; the metrics are the same functions' rules on those arrays (``_DailyArrays`` and the
    array forms in ``activity``/``attribution``), so the figures equal those of the public
    functions called one by one on the frames.
    """
    daily = _DailyArrays(result.daily())
    payable = _payable(result, daily)
    twins = getattr(result, "twins", None) or {}
    if twin is None:
        twin = twins.get("non_managed")
    pre_tax_twin = twins.get("pre_tax")
    index = daily.index
    summary: dict = {
        "start": index[0].date().isoformat(),
        "end": index[-1].date().isoformat(),
        "years": window_years(daily),
    }
    own_pre_tax = _window_return(daily, "pre_tax", None, None, False, True, "time_weighted",
                                 None)
    if pre_tax_twin is not None:
        summary["pre_tax_return"] = pre_tax_return(pre_tax_twin.daily())
        summary["pre_tax_source"] = PRE_TAX_FROM_TWIN
    else:
        summary["pre_tax_return"] = own_pre_tax
        summary["pre_tax_source"] = PRE_TAX_FROM_THIS_RUN
    summary["pre_tax_return_this_run"] = own_pre_tax
    for liquidated, name in ((False, "pre_liquidation"), (True, "post_liquidation")):
        (summary[f"after_tax_return_{name}"],
         summary[f"after_tax_return_{name}_cumulative"]) = _returns(daily, liquidated, payable)
    summary["money_weighted_return_post_liquidation"] = _window_return(
        daily, "after_tax", None, None, True, True, "money_weighted", payable)
    # Morningstar's ratio compares a fund's return before and after its investors' taxes on
    # one path; a pre-tax twin that trades otherwise (no tax sales, other harvests) would
    # make the ratio depend on whether the run has twins
    summary["tax_cost_ratio"] = tax_cost_ratio(own_pre_tax,
                                               summary["after_tax_return_pre_liquidation"])
    summary["tax_cost_ratio_post_liquidation"] = tax_cost_ratio(
        own_pre_tax, summary["after_tax_return_post_liquidation"])

    wealth, _, liquidation = _streams(daily, "after_tax", True, payable)
    summary["end_value"] = _last(daily, "total_value")
    summary["liquidation_value"] = float(liquidation[-1])
    summary["deferred_tax_liability"] = float(wealth[-1] - liquidation[-1])
    summary["unrealized_gain"] = _last(daily, "unrealized_gain")
    summary["taxes_paid"] = float(
        sum(_last(daily, c) for c in ("tax_paid_cumulative", "tax_outside_cumulative")
            if daily.has(c)))

    ledger = result.ledger
    form_8949 = ledger.form_8949()
    values = daily.column("total_value")
    value_years = np.asarray(index.year, np.int64)
    realized = _RealizedArrays.from_form_8949(
        form_8949, needs_term=twin is not None,
        collectibles=tuple(getattr(ledger, "collectibles", ()) or ()) if twin is not None else ())
    harvested, _, harvest_yield = _harvest_yield_arrays(value_years, values,
                                                        *_loss_arrays(form_8949, realized))
    summary["harvested_losses"] = _series_sum(harvested)
    summary["harvest_yield_mean"] = _series_mean(harvest_yield)
    summary["turnover_mean"] = _series_mean(_turnover_arrays(value_years, values,
                                                             *_trade_arrays(result)))

    if twin is not None:
        twin_daily = _DailyArrays(twin.daily(), "twin_daily")
        twin_payable = _payable(twin, twin_daily)
        for liquidated, name in ((False, "pre_liquidation"), (True, "post_liquidation")):
            summary[f"tax_alpha_{name}"] = _tax_alpha(
                daily, twin_daily, None, None, liquidated, "time_weighted", payable,
                twin_payable)
        own = daily_returns(*_streams(daily, "pre_tax", False, None)[:2], ENGINE_FLOW_TIMING)
        other = daily_returns(*_streams(twin_daily, "pre_tax", False, None)[:2],
                              ENGINE_FLOW_TIMING)
        summary["tracking_error"] = tracking_error(own[1:], other[1:])
        if getattr(ledger, "tax_profile", None) is None:  # unknown rates: no pieces
            annualized = dict.fromkeys(PIECES, float("nan"))
        else:
            _, annualized, _ = _decomposition(
                _Run(daily, ledger.annual_tax(), realized, payable),
                _Run(twin_daily, twin.ledger.annual_tax(),
                     _RealizedArrays.from_form_8949(
                         twin.ledger.form_8949(),
                         collectibles=tuple(getattr(twin.ledger, "collectibles", ()) or ())),
                     twin_payable),
                ledger.tax_profile, liquidated=True)
        for piece in PIECES:  # pieces of tax_alpha_post_liquidation (METRIC_CONVENTIONS)
            summary[f"tax_alpha_{piece}"] = float(annualized[piece])
        summary["tax_alpha_pieces_add_up_to"] = "tax_alpha_post_liquidation"
        summary["twin_strategy"] = getattr(twin, "conventions", {}).get("strategy", "twin")
    summary.update({f"convention_{k}": v
                    for k, v in _conventions(result, int(index[-1].year)).items()})
    days = (index[-1] - index[0]).days
    if days < 365:  # GIPS: a period under a year is not annualized; say so
        summary["convention_metric_annualization"] += (
            f"; this run covers {days} days, less than a year: its annualized returns, tax "
            "cost ratios and tax alphas extrapolate it to a year, and the *_cumulative "
            "entries are the period's own returns")
    return {k: (float(v) if isinstance(v, np.floating) else v) for k, v in summary.items()}


def _trade_arrays(result: Any) -> tuple[np.ndarray, np.ndarray]:
    """(year, signed notional in dollars) of each trade: ``result.trades_frame()``'s ``date``,
    ``shares`` and ``price``, read straight from the engine's trade records when the result
    has them (the frame's source, without its text columns)."""
    records = getattr(result, "trades", None)
    if (isinstance(records, np.ndarray) and records.dtype.names is not None
            and {"day", "shares", "price"} <= set(records.dtype.names)):
        days = records["day"].astype("timedelta64[D]") + np.datetime64("1970-01-01", "D")
        years = days.astype("datetime64[Y]").astype(np.int64) + 1970
        return years, records["shares"].astype(np.float64) * records["price"].astype(np.float64)
    trades = result.trades_frame()
    for column in ("date", "shares", "price"):
        if column not in trades.columns:
            raise MetricsError(f"trades: needs a {column!r} column")
    notional = trades["shares"].to_numpy(np.float64) * trades["price"].to_numpy(np.float64)
    return np.asarray(pd.DatetimeIndex(trades["date"]).year, np.int64), notional
