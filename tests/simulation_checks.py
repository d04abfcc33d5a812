"""Checks shared by the simulation tests."""

from __future__ import annotations

import contextlib


def conservation_gap(result) -> float:
    """End value minus (legacy value + market gains + contributions - withdrawals - taxes -
    fees - costs).

    Zero (to rounding) on every run: money only enters or leaves through those channels.
    """
    summary = result.summary()
    expected = (
        summary.get("legacy_value", 0.0) + result.daily()["market_gain"].sum()
        + summary["contributions"] - summary["withdrawals"]
        - summary["tax_paid_from_portfolio"] - summary["fees"] - summary["costs"]
    )
    return summary["end_value"] - expected


@contextlib.contextmanager
def harvest_scan_cache_disabled(module):
    """Within the block, ``module``'s plain-Python decide forgets every harvest scan price
    each day (``strategies.harvest_scan``): a reference for the O(1) skip's exactness."""
    import numpy as np

    original, jitted_harvest = module.forget_changed_lots_nb, module.harvest_account_nb

    def forget_everything(state, params, rows_seen, scan_price, n_slots):
        original(state, params, rows_seen, scan_price, n_slots)
        params[scan_price:scan_price + n_slots * state.asset_group.shape[0]] = np.nan

    module.forget_changed_lots_nb = forget_everything
    module.harvest_account_nb = module.harvest_account  # so that it calls the patched one
    try:
        yield
    finally:
        module.forget_changed_lots_nb, module.harvest_account_nb = original, jitted_harvest
