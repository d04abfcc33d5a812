"""The ledger's fast paths agree with their plain definitions.

``select_in_order`` keeps the next few lots of a relief order per pass instead of scanning all
lots once per lot; ``relief_keys`` fuses the position walk with the relief-order keys; the lot
lists are kept by branch-free helpers. Each is checked here against the obvious algorithm.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest

from taxsim.ledger.enums import FIFO, HIFO, LIFO, NO_SLOT, TAX_OPTIMAL, TAXABLE
from taxsim.ledger.household import TaxProfile
from taxsim.ledger.lots import buy_nb, relief_order_nb, select_in_order_nb, sell_nb
from taxsim.ledger.state import SHARE_EPSILON, make_room_nb, new_state, shares_held_nb


def repeated_selection(categories, keys, lot_shares, shares):
    """The definition: take the first remaining lot in (category, key, position) order."""
    taken = [False] * len(keys)
    order = []
    covered = 0.0
    while covered < shares - SHARE_EPSILON and len(order) < len(keys):
        best = -1
        for i in range(len(keys)):
            if taken[i]:
                continue
            if best < 0 or categories[i] < categories[best] or (
                categories[i] == categories[best] and keys[i] < keys[best]
            ):
                best = i
        taken[best] = True
        order.append(best)
        covered += lot_shares[best]
    return order


def small_state(n_lots=256, n_assets=2):
    return new_state(
        account_kind=np.array([TAXABLE]), account_reinvest=np.array([True]),
        asset_group=np.arange(n_assets), rates=TaxProfile().rate_table(3000.0),
        loss_convention=0, lot_capacity=n_lots,
    )


@pytest.mark.parametrize("seed", range(40))
def test_select_in_order_matches_repeated_selection(seed):
    rng = np.random.default_rng(seed)
    state = small_state()
    count = int(rng.integers(0, 60))
    # few distinct values, so that ties (broken by position) are common
    categories = rng.integers(0, 3, count)
    keys = rng.integers(-3, 4, count).astype(float) * 0.5
    lot_shares = rng.uniform(0.1, 5.0, count)
    fraction = rng.choice([0.05, 0.3, 0.9, 1.0, 2.0])
    shares = float(lot_shares.sum() * fraction)
    slots = rng.permutation(state.scratch_slots.shape[0])[:count]  # any slot numbers
    state.scratch_slots[:count] = slots
    state.scratch_categories[:count] = categories
    state.scratch_keys[:count] = keys
    state.lot_shares[slots] = lot_shares
    n = select_in_order_nb(state, count, shares)
    expected = repeated_selection(categories, keys, lot_shares, shares)
    assert list(state.scratch_order[:n]) == [slots[i] for i in expected]


def test_select_in_order_with_nan_keys_is_repeated_selection():
    state = small_state()
    keys = np.array([1.0, math.nan, -1.0, 0.5, math.nan, -2.0, 3.0, 0.0, -1.0, 2.0, 1.0])
    count = len(keys)
    categories = np.array([0, 0, 1, 0, 2, 1, 0, 2, 1, 0, 0])
    lot_shares = np.ones(count)
    state.scratch_slots[:count] = np.arange(count)
    state.scratch_categories[:count] = categories
    state.scratch_keys[:count] = keys
    state.lot_shares[:count] = lot_shares
    n = select_in_order_nb(state, count, float(count))
    expected = repeated_selection(categories, keys, lot_shares, float(count))
    assert list(state.scratch_order[:n]) == expected


def list_slots(state, account, asset):
    slots = []
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        slots.append(int(slot))
        slot = state.lot_next[slot]
    return slots


def check_lists(state, n_assets):
    for asset in range(n_assets):
        forward = list_slots(state, 0, asset)
        backward = []
        slot = state.tail[0, asset]
        while slot != NO_SLOT:
            backward.append(int(slot))
            slot = state.lot_prev[slot]
        assert forward == backward[::-1]
        order = [(state.lot_acquired[s], state.lot_id[s]) for s in forward]
        assert order == sorted(order)


@pytest.mark.parametrize("method", [FIFO, LIFO, HIFO, TAX_OPTIMAL])
def test_relief_order_and_lists_through_many_sales(method):
    rng = np.random.default_rng(method)
    n_assets = 2
    state = small_state(n_lots=8, n_assets=n_assets)
    day = 19000
    empty_ids, empty_shares = np.zeros(0, np.int64), np.zeros(0)
    for _ in range(400):
        state = make_room_nb(state)
        asset = int(rng.integers(0, n_assets))
        price = float(rng.uniform(5.0, 15.0))
        held = shares_held_nb(state.head, state.lot_next, state.lot_shares, 0, asset)
        if held > 1.0 and rng.random() < 0.4:
            shares = float(min(held, rng.uniform(1.0, 30.0)))
            order = relief_order_nb(state, 0, asset, method, price, day, shares)
            slots = list_slots(state, 0, asset)
            if method in (FIFO, LIFO):
                walk = slots if method == FIFO else slots[::-1]
                assert list(order) == walk[: len(order)]
            covered = sum(state.lot_shares[s] for s in order[:-1])
            assert covered < shares - SHARE_EPSILON
            assert sum(state.lot_shares[s] for s in order) >= shares - SHARE_EPSILON
            status, _, n_rows = sell_nb(state, 0, asset, shares, price, day, method,
                                        empty_ids, empty_shares)
            assert status == 0 and n_rows == len(order)
        else:
            status, _ = buy_nb(state, 0, asset, float(rng.uniform(0.5, 10.0)), price, day)
            assert status == 0
        check_lists(state, n_assets)
        day += int(rng.integers(0, 3))


def check_basis_order(state):
    """Each up-to-date position's basis order holds exactly its open slots: the sorted ones
    lowest basis per share first (a sale reads them from the end), with ``order_bps`` exactly
    ``lot_basis / lot_shares`` and the lot's first long-term day packed with the slot, then
    the pending ones (added since the position's last sale), within its segment."""
    from taxsim.ledger.basis_order import (
        ORDER_CAPACITY,
        ORDER_LENGTH,
        ORDER_PENDING,
        ORDER_STALE,
        ORDER_START,
        entry_long_from,
        entry_slot,
    )

    n_accounts, n_assets = state.head.shape
    for account in range(n_accounts):
        for asset in range(n_assets):
            position = account * n_assets + asset
            meta = state.order_meta[position]
            if meta[ORDER_STALE]:
                continue
            start, length, pending = meta[ORDER_START], meta[ORDER_LENGTH], meta[ORDER_PENDING]
            assert length + pending <= meta[ORDER_CAPACITY]
            entries = [int(e) for e in state.order_slot[start:start + length + pending]]
            slots = [entry_slot(e) for e in entries]
            assert sorted(slots) == sorted(list_slots(state, account, asset))
            bps = state.order_bps[start:start + length]
            assert np.all(bps[:-1] <= bps[1:])
            for entry, slot, value in zip(entries[:length], slots[:length], bps, strict=True):
                assert value == state.lot_basis[slot] / state.lot_shares[slot]
                assert entry_long_from(entry) == state.lot_long_from[slot]


@pytest.mark.parametrize("seed", range(6))
def test_basis_order_selection_is_the_full_walk(seed):
    """HIFO, tax-optimal and gains-first sales read each position's basis order instead of
    every lot: the same lots in the same order as the full walk (``relief_order``), through
    ties in basis per share, lots turning long-term, wash-sale pieces and adjustments in three
    accounts, other methods, returns of capital and splits (which rebuild the order). A
    gains-first sale that needs a loss lot is left to the full walk."""
    from taxsim.ledger.basis_order import ORDER_STALE, rebuild_order_nb, settle_order_nb
    from taxsim.ledger.distributions import distribute_nb, split_nb
    from taxsim.ledger.enums import AVERAGE, GAINS_FIRST
    from taxsim.ledger.lots import select_by_basis_nb

    rng = np.random.default_rng(seed)
    n_assets = 4
    state = new_state(
        account_kind=np.array([TAXABLE, TAXABLE, 1]), account_reinvest=np.array([True] * 3),
        asset_group=np.array([0, 0, 1, 2]), rates=TaxProfile().rate_table(3000.0),
        loss_convention=0, lot_capacity=8, realized_capacity=8,
    )
    day = 19000
    empty_ids, empty_shares = np.zeros(0, np.int64), np.zeros(0)
    prices = np.array([8.0, 9.0, 10.0, 10.0, 11.0, 12.5])  # few values: ties in basis
    n_compared = 0
    n_compared_gains_first = 0
    n_left_to_full_walk = 0
    for _ in range(700):
        state = make_room_nb(state)
        account = int(rng.integers(0, 3))
        asset = int(rng.integers(0, n_assets))
        price = float(rng.choice(prices) * rng.choice([1.0, 1.0, 1.0 + 1e-12]))
        held = shares_held_nb(state.head, state.lot_next, state.lot_shares, account, asset)
        draw = rng.random()
        if held > 1.0 and draw < 0.45:
            method = int(rng.choice([HIFO, TAX_OPTIMAL, GAINS_FIRST, HIFO, TAX_OPTIMAL,
                                     GAINS_FIRST, FIFO, LIFO, AVERAGE]))
            shares = float(min(held, rng.choice([rng.uniform(1.0, 20.0), held])))
            if method in (HIFO, TAX_OPTIMAL, GAINS_FIRST):
                expected = list(relief_order_nb(state, account, asset, method, price, day,
                                                shares))
                position = account * n_assets + asset
                settle_order_nb(state, position)  # as a sale does first
                if state.order_meta[position, ORDER_STALE]:
                    assert rebuild_order_nb(state, account, asset)
                n = select_by_basis_nb(state, position, method, price, day, shares)
                if method == GAINS_FIRST and n < 0:  # the full walk's order reaches a loss
                    at_loss = [round(price - state.lot_basis[slot] / state.lot_shares[slot], 9)
                               < 0.0 for slot in expected]
                    assert at_loss[-1] and at_loss == sorted(at_loss)  # every gain, then losses
                    n_left_to_full_walk += 1
                else:
                    assert n >= 0
                    assert list(state.scratch_order[:n]) == expected
                    n_compared += 1
                    n_compared_gains_first += method == GAINS_FIRST
            status, _, _ = sell_nb(state, account, asset, shares, price, day, method,
                                   empty_ids, empty_shares)
            assert status == 0
        elif draw < 0.5:
            status = distribute_nb(state, asset, day, price, 0.2, 0.9, 0.0, 0.0, 0.0, 0.0,
                                   float(rng.choice([0.0, 0.0, 0.0, 0.3])))
            assert status == 0
        elif draw < 0.51:
            assert split_nb(state, asset, day, float(rng.choice([2.0, 0.5, 3.0]))) == 0
        else:
            status, _ = buy_nb(state, account, asset, float(rng.uniform(0.5, 10.0)), price, day)
            assert status == 0
        check_basis_order(state)
        day += int(rng.choice([0, 0, 1, 5, 40]))
    assert n_compared > 50
    assert n_compared_gains_first > 5 and n_left_to_full_walk > 0


NEW_STATE_SCRIPT = """
import numpy as np
from taxsim.ledger.household import TaxProfile
from taxsim.ledger.state import LedgerState, _new_state_nb, new_state
state = new_state(account_kind=np.array([0]), account_reinvest=np.array([True]),
                  asset_group=np.arange(3), rates=TaxProfile().rate_table(3000.0),
                  loss_convention=0)
assert state.head.shape == (1, 3)
assert not hasattr(LedgerState, "_StructRefProxy__numba_ctor")  # numba's uncached one
print(sum(_new_state_nb.stats.cache_hits.values()), sum(_new_state_nb.stats.cache_misses.values()))
"""


def test_a_new_state_is_built_by_a_cached_kernel(tmp_path):
    """numba compiles a structref's own constructor in every process (about 1 s, most of a
    cached start-up); the ledger builds its state through a kernel cached on disk, so a
    second process loads it instead of compiling it."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    runs = [subprocess.run([sys.executable, "-c", NEW_STATE_SCRIPT], env=env, check=True,
                           capture_output=True, text=True).stdout.split() for _ in range(2)]
    assert runs == [["0", "1"], ["1", "0"]]  # compiled once, then loaded (hits, misses)
