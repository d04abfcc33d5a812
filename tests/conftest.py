"""Shared fixtures: where the real market data lives, and the `shared_data` marker.

Tests that need ``../shared/data`` carry ``@pytest.mark.shared_data`` and take the
``shared_data_dir`` fixture. Without the data they are skipped with the reason below, except
when ``TAXSIM_REQUIRE_SHARED_DATA=1`` (set by ``.ci/run``), where the absence is an error.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

import taxsim  # noqa: F401  (locks numba's cache index for the workers: taxsim.numba_cache)

# CI replays a fixed, reproducible set of generated examples; local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_path() -> Path:
    """The folder of the real market data: ``$TAXSIM_SHARED_DATA`` or ``../shared/data``."""
    configured = os.environ.get("TAXSIM_SHARED_DATA")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    path = shared_data_path()
    if not (path / "us_etfs_1999_2026.parquet").exists():
        reason = (
            f"real market data not found at {path}: put the shared data folder beside the "
            "clone (../shared/data) or set TAXSIM_SHARED_DATA"
        )
        if os.environ.get("TAXSIM_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path
