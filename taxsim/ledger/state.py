"""The ledger's state: a structure-of-arrays lot book plus event records, all numpy.

Open lots live in slots of the :class:`LotBook` arrays. Each (account, asset) keeps a doubly
linked list of its open slots in acquisition order (acquisition day, then lot id), so FIFO and
LIFO walk it from either end and the wash-sale look-back walks it from the tail. Closed slots go
on a free stack and are reused. Arrays grow by doubling; every function that may grow returns
the (possibly new) state, and callers rebind it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from taxsim.ledger.enums import (
    CNT_FREE,
    CNT_LAST_CLOSED_YEAR,
    CNT_LAST_DAY,
    CNT_NEXT_LOT_ID,
    CNT_NEXT_SALE_ID,
    CNT_PENDING,
    CNT_SALE_ROWS,
    CNT_SLOTS_USED,
    FIRST_YEAR,
    N_COUNTERS,
    N_TAX_FIELDS,
    N_YEAR_FIELDS,
    N_YEARS,
    NO_DAY,
    NO_SLOT,
    realized_dtype,
)

SHARE_EPSILON = 1e-9  # shares; remainders below this are float noise, not shares
N_PENDING_QUALIFIED = 2  # provisional qualified-dividend slots per lot (a lot < 61 days old
# can receive dividends in at most two calendar years)


class LotBook(NamedTuple):
    """Open tax lots, one slot per lot (structure of arrays).

    Units: shares in shares, money in dollars, dates as day numbers.
    """

    lot_id: np.ndarray  # int64
    origin: np.ndarray  # int64: lot id of the purchase these shares came from
    account: np.ndarray  # int64
    asset: np.ndarray  # int64
    acquired: np.ndarray  # int64 day of acquisition (qualified-dividend test uses this)
    holding_start: np.ndarray  # int64 day the holding period counts from (wash-sale tacking)
    shares: np.ndarray  # float64
    basis: np.ndarray  # float64 total dollars, wash-sale adjustment included
    wash_adjustment: np.ndarray  # float64 dollars of disallowed loss added to basis
    replacement: np.ndarray  # bool: already absorbed a wash-sale loss
    pending_year: np.ndarray  # int64 (slots, 2): year of provisional qualified dividends, 0 none
    pending_per_share: np.ndarray  # float64 (slots, 2): provisional qualified dollars per share
    next_slot: np.ndarray  # int64 linked list within (account, asset)
    prev_slot: np.ndarray  # int64
    free_slots: np.ndarray  # int64 stack of reusable slots


class LedgerState(NamedTuple):
    """Everything a household's ledger holds; config arrays first, then mutable state."""

    account_kind: np.ndarray  # int64 (accounts,): TAXABLE / TAX_DEFERRED / TAX_EXEMPT
    account_reinvest: np.ndarray  # bool (accounts,)
    asset_group: np.ndarray  # int64 (assets,): wash-sale identity group
    group_assets: np.ndarray  # int64 (assets,): assets sorted by group
    group_offsets: np.ndarray  # int64 (groups + 1,): CSR offsets into group_assets
    rates: np.ndarray  # float64 (N_YEARS, N_RATE_FIELDS)
    tax_settings: np.ndarray  # float64 (3,): loss convention, initial ST and LT carryforward
    lots: LotBook
    head: np.ndarray  # int64 (accounts, assets): first slot in acquisition order
    tail: np.ndarray  # int64 (accounts, assets): last slot
    realized: np.ndarray  # realized_dtype records, one per (sale, lot) portion
    pending: np.ndarray  # int64 rows of `realized` whose loss shares are still open
    year_income: np.ndarray  # float64 (N_YEARS, N_YEAR_FIELDS), taxable accounts only
    year_tax: np.ndarray  # float64 (N_YEARS, N_TAX_FIELDS), as of the last close
    year_due: np.ndarray  # float64 (N_YEARS,): tax due paid at each year's close
    cash: np.ndarray  # float64 (accounts,): dollars
    audit: np.ndarray  # float64 (N_AUDIT,): running totals for conservation checks
    counters: np.ndarray  # int64 (N_COUNTERS,)


# Audit totals (dollars).
AUDIT_BASIS_IN = 0  # purchase and reinvestment cost
AUDIT_BASIS_RELIEVED = 1  # basis of every sold portion
AUDIT_WASH_TO_BASIS = 2  # disallowed losses added to taxable replacement lots
AUDIT_WASH_LOST = 3  # disallowed losses lost to IRA / Roth replacements
AUDIT_ROC_BASIS_REDUCTION = 4  # basis removed by return of capital
AUDIT_ROC_EXCESS_GAIN = 5  # return of capital beyond basis, taxed as gain
N_AUDIT = 6
AUDIT_FIELD_NAMES = (
    "basis_in",
    "basis_relieved",
    "wash_to_basis",
    "wash_lost",
    "roc_basis_reduction",
    "roc_excess_gain",
)


def empty_lot_book(capacity: int) -> LotBook:
    return LotBook(
        lot_id=np.zeros(capacity, np.int64),
        origin=np.zeros(capacity, np.int64),
        account=np.zeros(capacity, np.int64),
        asset=np.zeros(capacity, np.int64),
        acquired=np.zeros(capacity, np.int64),
        holding_start=np.zeros(capacity, np.int64),
        shares=np.zeros(capacity, np.float64),
        basis=np.zeros(capacity, np.float64),
        wash_adjustment=np.zeros(capacity, np.float64),
        replacement=np.zeros(capacity, np.bool_),
        pending_year=np.zeros((capacity, N_PENDING_QUALIFIED), np.int64),
        pending_per_share=np.zeros((capacity, N_PENDING_QUALIFIED), np.float64),
        next_slot=np.full(capacity, NO_SLOT, np.int64),
        prev_slot=np.full(capacity, NO_SLOT, np.int64),
        free_slots=np.zeros(capacity, np.int64),
    )


def new_state(
    account_kind: np.ndarray,
    account_reinvest: np.ndarray,
    asset_group: np.ndarray,
    rates: np.ndarray,
    loss_convention: int,
    carryforward_st: float = 0.0,
    carryforward_lt: float = 0.0,
    lot_capacity: int = 64,
    realized_capacity: int = 64,
) -> LedgerState:
    """A fresh, empty ledger state (Python; not a kernel)."""
    n_accounts = len(account_kind)
    n_assets = len(asset_group)
    asset_group = np.ascontiguousarray(asset_group, dtype=np.int64)
    group_assets = np.argsort(asset_group, kind="stable").astype(np.int64)
    n_groups = int(asset_group.max()) + 1 if n_assets else 0
    group_offsets = np.zeros(n_groups + 1, np.int64)
    np.cumsum(np.bincount(asset_group, minlength=n_groups), out=group_offsets[1:])
    counters = np.zeros(N_COUNTERS, np.int64)
    counters[CNT_NEXT_LOT_ID] = 1
    counters[CNT_NEXT_SALE_ID] = 1
    counters[CNT_LAST_DAY] = NO_DAY
    counters[CNT_LAST_CLOSED_YEAR] = FIRST_YEAR - 1
    return LedgerState(
        account_kind=np.ascontiguousarray(account_kind, dtype=np.int64),
        account_reinvest=np.ascontiguousarray(account_reinvest, dtype=np.bool_),
        asset_group=asset_group,
        group_assets=group_assets,
        group_offsets=group_offsets,
        rates=np.ascontiguousarray(rates, dtype=np.float64),
        tax_settings=np.array([loss_convention, carryforward_st, carryforward_lt], np.float64),
        lots=empty_lot_book(lot_capacity),
        head=np.full((n_accounts, n_assets), NO_SLOT, np.int64),
        tail=np.full((n_accounts, n_assets), NO_SLOT, np.int64),
        realized=np.zeros(realized_capacity, realized_dtype),
        pending=np.zeros(16, np.int64),
        year_income=np.zeros((N_YEARS, N_YEAR_FIELDS), np.float64),
        year_tax=np.zeros((N_YEARS, N_TAX_FIELDS), np.float64),
        year_due=np.zeros(N_YEARS, np.float64),
        cash=np.zeros(n_accounts, np.float64),
        audit=np.zeros(N_AUDIT, np.float64),
        counters=counters,
    )


def copy_state(state: LedgerState) -> LedgerState:
    """A deep copy (Python), for what-if questions."""
    return LedgerState(
        *[
            LotBook(*[array.copy() for array in field]) if isinstance(field, LotBook)
            else field.copy()
            for field in state
        ]
    )


def _replace_lots(state, lots):
    return LedgerState(
        state.account_kind, state.account_reinvest, state.asset_group, state.group_assets,
        state.group_offsets, state.rates, state.tax_settings, lots, state.head, state.tail,
        state.realized, state.pending, state.year_income, state.year_tax, state.year_due,
        state.cash, state.audit, state.counters,
    )


def _replace_realized(state, realized):
    return LedgerState(
        state.account_kind, state.account_reinvest, state.asset_group, state.group_assets,
        state.group_offsets, state.rates, state.tax_settings, state.lots, state.head, state.tail,
        realized, state.pending, state.year_income, state.year_tax, state.year_due,
        state.cash, state.audit, state.counters,
    )


def _replace_pending(state, pending):
    return LedgerState(
        state.account_kind, state.account_reinvest, state.asset_group, state.group_assets,
        state.group_offsets, state.rates, state.tax_settings, state.lots, state.head, state.tail,
        state.realized, pending, state.year_income, state.year_tax, state.year_due,
        state.cash, state.audit, state.counters,
    )


replace_lots_nb = njit(cache=True)(_replace_lots)
replace_realized_nb = njit(cache=True)(_replace_realized)
replace_pending_nb = njit(cache=True)(_replace_pending)


def _grow(array, capacity):
    grown = np.zeros((capacity,) + array.shape[1:], array.dtype)
    grown[: array.shape[0]] = array
    return grown


_grow_nb = njit(cache=True)(_grow)


def grow_lot_book(lots, capacity):
    """The lot book with every array grown to ``capacity`` slots."""
    next_slot = _grow_nb(lots.next_slot, capacity)
    prev_slot = _grow_nb(lots.prev_slot, capacity)
    next_slot[lots.next_slot.shape[0]:] = NO_SLOT
    prev_slot[lots.prev_slot.shape[0]:] = NO_SLOT
    return LotBook(
        _grow_nb(lots.lot_id, capacity),
        _grow_nb(lots.origin, capacity),
        _grow_nb(lots.account, capacity),
        _grow_nb(lots.asset, capacity),
        _grow_nb(lots.acquired, capacity),
        _grow_nb(lots.holding_start, capacity),
        _grow_nb(lots.shares, capacity),
        _grow_nb(lots.basis, capacity),
        _grow_nb(lots.wash_adjustment, capacity),
        _grow_nb(lots.replacement, capacity),
        _grow_nb(lots.pending_year, capacity),
        _grow_nb(lots.pending_per_share, capacity),
        next_slot,
        prev_slot,
        _grow_nb(lots.free_slots, capacity),
    )


grow_lot_book_nb = njit(cache=True)(grow_lot_book)


def ensure_lot_capacity(state, extra):
    """State with room for ``extra`` more open lots."""
    free = state.counters[CNT_FREE]
    needed = state.counters[CNT_SLOTS_USED] + max(extra - free, 0)
    capacity = state.lots.shares.shape[0]
    if needed <= capacity:
        return state
    return replace_lots_nb(state, grow_lot_book_nb(state.lots, max(2 * capacity, needed)))


def ensure_realized_capacity(state, extra):
    """State with room for ``extra`` more realized records."""
    needed = state.counters[CNT_SALE_ROWS] + extra
    capacity = state.realized.shape[0]
    if needed <= capacity:
        return state
    return replace_realized_nb(state, _grow_nb(state.realized, max(2 * capacity, needed)))


def ensure_pending_capacity(state, extra):
    """State with room for ``extra`` more open wash-sale windows."""
    needed = state.counters[CNT_PENDING] + extra
    capacity = state.pending.shape[0]
    if needed <= capacity:
        return state
    return replace_pending_nb(state, _grow_nb(state.pending, max(2 * capacity, needed)))


ensure_lot_capacity_nb = njit(cache=True)(ensure_lot_capacity)
ensure_realized_capacity_nb = njit(cache=True)(ensure_realized_capacity)
ensure_pending_capacity_nb = njit(cache=True)(ensure_pending_capacity)


def allocate_slot(state):
    """A free slot (capacity must have been ensured)."""
    counters = state.counters
    if counters[CNT_FREE] > 0:
        counters[CNT_FREE] -= 1
        return state.lots.free_slots[counters[CNT_FREE]]
    slot = counters[CNT_SLOTS_USED]
    counters[CNT_SLOTS_USED] += 1
    return slot


def link_slot(state, slot):
    """Insert ``slot`` into its (account, asset) list at its place in acquisition order.

    The order is (acquisition day, lot id); new lots almost always go to the tail, so the
    search walks back from there.
    """
    lots = state.lots
    account = lots.account[slot]
    asset = lots.asset[slot]
    acquired = lots.acquired[slot]
    lot_id = lots.lot_id[slot]
    after = state.tail[account, asset]
    while after != NO_SLOT and (
        lots.acquired[after] > acquired
        or (lots.acquired[after] == acquired and lots.lot_id[after] > lot_id)
    ):
        after = lots.prev_slot[after]
    if after == NO_SLOT:
        before = state.head[account, asset]
        state.head[account, asset] = slot
    else:
        before = lots.next_slot[after]
        lots.next_slot[after] = slot
    lots.prev_slot[slot] = after
    lots.next_slot[slot] = before
    if before == NO_SLOT:
        state.tail[account, asset] = slot
    else:
        lots.prev_slot[before] = slot


def release_slot(state, slot):
    """Remove a closed lot's slot from its list and put it on the free stack."""
    lots = state.lots
    account = lots.account[slot]
    asset = lots.asset[slot]
    before = lots.prev_slot[slot]
    after = lots.next_slot[slot]
    if before == NO_SLOT:
        state.head[account, asset] = after
    else:
        lots.next_slot[before] = after
    if after == NO_SLOT:
        state.tail[account, asset] = before
    else:
        lots.prev_slot[after] = before
    lots.next_slot[slot] = NO_SLOT
    lots.prev_slot[slot] = NO_SLOT
    lots.shares[slot] = 0.0
    lots.basis[slot] = 0.0
    lots.free_slots[state.counters[CNT_FREE]] = slot
    state.counters[CNT_FREE] += 1


def create_lot(state, lot_id, origin, account, asset, acquired, holding_start, shares, basis):
    """Fill a new slot with a lot and link it; returns the slot (capacity ensured)."""
    slot = allocate_slot_nb(state)
    lots = state.lots
    lots.lot_id[slot] = lot_id
    lots.origin[slot] = origin
    lots.account[slot] = account
    lots.asset[slot] = asset
    lots.acquired[slot] = acquired
    lots.holding_start[slot] = holding_start
    lots.shares[slot] = shares
    lots.basis[slot] = basis
    lots.wash_adjustment[slot] = 0.0
    lots.replacement[slot] = False
    for k in range(N_PENDING_QUALIFIED):
        lots.pending_year[slot, k] = 0
        lots.pending_per_share[slot, k] = 0.0
    link_slot_nb(state, slot)
    return slot


def split_lot(state, slot, piece_shares):
    """Split ``piece_shares`` off lot ``slot`` into a new lot with the next lot id.

    The piece keeps the lot's account, asset, acquisition day, holding start, purchase origin
    and per-share basis, adjustment and pending dividends; the original keeps its id and the
    rest (the convention of taxsim/ledger/README.md). Capacity must have been ensured.
    """
    lots = state.lots
    fraction = piece_shares / lots.shares[slot]
    lot_id = state.counters[CNT_NEXT_LOT_ID]
    state.counters[CNT_NEXT_LOT_ID] += 1
    piece_basis = lots.basis[slot] * fraction
    piece = create_lot_nb(
        state, lot_id, lots.origin[slot], lots.account[slot], lots.asset[slot],
        lots.acquired[slot], lots.holding_start[slot], piece_shares, piece_basis,
    )
    piece_adjustment = lots.wash_adjustment[slot] * fraction
    lots.wash_adjustment[piece] = piece_adjustment
    lots.replacement[piece] = lots.replacement[slot]
    for k in range(N_PENDING_QUALIFIED):
        lots.pending_year[piece, k] = lots.pending_year[slot, k]
        lots.pending_per_share[piece, k] = lots.pending_per_share[slot, k]
    lots.shares[slot] -= piece_shares
    lots.basis[slot] -= piece_basis
    lots.wash_adjustment[slot] -= piece_adjustment
    return piece


def year_index(year):
    return year - FIRST_YEAR


def shares_held(state, account, asset):
    """Open shares of one asset in one account."""
    total = 0.0
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        total += state.lots.shares[slot]
        slot = state.lots.next_slot[slot]
    return total


def append_pending(state, row):
    """Open a wash-sale window for realized row ``row`` (capacity ensured)."""
    state.pending[state.counters[CNT_PENDING]] = row
    state.counters[CNT_PENDING] += 1


allocate_slot_nb = njit(cache=True)(allocate_slot)
link_slot_nb = njit(cache=True)(link_slot)
release_slot_nb = njit(cache=True)(release_slot)
create_lot_nb = njit(cache=True)(create_lot)
split_lot_nb = njit(cache=True)(split_lot)
year_index_nb = njit(cache=True)(year_index)
shares_held_nb = njit(cache=True)(shares_held)
append_pending_nb = njit(cache=True)(append_pending)
