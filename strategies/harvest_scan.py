"""An O(1) pre-check for harvest scans: is any lot of a position down by the threshold?

A lot qualifies for harvesting when its loss reaches ``threshold`` of its basis, that is when
the price is at most ``(1 - threshold)`` times its basis per share. So while the price is
above ``(1 - threshold)`` times the **highest** basis per share of the position's open lots,
no lot can qualify and the lot-by-lot scan can be skipped.

The highest basis per share is cached per (account, asset) in a strategy's ``params`` (a
"scan price" block, NaN: unknown) with the shares held when it was found (a "scan shares"
block). It is recomputed when:

- the shares held change (a buy, a reinvested distribution, a sale, a split), or
- a sale of the asset's identity group was recorded since the last check: a loss sale adds
  its disallowed loss to the basis of an open replacement lot without changing its shares
  (IRC §1091(d), Pub 550 "Wash Sales"), so every realized row since the last check forgets
  the scan prices of its group.

Where the account reinvests distributions, a harvest sells the whole position and is due only
at a net loss (``loss_harvest.harvest_size``): the price must also be below the position's
average basis per share, so the scan price is the lower of the two bounds there. Return of
capital only lowers basis, and average-cost pooling never raises the highest basis, so neither
can make a skipped lot qualify or a skipped position fall to a net loss. The skip is exact:
prices within a relative ``SCAN_MARGIN`` of the scan price are scanned.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from taxsim.ledger.enums import CNT_SALE_ROWS, NO_SLOT

SCAN_MARGIN = 1e-9  # relative: prices this close to the scan price are scanned exactly


def harvest_bound(state, account, asset, threshold):
    """The highest price (dollars per share) at which a harvest of ``asset`` in ``account`` can
    be due: ``(1 - threshold)`` times the highest basis per share of its open lots, and, where
    the account reinvests (whole-position harvests, due only at a net loss), at most the
    position's average basis per share. 0 when no lot is open."""
    highest = 0.0
    basis = 0.0
    shares = 0.0
    slot = state.head[account, asset]
    while slot != NO_SLOT:
        if state.lot_shares[slot] > 0.0:
            highest = max(highest, state.lot_basis[slot] / state.lot_shares[slot])
            basis += state.lot_basis[slot]
            shares += state.lot_shares[slot]
        slot = state.lot_next[slot]
    bound = (1.0 - threshold) * highest
    if state.account_reinvest[account] and shares > 0.0:
        bound = min(bound, basis / shares)
    return bound


harvest_bound_nb = njit(cache=True)(harvest_bound)


def forget_changed_lots(state, params, rows_seen, scan_price, n_slots):
    """Forget the scan prices of every asset whose identity group sold shares since the last
    call (realized rows from ``params[rows_seen]`` on), in each of the ``n_slots`` account
    blocks of ``n_assets`` entries starting at ``params[scan_price]``."""
    rows = state.counters[CNT_SALE_ROWS]
    if rows == params[rows_seen]:
        return
    n_assets = state.asset_group.shape[0]
    for row in range(int(params[rows_seen]), rows):
        group = state.asset_group[state.realized[row]["asset"]]
        for member in range(state.group_offsets[group], state.group_offsets[group + 1]):
            for account_slot in range(n_slots):
                params[scan_price + account_slot * n_assets + state.group_assets[member]] = np.nan
    params[rows_seen] = rows


# inlined: called once per check day and once per position, where a call's reference counting
# (about 0.1 µs for its array arguments) would cost more than the check itself
forget_changed_lots_nb = njit(cache=True, inline="always")(forget_changed_lots)


def no_lot_can_qualify(state, params, account, asset, price, shares_held, threshold,
                       price_entry, shares_entry):
    """True when ``price`` is above the cached scan price of ``asset`` in ``account``
    (``params[price_entry]``), so that no lot's loss can reach ``threshold`` of its basis.
    The cache is refreshed first when the shares held differ from ``params[shares_entry]``
    or its scan price was forgotten (NaN)."""
    if not (params[shares_entry] == shares_held and math.isfinite(params[price_entry])):
        params[price_entry] = (1.0 + SCAN_MARGIN) * harvest_bound_nb(state, account, asset,
                                                                      threshold)
        params[shares_entry] = shares_held
    return price > params[price_entry]


no_lot_can_qualify_nb = njit(cache=True, inline="always")(no_lot_can_qualify)
