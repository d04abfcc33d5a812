"""Raising a cash shortfall without washing a loss: the sales a strategy that raises its own
cash (``Strategy.raises_cash``) makes for a withdrawal or a tax paid from the portfolio.

A taxable position whose sale could realize a loss that a purchase would wash (IRC §1091(a);
Pub 550 "Wash Sales") is "unsafe" (:func:`loss_sale_unsafe`); in an IRA or Roth the loss
would be lost for good (Rev. Rul. 2008-5). :func:`raise_shortfalls` sells, pro rata, from one
source at a time: an asset location group's overweight assets, every position with no lot at a
loss, every other safe position, then the unsafe positions' gain lots (oldest or newest, FIFO
or LIFO). The engine sells what is left.
Used by ``asset_location`` and ``tax_aware_rebalance``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.loss_harvest import LOSS_MARGIN
from taxsim.ledger.enums import FIFO, LIFO, NO_SLOT, TAXABLE
from taxsim.ledger.lots import asset_gain_rates_nb
from taxsim.ledger.wash_sales import (
    WASH_WINDOW_DAYS,
    group_held_elsewhere_nb,
    sale_would_wash_nb,
)


def has_lot_below_basis(state, account, asset, price):
    """True if a lot of ``asset`` in ``account`` is at a loss at ``price``: its basis (wash-sale
    adjustment and purchase costs included) above its value. A sale of the position may then
    realize a loss (tax-optimal and HIFO relieve loss lots first; assumed for every method).
    Stricter than ``loss_harvest.has_loss_lot``, which also counts lots within ``LOSS_MARGIN``
    of a loss (its sales are sized before costs it does not see)."""
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        if state.lot_basis[slot] > price * state.lot_shares[slot]:
            return True
        slot = state.lot_next[slot]
    return False


has_lot_below_basis_nb = njit(cache=True)(has_lot_below_basis)


def loss_sale_unsafe(state, account, asset, day, price, dollars, held, buying_today):
    """True if selling ``dollars`` of ``asset`` (``held`` dollars held) in a taxable
    ``account`` today could realize a loss that a purchase washes: a lot is at a loss and the
    group was acquired in the last 30 days anywhere in the household (``sale_would_wash``),
    ``buying_today`` (a purchase of the group is planned today), or another account that
    reinvests its distributions holds the group (``group_held_elsewhere``: its next reinvested
    distribution inside the 30 days after the sale would be a replacement, Pub 550 "Wash
    Sales"; in an IRA or Roth the loss is then lost for good, Rev. Rul. 2008-5). False outside
    taxable accounts (no loss is recognized there)."""
    if state.account_kind[account] != TAXABLE or not has_lot_below_basis_nb(
            state, account, asset, price):
        return False
    if buying_today or group_held_elsewhere_nb(state, account, asset, True):
        return True
    return sale_would_wash_nb(state, account, asset, day, dollars >= held * (1.0 - 1e-9))


loss_sale_unsafe_nb = njit(cache=True)(loss_sale_unsafe)


def lasting_loss_risk(state, account, asset, day, price):
    """True if a sale of ``asset`` in a taxable ``account`` today could realize a loss that
    shares in a tax-deferred or tax-exempt account would wash, the loss then lost for good
    (Rev. Rul. 2008-5): a lot is at a loss, and such an account holds the group and either
    acquired it in the last 30 days (IRC §1091(a)) or reinvests its distributions (its next
    reinvested dividend inside the window would be a replacement, Pub 550). A wash by shares
    in a taxable account only defers the loss (its basis goes to the replacement) and is not
    counted. False outside taxable accounts."""
    if state.account_kind[account] != TAXABLE or not has_lot_below_basis_nb(
            state, account, asset, price):
        return False
    group = state.asset_group[asset]
    for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
        member_asset = state.group_assets[member]
        for other_account in range(state.head.shape[0]):
            if state.account_kind[other_account] == TAXABLE:
                continue
            slot = state.tail[other_account, member_asset]
            if slot != NO_SLOT and (state.lot_acquired[slot] >= day - WASH_WINDOW_DAYS
                                    or state.account_reinvest[other_account]):
                return True
    return False


lasting_loss_risk_nb = njit(cache=True)(lasting_loss_risk)

GUARD_NONE = 0  # every position may be sold (the non-managed twin)
GUARD_ANY_WASH = 1  # no sale that may realize a washed loss (loss_sale_unsafe)
GUARD_LASTING = 2  # no sale that may realize a loss lost for good (lasting_loss_risk)


SHORTFALL_OVERWEIGHT = 0  # the group's overweight assets
SHORTFALL_NO_LOSS = 1  # every position none of whose lots is at a loss
SHORTFALL_SAFE = 2  # every position whose sale cannot realize a washed loss
SHORTFALL_GAIN_LOTS = 3  # the others' oldest (FIFO) or newest (LIFO) lots before the first
#                          one within LOSS_MARGIN of a loss: sized by the end that reaches
#                          further, sold from the covering end with less tax


def gain_run_sale(state, account, asset, price, day, amount, newest_first):
    """The oldest (FIFO) or newest (``newest_first``: LIFO) lots of ``asset`` in ``account``
    before the first one at a loss or within ``LOSS_MARGIN`` of one: returns ``(dollars,
    tax)``, the dollars they hold at ``price`` and the estimated tax, dollars, of selling
    ``min(amount, dollars)`` of them in that order. Each lot's gain is taxed at the
    household's marginal rate for its term on ``day`` (IRC §1(h), §1222, §1411: the rates the
    ledger's tax-optimal order uses, ``lots.asset_gain_rates``: a collectible's long-term
    gain at the collectibles rate)."""
    short_rate, long_rate = asset_gain_rates_nb(state, asset, day)
    dollars = 0.0
    tax = 0.0
    slot = state.tail[account, asset] if newest_first else state.head[account, asset]
    while slot != NO_SLOT:
        value = price * state.lot_shares[slot]
        if state.lot_basis[slot] >= (1.0 - LOSS_MARGIN) * value:
            break
        take = min(value, max(amount - dollars, 0.0))
        rate = long_rate if day >= state.lot_long_from[slot] else short_rate
        tax += take * (1.0 - state.lot_basis[slot] / value) * rate
        dollars += value
        slot = state.lot_prev[slot] if newest_first else state.lot_next[slot]
    return dollars, tax


gain_run_sale_nb = njit(cache=True, error_model="numpy")(gain_run_sale)


def gain_lots_method(state, account, asset, price, day, amount):
    """Which end of ``asset``'s lots in ``account`` sells ``amount`` dollars of gain lots
    only (:func:`gain_run_sale`): ``(dollars, method)``, the dollars that end can sell and
    ``FIFO`` or ``LIFO``. When both ends cover ``amount``, the one with the smaller estimated
    tax (after a rise the newest lots hold small short-term gains, the oldest large long-term
    ones); when one does, that one; else the one that reaches further.

    Not used by the loss harvester, whose trims keep FIFO: the newest lots, bought at recent
    prices, are the ones a later decline makes worth harvesting. Tried there, it moved the
    liquidation value of five real-ETF harvesting runs by -$7k to +$64k, path by path."""
    oldest, oldest_tax = gain_run_sale_nb(state, account, asset, price, day, amount, False)
    newest, newest_tax = gain_run_sale_nb(state, account, asset, price, day, amount, True)
    oldest_covers = oldest >= amount - 1e-9
    newest_covers = newest >= amount - 1e-9
    if newest_covers and (not oldest_covers or newest_tax < oldest_tax):
        return newest, LIFO
    if oldest_covers or oldest >= newest:
        return oldest, FIFO
    return newest, LIFO


gain_lots_method_nb = njit(cache=True)(gain_lots_method)


def shortfall_available(state, account, asset, day, price, held, delta, guard, source):
    """Dollars of ``asset`` that :func:`raise_shortfalls` may sell from ``account`` (``held``
    dollars left) by ``source``, and the lot method of that sale (-1: the strategy's)."""
    if held <= 0.0 or (source == SHORTFALL_OVERWEIGHT and delta >= 0.0):
        return 0.0, -1
    if source == SHORTFALL_NO_LOSS:
        at_loss = state.account_kind[account] == TAXABLE and has_lot_below_basis_nb(
            state, account, asset, price)
        return (0.0 if at_loss else held), -1
    unsafe = False
    if guard == GUARD_ANY_WASH:
        unsafe = loss_sale_unsafe_nb(state, account, asset, day, price, 0.0, held, False)
    elif guard == GUARD_LASTING:
        unsafe = lasting_loss_risk_nb(state, account, asset, day, price)
    if source == SHORTFALL_GAIN_LOTS:
        if not unsafe:
            return 0.0, -1
        oldest, _ = gain_run_sale_nb(state, account, asset, price, day, 0.0, False)
        newest, _ = gain_run_sale_nb(state, account, asset, price, day, 0.0, True)
        if newest > oldest:
            return min(held, newest), LIFO
        return min(held, oldest), FIFO
    if unsafe:
        return 0.0, -1
    return (held if source == SHORTFALL_SAFE else min(-delta, held)), -1


shortfall_available_nb = njit(cache=True)(shortfall_available)


def raise_shortfalls(prices, holdings, cash, members, spare, delta, sold, smallest, state,
                     day, guard, source, sale_methods):
    """Raise what each member account's cash shortfall (``-spare``, dollars: a withdrawal or
    tax the engine left for the strategy) still needs after its sales so far (``sold``), pro
    rata to what ``source`` may sell of each asset: ``SHORTFALL_OVERWEIGHT``, the group's
    overweight assets (``delta`` < 0, dollars: what the caller still wants bought; updated in
    place). Adds to ``sold``; the engine sells what is left, the account's holdings pro rata.

    ``guard`` says which taxable positions are not sold: ``GUARD_ANY_WASH`` (asset location's
    plan) a position whose sale could realize a washed loss (:func:`loss_sale_unsafe`),
    ``GUARD_LASTING`` (tax-aware rebalancing) one whose loss shares in an IRA or Roth could
    wash for good (:func:`lasting_loss_risk`), ``GUARD_NONE`` none. With a guard the caller
    calls this again after its own sales, for the accounts whose ``cash`` is below zero (those
    the engine would sell, pro rata, losses first, whatever washes them): with
    ``SHORTFALL_NO_LOSS``, from every position with no lot at a loss (a loss sale, even one
    nothing washes, closes its group to the strategy's purchases for 30 days: sold for every
    monthly withdrawal, it would keep the group out of reach for good); with
    ``SHORTFALL_SAFE``, from every position the guard allows; then with
    ``SHORTFALL_GAIN_LOTS``, from the others' oldest lots (FIFO) or newest lots (LIFO),
    whichever reach further before the first lot within ``LOSS_MARGIN`` of a loss
    (:func:`gain_run_sale`), pro rata to those; each
    position's share is then sold from the end with less estimated tax among those that cover
    it (:func:`gain_lots_method`), the method written to ``sale_methods``. A loss
    sold here must block its group's purchases that day (the caller's)."""
    for account in range(holdings.shape[0]):
        if not members[account] or spare[account] > -smallest or (
                source != SHORTFALL_OVERWEIGHT and cash[account] >= 0.0):
            continue
        short = -spare[account]
        for asset in range(holdings.shape[1]):
            short -= sold[account, asset]
        if short < smallest:
            continue
        available = np.zeros(holdings.shape[1])
        method = np.full(holdings.shape[1], -1, np.int64)
        total = 0.0
        for asset in range(holdings.shape[1]):
            if source == SHORTFALL_GAIN_LOTS and sold[account, asset] > 0.0:
                continue  # one lot method per sale: the caller's sale of it stands
            available[asset], method[asset] = shortfall_available_nb(
                state, account, asset, day, prices[asset],
                holdings[account, asset] * prices[asset] - sold[account, asset], delta[asset],
                guard, source)
            total += available[asset]
        if total <= 0.0:
            continue
        fraction = min(1.0, short / total)
        for asset in range(holdings.shape[1]):
            take = available[asset] * fraction
            if take >= smallest:
                sold[account, asset] += take
                delta[asset] += take
                if source == SHORTFALL_GAIN_LOTS:
                    # the end that reaches further covers the take; the other one may too,
                    # with less tax
                    _, method[asset] = gain_lots_method_nb(state, account, asset, prices[asset],
                                                           day, take)
                if method[asset] >= 0:
                    sale_methods[account, asset] = method[asset]


raise_shortfalls_nb = njit(cache=True)(raise_shortfalls)
