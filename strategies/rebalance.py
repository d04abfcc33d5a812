"""Shared order writers: bring accounts back to their target weights."""

from __future__ import annotations

import math
import numbers

from numba import njit

from taxsim.dates import civil_from_days_nb
from taxsim.engine.enums import ORDER_ACCOUNT, ORDER_ASSET, ORDER_LOT_METHOD, ORDER_SHARES


def account_value(prices, holdings, cash, account):
    """Cash plus market value of the listed holdings of one account (dollars)."""
    value = cash[account]
    for asset in range(holdings.shape[1]):
        if holdings[account, asset] != 0.0 and math.isfinite(prices[asset]):
            value += holdings[account, asset] * prices[asset]
    return value


account_value_nb = njit(cache=True)(account_value)


def write_order(orders, n_orders, account, asset, shares, lot_method):
    """Append one order; returns the new count.

    Past the array's capacity nothing is written but the count still grows, and the engine
    stops the run with an error naming ``max_orders`` (never a silently dropped order).
    """
    if n_orders >= orders.shape[0]:
        return n_orders + 1
    orders[n_orders, ORDER_ACCOUNT] = account
    orders[n_orders, ORDER_ASSET] = asset
    orders[n_orders, ORDER_SHARES] = shares
    orders[n_orders, ORDER_LOT_METHOD] = lot_method
    return n_orders + 1


write_order_nb = njit(cache=True)(write_order)


def sale_proceeds(orders, first, n_orders, prices):
    """Dollars at today's ``prices`` of the sell orders ``first .. n_orders`` (before costs)."""
    proceeds = 0.0
    for k in range(first, min(n_orders, orders.shape[0])):
        if orders[k, ORDER_SHARES] < 0.0:
            proceeds -= orders[k, ORDER_SHARES] * prices[int(orders[k, ORDER_ASSET])]
    return proceeds


sale_proceeds_nb = njit(cache=True)(sale_proceeds)


def rebalance_account(prices, holdings, cash, targets, account, orders, n_orders, lot_method,
                      cash_reserve, min_trade):
    """Orders that bring ``account`` to its target weights (fractions of its value).

    ``cash_reserve`` is the fraction of value kept back for trading costs; trades smaller than
    ``min_trade`` dollars are not written. Assets without a price yet (not listed) keep their
    weight in cash.
    """
    value = account_value_nb(prices, holdings, cash, account) * (1.0 - cash_reserve)
    if value <= 0.0:
        return n_orders
    for asset in range(holdings.shape[1]):
        if not math.isfinite(prices[asset]):
            continue
        target_shares = targets[account, asset] * value / prices[asset]
        delta = target_shares - holdings[account, asset]
        if abs(delta) * prices[asset] >= max(min_trade, 1e-9 * value):
            n_orders = write_order_nb(orders, n_orders, account, asset, delta, lot_method)
    return n_orders


rebalance_account_nb = njit(cache=True)(rebalance_account)


DISABLED = -1.0  # a threshold, tolerance or budget that is switched off


def optional_nonnegative(name: str, value) -> float:
    """``value`` as a float, or ``DISABLED`` for None; a ValueError naming ``name`` otherwise."""
    if value is None:
        return DISABLED
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        math.isfinite(value) and value >= 0.0
    ):
        raise ValueError(f"{name} must be a finite number >= 0 or None, got {value!r}")
    return float(value)


def period_index(day, months):
    """Number of the calendar period of ``months`` months (1 monthly, 3 quarterly, 12 yearly)
    that contains ``day`` (an int64 day number); a new number starts a new period."""
    year, month, _ = civil_from_days_nb(day)
    return (year * 12 + month - 1) // months


period_index_nb = njit(cache=True)(period_index)
