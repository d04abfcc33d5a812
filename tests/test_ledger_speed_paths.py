"""The ledger's fast paths agree with their plain definitions.

``select_in_order`` keeps the next few lots of a relief order per pass instead of scanning all
lots once per lot; ``relief_keys`` fuses the position walk with the relief-order keys; the lot
lists are kept by branch-free helpers. Each is checked here against the obvious algorithm.
"""

from __future__ import annotations

import math

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
