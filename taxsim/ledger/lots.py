"""Buying and selling lots: acquisition, relief order by method, realized records.

Sources: IRC §1012 and Treas. Reg. §1.1012-1(c) (identification of shares sold; FIFO when
not identified), §1.1012-1(e) (average basis for fund shares), IRC §1222 and IRS Pub 550
"Holding Period" (term), Pub 550 "Qualified Dividends" (holding test, see distributions.py).

Every kernel validates its inputs before it changes anything and returns a status code
(``enums.OK`` or an ``ERR_*``); on an error the state is untouched. Kernels change the state in
place; the caller makes room first (see ``state.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from taxsim.dates import long_term_from_nb, year_of_nb
from taxsim.ledger.basis_order import (
    ORDER_LENGTH,
    ORDER_PENDING,
    ORDER_STALE,
    ORDER_START,
    entry_long_from_nb,
    entry_slot_nb,
    mark_stale_nb,
    order_insert_nb,
    order_update_nb,
    rebuild_order_nb,
    settle_order_nb,
)
from taxsim.ledger.enums import (
    AVERAGE,
    CNT_FIRST_YEAR,
    CNT_LAST_CLOSED_YEAR,
    CNT_LAST_DAY,
    CNT_NEXT_LOT_ID,
    CNT_NEXT_SALE_ID,
    CNT_SALE_ROWS,
    ERR_BAD_PRICE,
    ERR_BAD_SHARES,
    ERR_DATE_BACKWARDS,
    ERR_NO_ROOM,
    ERR_NOT_ENOUGH_SHARES,
    ERR_TOO_MANY_LOTS,
    ERR_TOO_MANY_ROWS,
    ERR_UNKNOWN_LOT,
    ERR_YEAR_CLOSED,
    ERR_YEAR_RANGE,
    FIRST_YEAR,
    GAINS_FIRST,
    HIFO,
    LIFO,
    MAX_LOT_ID,
    MAX_ROWS,
    N_YEARS,
    NO_SLOT,
    OK,
    RATE_CHANGE_DAY,
    RATE_COLLECTIBLES,
    RATE_LONG_TERM,
    RATE_LONG_TERM_BEFORE_CHANGE,
    RATE_NIIT,
    RATE_ORDINARY,
    RATE_STATE,
    SPECIFIC,
    TAX_OPTIMAL,
    TAXABLE,
    YEAR_COLLECTIBLES_GAIN,
    YEAR_LT_GAIN,
    YEAR_LT_GAIN_AFTER_RATE_CHANGE,
    YEAR_PROCEEDS,
    YEAR_ST_GAIN,
    YEAR_ST_GAIN_AFTER_RATE_CHANGE,
)
from taxsim.ledger.exact_shares import exact_add_nb
from taxsim.ledger.state import (
    AUDIT_BASIS_IN,
    AUDIT_BASIS_RELIEVED,
    LOSS_EPSILON,
    QUALIFIED_HOLDING_DAYS,
    SHARE_EPSILON,
    create_lot_nb,
    reclassify_early_sale_dividends_nb,
    release_slot_nb,
    room_fits_nb,
    room_needed_nb,
    six_month_loss_rule_nb,
    year_index_nb,
)
from taxsim.ledger.wash_sales import (
    match_acquisition_nb,
    match_sale_portion_nb,
    wash_window_starts_nb,
)


def check_event(counters, lot_capacity, row_capacity, n_accounts, day):
    """Status of an event dated ``day``: the arrays have room for it (see ``state.py``), dates
    never go backwards, closed years stay closed."""
    lots_needed, rows_needed = room_needed_nb(counters, n_accounts)
    if not room_fits_nb(counters, lot_capacity, row_capacity, lots_needed, rows_needed):
        return ERR_NO_ROOM
    if counters[CNT_NEXT_LOT_ID] + lots_needed > MAX_LOT_ID:
        return ERR_TOO_MANY_LOTS
    if counters[CNT_SALE_ROWS] + rows_needed > MAX_ROWS:
        return ERR_TOO_MANY_ROWS
    if day < counters[CNT_LAST_DAY]:
        return ERR_DATE_BACKWARDS
    year = year_of_nb(day)
    if year <= counters[CNT_LAST_CLOSED_YEAR]:
        return ERR_YEAR_CLOSED
    if year < FIRST_YEAR or year >= FIRST_YEAR + N_YEARS:
        return ERR_YEAR_RANGE
    return OK


check_event_nb = njit(cache=True, inline="always")(check_event)


def mark_event_day(state, day):
    """Record an accepted event: the last event day, and the first event's year."""
    counters = state.counters
    first_year = counters[CNT_FIRST_YEAR]
    counters[CNT_FIRST_YEAR] = first_year if first_year != 0 else year_of_nb(day)
    counters[CNT_LAST_DAY] = day


mark_event_day_nb = njit(cache=True, error_model="numpy")(mark_event_day)


def check_event_day(state, day):
    """:func:`check_event` for a state (one call per event)."""
    return check_event_nb(
        state.counters, state.lot_shares.shape[0], state.realized.shape[0], state.head.shape[0], day
    )


check_event_day_nb = njit(cache=True, error_model="numpy")(check_event_day)


def acquire(state, account, asset, shares, cost, day):
    """Open a lot bought or reinvested: ``shares`` for ``cost`` dollars on ``day``.

    The new lot may be the replacement for a loss sale in the 30 days before (IRC §1091);
    reinvested distributions are acquisitions too (Pub 550 "Wash Sales"). Returns the lot id.
    Inputs must have been validated.
    """
    lot_id = state.counters[CNT_NEXT_LOT_ID]
    state.counters[CNT_NEXT_LOT_ID] += 1
    slot = create_lot_nb(state, lot_id, lot_id, account, asset, day, day, long_term_from_nb(day),
                         shares, cost)
    order_insert_nb(state, slot)
    state.audit[AUDIT_BASIS_IN] += cost
    mark_event_day_nb(state, day)
    if state.pending_head[state.asset_group[asset]] != NO_SLOT:
        match_acquisition_nb(state, slot, day)
    return lot_id


# inlined into buy and distribute (one call, and its reference counts, fewer per lot)
acquire_nb = njit(cache=True, inline="always")(acquire)


def buy(state, account, asset, shares, price, day):
    """Buy ``shares`` at ``price`` dollars per share; cash pays for it.

    Returns ``(status, lot_id)``.
    """
    if not (math.isfinite(shares) and shares > 0.0):
        return ERR_BAD_SHARES, 0
    if not (math.isfinite(price) and price > 0.0):
        return ERR_BAD_PRICE, 0
    status = check_event_day_nb(state, day)
    if status != OK:
        return status, 0
    cost = shares * price
    state.cash[account] -= cost
    return OK, acquire_nb(state, account, asset, shares, cost, day)


buy_nb = njit(cache=True, error_model="numpy")(buy)


def pool_average_basis(state, account, asset):
    """Average basis (Treas. Reg. §1.1012-1(e)): every open share gets the mean basis.

    Applied before an ``average`` sale; wash-sale adjustments are pooled the same way.
    """
    total_shares = 0.0
    total_basis = 0.0
    total_adjustment = 0.0
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        total_shares += state.lot_shares[slot]
        total_basis += state.lot_basis[slot]
        total_adjustment += state.lot_wash_adjustment[slot]
        slot = state.lot_next[slot]
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        fraction = state.lot_shares[slot] / total_shares
        state.lot_basis[slot] = total_basis * fraction
        state.lot_wash_adjustment[slot] = total_adjustment * fraction
        slot = state.lot_next[slot]


pool_average_basis_nb = njit(cache=True)(pool_average_basis)


def asset_gain_rates(state, asset, day):
    """(short-term, long-term) marginal rates on gains on ``asset`` realized on ``day``,
    fractions: ordinary + NIIT + state and long-term + NIIT + state (IRC §1(h), §1411; the
    household's rate row of the sale's year, clamped into the table; before a change of the
    long-term rate within the year, the earlier rate). A collectible's long-term gain is taxed
    at the collectibles rate instead (IRC §1(h)(1)(F), (h)(4)-(5): 28%, or the ordinary rate
    if lower). The rates the tax-optimal relief order and the strategies' sale-tax estimates
    use.
    """
    rates = state.rates[min(max(year_index_nb(year_of_nb(day)), 0), N_YEARS - 1)]
    short_rate = rates[RATE_ORDINARY] + rates[RATE_NIIT] + rates[RATE_STATE]
    long_term = (rates[RATE_LONG_TERM] if day >= rates[RATE_CHANGE_DAY]
                 else rates[RATE_LONG_TERM_BEFORE_CHANGE])  # a change within the year
    if state.asset_collectible[asset]:  # the 28% rate did not change in 2003
        long_term = min(rates[RATE_ORDINARY], rates[RATE_COLLECTIBLES])
    long_rate = long_term + rates[RATE_NIIT] + rates[RATE_STATE]
    return short_rate, long_rate


# inlined into the relief-order kernels (no call holding the state's arrays there)
asset_gain_rates_nb = njit(cache=True, inline="always")(asset_gain_rates)


TAKEN = 3  # relief-order category of a slot already selected; after every real category
SELECT_BUFFER = 8  # lots of a relief order found per pass (most sales need fewer)

# The relief order is built in the state's scratch arrays: ``scratch_slots`` (the position's
# slots in acquisition order), ``scratch_keys`` and ``scratch_categories`` (their relief-order
# keys), ``scratch_order`` (the slots to relieve). The kernels take the state, not the arrays:
# that is the cheaper numba call (see the note in ``state.py``).


def relief_keys(state, account, asset, method, price, day):
    """Walk the open slots of (account, asset) once, in acquisition order (day, then lot id):
    write them to ``scratch_slots`` and, for HIFO, tax-optimal and gains-first, their
    relief-order keys and categories (see :func:`fill_relief_order`). Returns
    ``(count, shares held)``.

    The shares are summed in list order, the same float as ``state.shares_held``.
    """
    fifo = state.scratch_slots
    keys = state.scratch_keys
    categories = state.scratch_categories
    lot_next = state.lot_next
    lot_shares = state.lot_shares
    lot_basis = state.lot_basis
    lot_long_from = state.lot_long_from
    # tax-optimal keys use the sale year's rates; read unconditionally (a conditional read
    # costs numba reference counting), from a row clamped into the table for other methods
    short_rate, long_rate = asset_gain_rates_nb(state, asset, day)
    count = 0
    held = 0.0
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        fifo[count] = slot
        held += lot_shares[slot]
        # keys are rounded (1e-9 dollars per share, 1e-12 tax per dollar) so that float
        # noise, e.g. after average-basis pooling, never decides between lots: ties go FIFO
        if method == HIFO:
            categories[count] = 0
            keys[count] = -round(lot_basis[slot] / lot_shares[slot], 9)
        elif method == TAX_OPTIMAL or method == GAINS_FIRST:
            gain_per_share = round(price - lot_basis[slot] / lot_shares[slot], 9)
            long_term = day >= lot_long_from[slot]
            if gain_per_share >= 0.0:  # gains by tax per dollar: last, or first for gains-first
                categories[count] = 2 if method == TAX_OPTIMAL else 0
                keys[count] = round(
                    gain_per_share * (long_rate if long_term else short_rate) / price, 12
                )
            elif method == TAX_OPTIMAL:  # short-term, then long-term losses, largest first
                categories[count] = 1 if long_term else 0
                keys[count] = gain_per_share
            else:  # gains-first: after every gain, the smallest loss first
                categories[count] = 1
                keys[count] = -gain_per_share
        count += 1
        slot = lot_next[slot]
    return count, held


relief_keys_nb = njit(cache=True)(relief_keys)


def select_in_order(state, count, shares):
    """Write to ``scratch_order`` the first of the ``count`` lots of ``scratch_slots`` in
    (category, key, FIFO position) order covering ``shares``; returns how many.

    A sale relieves a few lots, or all of them, so each pass over the lots not yet taken keeps
    the next ``SELECT_BUFFER`` of that order (insertion into a short sorted list, which most
    lots skip after one comparison); the ties go to the earlier position, which is FIFO.
    Selected lots get category ``TAKEN``. A NaN key (no order) leaves the choice to repeated
    selection of the first remaining lot, which is the definition.
    """
    fifo = state.scratch_slots
    keys = state.scratch_keys
    categories = state.scratch_categories
    order = state.scratch_order
    lot_shares = state.lot_shares
    n_taken = 0
    covered = 0.0
    ordered = True
    while ordered and n_taken < count and covered < shares - SHARE_EPSILON:
        # positions of the next lots, sorted, in order[n_taken:end]
        full = n_taken + min(SELECT_BUFFER, count - n_taken)
        end = n_taken
        last_category = TAKEN  # the last kept lot's, once the list is full
        last_key = 0.0
        for i in range(count):
            category = categories[i]
            if category == TAKEN:
                continue
            key = keys[i]
            if key != key:
                ordered = False
                break
            if end == full:
                if not (category < last_category or (
                    category == last_category and key < last_key
                )):
                    continue
                j = end - 1
            else:
                j = end
                end += 1
            while j > n_taken and (category < categories[order[j - 1]] or (
                category == categories[order[j - 1]] and key < keys[order[j - 1]]
            )):
                order[j] = order[j - 1]
                j -= 1
            order[j] = i
            if end == full:
                last_category = categories[order[end - 1]]
                last_key = keys[order[end - 1]]
        if not ordered:
            break
        while n_taken < end and covered < shares - SHARE_EPSILON:
            position = order[n_taken]
            categories[position] = TAKEN
            order[n_taken] = fifo[position]
            covered += lot_shares[fifo[position]]
            n_taken += 1
    while covered < shares - SHARE_EPSILON and n_taken < count:  # NaN keys only
        best = 0
        for i in range(1, count):
            if categories[i] < categories[best] or (
                categories[i] == categories[best] and keys[i] < keys[best]
            ):
                best = i
        categories[best] = TAKEN
        order[n_taken] = fifo[best]
        n_taken += 1
        covered += lot_shares[fifo[best]]
    return n_taken


select_in_order_nb = njit(cache=True)(select_in_order)


def take_in_list_order(state, count, method, shares):
    """Write to ``scratch_order`` the first lots of ``scratch_slots`` (the last ones for LIFO)
    covering ``shares``; returns how many."""
    fifo = state.scratch_slots
    order = state.scratch_order
    lot_shares = state.lot_shares
    n = 0
    covered = 0.0
    while n < count and covered < shares - SHARE_EPSILON:
        slot = fifo[n] if method != LIFO else fifo[count - 1 - n]
        order[n] = slot
        covered += lot_shares[slot]
        n += 1
    return n


take_in_list_order_nb = njit(cache=True)(take_in_list_order)


def fill_relief_order(state, count, method, shares):
    """Write to ``scratch_order`` the slots a sale by ``method`` relieves, as far as ``shares``
    need; returns how many.

    ``scratch_slots``, ``scratch_keys`` and ``scratch_categories`` come from
    :func:`relief_keys` (the categories are consumed). FIFO: acquisition order. LIFO: the
    reverse. HIFO: highest basis per share first, ties FIFO. Tax-optimal: short-term losses,
    then long-term losses (largest loss per share first), then the rest by increasing tax per
    dollar sold at the sale year's rates, ties FIFO. Gains-first: lots at a gain (or none) by
    increasing tax per dollar sold, as tax-optimal, then lots at a loss, smallest loss per
    share first, ties FIFO. Average: FIFO (after pooling). Each order identifies the shares
    sold (Treas. Reg. §1.1012-1(c)(1), (c)(8): a standing order given to the broker before
    the sale).
    """
    if method == HIFO or method == TAX_OPTIMAL or method == GAINS_FIRST:
        return select_in_order_nb(state, count, shares)
    return take_in_list_order_nb(state, count, method, shares)


fill_relief_order_nb = njit(cache=True)(fill_relief_order)


# Selection from the basis order (``basis_order.py``): every relief-order key above is a
# monotone function of the basis per share within a category (HIFO: -bps; a loss: price - bps;
# a gain: (price - bps) x rate / price, the rate fixed by the term), so in a position's basis
# order, highest first, each category's keys never decrease and lots with equal keys are
# adjacent. A sale reads that order from the top, takes each run of equal keys in FIFO order
# (acquisition day, then lot id: the position in the list), and stops once the shares are
# covered: the same lots in the same order as :func:`fill_relief_order`, without visiting the
# others. Tax-optimal reads the losses (a prefix of the order) once per term, then merges the
# gains of both terms. Gains-first merges the gains; a sale they do not cover leaves its losses,
# smallest first (the order reversed), to the full walk.

PHASE_ALL = 0  # HIFO: every lot
PHASE_ST_LOSS = 1  # tax-optimal category 0
PHASE_LT_LOSS = 2  # tax-optimal category 1
PHASE_GAINS = 3  # tax-optimal category 2
LONG_RUN = 32  # a run of equal keys this long (e.g. zero tax rates): use the full walk


def select_by_basis(state, position, method, price, day, shares):
    """Write to ``scratch_order`` the slots a HIFO, tax-optimal or gains-first sale relieves
    (the order of :func:`fill_relief_order`) from the position's basis order, and their order
    positions to ``scratch_slots``; returns how many, or -1 where a long run of equal keys
    makes the full walk the cheaper way, or a gains-first sale needs a loss lot.

    One loop finds the next run of equal keys (``scratch_categories``), sorts it FIFO and
    takes it: for HIFO from every lot; for tax-optimal from the short-term losses, then the
    long-term losses (both a prefix of the order), then the gains of both terms, two cursors
    merged by tax per dollar; for gains-first from those gains only. Every array is fetched
    once and used last after the loop (numba's reference counting is then free; see
    ``state.py``).
    """
    order_meta = state.order_meta
    order_slot = state.order_slot
    order_bps = state.order_bps
    lot_acquired = state.lot_acquired
    lot_id = state.lot_id
    lot_shares = state.lot_shares
    run = state.scratch_categories
    order = state.scratch_order
    positions = state.scratch_slots
    short_rate, long_rate = asset_gain_rates_nb(state, position % state.head.shape[1], day)
    start = order_meta[position, ORDER_START]
    length = order_meta[position, ORDER_LENGTH]
    top = start + length - 1  # order position j (highest first) is entry top - j
    needed = shares - SHARE_EPSILON
    phase = PHASE_ALL if method == HIFO else PHASE_ST_LOSS
    j = 0  # next order position of the single-stream phases
    if method == GAINS_FIRST:  # no loss phase: the one below ends at once, on to the gains
        phase = PHASE_LT_LOSS
        j = length
    j_short = length  # gain cursors
    j_long = length
    n = 0
    covered = 0.0
    give_up = False
    while covered < needed:
        run_len = 0
        run_key = 0.0
        if phase != PHASE_GAINS:
            while j < length:
                bps = order_bps[top - j]
                if phase == PHASE_ALL:
                    key = -round(bps, 9)
                else:
                    key = round(price - bps, 9)
                    if not key < 0.0:
                        break  # the gains start here
                    long_term = day >= entry_long_from_nb(order_slot[top - j])
                    if long_term != (phase == PHASE_LT_LOSS):
                        j += 1
                        continue
                if run_len > 0 and key != run_key:
                    break  # the run ends; this lot starts the next one
                if run_len == LONG_RUN:
                    give_up = True
                    break
                run[run_len] = j
                run_len += 1
                run_key = key
                j += 1
        else:
            key_short = 0.0
            key_long = 0.0
            if j_short < length:
                gain = round(price - order_bps[top - j_short], 9)
                key_short = round(gain * short_rate / price, 12)
            if j_long < length:
                gain = round(price - order_bps[top - j_long], 9)
                key_long = round(gain * long_rate / price, 12)
            if j_long >= length or (j_short < length and key_short <= key_long):
                run_key = key_short
            else:
                run_key = key_long
            while j_short < length and key_short == run_key and not give_up:
                if run_len == LONG_RUN:
                    give_up = True
                    break
                run[run_len] = j_short
                run_len += 1
                j_short += 1
                while j_short < length and day >= entry_long_from_nb(order_slot[top - j_short]):
                    j_short += 1
                if j_short < length:
                    gain = round(price - order_bps[top - j_short], 9)
                    key_short = round(gain * short_rate / price, 12)
            while j_long < length and key_long == run_key and not give_up:
                if run_len == LONG_RUN:
                    give_up = True
                    break
                run[run_len] = j_long
                run_len += 1
                j_long += 1
                while j_long < length and day < entry_long_from_nb(order_slot[top - j_long]):
                    j_long += 1
                if j_long < length:
                    gain = round(price - order_bps[top - j_long], 9)
                    key_long = round(gain * long_rate / price, 12)
        if give_up:
            break
        if run_len == 0:  # the phase has no lot left
            if phase == PHASE_GAINS and method == GAINS_FIRST:
                give_up = True  # losses too: smallest first, the full walk's order
            if phase == PHASE_ALL or phase == PHASE_GAINS:
                break
            phase += 1
            j = 0
            if phase == PHASE_GAINS:
                lo = 0  # first position with a gain (keys never decrease down the order)
                hi = length
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if round(price - order_bps[top - mid], 9) < 0.0:
                        lo = mid + 1
                    else:
                        hi = mid
                j_short = lo
                while j_short < length and day >= entry_long_from_nb(order_slot[top - j_short]):
                    j_short += 1
                j_long = lo
                while j_long < length and day < entry_long_from_nb(order_slot[top - j_long]):
                    j_long += 1
            continue
        for i in range(1, run_len):  # FIFO within the run: (acquired, lot id); runs are short
            member = run[i]
            slot = entry_slot_nb(order_slot[top - member])
            k = i
            while k > 0:
                other = entry_slot_nb(order_slot[top - run[k - 1]])
                if lot_acquired[other] < lot_acquired[slot] or (
                    lot_acquired[other] == lot_acquired[slot] and lot_id[other] < lot_id[slot]
                ):
                    break
                run[k] = run[k - 1]
                k -= 1
            run[k] = member
        for i in range(run_len):
            if not covered < needed:
                break
            slot = entry_slot_nb(order_slot[top - run[i]])
            order[n] = slot
            positions[n] = run[i]
            covered += lot_shares[slot]
            n += 1
    # last uses, after every branch (see the docstring); the run buffer is scratch
    run[0] = (order_meta[position, ORDER_START] + order_slot[start]
              + lot_acquired[0] + lot_id[0] + order[0] + positions[0]
              + (order_bps[start] > 0.0) + (lot_shares[0] > 0.0))
    return -1 if give_up else n


select_by_basis_nb = njit(cache=True, error_model="numpy")(select_by_basis)


def drop_relieved(state, position, n_relieved):
    """Update a position's basis order after a sale relieved the first ``n_relieved`` slots
    of ``scratch_order`` (their order positions in ``scratch_slots``): closed lots leave, a
    partly sold one moves (its former basis per share kept in ``scratch_keys``).

    The order is stored lowest basis per share first (``basis_order.py``), so the lots a HIFO
    sale takes are at the end of the segment: only the entries above the lowest closed one
    move down.
    """
    meta = state.order_meta
    start = meta[position, ORDER_START]
    length = meta[position, ORDER_LENGTH]
    top = start + length - 1
    order_slot = state.order_slot
    order_bps = state.order_bps
    lowest = top + 1
    n_partial = 0
    for i in range(n_relieved):
        slot = state.scratch_order[i]
        entry = top - state.scratch_slots[i]
        if state.lot_shares[slot] == 0.0:  # released
            order_slot[entry] = NO_SLOT
            lowest = min(lowest, entry)
        else:
            state.scratch_keys[i] = order_bps[entry]  # its basis per share before
            n_partial += 1
    kept = lowest
    for entry in range(lowest, top + 1):
        if order_slot[entry] != NO_SLOT:
            order_slot[kept] = order_slot[entry]
            order_bps[kept] = order_bps[entry]
            kept += 1
    meta[position, ORDER_LENGTH] = kept - start
    if n_partial > 0:  # one at most, except for specific lots
        for i in range(n_relieved):
            slot = state.scratch_order[i]
            if state.lot_shares[slot] != 0.0:
                order_update_nb(state, slot, state.scratch_keys[i], state.lot_long_from[slot])


drop_relieved_nb = njit(cache=True, error_model="numpy")(drop_relieved)


def locate_in_order(state, position, n_relieved):
    """Write to ``scratch_slots`` the order positions of the first ``n_relieved`` slots of
    ``scratch_order`` (a sale selected without the basis order), for :func:`drop_relieved`."""
    top = state.order_meta[position, ORDER_START] + state.order_meta[position, ORDER_LENGTH] - 1
    order_slot = state.order_slot
    for i in range(n_relieved):
        slot = state.scratch_order[i]
        j = 0
        while entry_slot_nb(order_slot[top - j]) != slot:
            j += 1
        state.scratch_slots[i] = j


locate_in_order_nb = njit(cache=True, error_model="numpy")(locate_in_order)


def relief_order(state, account, asset, method, price, day, shares):
    """Open slots of (account, asset) in the order a sale by ``method`` relieves them, as far
    as ``shares`` need (a new array; the order is :func:`fill_relief_order`'s).
    """
    count, _ = relief_keys_nb(state, account, asset, method, price, day)
    n = fill_relief_order_nb(state, count, method, shares)
    return state.scratch_order[:n].copy()


relief_order_nb = njit(cache=True)(relief_order)


def find_slot(state, account, asset, lot_id):
    """Slot of open lot ``lot_id`` in (account, asset), or NO_SLOT."""
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        if state.lot_id[slot] == lot_id:
            return slot
        slot = state.lot_next[slot]
    return NO_SLOT


find_slot_nb = njit(cache=True)(find_slot)


def relieve(state, slot, take, price, day, sale_id, year_row):
    """Sell ``take`` shares of lot ``slot``: write a realized row, shrink or close the lot.

    ``year_row`` is the sale year's row of ``year_income`` (``year_index(year_of(day))``,
    computed once per sale). Returns the realized row index (room must have been made).
    """
    lot_shares = state.lot_shares[slot]
    closing = take >= lot_shares - SHARE_EPSILON
    if closing:
        take = lot_shares
        portion_basis = state.lot_basis[slot]
        portion_adjustment = state.lot_wash_adjustment[slot]
    else:
        portion_basis = state.lot_basis[slot] * (take / lot_shares)
        portion_adjustment = state.lot_wash_adjustment[slot] * (take / lot_shares)
    account = state.lot_account[slot]
    taxable = state.account_kind[account] == TAXABLE
    # read unconditionally: an array read only inside ``if taxable`` costs reference counts
    collectible = state.asset_collectible[state.lot_asset[slot]]
    proceeds = price * take
    long_term = day >= state.lot_long_from[slot]
    gain = proceeds - portion_basis
    # IRC §852(b)(4): only a loss on a lot that received such distributions young looks
    exempt_interest_disallowed = 0.0
    capital_gain_per_share = 0.0
    if state.lot_six_month_rule[slot] and taxable and gain < 0.0:
        exempt_interest_disallowed, capital_gain_per_share = six_month_loss_rule_nb(
            state, slot, day, take, -gain, long_term)
        gain += exempt_interest_disallowed
    row = state.counters[CNT_SALE_ROWS]
    state.counters[CNT_SALE_ROWS] += 1
    state.realized[row]["sale_id"] = sale_id
    state.realized[row]["lot_id"] = state.lot_id[slot]
    state.realized[row]["origin"] = state.lot_origin[slot]
    state.realized[row]["account"] = account
    state.realized[row]["asset"] = state.lot_asset[slot]
    state.realized[row]["taxable"] = taxable
    state.realized[row]["shares"] = take
    state.realized[row]["acquired"] = state.lot_acquired[slot]
    state.realized[row]["holding_start"] = state.lot_holding_start[slot]
    state.realized[row]["sold"] = day
    state.realized[row]["proceeds"] = proceeds
    state.realized[row]["basis"] = portion_basis
    state.realized[row]["wash_disallowed"] = 0.0
    state.realized[row]["wash_lost"] = 0.0
    state.realized[row]["long_term"] = long_term
    state.realized[row]["loss_shares_open"] = 0.0
    state.realized[row]["loss_per_open_share"] = 0.0
    state.realized[row]["capital_gain_per_share"] = capital_gain_per_share
    state.realized[row]["exempt_interest_disallowed"] = exempt_interest_disallowed
    state.realized[row]["next_pending"] = NO_SLOT
    if taxable:
        # ``gain`` is after §852(b)(4)(B); the part of the loss that is long-term (<= 0); its
        # share of a later wash-sale disallowance moves back with it (book_disallowed)
        long_term_part = min(0.0, max(gain, -take * capital_gain_per_share))
        term_gain = gain - long_term_part
        state.year_income[year_row, YEAR_LT_GAIN if long_term else YEAR_ST_GAIN] += term_gain
        state.year_income[year_row, YEAR_LT_GAIN] += long_term_part
        # a collectible held more than a year: collectibles gain or loss (IRC §1(h)(5)); a
        # long-term sale has no §852(b)(4)(A) part, so that is all of ``gain``
        collectibles_gain = gain if long_term and collectible else 0.0
        state.year_income[year_row, YEAR_COLLECTIBLES_GAIN] += collectibles_gain
        if day >= state.rates[year_row, RATE_CHANGE_DAY]:  # 2003 Schedule D column (g)
            state.year_income[year_row, YEAR_LT_GAIN_AFTER_RATE_CHANGE if long_term
                              else YEAR_ST_GAIN_AFTER_RATE_CHANGE] += term_gain
            state.year_income[year_row, YEAR_LT_GAIN_AFTER_RATE_CHANGE] += (
                long_term_part - collectibles_gain)  # the 28% rate did not change
        state.year_income[year_row, YEAR_PROCEEDS] += proceeds
        if day - state.lot_acquired[slot] < QUALIFIED_HOLDING_DAYS:
            reclassify_early_sale_dividends_nb(state, state.year_income, slot, take, day)
    # the lot's fields written on both paths: two branches that each end in an array write
    # get their reference counts merged by LLVM, and numba no longer prunes them
    basis_left = state.lot_basis[slot] - portion_basis
    adjustment = state.lot_wash_adjustment[slot]
    asset = state.lot_asset[slot]
    shares_left = 0.0 if closing else lot_shares - take
    state.lot_shares[slot] = shares_left
    exact_add_nb(state.position_exact, account, asset, lot_shares, -1)
    exact_add_nb(state.position_exact, account, asset, shares_left, 1)
    state.position_shares[account, asset] = np.nan  # recomputed when read
    state.lot_basis[slot] = 0.0 if closing else basis_left
    state.lot_wash_adjustment[slot] = adjustment if closing else adjustment - portion_adjustment
    if closing:
        release_slot_nb(state, slot)
    state.audit[AUDIT_BASIS_RELIEVED] += portion_basis  # unconditional last use (state.py)
    return row


relieve_nb = njit(cache=True, error_model="numpy")(relieve)


def loss_rows_by_acquisition(state, first_row, n_rows):
    """Write to ``scratch_categories`` the loss rows among the ``n_rows`` realized rows from
    ``first_row`` (one sale), in the order the wash-sale rule takes them; returns how many.

    Treas. Reg. §1.1091-1(b): losses are taken in the order the shares were disposed of, and
    shares disposed of at a loss on the same day in an order that cannot be determined (the
    lots of one sale are delivered together) in the order they were originally acquired,
    earliest first. So a sale's loss rows go by acquisition day, then lot id, whatever order
    its lot method relieved them in. A row is a loss when its basis exceeds its proceeds by
    more than ``LOSS_EPSILON`` of the basis (a sale at cost is no loss), counting only the
    loss that IRC §852(b)(4)(B) left (``exempt_interest_disallowed``).
    """
    order = state.scratch_categories
    realized = state.realized
    count = 0
    for row in range(first_row, first_row + n_rows):
        basis = realized[row]["basis"]
        loss = basis - realized[row]["proceeds"] - realized[row]["exempt_interest_disallowed"]
        if loss > LOSS_EPSILON * max(1.0, basis):
            acquired = realized[row]["acquired"]
            lot_id = realized[row]["lot_id"]
            # insertion sort: a sale has few loss rows, and FIFO ones arrive in order
            k = count
            while k > 0 and (
                realized[order[k - 1]]["acquired"] > acquired
                or (realized[order[k - 1]]["acquired"] == acquired
                    and realized[order[k - 1]]["lot_id"] > lot_id)
            ):
                order[k] = order[k - 1]
                k -= 1
            order[k] = row
            count += 1
    return count


loss_rows_by_acquisition_nb = njit(cache=True, error_model="numpy")(loss_rows_by_acquisition)


def sell(state, account, asset, shares, price, day, method, specific_ids, specific_shares):
    """Sell ``shares`` of ``asset`` from ``account`` at ``price``, relieving lots by ``method``.

    For ``SPECIFIC``, ``specific_ids`` and ``specific_shares`` name the lots and shares (their
    sum must equal ``shares``). Losses in a taxable account go through the wash-sale rule.
    Returns ``(status, first_row, n_rows)``: the realized rows written.
    """
    if not (math.isfinite(shares) and shares > 0.0):
        return ERR_BAD_SHARES, 0, 0
    if not (math.isfinite(price) and price > 0.0):
        return ERR_BAD_PRICE, 0, 0
    status = check_event_day_nb(state, day)
    if status != OK:
        return status, 0, 0
    position = account * state.head.shape[1] + asset
    if state.order_meta[position, ORDER_PENDING] > 0 and method != AVERAGE:
        settle_order_nb(state, position)  # lots added since the last sale take their places
    n_slots = -1
    if method == HIFO or method == TAX_OPTIMAL or method == GAINS_FIRST:
        if state.order_meta[position, ORDER_STALE] == 0 or rebuild_order_nb(state, account,
                                                                            asset):
            n_slots = select_by_basis_nb(state, position, method, price, day, shares)
            if n_slots == state.order_meta[position, ORDER_LENGTH]:
                # every lot selected: do they hold the shares? (summed in relief order; the
                # selection stops as soon as fewer lots do)
                held = 0.0
                for i in range(n_slots):
                    held += state.lot_shares[state.scratch_order[i]]
                if shares > held + SHARE_EPSILON:
                    return ERR_NOT_ENOUGH_SHARES, 0, 0
    from_order = n_slots >= 0
    if from_order:
        pass
    elif method == SPECIFIC:
        count, held = relief_keys_nb(state, account, asset, method, price, day)
        if shares > held + SHARE_EPSILON:
            return ERR_NOT_ENOUGH_SHARES, 0, 0
        n_specific = specific_ids.shape[0]
        specific_slots = np.empty(n_specific, np.int64)
        total = 0.0
        for i in range(n_specific):
            specific_slots[i] = find_slot_nb(state, account, asset, specific_ids[i])
            if specific_slots[i] == NO_SLOT:
                return ERR_UNKNOWN_LOT, 0, 0
            for j in range(i):
                if specific_slots[j] == specific_slots[i]:
                    return ERR_UNKNOWN_LOT, 0, 0
            take = specific_shares[i]
            if not (math.isfinite(take) and take > 0.0):
                return ERR_BAD_SHARES, 0, 0
            if take > state.lot_shares[specific_slots[i]] + SHARE_EPSILON:
                return ERR_NOT_ENOUGH_SHARES, 0, 0
            total += take
        if abs(total - shares) > SHARE_EPSILON * max(1.0, shares):
            return ERR_BAD_SHARES, 0, 0
        for i in range(n_specific):  # distinct open lots of the position: they fit
            state.scratch_order[i] = specific_slots[i]
        n_slots = n_specific
    else:
        count, held = relief_keys_nb(state, account, asset, method, price, day)
        if shares > held + SHARE_EPSILON:
            return ERR_NOT_ENOUGH_SHARES, 0, 0
        if method == AVERAGE:
            pool_average_basis_nb(state, account, asset)
        n_slots = fill_relief_order_nb(state, count, method, shares)
    sale_id = state.counters[CNT_NEXT_SALE_ID]
    state.counters[CNT_NEXT_SALE_ID] += 1
    mark_event_day_nb(state, day)
    first_row = state.counters[CNT_SALE_ROWS]
    slots = state.scratch_order
    lot_shares = state.lot_shares
    remaining = shares
    n_relieved = 0
    year_row = year_index_nb(year_of_nb(day))
    for i in range(n_slots):
        if method == SPECIFIC:
            take = specific_shares[i]
        else:
            if remaining <= SHARE_EPSILON:
                break
            take = min(remaining, lot_shares[slots[i]])
        relieve_nb(state, slots[i], take, price, day, sale_id, year_row)
        remaining -= take
        n_relieved += 1
    if method == AVERAGE:
        mark_stale_nb(state, account, asset)  # pooled: rebuilt if a later sale needs it
    elif state.order_meta[position, ORDER_STALE] == 0:
        if not from_order:
            locate_in_order_nb(state, position, n_relieved)
        drop_relieved_nb(state, position, n_relieved)
    n_rows = state.counters[CNT_SALE_ROWS] - first_row
    if state.account_kind[account] == TAXABLE:
        n_loss_rows = loss_rows_by_acquisition_nb(state, first_row, n_rows)
        if n_loss_rows > 0:
            n_lists = wash_window_starts_nb(state, asset, day)
            for k in range(n_loss_rows):
                match_sale_portion_nb(state, state.scratch_categories[k], n_lists)
    state.cash[account] += price * shares
    return OK, first_row, n_rows


sell_nb = njit(cache=True, error_model="numpy")(sell)
