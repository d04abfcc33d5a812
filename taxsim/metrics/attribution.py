"""Tax alpha decomposition: an additive, documented approximation.

The tax alpha of a strategy ``S`` against its non-managed twin ``N`` (same targets, flows,
costs and taxes, no tax management) is split into five pieces that add up to it exactly,
because the last one, ``other``, is defined as the remainder. Every piece is first a dollar
amount at the end of the run (positive = in the strategy's favour), built from both runs' annual
tax tables (``Ledger.annual_tax()``), Form 8949 rows (``Ledger.form_8949()``) and daily frames,
with each year's marginal rates by character from the tax profile:

- short-term gains and losses, ordinary dividends, interest and short-term capital-gain
  distributions: ``ordinary + NIIT + state``;
- long-term gains and losses and long-term capital-gain distributions:
  ``long_term + NIIT + state``; qualified dividends: ``qualified_dividend + NIIT + state``.

For each run ``X``: ``L_X`` = tax value of its realized losses (each Form 8949 loss row times
the rate of its term in the year of sale); ``G_X`` = its realized gains (positive rows) and
``rho_X`` = their average rate (tax at the term rates / ``G_X``); ``I_X`` = tax on its
distributions and interest (annual table income columns at their rates); ``E_X`` = its extra
tax at liquidation on the last day (``liquidation_tax``, beyond the accrued tax);
``P_X(t)`` = tax it paid on day ``t`` (from the portfolio or outside).

1. ``harvested_losses`` = ``L_S - L_N``: the tax the strategy's extra realized losses saved
   when they were realized (gross: the lower basis they leave behind is repaid through
   ``deferral`` at liquidation).
2. ``character`` = ``G_S * (rho_N - rho_S)``: the rate mix of realized gains (long-term
   rather than short-term), at the strategy's volume of gains.
3. ``deferral`` = ``(G_N - G_S) * rho_N`` (tax on gains the strategy did not realize, at the
   twin's rate) ``- (E_S - E_N)`` (the larger tax it owes on a full sale at the end; left out
   pre-liquidation) ``+ sum_t (P_N(t) - P_S(t)) * (I_end / I_t - 1)`` (the growth of taxes
   paid later, compounded at the twin's pre-tax daily returns ``I``).
4. ``location`` = ``I_N - I_S``: tax on distributions and interest in taxable accounts, which
   asset location (and the choice of tax-efficient funds) changes.
5. ``other`` = total - the four above: loss netting, the $3,000 limit and carryforwards under
   the ``standalone`` convention, rate changes between realization and liquidation, pre-tax
   return differences (tracking, costs, wash-sale substitutes) and compounding.

The total in dollars is the difference in after-tax ending wealth ``D``
(``growth_frame(...)["after_tax"]`` or ``["liquidation_value"]`` on the last day); the total
annualized is :func:`taxsim.metrics.tax_alpha` ``A`` (time-weighted). A dollar piece ``D_k``
becomes annualized return ``a_k = D_k * A / D``: each piece gets its dollar share of the tax
alpha, and ``other`` keeps the same share in both columns. Where that scale is unreliable (``D``
near zero, or ``A / D`` off by more than a factor of two from the first-order sensitivity of
the twin's annualized return to its ending wealth ``W_N``, ``(1 + R_N) / (T * W_N)``, as when
flows make time- and money-weighting disagree) the first-order sensitivity is used instead
and ``other`` absorbs the difference. ``frame.attrs["scale"]`` says which. Either way each
column adds up exactly. The decomposition covers the whole run (the tax tables do).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from taxsim.ledger.household import TaxProfile
from taxsim.metrics._inputs import MetricsError
from taxsim.metrics.after_tax import (
    _streams,
    after_tax_return,
    growth_frame,
    tax_alpha,
    window_years,
)
from taxsim.metrics.returns import daily_returns

PIECES = ("harvested_losses", "deferral", "character", "location", "other")


class RunTables(NamedTuple):
    """The tables of one run the decomposition reads.

    ``daily``: ``Result.daily()``; ``annual_tax``: ``Ledger.annual_tax()``; ``form_8949``:
    ``Ledger.form_8949()``; ``tax_payable_at_end``: tax computed but unpaid on the last day
    when ``daily`` has no ``accrued_tax`` column (else None).
    """

    daily: pd.DataFrame
    annual_tax: pd.DataFrame
    form_8949: pd.DataFrame
    tax_payable_at_end: float | None = None

    @classmethod
    def from_result(cls, result) -> RunTables:
        """The tables of a :class:`taxsim.engine.Result`."""
        daily = result.daily()
        payable = None if "accrued_tax" in daily.columns else float(
            getattr(result, "tax_payable", 0.0))
        return cls(daily, result.ledger.annual_tax(), result.ledger.form_8949(), payable)


def character_rates(tax_profile: TaxProfile, year: int) -> dict:
    """Combined marginal rates of ``year`` by tax character (fractions): ``short_term``
    (= ordinary income), ``long_term`` and ``qualified`` each with NIIT and the state rate."""
    r = tax_profile.rates(int(year))
    extra = r.niit + r.state
    return {
        "short_term": r.ordinary + extra,
        "long_term": r.long_term + extra,
        "qualified": r.qualified_dividend + extra,
    }


def _realized_taxes(form_8949: pd.DataFrame, tax_profile: TaxProfile) -> tuple[float, float,
                                                                                  float]:
    """(tax value of losses, realized gains, tax on those gains), dollars."""
    if len(form_8949) == 0:
        return 0.0, 0.0, 0.0
    for column in ("sold", "gain", "term"):
        if column not in form_8949.columns:
            raise MetricsError(f"form_8949: needs a {column!r} column")
    years = pd.DatetimeIndex(form_8949["sold"]).year
    rates = {year: character_rates(tax_profile, year) for year in set(years)}
    rate = np.array([
        rates[year]["long_term" if term == "long" else "short_term"]
        for year, term in zip(years, form_8949["term"], strict=True)
    ])
    gain = form_8949["gain"].to_numpy(np.float64)
    losses = gain < 0
    loss_value = float(-(gain[losses] * rate[losses]).sum())
    gains = float(gain[~losses].sum())
    gains_tax = float((gain[~losses] * rate[~losses]).sum())
    return loss_value, gains, gains_tax


def _income_tax(annual_tax: pd.DataFrame, tax_profile: TaxProfile) -> float:
    """Tax on distributions and interest at their character rates, dollars."""
    total = 0.0
    for row in annual_tax.itertuples(index=False):
        rates = character_rates(tax_profile, int(row.year))
        ordinary = (getattr(row, "nonqualified_dividends", 0.0) + getattr(row, "interest", 0.0)
                    + getattr(row, "st_capital_gain_distributions", 0.0))
        total += (
            ordinary * rates["short_term"]
            + getattr(row, "qualified_dividends", 0.0) * rates["qualified"]
            + getattr(row, "lt_capital_gain_distributions", 0.0) * rates["long_term"]
        )
    return float(total)


def _paid_by_day(daily: pd.DataFrame) -> pd.Series:
    paid = pd.Series(0.0, index=daily.index)
    for column in ("tax_paid_cumulative", "tax_outside_cumulative"):
        if column in daily.columns:
            paid = paid + daily[column].astype(np.float64)
    return paid.diff().fillna(paid.iloc[0])


def tax_alpha_decomposition(
    strategy: RunTables,
    twin: RunTables,
    tax_profile: TaxProfile | None = None,
    liquidated: bool = True,
) -> pd.DataFrame:
    """Split the tax alpha into harvested losses, deferral, character, location and other.

    See the module notes for the definitions: an additive approximation whose ``other`` term
    is the remainder, so the pieces add up to the total exactly.

    Parameters
    ----------
    strategy, twin : RunTables
        The tables of the strategy's run and of its non-managed twin (same dates).
    tax_profile : TaxProfile, optional
        The rates both runs used (default ``TaxProfile()``, 2025 top federal).
    liquidated : bool
        Decompose the post-liquidation tax alpha (default) or the pre-liquidation one (then
        the liquidation tax is left out of ``deferral``).

    Returns
    -------
    DataFrame
        Index ``harvested_losses, deferral, character, location, other, total``; columns
        ``dollars`` (difference in ending after-tax wealth) and ``annualized`` (return, a
        fraction a year).
    """
    profile = tax_profile if tax_profile is not None else TaxProfile()
    s_daily, n_daily = strategy.daily, twin.daily
    if not s_daily.index.equals(n_daily.index):
        raise MetricsError("strategy and twin daily frames must cover the same dates")
    column = "liquidation_value" if liquidated else "after_tax"
    s_end = float(growth_frame(s_daily, tax_payable_at_end=strategy.tax_payable_at_end,
                               last_day_only=True)[column].iloc[-1])
    n_end = float(growth_frame(n_daily, tax_payable_at_end=twin.tax_payable_at_end,
                               last_day_only=True)[column].iloc[-1])
    total_dollars = s_end - n_end
    total_annualized = tax_alpha(s_daily, n_daily, liquidated=liquidated,
                                 tax_payable_at_end=strategy.tax_payable_at_end,
                                 twin_tax_payable_at_end=twin.tax_payable_at_end)

    loss_s, gains_s, gains_tax_s = _realized_taxes(strategy.form_8949, profile)
    loss_n, gains_n, gains_tax_n = _realized_taxes(twin.form_8949, profile)
    rho_s = gains_tax_s / gains_s if gains_s > 0 else 0.0
    rho_n = gains_tax_n / gains_n if gains_n > 0 else rho_s

    pre_values, pre_flows, _ = _streams(n_daily, "pre_tax", False, None)
    growth = np.cumprod(1.0 + daily_returns(pre_values, pre_flows, "end"))
    later = (_paid_by_day(n_daily) - _paid_by_day(s_daily)).to_numpy()
    time_value = float((later * (growth[-1] / growth - 1.0)).sum())
    deferral = (gains_n - gains_s) * rho_n + time_value
    if liquidated:
        extra = []
        for run in (strategy, twin):
            wealth, _, liquidation = _streams(run.daily, "after_tax", True,
                                              run.tax_payable_at_end)
            extra.append(float(wealth[-1] - liquidation[-1]))
        deferral -= extra[0] - extra[1]

    dollars = {
        "harvested_losses": loss_s - loss_n,
        "deferral": deferral,
        "character": gains_s * (rho_n - rho_s) if gains_s > 0 else 0.0,
        "location": _income_tax(twin.annual_tax, profile)
        - _income_tax(strategy.annual_tax, profile),
    }
    dollars["other"] = total_dollars - sum(dollars.values())

    years = window_years(n_daily)
    twin_return = after_tax_return(n_daily, liquidated=liquidated,
                                   tax_payable_at_end=twin.tax_payable_at_end)
    derivative = (1.0 + twin_return) / (years * n_end) if n_end > 0 and years > 0 else 0.0
    share = total_annualized / total_dollars if total_dollars != 0 else float("nan")
    proportional = derivative > 0 and 0.5 <= share / derivative <= 2.0
    scale = share if proportional else derivative
    annualized = {piece: value * scale for piece, value in dollars.items() if piece != "other"}
    annualized["other"] = total_annualized - sum(annualized.values())
    frame = pd.DataFrame(
        {"dollars": [dollars[p] for p in PIECES] + [total_dollars],
         "annualized": [annualized[p] for p in PIECES] + [total_annualized]},
        index=[*PIECES, "total"],
    )
    frame.index.name = "piece"
    frame.attrs["scale"] = (
        "proportional: annualized = dollars x total tax alpha / total dollars" if proportional
        else "derivative: annualized = dollars x (1 + R_twin) / (years x W_twin)")
    return frame
