"""Calculators that need no simulation: the value of deferral, a product's after-tax return.

Both are deliberately simple closed-form models; their assumptions are listed with each
function and returned with the numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from taxsim.ledger.household import TaxRates
from taxsim.metrics._inputs import MetricsError
from taxsim.metrics.after_tax import tax_cost_ratio

LOCATIONS = ("taxable", "tax_deferred", "tax_exempt")
INCOME_CHARACTERS = ("qualified", "ordinary", "exempt")
GAIN_CHARACTERS = ("short_term", "long_term")


def _fraction(value: float, name: str, low: float = 0.0, high: float = 1.0) -> float:
    value = float(value)
    if not (np.isfinite(value) and low <= value <= high):
        raise MetricsError(f"{name} must be in [{low}, {high}], got {value}")
    return value


def deferral_value(
    value: float,
    basis: float,
    rate: float,
    growth: float,
    years: int | Iterable[int] = (1, 5, 10, 20, 30),
) -> pd.DataFrame:
    """Hold a low-basis position, or sell it now, pay the tax and buy a replacement?

    Liquidation values at each horizon ``n`` (dollars):

    - hold: the lot grows untaxed and is sold at ``n``:
      ``V (1+g)^n - t (V (1+g)^n - B)``;
    - sell and replace: tax ``t (V - B)`` paid now, ``W = V - t (V - B)`` reinvested with basis
      ``W``, sold at ``n``: ``W (1+g)^n - t W ((1+g)^n - 1)``.

    Assumptions: growth is all unrealized price appreciation (no distributions, no costs), one
    flat rate ``t`` on every gain (for example 23.8% = 20% long-term + 3.8% NIIT), the
    replacement behaves exactly like the position, and a loss (``V < B``) is worth ``t`` times
    the loss at once (the SEC Form N-1A / ``offset`` convention).

    Parameters
    ----------
    value : float
        Market value today, dollars (``V``).
    basis : float
        Tax basis, dollars (``B``).
    rate : float
        Tax rate on the gain, a fraction (``t``).
    growth : float
        Annual growth, a fraction (``g``).
    years : int or iterable of int
        Horizons in years (``n``).

    Returns
    -------
    DataFrame indexed by ``years``
        ``hold``, ``sell_and_replace`` (liquidation values, dollars), ``advantage`` (hold minus
        sell, dollars), and ``hold_return``, ``sell_return``, ``advantage_return``
        (annualized after-tax returns on ``value`` and their difference, fractions; NaN at 0
        years).
    """
    if not (value > 0 and basis >= 0):
        raise MetricsError(f"value must be > 0 and basis >= 0, got {value}, {basis}")
    rate = _fraction(rate, "rate", 0.0, 0.99)
    if not growth > -1:
        raise MetricsError(f"growth must be > -1, got {growth}")
    horizons = np.atleast_1d(np.asarray(list(years) if not np.isscalar(years) else [years],
                                        dtype=np.float64))
    if np.any(horizons < 0):
        raise MetricsError(f"years must be >= 0, got {horizons.tolist()}")
    price = (1.0 + growth) ** horizons  # price relative of one dollar after n years
    # hold: one lot, basis B
    hold_market = value * price
    hold = hold_market - rate * (hold_market - basis)
    # sell now, reinvest the after-tax proceeds with a fresh basis
    reinvested = value - rate * (value - basis)
    sell_market = reinvested * price
    sell = sell_market - rate * (sell_market - reinvested)
    with np.errstate(divide="ignore", invalid="ignore"):
        hold_return = np.where(horizons > 0, (hold / value) ** (1.0 / horizons) - 1.0, np.nan)
        sell_return = np.where(horizons > 0, (sell / value) ** (1.0 / horizons) - 1.0, np.nan)
    frame = pd.DataFrame(
        {
            "hold": hold,
            "sell_and_replace": sell,
            "advantage": hold - sell,
            "hold_return": hold_return,
            "sell_return": sell_return,
            "advantage_return": hold_return - sell_return,
        },
        index=pd.Index(horizons.astype(int) if np.all(horizons == horizons.astype(int))
                       else horizons, name="years"),
    )
    frame.attrs["assumptions"] = (
        f"value ${value:,.0f}, basis ${basis:,.0f}, rate {rate:.1%} on every gain, growth "
        f"{growth:.1%} a year all unrealized, no distributions or costs, losses worth the rate "
        "at once; liquidation values"
    )
    return frame


def _mix(mix: Mapping[str, float], allowed: tuple[str, ...], name: str) -> dict:
    unknown = sorted(set(mix) - set(allowed))
    if unknown:
        raise MetricsError(f"{name}: unknown characters {unknown}; use {list(allowed)}")
    shares = {key: _fraction(mix.get(key, 0.0), f"{name}[{key!r}]") for key in allowed}
    total = sum(shares.values())
    if abs(total - 1.0) > 1e-9:
        raise MetricsError(f"{name}: shares must sum to 1, got {total}")
    return shares


def hypothetical_after_tax_return(
    total_return: float,
    yield_: float = 0.0,
    turnover: float = 0.0,
    income_mix: Mapping[str, float] | None = None,
    gain_mix: Mapping[str, float] | None = None,
    location: str = "taxable",
    rates: TaxRates | None = None,
    years: int = 10,
) -> dict:
    """Hypothetical after-tax return of a product from its yield, turnover and tax characters.

    Model, one dollar invested for ``years`` years with constant rates:

    - each year the price rises by ``total_return - yield_``; income of ``yield_`` times the
      value at the start of the year is paid at the year's end;
    - ``taxable`` location: the income is taxed by ``income_mix`` (``qualified`` at the
      qualified-dividend rate, ``ordinary`` at the ordinary rate, ``exempt`` untaxed, e.g.
      municipal interest), each plus NIIT and the state rate except ``exempt``; the rest is
      reinvested with a basis equal to it. At the year's end a fraction ``turnover`` of the
      holding is sold: its gain over its basis is taxed by ``gain_mix`` (``short_term`` at
      ordinary + NIIT + state, ``long_term`` at long-term + NIIT + state; a realized loss is
      worth the same rate at once, the N-1A ``offset`` convention) and the after-tax proceeds
      are reinvested (new basis). After liquidation, the remaining unrealized gain is taxed at
      the long-term rate. The model's dates are idealized year-ends: a holding of a full model
      year counts as long-term, although a real purchase held exactly one calendar year is
      short-term (IRC §1222, "more than 1 year"); for a one-year horizon, pass
      ``gain_mix={"short_term": 1.0}`` to tax the sale as short-term;
    - ``tax_deferred`` (traditional IRA / 401(k)): no tax while invested; the whole withdrawal
      is ordinary income (ordinary + state; IRA distributions are not net investment income,
      IRC §1411(c)(5)) after liquidation. The deduction at contribution is not counted: this
      is per dollar inside the account;
    - ``tax_exempt`` (Roth): never taxed.

    Parameters
    ----------
    total_return : float
        Pre-tax total return per year, a fraction (price return + yield).
    yield_ : float
        Income yield per year, a fraction of the value (part of ``total_return``).
    turnover : float
        Fraction of the holding sold (and replaced) each year, in [0, 1].
    income_mix : mapping, optional
        Shares of the income by character: ``qualified``, ``ordinary``, ``exempt`` (default all
        qualified).
    gain_mix : mapping, optional
        Shares of realized gains by term: ``short_term``, ``long_term`` (default all long-term).
    location : {"taxable", "tax_deferred", "tax_exempt"}
    rates : TaxRates, optional
        Marginal rates (default ``TaxRates()``: 37% / 20% / 20% / 3.8% NIIT / no state).
    years : int
        Horizon, years (>= 1).

    Returns
    -------
    dict
        ``pre_tax_return``, ``after_tax_return_pre_liquidation``,
        ``after_tax_return_post_liquidation``, ``tax_cost_ratio`` (pre-liquidation; all
        annualized fractions), ``income_rate`` and ``gain_rate`` (the blended rates used) and
        ``assumptions`` (text).
    """
    if location not in LOCATIONS:
        raise MetricsError(f"location must be one of {list(LOCATIONS)}, got {location!r}")
    if not total_return > -1:
        raise MetricsError(f"total_return must be > -1, got {total_return}")
    yield_ = _fraction(yield_, "yield_", 0.0, 1.0)
    turnover = _fraction(turnover, "turnover")
    years = int(years)
    if years < 1:
        raise MetricsError(f"years must be >= 1, got {years}")
    income = _mix(income_mix or {"qualified": 1.0}, INCOME_CHARACTERS, "income_mix")
    gains = _mix(gain_mix or {"long_term": 1.0}, GAIN_CHARACTERS, "gain_mix")
    r = rates if rates is not None else TaxRates()
    extra = r.niit + r.state
    short_term, long_term = r.ordinary + extra, r.long_term + extra
    income_rate = income["qualified"] * (r.qualified_dividend + extra) + income["ordinary"] * (
        r.ordinary + extra)
    gain_rate = gains["short_term"] * short_term + gains["long_term"] * long_term
    price_return = total_return - yield_

    value, basis = 1.0, 1.0
    if location == "taxable":
        for _ in range(years):
            paid = yield_ * value
            value *= 1.0 + price_return
            gain_tax = gain_rate * turnover * (value - basis)
            basis = basis * (1.0 - turnover) + turnover * value - gain_tax
            value -= gain_tax
            net_income = paid * (1.0 - income_rate)
            value += net_income
            basis += net_income
        liquidated = value - long_term * (value - basis)
    else:
        value = (1.0 + total_return) ** years
        withdrawal_rate = r.ordinary + r.state if location == "tax_deferred" else 0.0
        liquidated = value * (1.0 - withdrawal_rate)
    pre_liquidation = value ** (1.0 / years) - 1.0
    post_liquidation = max(liquidated, 0.0) ** (1.0 / years) - 1.0
    return {
        "pre_tax_return": float(total_return),
        "after_tax_return_pre_liquidation": float(pre_liquidation),
        "after_tax_return_post_liquidation": float(post_liquidation),
        "tax_cost_ratio": tax_cost_ratio(float(total_return), float(pre_liquidation)),
        "income_rate": float(income_rate) if location == "taxable" else 0.0,
        "gain_rate": float(gain_rate) if location == "taxable" else 0.0,
        "assumptions": (
            f"Hypothetical: {location}, {years} years, total return {total_return:.2%} with "
            f"yield {yield_:.2%} paid at each year's end, turnover {turnover:.0%} a year; rates "
            f"{r.ordinary:.1%} ordinary, {r.long_term:.1%} long-term, {r.qualified_dividend:.1%} "
            f"qualified, {r.niit:.1%} NIIT, {r.state:.1%} state; losses worth the rate at once; "
            "remaining gains taxed long-term at liquidation"
        ),
    }
