"""The ledger's state: a structure-of-arrays lot book plus event records, all numpy.

Open lots live in slots of the ``lot_*`` arrays. Each (account, asset) keeps a doubly
linked list of its open slots in acquisition order (acquisition day, then lot id), so FIFO and
LIFO walk it from either end and the wash-sale look-back walks it from the tail. Closed slots go
on a free stack and are reused. Loss sales whose 30-day wash window is still open form one
linked list per identity group, threaded through the realized records.

Kernels change the state in place and never grow it: before each event the caller runs
``if not has_room_nb(state): state = make_room_nb(state)``, which guarantees room for any
single event (an event creates at most 2 x open lots + accounts + 1 lots and at most open lots
+ 1 realized rows), growing arrays by doubling. Kernels refuse an event without that room.
"""

from __future__ import annotations

import math
import mmap

import numpy as np
from numba import njit, types
from numba.experimental import structref

from taxsim.dates import held_more_than_months_from_nb
from taxsim.ledger.basis_order import (
    empty_order_arrays,
    order_insert_nb,
    order_update_nb,
)
from taxsim.ledger.enums import (
    CNT_FREE,
    CNT_LAST_CLOSED_YEAR,
    CNT_LAST_DAY,
    CNT_NEXT_LOT_ID,
    CNT_NEXT_SALE_ID,
    CNT_SALE_ROWS,
    CNT_SLOTS_USED,
    FIRST_YEAR,
    N_COUNTERS,
    N_TAX_FIELDS,
    N_YEAR_FIELDS,
    N_YEARS,
    NO_DAY,
    NO_SLOT,
    YEAR_NONQUALIFIED_DIVIDENDS,
    YEAR_QUALIFIED_DIVIDENDS,
    YEAR_SECTION_199A_DIVIDENDS,
    realized_dtype,
)
from taxsim.ledger.exact_shares import N_EXACT, OUT_OF_RANGE, exact_add_nb, exact_value_nb

SHARE_EPSILON = 1e-9  # shares; remainders below this are float noise, not shares
LOSS_EPSILON = 1e-9  # fraction of basis; a loss below it is float noise (a sale at cost)
N_PENDING_QUALIFIED = 2  # provisional qualified-dividend slots per lot (a lot < 61 days old
# can receive dividends in at most two calendar years)
# lot_pending_per_share's last two columns: capital gain distributions (IRC §852(b)(4)(A)) and
# exempt-interest dividends (§852(b)(4)(B)) received per share, for a loss sale within six
# months; kept there, beside the provisional dividends that a new lot zeroes anyway, so that a
# lot costs no extra cache line
CAPITAL_GAIN_COLUMN = N_PENDING_QUALIFIED
EXEMPT_INTEREST_COLUMN = N_PENDING_QUALIFIED + 1
# then the provisional section 199A dividends per share, one column per pending year slot (the
# year in lot_pending_year[:, k] is that of column SECTION_199A_COLUMN + k too)
SECTION_199A_COLUMN = N_PENDING_QUALIFIED + 2
N_PENDING_COLUMNS = N_PENDING_QUALIFIED + 2 + N_PENDING_QUALIFIED
QUALIFIED_HOLDING_DAYS = 61  # disposal day - acquisition day must reach this (see distributions)
# the same for a qualified REIT dividend: more than 45 days in the 91-day window beginning 45
# days before the ex-date (Treas. Reg. §1.199A-3(c)(2)(ii), (d)(4)(ii)) reduces to 46
SECTION_199A_HOLDING_DAYS = 46
SIX_MONTHS_AT_MOST_DAYS = 184  # no six calendar months are longer


@structref.register
class LedgerStateType(types.StructRef):
    """numba type of :class:`LedgerState`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


STATE_FIELDS = (
    "account_kind",
    "account_reinvest",
    "asset_group",
    "asset_collectible",
    "group_assets",
    "group_offsets",
    "rates",
    "tax_settings",
    "lot_records",
    "lot_id",
    "lot_origin",
    "lot_account",
    "lot_asset",
    "lot_acquired",
    "lot_holding_start",
    "lot_long_from",
    "lot_shares",
    "lot_basis",
    "lot_wash_adjustment",
    "lot_replacement",
    "lot_six_month_rule",
    "lot_pending_year",
    "lot_pending_per_share",
    "lot_next",
    "lot_prev",
    "free_slots",
    "head",
    "tail",
    "position_shares",
    "position_exact",
    "realized",
    "pending_head",
    "pending_tail",
    "year_income",
    "year_tax",
    "year_due",
    "cash",
    "audit",
    "counters",
    "scratch_slots",
    "scratch_keys",
    "scratch_categories",
    "scratch_order",
    "scratch_window_first",
    "scratch_cursors",
    "order_meta",
    "order_slot",
    "order_bps",
)


class LedgerState(structref.StructRefProxy):
    """Everything a household's ledger holds, as flat named arrays (structure of arrays).

    A numba structref: kernels take it by reference, read and write its arrays in place, and
    ``make_room`` swaps in grown arrays. Config arrays first, then open lots (one slot per lot;
    units: shares, dollars, day numbers), then records and totals:

    - ``account_kind``: int64 (accounts,): TAXABLE / TAX_DEFERRED / TAX_EXEMPT
    - ``account_reinvest``: bool (accounts,)
    - ``asset_group``: int64 (assets,): wash-sale identity group
    - ``asset_collectible``: bool (assets,): a collectible (IRC §408(m); e.g. a grantor trust
      holding physical metal): a long-term sale's gain or loss is collectibles gain or loss
      (§1(h)(5)), taxed in the 28% group (``annual_tax.compute_year_tax``)
    - ``group_assets``: int64 (assets,): assets sorted by group
    - ``group_offsets``: int64 (groups + 1,): CSR offsets into group_assets
    - ``rates``: float64 (N_YEARS, N_RATE_FIELDS)
    - ``tax_settings``: float64 (3,): loss convention, initial ST and LT carryforward
    - ``lot_records``: int64 (slots, LOT_WORDS): every field below but the pending-dividend
      ones, one 64-byte row per slot (a lot touched costs one cache line, not one per field);
      ``lot_id`` to ``lot_prev`` below are strided views into it (``lot_views``), the integer
      ones int32
    - ``lot_id``: int32 (slots,); lot ids stop at ``MAX_LOT_ID`` (``ERR_TOO_MANY_LOTS``)
    - ``lot_origin``: int32: lot id of the purchase these shares came from
    - ``lot_account``: int32
    - ``lot_asset``: int32
    - ``lot_acquired``: int32 day of acquisition (qualified-dividend test uses this)
    - ``lot_holding_start``: int32 day the holding period counts from (tacking)
    - ``lot_long_from``: int32 first day a sale is long-term (derived from the holding start)
    - ``lot_shares``: float64
    - ``lot_basis``: float64 total dollars, wash-sale adjustment included
    - ``lot_wash_adjustment``: float64 dollars of disallowed loss added to basis
    - ``lot_replacement``: bool: already absorbed a wash-sale loss
    - ``lot_six_month_rule``: bool: received a capital gain distribution or an
      exempt-interest dividend while at most six months old (their amounts per share in
      ``lot_pending_per_share``), so a sale at a loss must look at IRC §852(b)(4)(A)-(B)
    - ``lot_pending_year``: int64 (slots, 2): year of provisional qualified dividends
    - ``lot_pending_per_share``: float64 (slots, 6): provisional qualified $ per share, in
      column ``CAPITAL_GAIN_COLUMN`` the capital gain distributions and in
      ``EXEMPT_INTEREST_COLUMN`` the exempt-interest dividends received per share while at most
      six months old (IRC §852(b)(4)(A), (B)), then from ``SECTION_199A_COLUMN`` the
      provisional section 199A dividends $ per share of each pending year
    - ``lot_next``: int32 linked list within (account, asset)
    - ``lot_prev``: int32
    - ``free_slots``: int64 stack of reusable slots
    - ``head``: int64 (accounts, assets): first slot in acquisition order
    - ``tail``: int64 (accounts, assets): last slot
    - ``position_shares``: float64 (accounts, assets): open shares of each position (see
      ``position_shares``), or NaN when it must be recomputed
    - ``position_exact``: int64 (accounts, assets, 4): each position's exact accumulator of
      its lots' shares (``exact_shares.py``)
    - ``realized``: realized_dtype records, one per (sale, lot) portion
    - ``pending_head``: int64 (groups,): first realized row with an open wash window
    - ``pending_tail``: int64 (groups,): last one (rows in sale order)
    - ``year_income``: float64 (N_YEARS, N_YEAR_FIELDS), taxable accounts only
    - ``year_tax``: float64 (N_YEARS, N_TAX_FIELDS), as of the last close
    - ``year_due``: float64 (N_YEARS,): tax due paid at each year's close
    - ``cash``: float64 (accounts,): dollars
    - ``audit``: float64 (N_AUDIT,): running totals for conservation checks
    - ``counters``: int64 (N_COUNTERS,)

    Scratch space for one sale (contents meaningless between events; kept here so that a sale
    allocates nothing; the per-slot ones grow with the lot arrays):

    - ``scratch_slots``: int64 (slots,): a position's open slots in acquisition order
    - ``scratch_keys``: float64 (slots,): relief-order key of each of them
    - ``scratch_categories``: int64 (slots,): relief-order category of each of them; after
      the relief, a sale's loss rows in wash-sale order (``lots.loss_rows_by_acquisition``)
    - ``scratch_order``: int64 (slots,): the slots a sale relieves, in relief order
    - ``scratch_window_first``: int64 (accounts * assets,): per (member asset, account) of
      an identity group, the first open slot inside a sale's wash-sale window
    - ``scratch_cursors``: int64 (accounts * assets,): the same lists' merge positions

    Each position's open slots by basis per share, for HIFO and tax-optimal sales (see
    ``basis_order.py``):

    - ``order_meta``: int64 (accounts * assets + 1, 5): per position (start, capacity,
      length, stale, pending) of its segment; the last row's first column: the arena's used
      size
    - ``order_slot``: int64 (arena,): slots, lowest basis per share first in each segment,
      then the pending ones (added since the position's last sale, unsorted)
    - ``order_bps``: float64 (arena,): the sorted entries' ``lot_basis / lot_shares``
    """

    def __new__(cls, *arrays):
        # numba's own constructor (``StructRefProxy.__new__``) is a jit function it does not
        # cache: about 1 s of compilation in every process. This one is cached.
        return _new_state_nb(*arrays)

    def __getattr__(self, name):
        # Python-side reads (the facade): one cached kernel hands back every array.
        try:
            index = _FIELD_INDEX[name]
        except KeyError:
            raise AttributeError(f"LedgerState has no field {name!r}") from None
        return state_arrays_nb(self)[index]

    def arrays(self) -> tuple:
        """All arrays, in ``STATE_FIELDS`` order (views, not copies)."""
        return state_arrays_nb(self)


structref.define_proxy(LedgerState, LedgerStateType, list(STATE_FIELDS))


@njit(cache=True)
def _new_state_nb(*arrays):
    return LedgerState(*arrays)


_FIELD_INDEX = {name: index for index, name in enumerate(STATE_FIELDS)}


def state_arrays(state):
    """Every array of the state as a tuple, in ``STATE_FIELDS`` order."""
    return (
        state.account_kind,
        state.account_reinvest,
        state.asset_group,
        state.asset_collectible,
        state.group_assets,
        state.group_offsets,
        state.rates,
        state.tax_settings,
        state.lot_records,
        state.lot_id,
        state.lot_origin,
        state.lot_account,
        state.lot_asset,
        state.lot_acquired,
        state.lot_holding_start,
        state.lot_long_from,
        state.lot_shares,
        state.lot_basis,
        state.lot_wash_adjustment,
        state.lot_replacement,
        state.lot_six_month_rule,
        state.lot_pending_year,
        state.lot_pending_per_share,
        state.lot_next,
        state.lot_prev,
        state.free_slots,
        state.head,
        state.tail,
        state.position_shares,
        state.position_exact,
        state.realized,
        state.pending_head,
        state.pending_tail,
        state.year_income,
        state.year_tax,
        state.year_due,
        state.cash,
        state.audit,
        state.counters,
        state.scratch_slots,
        state.scratch_keys,
        state.scratch_categories,
        state.scratch_order,
        state.scratch_window_first,
        state.scratch_cursors,
        state.order_meta,
        state.order_slot,
        state.order_bps,
    )


state_arrays_nb = njit(cache=True)(state_arrays)




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


# A slot's row in ``lot_records``: 64 bytes, one cache line, every field of the lot but its
# pending qualified dividends. The lots a sale relieves, a wash-sale match passes or a list walk
# visits lie anywhere in the arrays, so each lot touched costs a cache miss per line it spans:
# one here, against six when links, shares, acquisition day and basis were arrays of their
# own (paired in-process timing of the ledger benchmark: 1.09-1.11x). Integers are int32:
# slots and lot ids stay below 2**31 (``MAX_LOT_ID``), day numbers of the supported years
# (``FIRST_YEAR`` to ``FIRST_YEAR + N_YEARS``) fit easily. Indices below: float64 words, then
# int32 halves (index = word * 2 + half), then a byte.
LOT_SHARES = 0  # float64 words
LOT_BASIS = 1
LOT_WASH_ADJUSTMENT = 2
LOT_ACQUIRED = 6  # int32 halves
LOT_NEXT = 7
LOT_PREV = 8
LOT_ID = 9
LOT_ORIGIN = 10
LOT_ACCOUNT = 11
LOT_ASSET = 12
LOT_HOLDING_START = 13
LOT_LONG_FROM = 14
LOT_REPLACEMENT = 60  # bool bytes
LOT_SIX_MONTH_RULE = 61
LOT_WORDS = 8


def lot_views(records):
    """The ``lot_*`` arrays that live in ``records`` (strided views), in ``LOT_VIEW_FIELDS``
    order."""
    halves = records.view(np.int32)
    floats = records.view(np.float64)
    return (
        halves[:, LOT_ID],
        halves[:, LOT_ORIGIN],
        halves[:, LOT_ACCOUNT],
        halves[:, LOT_ASSET],
        halves[:, LOT_HOLDING_START],
        halves[:, LOT_LONG_FROM],
        floats[:, LOT_WASH_ADJUSTMENT],
        records.view(np.bool_)[:, LOT_REPLACEMENT],
        records.view(np.bool_)[:, LOT_SIX_MONTH_RULE],
        halves[:, LOT_ACQUIRED],
        floats[:, LOT_SHARES],
        floats[:, LOT_BASIS],
        halves[:, LOT_NEXT],
        halves[:, LOT_PREV],
    )


lot_views_nb = njit(cache=True)(lot_views)
LOT_VIEW_FIELDS = (
    "lot_id",
    "lot_origin",
    "lot_account",
    "lot_asset",
    "lot_holding_start",
    "lot_long_from",
    "lot_wash_adjustment",
    "lot_replacement",
    "lot_six_month_rule",
    "lot_acquired",
    "lot_shares",
    "lot_basis",
    "lot_next",
    "lot_prev",
)


def zeros(shape, dtype) -> np.ndarray:
    """``np.zeros`` for the state's arrays (Python): large ones are anonymous private memory
    mappings, zero pages that the kernel fills in only when first written.

    numpy asks the kernel for transparent huge pages for arrays of 4 MB and more
    (``madvise``), and on hosts where huge pages are found by compacting memory, the first
    write then costs several times more: 0.35-0.6 s against 0.1 s for the realized rows of
    ``benchmarks/ledger.py`` here (273 MB when measured, in 144-byte rows; 198 MB in 104-byte
    rows now). The realized rows are written in order and the lot arrays are mostly touched
    near their start, so huge pages buy nothing back.
    """
    dtype = np.dtype(dtype)
    count = math.prod(shape) if isinstance(shape, (tuple, list)) else int(shape)
    if count * dtype.itemsize < (1 << 22) or not hasattr(mmap, "MAP_ANONYMOUS"):
        return np.zeros(shape, dtype)  # small, or no anonymous mappings here (Windows)
    buffer = mmap.mmap(-1, count * dtype.itemsize, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    return np.frombuffer(buffer, dtype, count=count).reshape(shape)


def empty_lot_arrays(capacity: int) -> dict:
    """Zeroed lot arrays (and per-slot scratch arrays) of ``capacity`` slots, by field name."""
    capacity = max(capacity, 2)  # a one-row view would be typed contiguous
    records = zeros((capacity, LOT_WORDS), np.int64)
    records.view(np.int32)[:, LOT_NEXT] = NO_SLOT
    records.view(np.int32)[:, LOT_PREV] = NO_SLOT
    return {
        "lot_records": records,
        **dict(zip(LOT_VIEW_FIELDS, lot_views(records), strict=True)),
        "lot_pending_year": zeros((capacity, N_PENDING_QUALIFIED), np.int64),
        "lot_pending_per_share": zeros((capacity, N_PENDING_COLUMNS), np.float64),
        "free_slots": zeros(capacity, np.int64),
        "scratch_slots": zeros(capacity, np.int64),
        "scratch_keys": zeros(capacity, np.float64),
        "scratch_categories": zeros(capacity, np.int64),
        "scratch_order": zeros(capacity, np.int64),
    }


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
    asset_collectible: np.ndarray | None = None,
) -> LedgerState:
    """A fresh, empty ledger state (Python; not a kernel).

    ``asset_collectible`` (bool per asset, default none) marks collectibles (IRC §408(m)).
    """
    n_accounts = len(account_kind)
    n_assets = len(asset_group)
    if asset_collectible is None:
        asset_collectible = np.zeros(n_assets, np.bool_)
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
    arrays = dict(
        account_kind=np.ascontiguousarray(account_kind, dtype=np.int64),
        account_reinvest=np.ascontiguousarray(account_reinvest, dtype=np.bool_),
        asset_group=asset_group,
        asset_collectible=np.ascontiguousarray(asset_collectible, dtype=np.bool_),
        group_assets=group_assets,
        group_offsets=group_offsets,
        rates=np.ascontiguousarray(rates, dtype=np.float64),
        tax_settings=np.array([loss_convention, carryforward_st, carryforward_lt], np.float64),
        **empty_lot_arrays(lot_capacity),
        head=np.full((n_accounts, n_assets), NO_SLOT, np.int64),
        tail=np.full((n_accounts, n_assets), NO_SLOT, np.int64),
        position_shares=np.zeros((n_accounts, n_assets), np.float64),
        position_exact=np.zeros((n_accounts, n_assets, N_EXACT), np.int64),
        realized=zeros(realized_capacity, realized_dtype),
        pending_head=np.full(n_groups, NO_SLOT, np.int64),
        pending_tail=np.full(n_groups, NO_SLOT, np.int64),
        year_income=np.zeros((N_YEARS, N_YEAR_FIELDS), np.float64),
        year_tax=np.zeros((N_YEARS, N_TAX_FIELDS), np.float64),
        year_due=np.zeros(N_YEARS, np.float64),
        cash=np.zeros(n_accounts, np.float64),
        audit=np.zeros(N_AUDIT, np.float64),
        counters=counters,
        scratch_window_first=np.zeros(n_accounts * n_assets, np.int64),
        scratch_cursors=np.zeros(n_accounts * n_assets, np.int64),
        **empty_order_arrays(n_accounts * n_assets, 2 * lot_capacity),
    )
    return LedgerState(*[arrays[name] for name in STATE_FIELDS])


def copy_state(state: LedgerState) -> LedgerState:
    """A deep copy (Python), for what-if questions."""
    arrays = dict(zip(STATE_FIELDS, (array.copy() for array in state.arrays()), strict=True))
    arrays.update(zip(LOT_VIEW_FIELDS, lot_views(arrays["lot_records"]), strict=True))
    return LedgerState(*[arrays[name] for name in STATE_FIELDS])


def _grow(array, capacity):
    grown = np.zeros((capacity,) + array.shape[1:], array.dtype)
    grown[: array.shape[0]] = array
    return grown


_grow_nb = njit(cache=True)(_grow)


def _grow_records(array, capacity):
    # rows past the count are written whole (``lots.relieve``) before anything reads them, so
    # the new rows are not zeroed: that would be one more pass over fresh memory
    grown = np.empty(capacity, array.dtype)
    grown[: array.shape[0]] = array
    return grown


_grow_records_nb = njit(cache=True)(_grow_records)


def room_needed(counters, n_accounts):
    """(lot slots, realized rows) that one event may need at most, given the open lots."""
    open_lots = counters[CNT_SLOTS_USED] - counters[CNT_FREE]
    return 2 * open_lots + n_accounts + 2, open_lots + 1


def room_fits(counters, lot_capacity, row_capacity, lots_needed, rows_needed):
    """True if ``lots_needed`` lot slots and ``rows_needed`` realized rows fit in arrays of
    these capacities."""
    free_lots = lot_capacity - counters[CNT_SLOTS_USED] + counters[CNT_FREE]
    free_rows = row_capacity - counters[CNT_SALE_ROWS]
    return free_lots >= lots_needed and free_rows >= rows_needed


def room_ok(counters, lot_capacity, row_capacity, n_accounts):
    """True if any single event fits in arrays of these capacities."""
    lots_needed, rows_needed = room_needed_nb(counters, n_accounts)
    return room_fits_nb(counters, lot_capacity, row_capacity, lots_needed, rows_needed)


def has_room(state):
    """True if any single event fits in the state's arrays as they are."""
    return room_ok_nb(
        state.counters, state.lot_shares.shape[0], state.realized.shape[0], state.head.shape[0]
    )


def make_room(state):
    """Grow the state's arrays in place (doubling) so that any single event fits; returns it."""
    lots_needed, rows_needed = room_needed_nb(state.counters, state.head.shape[0])
    capacity = state.lot_shares.shape[0]
    used = state.counters[CNT_SLOTS_USED] - state.counters[CNT_FREE]
    if capacity - used < lots_needed:
        new_capacity = max(2 * capacity, used + lots_needed)
        records = np.empty((new_capacity, LOT_WORDS), np.int64)
        records[:capacity] = state.lot_records
        records[capacity:] = 0
        records.view(np.int32)[capacity:, LOT_NEXT] = NO_SLOT
        records.view(np.int32)[capacity:, LOT_PREV] = NO_SLOT
        state.lot_records = records
        (state.lot_id, state.lot_origin, state.lot_account, state.lot_asset,
         state.lot_holding_start, state.lot_long_from, state.lot_wash_adjustment,
         state.lot_replacement, state.lot_six_month_rule, state.lot_acquired,
         state.lot_shares, state.lot_basis, state.lot_next, state.lot_prev) = lot_views_nb(records)
        state.lot_pending_year = _grow_nb(state.lot_pending_year, new_capacity)
        state.lot_pending_per_share = _grow_nb(state.lot_pending_per_share, new_capacity)
        state.free_slots = _grow_nb(state.free_slots, new_capacity)
        # scratch: nothing to keep
        state.scratch_slots = np.empty(new_capacity, np.int64)
        state.scratch_keys = np.empty(new_capacity, np.float64)
        state.scratch_categories = np.empty(new_capacity, np.int64)
        state.scratch_order = np.empty(new_capacity, np.int64)
    rows = state.counters[CNT_SALE_ROWS]
    if state.realized.shape[0] - rows < rows_needed:
        state.realized = _grow_records_nb(state.realized, max(2 * state.realized.shape[0],
                                                              rows + rows_needed))
    return state


room_needed_nb = njit(cache=True, error_model="numpy")(room_needed)
room_fits_nb = njit(cache=True, error_model="numpy", inline="always")(room_fits)
room_ok_nb = njit(cache=True, error_model="numpy")(room_ok)
has_room_nb = njit(cache=True, error_model="numpy")(has_room)
make_room_nb = njit(cache=True)(make_room)


# Per-lot helpers take the state: passing arrays read from the state costs numba a reference
# count increment and decrement per array and call, passing the state costs nothing. Likewise a
# kernel whose last use of the state (or of an array held in a local) is inside a branch pays
# a reference count pair per call, so hot kernels end with an unconditional use of the state.
# Exception paths block numba's pruning of those counts too: the kernels on the event path are
# compiled with ``error_model="numpy"`` (no ZeroDivisionError path for a float division). None
# of them divides by zero on a valid state: every divisor is a validated price or an open
# lot's shares, both positive.


def allocate_slot(state):
    """A free slot (room must have been made): the top of the free stack, else a new one.

    Branch-free, and inlined (numba ``inline="always"``) into :func:`create_lot`: reference
    counts of arrays read in branches are not pruned (see above).
    """
    free = state.counters[CNT_FREE]
    used = state.counters[CNT_SLOTS_USED]
    reusable = state.free_slots[max(free - 1, 0)]
    state.counters[CNT_FREE] = max(free - 1, 0)
    state.counters[CNT_SLOTS_USED] = used + (free == 0)
    return reusable if free > 0 else used


def link_slot(state, slot):
    """Insert ``slot`` into its (account, asset) list at its place in acquisition order.

    The order is (acquisition day, lot id); new lots almost always go to the tail, so the
    search walks back from there. Every array's last use is unconditional (see above).
    """
    account = state.lot_account[slot]
    asset = state.lot_asset[slot]
    acquired = state.lot_acquired[slot]
    lot_id = state.lot_id[slot]
    after = state.tail[account, asset]
    while after != NO_SLOT and (
        state.lot_acquired[after] > acquired
        or (state.lot_acquired[after] == acquired and state.lot_id[after] > lot_id)
    ):
        after = state.lot_prev[after]
    # arrays read straight from the state at each use, and unconditionally: a read in one
    # branch of a conditional costs a reference count pair
    first = state.head[account, asset]
    following = state.lot_next[max(after, 0)]
    before = first if after == NO_SLOT else following
    if after != NO_SLOT:
        state.lot_next[after] = slot
    if before != NO_SLOT:
        state.lot_prev[before] = slot
    state.head[account, asset] = slot if after == NO_SLOT else state.head[account, asset]
    state.tail[account, asset] = slot if before == NO_SLOT else state.tail[account, asset]
    state.lot_prev[slot] = after
    state.lot_next[slot] = before
    state.position_shares[account, asset] = np.nan  # recomputed when read


def release_slot(state, slot):
    """Remove a closed lot's slot from its list and put it on the free stack.

    Every array's last use is unconditional (see above).
    """
    account = state.lot_account[slot]
    asset = state.lot_asset[slot]
    head = state.head
    tail = state.tail
    lot_next = state.lot_next
    lot_prev = state.lot_prev
    before = lot_prev[slot]
    after = lot_next[slot]
    if before != NO_SLOT:
        lot_next[before] = after
    if after != NO_SLOT:
        lot_prev[after] = before
    head[account, asset] = after if before == NO_SLOT else head[account, asset]
    tail[account, asset] = before if after == NO_SLOT else tail[account, asset]
    lot_next[slot] = NO_SLOT
    lot_prev[slot] = NO_SLOT
    # re-summed on the next read, unless the list is now empty (its sum is 0.0)
    emptied = before == NO_SLOT and after == NO_SLOT
    state.position_shares[account, asset] = 0.0 if emptied else np.nan
    state.lot_shares[slot] = 0.0
    state.lot_basis[slot] = 0.0
    state.free_slots[state.counters[CNT_FREE]] = slot
    state.counters[CNT_FREE] += 1


def create_lot(state, lot_id, origin, account, asset, acquired, holding_start, long_from, shares,
               basis):
    """Fill a new slot with a lot and link it; returns the slot (room must have been made).

    ``long_from`` is ``long_term_from(holding_start)`` (the caller has it or computes it). The
    caller then adds the lot to its basis order (``basis_order.order_insert``): without a call
    here, numba prunes this kernel's reference counts.
    """
    slot = allocate_slot_nb(state)
    state.lot_id[slot] = lot_id
    state.lot_origin[slot] = origin
    state.lot_account[slot] = account
    state.lot_asset[slot] = asset
    state.lot_acquired[slot] = acquired
    state.lot_holding_start[slot] = holding_start
    state.lot_long_from[slot] = long_from
    state.lot_shares[slot] = shares
    exact_add_nb(state.position_exact, account, asset, shares, 1)
    state.lot_basis[slot] = basis
    state.lot_wash_adjustment[slot] = 0.0
    state.lot_replacement[slot] = False
    state.lot_six_month_rule[slot] = False
    # fetched once, used only here: read from the state inside the loop, each iteration
    # cost a reference-count pair (the largest share of them in the benchmark)
    pending_year = state.lot_pending_year
    pending_per_share = state.lot_pending_per_share
    for k in range(N_PENDING_QUALIFIED):
        pending_year[slot, k] = 0
    # the §852(b)(4) columns too; not the section 199A ones, read only under a pending year
    # and written (not added to) when a year takes its slot (distributions.add_provisional_*)
    for k in range(SECTION_199A_COLUMN):
        pending_per_share[slot, k] = 0.0
    link_slot_nb(state, slot)
    return slot


def split_lot(state, slot, piece_shares):
    """Split ``piece_shares`` off lot ``slot`` into a new lot with the next lot id.

    The piece keeps the lot's account, asset, acquisition day, holding start, purchase origin
    and per-share basis, adjustment and pending dividends; the original keeps its id and the
    rest (the convention of taxsim/ledger/README.md). Capacity must have been ensured.
    """
    old_bps = state.lot_basis[slot] / state.lot_shares[slot]
    fraction = piece_shares / state.lot_shares[slot]
    lot_id = state.counters[CNT_NEXT_LOT_ID]
    state.counters[CNT_NEXT_LOT_ID] += 1
    piece_basis = state.lot_basis[slot] * fraction
    piece = create_lot_nb(
        state, lot_id, state.lot_origin[slot], state.lot_account[slot], state.lot_asset[slot],
        state.lot_acquired[slot], state.lot_holding_start[slot], state.lot_long_from[slot],
        piece_shares, piece_basis,
    )
    order_insert_nb(state, piece)
    piece_adjustment = state.lot_wash_adjustment[slot] * fraction
    state.lot_wash_adjustment[piece] = piece_adjustment
    state.lot_replacement[piece] = state.lot_replacement[slot]
    state.lot_six_month_rule[piece] = state.lot_six_month_rule[slot]
    pending_year = state.lot_pending_year  # once: see create_lot
    pending_per_share = state.lot_pending_per_share
    for k in range(N_PENDING_QUALIFIED):
        pending_year[piece, k] = pending_year[slot, k]
    for k in range(N_PENDING_COLUMNS):  # with the §852(b)(4) columns
        pending_per_share[piece, k] = pending_per_share[slot, k]
    account = state.lot_account[slot]
    asset = state.lot_asset[slot]
    exact_add_nb(state.position_exact, account, asset, state.lot_shares[slot], -1)
    state.lot_shares[slot] -= piece_shares
    exact_add_nb(state.position_exact, account, asset, state.lot_shares[slot], 1)
    state.position_shares[account, asset] = np.nan
    state.lot_basis[slot] -= piece_basis
    state.lot_wash_adjustment[slot] -= piece_adjustment
    order_update_nb(state, slot, old_bps, state.lot_long_from[slot])
    return piece


def year_index(year):
    return year - FIRST_YEAR


def shares_held(head, lot_next, lot_shares, account, asset):
    """Open shares of one asset in one account."""
    total = 0.0
    slot = head[account, asset]
    while slot != NO_SLOT:
        total += lot_shares[slot]
        slot = lot_next[slot]
    return total


def reclassify_early_sale_dividends(state, year_income, slot, sold_shares, day):
    """Move provisional qualified dividends of shares sold before day 61 to ordinary, and
    take provisional section 199A dividends of shares sold before day 46 out of the qualified
    REIT dividends, in ``year_income`` (the state's, or a copy for a hypothetical sale).

    - IRC §1(h)(11)(B)(iii) and §246(c); Pub 550 "Qualified Dividends": a dividend is
      qualified only if the shares were held more than 60 days in the 121-day window around
      the ex-date; shares sold within 60 days of their acquisition fail it.
    - Treas. Reg. §1.199A-3(c)(2)(ii) (REIT shares) and §1.199A-3(d)(4)(ii) (a fund's section
      199A dividends): no qualified REIT dividend on shares held 45 days or less in the 91-day
      window beginning 45 days before the ex-date (counted as §246(c)(3) does: acquisition
      day excluded, disposal day included, no wash-sale tacking); it stays an ordinary
      dividend without the §199A deduction.
    """
    held_days = day - state.lot_acquired[slot]
    if held_days >= QUALIFIED_HOLDING_DAYS:
        return
    for k in range(N_PENDING_QUALIFIED):
        if state.lot_pending_year[slot, k] != 0:
            amount = sold_shares * state.lot_pending_per_share[slot, k]
            year = year_index_nb(state.lot_pending_year[slot, k])
            year_income[year, YEAR_QUALIFIED_DIVIDENDS] -= amount
            year_income[year, YEAR_NONQUALIFIED_DIVIDENDS] += amount
            if held_days < SECTION_199A_HOLDING_DAYS:
                year_income[year, YEAR_SECTION_199A_DIVIDENDS] -= (
                    sold_shares * state.lot_pending_per_share[slot, SECTION_199A_COLUMN + k])


def six_month_loss_rule(state, slot, day, shares, loss, long_term):
    """How IRC §852(b)(4) treats a loss of ``loss`` dollars (> 0) on ``shares`` shares of lot
    ``slot`` sold on ``day`` in a taxable account; returns ``(exempt_interest_disallowed,
    capital_gain_per_share)``, both 0 when the lot was held more than six months.

    - §852(b)(4)(B); Pub 550 "Loss on mutual fund or REIT stock held 6 months or less": "If
      you received exempt-interest dividends on the stock, at least part of your loss is
      disallowed. You can deduct only the amount of loss that is more than the exempt-interest
      dividends." Disallowed for good (no basis moves): the exempt-interest dividends received
      per share times the shares, at most the loss (dollars). Dividends of a fund declaring
      them daily never get here (§852(b)(4)(E)(ii): ``distributions.distribute``).
    - §852(b)(4)(A) (regulated investment companies) and §857(b)(8) (REITs): a short-term
      loss "to the extent not disallowed under subparagraph (B)" is long-term up to the capital
      gain distributions received per share (dollars per share; 0 for a long-term loss, which
      needs no help). The caller applies it to what (B) and §1091 leave.

    Six months are counted by the calendar from the lot's own acquisition (§852(b)(4)(C)
    applies §246(c)(3): acquisition day excluded, disposal day included, no wash-sale
    tacking), so a replacement lot made long-term by tacking can still lose its loss to (B).
    The caller looks only at lots that ``lot_six_month_rule`` marks.
    """
    held_six_months_or_less = day < held_more_than_months_from_nb(state.lot_acquired[slot], 6)
    exempt_per_share = state.lot_pending_per_share[slot, EXEMPT_INTEREST_COLUMN]
    capital_gain_per_share = state.lot_pending_per_share[slot, CAPITAL_GAIN_COLUMN]
    if not held_six_months_or_less:
        return 0.0, 0.0
    return min(loss, shares * exempt_per_share), 0.0 if long_term else capital_gain_per_share


def sale_gain_by_term(state, slot, shares, gain, day):
    """A sale's ``gain`` (dollars; a loss negative) on ``shares`` shares of lot ``slot`` sold
    on ``day`` in a taxable account, wash sales aside, split as the ledger books it:
    ``(short_term_gain, long_term_gain)``, dollars.

    - The term is the lot's (IRC §1222; Pub 550 "Holding Period": ``lot_long_from``, the
      first long-term day, tacked holding periods included).
    - On a lot that ``lot_six_month_rule`` marks, a loss is first reduced by the part
      §852(b)(4)(B) disallows for good (exempt-interest dividends received), and what is left
      of a short-term one is long-term up to the capital gain distributions received
      (§852(b)(4)(A), §857(b)(8)): :func:`six_month_loss_rule`.

    Used for what-if sales (``annual_tax.deferred_tax``) and strategies' tax estimates; a real
    sale (``lots.relieve``) also records the parts on its Form 8949 row.
    """
    long_term = day >= state.lot_long_from[slot]
    long_term_part = 0.0  # the part of a short-term loss that is long-term (<= 0)
    if state.lot_six_month_rule[slot] and gain < 0.0:
        disallowed, per_share = six_month_loss_rule_nb(state, slot, day, shares, -gain,
                                                     long_term)
        gain += disallowed
        long_term_part = min(0.0, max(gain, -shares * per_share))
    if long_term:
        return 0.0, gain
    return gain - long_term_part, long_term_part


def append_pending(state, row):
    """Open a wash-sale window for realized row ``row``: append it to its group's list."""
    group = state.asset_group[state.realized[row]["asset"]]
    state.realized[row]["next_pending"] = NO_SLOT
    if state.pending_tail[group] == NO_SLOT:
        state.pending_head[group] = row
    else:
        state.realized[state.pending_tail[group]]["next_pending"] = row
    state.pending_tail[group] = row


allocate_slot_nb = njit(cache=True, inline="always")(allocate_slot)
link_slot_nb = njit(cache=True, inline="always")(link_slot)
# inlined into lots.relieve: with no call left there, numba prunes its reference counts
release_slot_nb = njit(cache=True, inline="always")(release_slot)
# inlined into its callers (no call left in split_lot and acquire: see above)
create_lot_nb = njit(cache=True, inline="always")(create_lot)
split_lot_nb = njit(cache=True, error_model="numpy")(split_lot)
year_index_nb = njit(cache=True, error_model="numpy")(year_index)
# inlined into lots.relieve and annual_tax.deferred_tax (see release_slot)
reclassify_early_sale_dividends_nb = njit(cache=True, inline="always")(
    reclassify_early_sale_dividends
)
six_month_loss_rule_nb = njit(cache=True, error_model="numpy", inline="always")(
    six_month_loss_rule
)
sale_gain_by_term_nb = njit(cache=True, error_model="numpy", inline="always")(sale_gain_by_term)
# inlined into position_shares (its fallback), which stays call-free
shares_held_nb = njit(cache=True, error_model="numpy", inline="always")(shares_held)


def position_shares(state, account, asset):
    """Open shares of one position: the exact sum of its lots' shares rounded once to the
    nearest double (``math.fsum`` of them, the same in any order), in O(1).

    Every change of a lot's shares updates the position's exact accumulator
    (``exact_shares.py``) and writes NaN to ``state.position_shares``; a read rounds the
    accumulator and keeps the result there. A position holding a lot of fewer than 2**-70 or
    of 2**60 shares or more, which the accumulator cannot hold exactly, gets the sum of its
    lots in list order instead. Call-free, every array read unconditionally (numba prunes
    their reference counts).
    """
    stored = state.position_shares
    exact = state.position_exact
    head = state.head
    lot_next = state.lot_next
    lot_shares = state.lot_shares
    held = stored[account, asset]
    if held != held:
        if exact[account, asset, OUT_OF_RANGE] == 0:
            held = exact_value_nb(exact, account, asset)
        else:
            held = shares_held_nb(head, lot_next, lot_shares, account, asset)
    # every array used once more on every path: released at one point, numba prunes its
    # reference-count pair (released inside a branch, each call would pay it)
    in_use = head.size + lot_next.size + lot_shares.size + exact.size
    stored[account, asset] = held if in_use > 0 else 0.0
    return held


position_shares_nb = njit(cache=True, error_model="numpy")(position_shares)
append_pending_nb = njit(cache=True, error_model="numpy")(append_pending)
