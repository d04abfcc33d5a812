"""The exact share accumulator (``taxsim/ledger/exact_shares.py``) against ``math.fsum``.

A position's shares are the exact sum of its lots' shares rounded once to the nearest double,
ties to even: ``math.fsum``'s value. The accumulator must give it after any sequence of lots
added and removed, in plain Python and jitted, and count the values it cannot hold.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit

from taxsim.ledger.exact_shares import (
    LARGEST,
    OUT_OF_RANGE,
    SMALLEST,
    bits_float,
    exact_add,
    exact_add_nb,
    exact_value,
    exact_value_nb,
    float_bits,
)


@njit(cache=True)
def accumulate_nb(exact, values, signs):
    for i in range(values.shape[0]):
        exact_add_nb(exact, 0, 1, values[i], signs[i])
    return exact_value_nb(exact, 0, 1)


shares_values = st.one_of(
    st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.floats(min_value=SMALLEST, max_value=LARGEST, exclude_max=True),
    st.sampled_from([0.1, 0.2, 0.3, 1.0, 1e-9, 3.3, 2.0**59, 2.0**-70, 1e15 + 0.5]),
    st.builds(math.ldexp, st.floats(0.5, 1.0, exclude_max=True), st.integers(-75, 64)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(shares_values, min_size=0, max_size=14), st.data())
def test_accumulator_is_fsum_of_the_lots_held(values, data):
    removed_at = data.draw(st.lists(st.booleans(), min_size=len(values), max_size=len(values)))
    removed = [v for v, gone in zip(values, removed_at, strict=True) if gone]
    held = [v for v, gone in zip(values, removed_at, strict=True) if not gone]
    order = data.draw(st.permutations(range(len(values) + len(removed))))
    events = [(v, 1) for v in values] + [(v, -1) for v in removed]
    # a removal never comes before its own addition in a ledger: add everything first, then
    # remove, each phase in a drawn order
    additions = [events[i] for i in order if i < len(values)]
    removals = [events[i] for i in order if i >= len(values)]
    sequence = additions + removals
    plain = np.zeros((1, 2, 4), np.int64)
    for value, sign in sequence:
        exact_add(plain, 0, 1, value, sign)
    jitted = np.zeros((1, 2, 4), np.int64)
    total = accumulate_nb(jitted, np.array([v for v, _ in sequence], np.float64),
                          np.array([s for _, s in sequence], np.int64))
    out_of_range = sum(1 for v in held if v != 0.0 and not SMALLEST <= v < LARGEST)
    assert plain[0, 1, OUT_OF_RANGE] == jitted[0, 1, OUT_OF_RANGE] == out_of_range
    np.testing.assert_array_equal(plain, jitted)
    if out_of_range == 0:
        expected = math.fsum(held)
        assert exact_value(plain, 0, 1) == expected
        assert total == expected
        assert 0 <= plain[0, 1, 0] < 2**62 and 0 <= plain[0, 1, 1] < 2**62
    if not held:
        assert not plain.any()  # back to exactly zero


def test_ties_round_to_even_and_bits_round_trip():
    exact = np.zeros((1, 1, 4), np.int64)
    # 2**53 + 1 is a tie between 2**53 and 2**53 + 2: even is 2**53
    exact_add(exact, 0, 0, 2.0**53, 1)
    exact_add(exact, 0, 0, 1.0, 1)
    assert exact_value(exact, 0, 0) == 2.0**53
    exact_add(exact, 0, 0, 2.0**-60, 1)  # just above the tie: up
    assert exact_value(exact, 0, 0) == 2.0**53 + 2
    for value in (0.0, 1.0, 0.1, 2.0**-70, 1e300):
        assert bits_float(float_bits(value)) == value
