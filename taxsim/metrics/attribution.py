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
  ``long_term + NIIT + state``; qualified dividends: ``qualified_dividend + NIIT + state``;
  qualified REIT dividends (``section_199a_dividends``, within the ordinary dividends) less
  their §199A deduction at the ordinary rate (``section_199a_deduction * ordinary``).
  A long-term gain or loss sold before a change of the long-term rate within its year
  (``TaxProfile.long_term_before``, 2003's May 6) gets the earlier rate; the year's
  distributions keep the year's rate.
- net capital gain's 28% and 25% groups (IRC §1(h)(1)(E)-(F), (h)(4)-(6)): a long-term gain
  or loss on a collectible (``RunTables.collectibles``: GLD and the other metal trusts) at
  ``min(ordinary, collectibles) + NIIT + state``, whatever the year's long-term rate (the 28%
  rate did not change in 2003); the parts of the long-term capital gain distributions that are
  unrecaptured section 1250 gain (the annual table's ``unrecaptured_1250_gain``, Form 1099-DIV
  box 2b) and collectibles gain (its ``collectibles_gain`` less the year's long-term
  collectible Form 8949 rows, box 2d) at ``min(ordinary, unrecaptured_1250)`` and
  ``min(ordinary, collectibles)``, each plus NIIT and state.

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

from taxsim.dates import to_day, to_days
from taxsim.ledger.household import TaxProfile
from taxsim.metrics._inputs import MetricsError
from taxsim.metrics.after_tax import (
    _after_tax_growth,
    _DailyArrays,
    _streams,
    _tax_alpha,
    _window_return,
    window_years,
)
from taxsim.metrics.returns import daily_returns

PIECES = ("harvested_losses", "deferral", "character", "location", "other")


class RunTables(NamedTuple):
    """The tables of one run the decomposition reads.

    ``daily``: ``Result.daily()``; ``annual_tax``: ``Ledger.annual_tax()``; ``form_8949``:
    ``Ledger.form_8949()``; ``tax_payable_at_end``: tax computed but unpaid on the last day
    when ``daily`` has no ``accrued_tax`` column (else None); ``collectibles``: the tickers
    whose long-term gains are collectibles gain (``Ledger.collectibles``; the Form 8949 rows'
    ``asset`` names them).
    """

    daily: pd.DataFrame
    annual_tax: pd.DataFrame
    form_8949: pd.DataFrame
    tax_payable_at_end: float | None = None
    collectibles: tuple = ()

    @classmethod
    def from_result(cls, result) -> RunTables:
        """The tables of a :class:`taxsim.engine.Result`."""
        daily = result.daily()
        payable = None if "accrued_tax" in daily.columns else float(
            getattr(result, "tax_payable", 0.0))
        return cls(daily, result.ledger.annual_tax(), result.ledger.form_8949(), payable,
                   tuple(getattr(result.ledger, "collectibles", ()) or ()))


def character_rates(tax_profile: TaxProfile, year: int) -> dict:
    """Combined marginal rates of ``year`` by tax character (fractions): ``short_term``
    (= ordinary income), ``long_term`` and ``qualified``, and net capital gain's 28% and 25%
    groups, ``collectibles`` and ``unrecaptured_1250`` (each at most the ordinary rate: IRC
    §1(h)(1)(E)-(F) tax them at "the lesser of" the two), each with NIIT and the state rate."""
    r = tax_profile.rates(int(year))
    extra = r.niit + r.state
    return {
        "short_term": r.ordinary + extra,
        "long_term": r.long_term + extra,
        "qualified": r.qualified_dividend + extra,
        "collectibles": min(r.ordinary, r.collectibles) + extra,
        "unrecaptured_1250": min(r.ordinary, r.unrecaptured_1250) + extra,
    }


class _RealizedArrays(NamedTuple):
    """The Form 8949 columns the metrics read, as arrays: year of sale, gain (dollars), term,
    day of sale (day number, days since 1970-01-01), and whether the row is a long-term sale
    of a collectible (collectibles gain or loss, IRC §1(h)(5))."""

    year: np.ndarray
    gain: np.ndarray
    long_term: np.ndarray
    day: np.ndarray
    collectible: np.ndarray

    @classmethod
    def from_form_8949(cls, form_8949: pd.DataFrame, needs_term: bool = True,
                       collectibles: tuple = ()) -> _RealizedArrays:
        """The arrays of a Form 8949 frame (``needs_term=False``: ``term`` may be missing);
        ``collectibles``: the tickers whose rows are collectibles (their ``asset``)."""
        if len(form_8949) == 0:
            empty = np.zeros(0)
            return cls(empty.astype(np.int64), empty, empty.astype(bool),
                       empty.astype(np.int64), empty.astype(bool))
        for column in ("sold", "gain", "term") if needs_term else ("sold", "gain"):
            if column not in form_8949.columns:
                raise MetricsError(f"form_8949: needs a {column!r} column")
        if "term" in form_8949.columns:
            terms = form_8949["term"].to_numpy()
            long_term = np.asarray(terms == "long", bool)
            known = long_term | np.asarray(terms == "short", bool)
            if not known.all():
                row = int(np.argmin(known))
                raise MetricsError(f"form_8949: term {terms[row]!r} on row {row}; use 'short' "
                                   "or 'long' (Form 8949 Part I or II)")
        else:
            long_term = np.zeros(len(form_8949), bool)
        gain = form_8949["gain"].to_numpy(np.float64)
        if not np.isfinite(gain).all():
            row = int(np.argmin(np.isfinite(gain)))
            raise MetricsError(f"form_8949: gain {gain[row]} on row {row} is not a finite "
                               "number of dollars")
        if form_8949["sold"].isna().any():
            raise MetricsError(f"form_8949: row {int(np.argmax(form_8949['sold'].isna()))} "
                               "has no sale date")
        collectible = np.zeros(len(form_8949), bool)
        if collectibles:
            if "asset" not in form_8949.columns:
                raise MetricsError("form_8949: needs an 'asset' column to find the sales of the "
                                   f"collectibles {list(collectibles)}")
            collectible = long_term & form_8949["asset"].isin(collectibles).to_numpy(bool)
        return cls(_years(form_8949["sold"]), gain, long_term, to_days(form_8949["sold"]),
                   collectible)


def _years(dates: pd.Series) -> np.ndarray:
    """Calendar year of each date, int64 (``DatetimeIndex.year``)."""
    values = dates.to_numpy()
    if values.dtype.kind == "M" and not np.isnat(values).any():
        return values.astype("datetime64[Y]").astype(np.int64) + 1970
    return np.asarray(pd.DatetimeIndex(dates).year, np.int64)


def _realized_taxes(form_8949, tax_profile: TaxProfile) -> tuple[float, float, float]:
    """(tax value of losses, realized gains, tax on those gains), dollars.

    ``form_8949``: the DataFrame or its :class:`_RealizedArrays`.
    """
    rows = (form_8949 if isinstance(form_8949, _RealizedArrays)
            else _RealizedArrays.from_form_8949(form_8949))
    if len(rows.gain) == 0:
        return 0.0, 0.0, 0.0
    years, where = np.unique(rows.year, return_inverse=True)
    rates = [character_rates(tax_profile, int(year)) for year in years]
    long_rate = np.array([r["long_term"] for r in rates])
    short_rate = np.array([r["short_term"] for r in rates])
    collectibles_rate = np.array([r["collectibles"] for r in rates])
    rate = np.where(rows.long_term, long_rate[where], short_rate[where])
    for when, rate_before in tax_profile.long_term_before.items():
        # a long-term gain of a year whose rate changes within it, sold before the change
        year = int(when[:4])
        early = rows.long_term & (rows.year == year) & (rows.day < to_day(when))
        if early.any():
            rate[early] += rate_before - tax_profile.rates(year).long_term
    rate = np.where(rows.collectible, collectibles_rate[where], rate)
    gain = rows.gain
    losses = gain < 0
    loss_value = float(-(gain[losses] * rate[losses]).sum())
    gains = float(gain[~losses].sum())
    gains_tax = float((gain[~losses] * rate[~losses]).sum())
    return loss_value, gains, gains_tax


_INCOME_COLUMNS = ("nonqualified_dividends", "interest", "st_capital_gain_distributions",
                   "qualified_dividends", "lt_capital_gain_distributions",
                   "section_199a_dividends")


def _income_tax(annual_tax: pd.DataFrame, tax_profile: TaxProfile,
                realized: _RealizedArrays | None = None) -> float:
    """Tax on distributions and interest at their character rates, dollars.

    ``realized``: the run's Form 8949 arrays; the year's long-term collectible rows are taken
    out of the annual table's ``collectibles_gain`` (sales and distributions) to leave the
    distributions' 28% part.
    """
    n = len(annual_tax)
    if n == 0:
        return 0.0
    columns = [annual_tax[c].tolist() if c in annual_tax.columns else [0.0] * n
               for c in (*_INCOME_COLUMNS, "collectibles_gain", "unrecaptured_1250_gain")]
    sold_collectibles: dict = {}
    if realized is not None and realized.collectible.any():
        for year, gain in zip(realized.year[realized.collectible].tolist(),
                              realized.gain[realized.collectible].tolist(), strict=True):
            sold_collectibles[year] = sold_collectibles.get(year, 0.0) + gain
    total = 0.0
    for year, nonqualified, interest, st_gain, qualified, lt_gain, reit, collectibles, \
            unrecaptured in zip(annual_tax["year"].tolist(), *columns, strict=True):
        rates = character_rates(tax_profile, int(year))
        year_rates = tax_profile.rates(int(year))
        ordinary = nonqualified + interest + st_gain
        # Form 1099-DIV boxes 2d and 2b: parts of the long-term distributions (box 2a)
        distributed_collectibles = collectibles - sold_collectibles.get(int(year), 0.0)
        total += (
            ordinary * rates["short_term"]
            + qualified * rates["qualified"]
            + (lt_gain - distributed_collectibles - unrecaptured) * rates["long_term"]
            + distributed_collectibles * rates["collectibles"]
            + unrecaptured * rates["unrecaptured_1250"]
            # IRC §199A(b)(1)(B): the deduction lowers the federal ordinary tax only
            - reit * year_rates.section_199a_deduction * year_rates.ordinary
        )
    return float(total)


def _paid_by_day(daily: _DailyArrays) -> np.ndarray:
    paid = np.zeros(daily.n)
    for column in ("tax_paid_cumulative", "tax_outside_cumulative"):
        if daily.has(column):
            paid = paid + daily.column(column)
    by_day = np.diff(paid, prepend=np.nan)
    by_day[np.isnan(by_day)] = paid[0]  # as Series.diff().fillna(first value)
    return by_day


class _Run(NamedTuple):
    """One run's tables as arrays (see :class:`RunTables`)."""

    daily: _DailyArrays
    annual_tax: pd.DataFrame
    realized: _RealizedArrays
    tax_payable_at_end: float | None


def _prepared(tables: RunTables, name: str) -> _Run:
    return _Run(_DailyArrays(tables.daily, name), tables.annual_tax,
                _RealizedArrays.from_form_8949(tables.form_8949,
                                               collectibles=tuple(tables.collectibles)),
                tables.tax_payable_at_end)


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
    dollars, annualized, proportional = _decomposition(
        _prepared(strategy, "daily"), _prepared(twin, "twin_daily"), tax_profile, liquidated)
    frame = pd.DataFrame(
        {"dollars": [dollars[p] for p in (*PIECES, "total")],
         "annualized": [annualized[p] for p in (*PIECES, "total")]},
        index=[*PIECES, "total"],
    )
    frame.index.name = "piece"
    frame.attrs["scale"] = (
        "proportional: annualized = dollars x total tax alpha / total dollars" if proportional
        else "derivative: annualized = dollars x (1 + R_twin) / (years x W_twin)")
    return frame


def _decomposition(strategy: _Run, twin: _Run, tax_profile: TaxProfile | None,
                   liquidated: bool) -> tuple[dict, dict, bool]:
    """The pieces of :func:`tax_alpha_decomposition` on arrays: (dollars, annualized, whether
    the scale is proportional); each dict has the pieces and ``total``."""
    profile = tax_profile if tax_profile is not None else TaxProfile()
    s_daily, n_daily = strategy.daily, twin.daily
    if not s_daily.index.equals(n_daily.index):
        raise MetricsError("strategy and twin daily frames must cover the same dates")
    line = 1 if liquidated else 0  # liquidation_value or after_tax of growth_frame
    s_end = float(_after_tax_growth(s_daily, strategy.tax_payable_at_end)[line][-1])
    n_end = float(_after_tax_growth(n_daily, twin.tax_payable_at_end)[line][-1])
    total_dollars = s_end - n_end
    total_annualized = _tax_alpha(s_daily, n_daily, None, None, liquidated, "time_weighted",
                                  strategy.tax_payable_at_end, twin.tax_payable_at_end)

    loss_s, gains_s, gains_tax_s = _realized_taxes(strategy.realized, profile)
    loss_n, gains_n, gains_tax_n = _realized_taxes(twin.realized, profile)
    rho_s = gains_tax_s / gains_s if gains_s > 0 else 0.0
    rho_n = gains_tax_n / gains_n if gains_n > 0 else rho_s

    pre_values, pre_flows, _ = _streams(n_daily, "pre_tax", False, None)
    growth = np.cumprod(1.0 + daily_returns(pre_values, pre_flows, "end"))
    later = _paid_by_day(n_daily) - _paid_by_day(s_daily)
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
        "location": _income_tax(twin.annual_tax, profile, twin.realized)
        - _income_tax(strategy.annual_tax, profile, strategy.realized),
    }
    dollars["other"] = total_dollars - sum(dollars.values())

    years = window_years(n_daily)
    twin_return = _window_return(n_daily, "after_tax", None, None, liquidated, True,
                                 "time_weighted", twin.tax_payable_at_end)
    derivative = (1.0 + twin_return) / (years * n_end) if n_end > 0 and years > 0 else 0.0
    share = total_annualized / total_dollars if total_dollars != 0 else float("nan")
    proportional = derivative > 0 and 0.5 <= share / derivative <= 2.0
    scale = share if proportional else derivative
    annualized = {piece: value * scale for piece, value in dollars.items() if piece != "other"}
    annualized["other"] = total_annualized - sum(annualized.values())
    dollars["total"] = total_dollars
    annualized["total"] = total_annualized
    return dollars, annualized, proportional
