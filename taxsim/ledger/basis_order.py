"""Each position's open lots in basis order: the index that HIFO and tax-optimal sales read.

A sale by HIFO or tax-optimal lots (``lots.py``, Treas. Reg. §1.1012-1(c)) relieves a few lots
of a position that may hold hundreds. Their relief orders depend on the basis per share (and,
for tax-optimal, on the term and the sale's price and rates), and every key is monotone in the
basis per share. So each (account, asset) keeps its open slots sorted by basis per share,
and a sale reads the highest first (order position 0) instead of every lot of the position:
see ``lots.select_by_basis``.

An entry of ``order_slot`` packs the slot (low 32 bits) with the lot's first long-term day
(``lot_long_from``, the high 32 bits, signed; :func:`order_entry`): a tax-optimal sale reads
the term of every loss lot it passes, and reading it from the entry saves a cache miss on the
lot's record each. Sorted entries keep it current (:func:`settle_order`, :func:`order_update`,
:func:`rebuild_order` pack it; a wash-sale replacement, the one change of a lot's holding
period, goes through :func:`order_update`); pending entries hold the bare slot.

Storage: one arena (``order_slot``, ``order_bps``) holds a contiguous segment per position;
``order_meta[position]`` = (start, capacity, length, stale, pending), position = account *
assets + asset, and the extra last row holds the arena's used size in column 0. A segment
holds its ``length`` sorted entries lowest basis per share first (order position ``j`` is
entry ``start + length - 1 - j``), then its ``pending`` entries (:func:`order_insert`). Lowest
first because the changes come at the high end: a HIFO sale takes the highest lots, and a
wash-sale replacement piece, its basis raised by the disallowed loss, joins among them; there
they move few entries. A segment that must
grow moves to the end of the arena with twice the capacity; a full arena is compacted into a
new one twice the size (the only allocation, outside the hot path). ``order_bps`` is exactly
``lot_basis[slot] / lot_shares[slot]``, recomputed whenever a lot's basis or shares change
(equal values in any order: the relief orders break ties by acquisition order themselves).

A position whose lots all change at once (return of capital, a split, average-basis pooling)
or that was sold by another method is marked stale and rebuilt by the next sale that needs
it; so is one whose segment is full when a lot is added (the rebuild moves it to a segment of
twice its lots: growth stays out of the hot insert), and one with a basis per share that is
not finite (that position then keeps using the walk over every lot in ``lots.py``, whose NaN
handling is the definition).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from taxsim.ledger.enums import NO_SLOT

ORDER_START = 0
ORDER_CAPACITY = 1
ORDER_LENGTH = 2
ORDER_STALE = 3
ORDER_PENDING = 4  # entries added since the last settle, unsorted, after the sorted ones
N_ORDER_META = 5
MIN_SEGMENT = 8  # entries of a position's first segment
SLOT_BITS = 32  # order entries: slot in the low bits, first long-term day above
SLOT_MASK = (1 << SLOT_BITS) - 1


def order_entry(slot, long_from):
    """An ``order_slot`` entry: ``slot`` (below 2**32) and the lot's first long-term day
    (``lot_long_from``, a day number) packed in one int64."""
    return (np.int64(long_from) << SLOT_BITS) | np.int64(slot)


def entry_slot(entry):
    """The slot of an ``order_slot`` entry."""
    return entry & SLOT_MASK


def entry_long_from(entry):
    """The first long-term day of a sorted ``order_slot`` entry's lot (day number)."""
    return entry >> SLOT_BITS


# a few integer operations: inlined into every caller (numba inline="always")
order_entry_nb = njit(cache=True, inline="always")(order_entry)
entry_slot_nb = njit(cache=True, inline="always")(entry_slot)
entry_long_from_nb = njit(cache=True, inline="always")(entry_long_from)


def empty_order_arrays(n_positions: int, arena: int) -> dict:
    """Index arrays of ``n_positions`` empty (valid) positions and an arena of ``arena``."""
    return {
        "order_meta": np.zeros((n_positions + 1, N_ORDER_META), np.int64),
        "order_slot": np.full(max(arena, MIN_SEGMENT), NO_SLOT, np.int64),
        "order_bps": np.zeros(max(arena, MIN_SEGMENT), np.float64),
    }


def order_position(state, slot):
    """Index position of a slot's (account, asset)."""
    return state.lot_account[slot] * state.head.shape[1] + state.lot_asset[slot]


order_position_nb = njit(cache=True, inline="always")(order_position)


def reserve_segment(state, position, needed):
    """Make ``position``'s segment hold at least ``needed`` entries (moving it, and compacting
    the arena into a larger one when it is full)."""
    meta = state.order_meta
    if meta[position, ORDER_CAPACITY] >= needed:
        return
    capacity = max(MIN_SEGMENT, 2 * meta[position, ORDER_CAPACITY], needed)
    top = meta.shape[0] - 1
    if meta[top, ORDER_START] + capacity > state.order_slot.shape[0]:
        # compact every segment into a new arena, twice the space they need
        total = capacity
        for other in range(top):
            if other != position:
                total += meta[other, ORDER_CAPACITY]
        slots = np.full(2 * total, NO_SLOT, np.int64)
        bps = np.zeros(2 * total, np.float64)
        used = 0
        for other in range(top):
            start = meta[other, ORDER_START]
            for j in range(meta[other, ORDER_LENGTH] + meta[other, ORDER_PENDING]):
                slots[used + j] = state.order_slot[start + j]
                bps[used + j] = state.order_bps[start + j]
            meta[other, ORDER_START] = used
            used += capacity if other == position else meta[other, ORDER_CAPACITY]
        meta[position, ORDER_CAPACITY] = capacity
        meta[top, ORDER_START] = used
        state.order_slot = slots
        state.order_bps = bps
        return
    start = meta[position, ORDER_START]
    new_start = meta[top, ORDER_START]
    slots = state.order_slot
    bps = state.order_bps
    for j in range(meta[position, ORDER_LENGTH] + meta[position, ORDER_PENDING]):
        slots[new_start + j] = slots[start + j]
        bps[new_start + j] = bps[start + j]
    meta[position, ORDER_START] = new_start
    meta[position, ORDER_CAPACITY] = capacity
    meta[top, ORDER_START] = new_start + capacity


reserve_segment_nb = njit(cache=True, error_model="numpy")(reserve_segment)


def mark_stale(state, account, asset):
    """Drop a position's order; the next sale that needs it rebuilds it."""
    position = account * state.head.shape[1] + asset
    state.order_meta[position, ORDER_STALE] = 1
    state.order_meta[position, ORDER_LENGTH] = 0
    state.order_meta[position, ORDER_PENDING] = 0


mark_stale_nb = njit(cache=True, inline="always")(mark_stale)


def order_insert(state, slot):
    """Add an open lot (its shares and basis set) to its position's order.

    The slot is appended to the position's pending entries, unsorted: a position takes
    several lots (buys, reinvestments, wash-sale pieces) between two sales, and the next sale
    sorts them once and merges them into the order (:func:`settle_order`). A full segment is
    not grown here: the position is marked stale, and the next sale that needs its order
    rebuilds it in a segment with room to spare (:func:`rebuild_order`). So this kernel calls
    nothing, and numba prunes its reference counts (every array is used last at the end,
    unconditionally).
    """
    position = order_position_nb(state, slot)
    shares = state.lot_shares[slot]
    bps = state.lot_basis[slot] / shares
    meta = state.order_meta
    used = meta[position, ORDER_LENGTH] + meta[position, ORDER_PENDING]
    fresh = meta[position, ORDER_STALE] == 0
    if fresh and not (math.isfinite(bps) and used < meta[position, ORDER_CAPACITY]):
        meta[position, ORDER_STALE] = 1
        meta[position, ORDER_LENGTH] = 0
        meta[position, ORDER_PENDING] = 0
        fresh = False
    order_slot = state.order_slot
    at = meta[position, ORDER_START] + (used if fresh else 0)
    # unconditional writes (numba then prunes the arrays' reference counts, state.py); for a
    # stale position they write back the values already there
    order_slot[at] = slot if fresh else order_slot[at]
    meta[position, ORDER_PENDING] += 1 if fresh else 0


# inlined (numba inline="always") into its callers, which then need no call for it
order_insert_nb = njit(cache=True, inline="always")(order_insert)


def first_not_below(values, lo, hi, key):
    """First index in ``[lo, hi)`` of a run sorted lowest first whose value is not below
    ``key`` (``hi`` if none): binary search."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def first_above(values, lo, hi, key):
    """First index in ``[lo, hi)`` of a run sorted lowest first whose value is above ``key``
    (``hi`` if none): binary search."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if values[mid] > key:
            hi = mid
        else:
            lo = mid + 1
    return lo


first_not_below_nb = njit(cache=True, inline="always")(first_not_below)
first_above_nb = njit(cache=True, inline="always")(first_above)


def order_update(state, slot, old_bps, old_long_from):
    """Move an open lot whose basis, shares or holding period changed to its place in its
    position's order; ``old_bps`` is its basis per share and ``old_long_from`` its first
    long-term day (day number) before the change.

    A pending entry (:func:`order_insert`) has no place yet: nothing moves. Otherwise binary
    searches find the lot among the sorted entries equal to ``old_bps`` and its new place; the
    entries in between move by one. The order is the one of moving the lot entry by entry past
    every strictly lower (moving up) or strictly higher (moving down) neighbour. The lot is
    looked for first as the last pending entry (a wash-sale piece just added), then among the
    sorted entries equal to ``old_bps``, then among every pending and every sorted entry. A
    sorted entry that moves is packed with the lot's current first long-term day; a lot whose
    basis per share and first long-term day are both unchanged keeps its place and entry.
    """
    position = order_position_nb(state, slot)
    bps = state.lot_basis[slot] / state.lot_shares[slot]
    long_from = state.lot_long_from[slot]  # read here, on every path
    entry = order_entry_nb(slot, long_from)
    meta = state.order_meta
    fresh = meta[position, ORDER_STALE] == 0
    finite = math.isfinite(bps)
    if fresh and not finite:
        meta[position, ORDER_STALE] = 1
        meta[position, ORDER_LENGTH] = 0
        meta[position, ORDER_PENDING] = 0
    ok = fresh and finite
    start = meta[position, ORDER_START]
    end = start + meta[position, ORDER_LENGTH]
    pending_end = end + meta[position, ORDER_PENDING]
    order_slot = state.order_slot
    order_bps = state.order_bps
    if ok and (bps != old_bps or long_from != old_long_from):
        j = pending_end - 1
        if not (j >= end and entry_slot_nb(order_slot[j]) == slot):
            # first sorted entry not below old_bps, then along the equal ones
            j = first_not_below_nb(order_bps, start, end, old_bps)
            while j < end and order_bps[j] == old_bps and entry_slot_nb(order_slot[j]) != slot:
                j += 1
            if not (j < end and entry_slot_nb(order_slot[j]) == slot):
                j = pending_end - 1
                while j >= end and entry_slot_nb(order_slot[j]) != slot:
                    j -= 1
                if j < end:
                    j = start
                    while entry_slot_nb(order_slot[j]) != slot:
                        j += 1
        if j < end:  # a sorted entry: to its new place
            if j + 1 < end and order_bps[j + 1] < bps:  # up: past every lower entry
                target = first_not_below_nb(order_bps, j + 1, end, bps) - 1
                for k in range(j, target):
                    order_slot[k] = order_slot[k + 1]
                    order_bps[k] = order_bps[k + 1]
            else:  # down: past every higher entry
                target = first_above_nb(order_bps, start, j, bps)
                for k in range(j, target, -1):
                    order_slot[k] = order_slot[k - 1]
                    order_bps[k] = order_bps[k - 1]
            order_slot[target] = entry
            order_bps[target] = bps
    # unconditional last uses (see order_insert)
    order_slot[start] = order_slot[start]
    order_bps[start] = order_bps[start] if ok else order_bps[start]


def settle_order(state, position):
    """Sort a position's pending entries (:func:`order_insert`) into its order: their basis
    per share, lowest first, merged with the sorted entries from the back (each sorted entry
    moves once, by the number of pending entries below it, in blocks). Equal values keep the
    sorted entry below, and pending entries their order of addition. A pending basis per share
    that is not finite marks the position stale (see the module docstring). Uses
    ``scratch_slots`` and ``scratch_keys``; call it before a sale writes them. Call-free, each
    array fetched once and used unconditionally (see ``state.py``).
    """
    meta = state.order_meta
    order_slot = state.order_slot
    order_bps = state.order_bps
    lot_basis = state.lot_basis
    lot_shares = state.lot_shares
    lot_long_from = state.lot_long_from
    slots = state.scratch_slots
    keys = state.scratch_keys
    n_pending = meta[position, ORDER_PENDING]
    start = meta[position, ORDER_START]
    length = meta[position, ORDER_LENGTH]
    finite = True
    for i in range(n_pending):  # insertion sort, lowest first; the pending entries are few
        slot = entry_slot_nb(order_slot[start + length + i])
        key = lot_basis[slot] / lot_shares[slot]
        finite = finite and math.isfinite(key)
        k = i
        while k > 0 and keys[k - 1] > key:
            slots[k] = slots[k - 1]
            keys[k] = keys[k - 1]
            k -= 1
        slots[k] = slot
        keys[k] = key
    # highest pending entry first: a binary search finds the sorted entries above it, which
    # move up as one block, by the number of pending entries still to place below them
    sorted_end = start + length
    for j in range(n_pending - 1 if finite else -1, -1, -1):
        key = keys[j]
        lo = first_above_nb(order_bps, start, sorted_end, key)
        for k in range(sorted_end - 1, lo - 1, -1):
            order_slot[k + j + 1] = order_slot[k]
            order_bps[k + j + 1] = order_bps[k]
        order_slot[lo + j] = order_entry_nb(slots[j], lot_long_from[slots[j]])
        order_bps[lo + j] = key
        sorted_end = lo
    meta[position, ORDER_STALE] = meta[position, ORDER_STALE] if finite else 1
    meta[position, ORDER_LENGTH] = length + n_pending if finite else 0
    meta[position, ORDER_PENDING] = 0
    # unconditional last uses, every array's at the same point: numba prunes their counts
    in_use = lot_basis.size + lot_shares.size + lot_long_from.size + slots.size + keys.size
    order_slot[start] = order_slot[start] if in_use > 0 else NO_SLOT
    order_bps[start] = order_bps[start]


settle_order_nb = njit(cache=True, error_model="numpy")(settle_order)


order_update_nb = njit(cache=True, inline="always")(order_update)  # as order_insert


def rebuild_order(state, account, asset):
    """Rebuild a stale position's order from its list; returns False (and leaves it stale) if
    a basis per share is not finite."""
    position = account * state.head.shape[1] + asset
    meta = state.order_meta
    slots = state.scratch_slots
    keys = state.scratch_keys
    count = 0
    finite = True
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        slots[count] = slot
        keys[count] = state.lot_basis[slot] / state.lot_shares[slot]
        finite = finite and math.isfinite(keys[count])
        count += 1
        slot = state.lot_next[slot]
    if not finite:
        return False
    reserve_segment_nb(state, position, 2 * count)  # room for as many inserts (order_insert)
    start = meta[position, ORDER_START]
    ranks = np.argsort(keys[:count], kind="mergesort")
    for j in range(count):
        slot = slots[ranks[j]]
        state.order_slot[start + j] = order_entry_nb(slot, state.lot_long_from[slot])
        state.order_bps[start + j] = keys[ranks[j]]
    meta[position, ORDER_LENGTH] = count
    meta[position, ORDER_PENDING] = 0
    meta[position, ORDER_STALE] = 0
    return True


rebuild_order_nb = njit(cache=True)(rebuild_order)
