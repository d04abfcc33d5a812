"""The ledger benchmark's work on an idealized layout: how fast could a ledger run this mix?

Not a ledger. ``ideal_replay`` does only the work the benchmark's event mix needs, in one
compiled function that calls only three small helpers (splits, replacements, block moves):
buys; HIFO and tax-optimal sales writing one realized row per (sale, lot) portion; wash sales
across the identity group's positions in every account (the replacement shares taken in
acquisition order, a piece split off the lot, its basis and holding period adjusted, IRA
replacements losing the loss, later acquisitions matched against windows still open);
dividends reinvested in every account. Each position's open lots lie in one contiguous block
of a pool, in acquisition order (per lot, a row of float64 amounts and one of int32 days and
ids): a sale computes its relief keys in one sequential pass, the wash-sale window is the
block's tail, a closed lot is squeezed out in place. Nothing else: no qualified-dividend
holding test per lot, no exact share sums, no §852(b)(4) rules, no splits, no specific lots,
no annual tax, no audit, no views for strategies, no validation.

It realizes the same rows and creates the same lots as the ledger to within a few in ten
thousand (ties in acquisition order are broken a little differently: a split-off piece goes
after the lots bought the same day). Its speed is a yardstick for the ledger's: the target of
2 M events/s asks for the work itself to be cheaper, not for a better layout, if this layout
cannot reach it either (see benchmarks/NOTES.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from taxsim.dates import long_term_from_nb
from taxsim.ledger.enums import HIFO, TAX_OPTIMAL
from taxsim.ledger.replay import EVENT_BUY, EVENT_CLOSE_YEAR, EVENT_DIVIDEND, EVENT_SELL

NONE = -1
SHARE_EPSILON = 1e-9  # shares; the ledger's tolerance for a lot taken whole
WASH_WINDOW_DAYS = 30  # calendar days before and after a sale (IRC §1091(a))
FIRST_BLOCK = 16  # lots a position's block holds at first; a full block moves to twice that

# lot columns: dollars and shares (float64), then days and ids (int32, as the ledger's)
LOT_SHARES, LOT_BASIS, N_LOT_AMOUNTS = 0, 1, 2
LOT_ACQUIRED, LOT_HOLDING_START, LOT_LONG_FROM, LOT_ID, LOT_ORIGIN, LOT_REPLACEMENT = range(6)
N_LOT_FIELDS = 6
# realized row columns (a ledger's row: written in full, though the replay reads only a few)
ROW_SHARES, ROW_PROCEEDS, ROW_BASIS, ROW_DISALLOWED, ROW_LOST = range(5)
ROW_LOSS_OPEN, ROW_LOSS_PER_SHARE = 5, 6  # a loss row's window: shares unmatched, dollars/share
N_ROW_AMOUNTS = 7
ROW_LOT_ID, ROW_ACQUIRED, ROW_HOLDING_START, ROW_SOLD, ROW_ASSET, ROW_LONG_TERM = range(6)
ROW_ORIGIN, ROW_NEXT_OPEN = 6, 7  # the sold purchase; the next row of its group's open windows
N_ROW_FIELDS = 8
# totals returned
(TOTAL_ROWS, TOTAL_LOTS_CREATED, TOTAL_DISALLOWED, TOTAL_LOST, TOTAL_GAIN,
 TOTAL_DIVIDENDS) = range(6)


def grow_block(lot_amounts, lot_fields, block_start, block_capacity, position, pool_top):
    """Move ``position``'s full block to twice its size at the pool's top; returns the new
    pool top. Rare (a block doubles), so a call is cheap enough here."""
    old = block_start[position]
    new = pool_top
    if new + 2 * block_capacity[position] > lot_amounts.shape[0]:
        raise ValueError("the idealized replay's lot pool is full: give it a larger lot_pool")
    for j in range(block_capacity[position]):
        for column in range(N_LOT_AMOUNTS):
            lot_amounts[new + j, column] = lot_amounts[old + j, column]
        for column in range(N_LOT_FIELDS):
            lot_fields[new + j, column] = lot_fields[old + j, column]
    block_start[position] = new
    block_capacity[position] *= 2
    return new + block_capacity[position]


grow_block_nb = njit(cache=True)(grow_block)


def split_piece(lot_amounts, lot_fields, lot, at, block_end, piece_shares, piece_id):
    """Split ``piece_shares`` off lot ``lot`` into a new lot at index ``at`` of the pool,
    shifting the block's lots from ``at`` to ``block_end`` (exclusive) up by one. The piece
    keeps the lot's days, origin and basis per share; returns its index."""
    for j in range(block_end, at, -1):
        for column in range(N_LOT_AMOUNTS):
            lot_amounts[j, column] = lot_amounts[j - 1, column]
        for column in range(N_LOT_FIELDS):
            lot_fields[j, column] = lot_fields[j - 1, column]
    if lot >= at:
        lot += 1
    piece_basis = lot_amounts[lot, LOT_BASIS] * (piece_shares / lot_amounts[lot, LOT_SHARES])
    lot_amounts[at, LOT_SHARES] = piece_shares
    lot_amounts[at, LOT_BASIS] = piece_basis
    for column in range(N_LOT_FIELDS):
        lot_fields[at, column] = lot_fields[lot, column]
    lot_fields[at, LOT_ID] = piece_id
    lot_amounts[lot, LOT_SHARES] -= piece_shares
    lot_amounts[lot, LOT_BASIS] -= piece_basis
    return at


split_piece_nb = njit(cache=True, error_model="numpy")(split_piece)


def apply_replacement(lot_amounts, lot_fields, row_amounts, row_fields, piece, row, matched,
                      taxable):
    """Make lot ``piece`` the replacement of ``matched`` shares of loss row ``row``; returns
    the disallowed dollars (IRC §1091(a), (d); Rev. Rul. 2008-5 for an IRA replacement)."""
    disallowed = matched * row_amounts[row, ROW_LOSS_PER_SHARE]
    lot_fields[piece, LOT_REPLACEMENT] = 1
    if taxable:
        lot_amounts[piece, LOT_BASIS] += disallowed
        holding_start = lot_fields[piece, LOT_ACQUIRED] - (
            row_fields[row, ROW_SOLD] - row_fields[row, ROW_HOLDING_START])
        lot_fields[piece, LOT_HOLDING_START] = holding_start
        lot_fields[piece, LOT_LONG_FROM] = long_term_from_nb(holding_start)
    else:
        row_amounts[row, ROW_LOST] += disallowed
    row_amounts[row, ROW_DISALLOWED] += disallowed
    return disallowed


apply_replacement_nb = njit(cache=True, error_model="numpy")(apply_replacement)


def ideal_replay(kind, day, account, asset, shares, price, method, amount, n_assets,
                 account_taxable, asset_group, group_offsets, group_assets, short_rate,
                 long_rate, lot_pool, row_capacity):
    """Replay the benchmark's events (the arrays of ``benchmarks.ledger.make_events``).

    Parameters
    ----------
    n_assets : int
    account_taxable : bool array, one per account
    asset_group, group_offsets, group_assets : int64 arrays
        Each asset's identity group; the group's assets are
        ``group_assets[group_offsets[g]:group_offsets[g + 1]]``.
    short_rate, long_rate : float
        Marginal rates (fraction) that order a tax-optimal sale's gain lots.
    lot_pool, row_capacity : int
        Lot slots in the pool (blocks and their moves), realized rows.

    Returns
    -------
    float64 array
        ``TOTAL_*``: rows, lots created, disallowed and IRA-lost dollars, realized gain (loss
        negative, before wash-sale adjustments) and dividends (dollars).
    """
    n_accounts = account_taxable.shape[0]
    n_positions = n_accounts * n_assets
    block_start = np.arange(n_positions) * FIRST_BLOCK
    block_capacity = np.full(n_positions, FIRST_BLOCK)
    block_count = np.zeros(n_positions, np.int64)
    pool_top = n_positions * FIRST_BLOCK
    lot_amounts = np.empty((lot_pool, N_LOT_AMOUNTS))
    lot_fields = np.empty((lot_pool, N_LOT_FIELDS), np.int32)
    row_amounts = np.empty((row_capacity, N_ROW_AMOUNTS))
    row_fields = np.empty((row_capacity, N_ROW_FIELDS), np.int32)
    n_groups = group_offsets.shape[0] - 1
    open_head = np.full(n_groups, NONE)  # loss rows whose 30 days after the sale are open
    open_tail = np.full(n_groups, NONE)
    totals = np.zeros(6)
    n_rows = 0
    next_lot_id = 0
    relief_category = np.empty(lot_pool // 4, np.int64)
    relief_key = np.empty(lot_pool // 4)
    taken = np.empty(lot_pool // 4, np.bool_)
    relief_order = np.empty(lot_pool // 4, np.int64)
    loss_rows = np.empty(lot_pool // 4, np.int64)
    list_position = np.empty(64, np.int64)
    window_start = np.empty(64, np.int64)  # index within the block
    cursor = np.empty(64, np.int64)
    for event in range(kind.shape[0]):
        today = day[event]
        this_asset = asset[event]
        if kind[event] == EVENT_CLOSE_YEAR:
            continue
        if kind[event] == EVENT_BUY or kind[event] == EVENT_DIVIDEND:
            for this_account in range(n_accounts):
                if kind[event] == EVENT_BUY and this_account != account[event]:
                    continue
                position = this_account * n_assets + this_asset
                start = block_start[position]
                count = block_count[position]
                if kind[event] == EVENT_BUY:
                    new_shares = shares[event]
                    new_basis = shares[event] * price[event]
                else:
                    held = 0.0
                    for lot in range(start, start + count):
                        held += lot_amounts[lot, LOT_SHARES]
                    if held <= 0.0:
                        continue
                    income = amount[event] * held
                    totals[TOTAL_DIVIDENDS] += income if account_taxable[this_account] else 0.0
                    new_shares = income / price[event]
                    new_basis = income
                if count == block_capacity[position]:
                    pool_top = grow_block_nb(lot_amounts, lot_fields, block_start,
                                             block_capacity, position, pool_top)
                    start = block_start[position]
                new_lot = start + count
                lot_amounts[new_lot, LOT_SHARES] = new_shares
                lot_amounts[new_lot, LOT_BASIS] = new_basis
                lot_fields[new_lot, LOT_ACQUIRED] = today
                lot_fields[new_lot, LOT_HOLDING_START] = today
                lot_fields[new_lot, LOT_LONG_FROM] = long_term_from_nb(today)
                lot_fields[new_lot, LOT_ID] = next_lot_id
                lot_fields[new_lot, LOT_ORIGIN] = next_lot_id
                lot_fields[new_lot, LOT_REPLACEMENT] = 0
                next_lot_id += 1
                block_count[position] = count + 1
                # an acquisition after a loss sale washes it retroactively: open windows of
                # the group, in sale order
                group = asset_group[this_asset]
                previous = NONE
                row = open_head[group]
                while row != NONE:
                    following = row_fields[row, ROW_NEXT_OPEN]
                    if new_lot != NONE and row_fields[row, ROW_SOLD] >= today - WASH_WINDOW_DAYS:
                        matched = min(row_amounts[row, ROW_LOSS_OPEN],
                                      lot_amounts[new_lot, LOT_SHARES])
                        if matched >= lot_amounts[new_lot, LOT_SHARES] - SHARE_EPSILON:
                            matched = lot_amounts[new_lot, LOT_SHARES]
                            piece = new_lot
                            new_lot = NONE  # used up; later windows stay open
                        else:
                            if block_count[position] == block_capacity[position]:
                                pool_top = grow_block_nb(lot_amounts, lot_fields, block_start,
                                                         block_capacity, position, pool_top)
                                new_lot += block_start[position] - start
                                start = block_start[position]
                            end = start + block_count[position]
                            piece = split_piece_nb(lot_amounts, lot_fields, new_lot, end, end,
                                                   matched, next_lot_id)
                            next_lot_id += 1
                            block_count[position] += 1
                        disallowed = apply_replacement_nb(
                            lot_amounts, lot_fields, row_amounts, row_fields, piece, row,
                            matched, account_taxable[this_account])
                        totals[TOTAL_DISALLOWED] += disallowed
                        totals[TOTAL_LOST] += 0.0 if account_taxable[this_account] else disallowed
                        row_amounts[row, ROW_LOSS_OPEN] = max(
                            row_amounts[row, ROW_LOSS_OPEN] - matched, 0.0)
                    if (row_fields[row, ROW_SOLD] < today - WASH_WINDOW_DAYS
                            or row_amounts[row, ROW_LOSS_OPEN] <= SHARE_EPSILON):
                        if previous == NONE:
                            open_head[group] = following
                        else:
                            row_fields[previous, ROW_NEXT_OPEN] = following
                        if open_tail[group] == row:
                            open_tail[group] = previous
                        row_fields[row, ROW_NEXT_OPEN] = NONE
                    else:
                        previous = row
                    row = following
            continue
        if kind[event] != EVENT_SELL:
            continue
        this_account = account[event]
        position = this_account * n_assets + this_asset
        start = block_start[position]
        count = block_count[position]
        sale_price = price[event]
        if n_rows + count > row_amounts.shape[0] or count > relief_key.shape[0]:
            raise ValueError("the idealized replay's rows or scratch are full: give it a larger "
                             "row_capacity or lot_pool")
        # relief keys, as the ledger's (lots.relief_keys): HIFO by basis per share; tax-optimal
        # short-term then long-term losses, largest first, then gains by least tax per dollar
        for j in range(count):
            lot = start + j
            basis_per_share = lot_amounts[lot, LOT_BASIS] / lot_amounts[lot, LOT_SHARES]
            taken[j] = False
            if method[event] == HIFO:
                relief_category[j] = 0
                relief_key[j] = -round(basis_per_share, 9)
            else:
                gain_per_share = round(sale_price - basis_per_share, 9)
                long_term = today >= lot_fields[lot, LOT_LONG_FROM]
                if gain_per_share >= 0.0:
                    relief_category[j] = 2
                    relief_key[j] = round(gain_per_share * (long_rate if long_term else short_rate)
                                          / sale_price, 12)
                else:
                    relief_category[j] = 1 if long_term else 0
                    relief_key[j] = gain_per_share
        remaining = shares[event]
        n_taken = 0
        while remaining > SHARE_EPSILON:
            best = -1
            for j in range(count):
                if taken[j]:
                    continue
                if best < 0 or relief_category[j] < relief_category[best] or (
                        relief_category[j] == relief_category[best]
                        and relief_key[j] < relief_key[best]):
                    best = j
            taken[best] = True
            relief_order[n_taken] = best
            n_taken += 1
            remaining -= lot_amounts[start + best, LOT_SHARES]
        remaining = shares[event]
        n_loss = 0
        for k in range(n_taken):
            lot = start + relief_order[k]
            take = min(remaining, lot_amounts[lot, LOT_SHARES])
            if take >= lot_amounts[lot, LOT_SHARES] - SHARE_EPSILON:
                take = lot_amounts[lot, LOT_SHARES]
            basis = lot_amounts[lot, LOT_BASIS] * (take / lot_amounts[lot, LOT_SHARES])
            row = n_rows
            n_rows += 1
            row_amounts[row, ROW_SHARES] = take
            row_amounts[row, ROW_PROCEEDS] = take * sale_price
            row_amounts[row, ROW_BASIS] = basis
            row_amounts[row, ROW_DISALLOWED] = 0.0
            row_amounts[row, ROW_LOST] = 0.0
            row_amounts[row, ROW_LOSS_OPEN] = 0.0
            row_fields[row, ROW_LOT_ID] = lot_fields[lot, LOT_ID]
            row_fields[row, ROW_ACQUIRED] = lot_fields[lot, LOT_ACQUIRED]
            row_fields[row, ROW_HOLDING_START] = lot_fields[lot, LOT_HOLDING_START]
            row_fields[row, ROW_SOLD] = today
            row_fields[row, ROW_ASSET] = this_asset
            row_fields[row, ROW_LONG_TERM] = today >= lot_fields[lot, LOT_LONG_FROM]
            row_fields[row, ROW_ORIGIN] = lot_fields[lot, LOT_ORIGIN]
            row_fields[row, ROW_NEXT_OPEN] = NONE
            totals[TOTAL_GAIN] += take * sale_price - basis
            if account_taxable[this_account] and take * sale_price < basis:
                loss_rows[n_loss] = row
                n_loss += 1
            if take == lot_amounts[lot, LOT_SHARES]:
                lot_amounts[lot, LOT_SHARES] = 0.0  # closed: squeezed out below
            else:
                lot_amounts[lot, LOT_BASIS] -= basis
                lot_amounts[lot, LOT_SHARES] -= take
            remaining -= take
        kept = start
        for lot in range(start, start + count):
            if lot_amounts[lot, LOT_SHARES] > 0.0:
                if kept != lot:
                    for column in range(N_LOT_AMOUNTS):
                        lot_amounts[kept, column] = lot_amounts[lot, column]
                    for column in range(N_LOT_FIELDS):
                        lot_fields[kept, column] = lot_fields[lot, column]
                kept += 1
        block_count[position] = kept - start
        if n_loss == 0:
            continue
        # loss rows in the sold lots' acquisition order (day, lot id): a few rows
        for k in range(1, n_loss):
            row = loss_rows[k]
            j = k - 1
            while j >= 0 and (
                    row_fields[loss_rows[j], ROW_ACQUIRED] > row_fields[row, ROW_ACQUIRED] or (
                        row_fields[loss_rows[j], ROW_ACQUIRED] == row_fields[row, ROW_ACQUIRED]
                        and row_fields[loss_rows[j], ROW_LOT_ID] > row_fields[row, ROW_LOT_ID])):
                loss_rows[j + 1] = loss_rows[j]
                j -= 1
            loss_rows[j + 1] = row
        # replacements: the tails of the group's blocks, acquired from 30 days before the sale
        group = asset_group[this_asset]
        n_lists = 0
        for member in range(group_offsets[group], group_offsets[group + 1]):
            for other_account in range(n_accounts):
                other = other_account * n_assets + group_assets[member]
                other_start = block_start[other]
                j = other_start + block_count[other]
                while (j > other_start
                       and lot_fields[j - 1, LOT_ACQUIRED] >= today - WASH_WINDOW_DAYS):
                    j -= 1
                list_position[n_lists] = other
                window_start[n_lists] = j - other_start
                n_lists += 1
        for k in range(n_loss):
            row = loss_rows[k]
            row_amounts[row, ROW_LOSS_PER_SHARE] = (
                row_amounts[row, ROW_BASIS] - row_amounts[row, ROW_PROCEEDS]
            ) / row_amounts[row, ROW_SHARES]
            unmatched = row_amounts[row, ROW_SHARES]
            for c in range(n_lists):
                cursor[c] = window_start[c]
            while unmatched > SHARE_EPSILON:
                # the next replacement in acquisition order (day, lot id) across the lists
                best = -1
                best_lot = NONE
                for c in range(n_lists):
                    other = list_position[c]
                    while cursor[c] < block_count[other]:
                        lot = block_start[other] + cursor[c]
                        if (lot_fields[lot, LOT_REPLACEMENT] == 0
                                and lot_fields[lot, LOT_ORIGIN] != row_fields[row, ROW_ORIGIN]):
                            break
                        cursor[c] += 1
                    if cursor[c] == block_count[other]:
                        continue
                    lot = block_start[other] + cursor[c]
                    if best < 0 or (
                            lot_fields[lot, LOT_ACQUIRED] < lot_fields[best_lot, LOT_ACQUIRED]
                    ) or (lot_fields[lot, LOT_ACQUIRED] == lot_fields[best_lot, LOT_ACQUIRED]
                          and lot_fields[lot, LOT_ID] < lot_fields[best_lot, LOT_ID]):
                        best = c
                        best_lot = lot
                if best < 0:
                    break
                other = list_position[best]
                matched = min(unmatched, lot_amounts[best_lot, LOT_SHARES])
                if matched >= lot_amounts[best_lot, LOT_SHARES] - SHARE_EPSILON:
                    matched = lot_amounts[best_lot, LOT_SHARES]
                    piece = best_lot
                else:
                    if block_count[other] == block_capacity[other]:
                        old_start = block_start[other]
                        pool_top = grow_block_nb(lot_amounts, lot_fields, block_start,
                                                 block_capacity, other, pool_top)
                        best_lot += block_start[other] - old_start
                    end = block_start[other] + block_count[other]
                    at = best_lot + 1  # after the lots bought the same day
                    while at < end and (lot_fields[at, LOT_ACQUIRED]
                                        == lot_fields[best_lot, LOT_ACQUIRED]):
                        at += 1
                    piece = split_piece_nb(lot_amounts, lot_fields, best_lot, at, end, matched,
                                           next_lot_id)
                    next_lot_id += 1
                    block_count[other] += 1
                taxable = account_taxable[other // n_assets]
                disallowed = apply_replacement_nb(lot_amounts, lot_fields, row_amounts, row_fields,
                                                  piece, row, matched, taxable)
                totals[TOTAL_DISALLOWED] += disallowed
                totals[TOTAL_LOST] += 0.0 if taxable else disallowed
                unmatched -= matched
            if unmatched > SHARE_EPSILON:  # open to acquisitions in the 30 days after
                row_amounts[row, ROW_LOSS_OPEN] = unmatched
                if open_tail[group] == NONE:
                    open_head[group] = row
                else:
                    row_fields[open_tail[group], ROW_NEXT_OPEN] = row
                open_tail[group] = row
    totals[TOTAL_ROWS] = n_rows
    totals[TOTAL_LOTS_CREATED] = next_lot_id
    return totals


ideal_replay_nb = njit(cache=True, error_model="numpy")(ideal_replay)


def default_gain_rates():
    """(short-term, long-term) marginal rates on gains, fractions, of the default ``TaxRates``
    (2025 top federal with the NIIT, no state tax): the rates the benchmark's ledger orders its
    tax-optimal sales by."""
    from taxsim.ledger.household import TaxRates

    rates = TaxRates()
    return (rates.ordinary + rates.niit + rates.state,
            rates.long_term + rates.niit + rates.state)


def run_ideal(events, account_taxable=(True, True, False), group_size=2, rows_per_event=2,
              jit=True):
    """Time one idealized replay of ``events`` (``make_events``'s arrays); returns
    ``(seconds, totals)``. Tax-optimal sales use :func:`default_gain_rates`."""
    import time

    from benchmarks.ledger import N_ASSETS

    kind, day, account, asset, shares, price, method, amount, _ = events
    others = [int(m) for m in np.unique(method[kind == EVENT_SELL]) if m not in (HIFO, TAX_OPTIMAL)]
    if others:
        raise ValueError(f"lot methods {others}: the idealized replay sells by HIFO and "
                         "tax-optimal only")
    n_events = len(kind)
    asset_group = np.arange(N_ASSETS) // group_size
    group_offsets = np.arange(0, N_ASSETS + group_size, group_size)
    group_assets = np.arange(N_ASSETS)
    lot_pool = 1 << max(16, int(np.ceil(np.log2(max(n_events, 1) * 4))))
    row_capacity = max(n_events, 1) * rows_per_event
    replay = ideal_replay_nb if jit else ideal_replay
    start = time.perf_counter()
    totals = replay(kind, day, account, asset, shares, price, method, amount, N_ASSETS,
                    np.array(account_taxable), asset_group, group_offsets, group_assets,
                    *default_gain_rates(), lot_pool, row_capacity)
    return time.perf_counter() - start, totals
