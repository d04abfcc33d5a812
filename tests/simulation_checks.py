"""Checks shared by the simulation tests."""

from __future__ import annotations


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
