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

# CI replays a fixed, reproducible set of generated examples; local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _lock_numba_cache_index():
    """Under pytest-xdist, make numba's on-disk cache safe for concurrent workers.

    numba writes each file aside and renames it into place, but a save reads the function's
    index, picks a data file name, writes the index, then the data: two workers saving
    different signatures of one function at once can pair an index entry with the other's
    data, and a load between another's index and data writes finds no data file. Saves take
    an exclusive lock on a file beside the index, loads a shared one. Test set-up only; numba
    without these internals runs unlocked.
    """
    import fcntl

    from numba.core import caching

    cache_file = getattr(caching, "IndexDataCacheFile", None)
    if cache_file is None or not all(hasattr(cache_file, name) for name in ("save", "load")):
        return

    def locked(method, mode):
        def under_lock(self, *args):
            index_path = getattr(self, "_index_path", None)
            if index_path is None or not os.path.isdir(os.path.dirname(index_path)):
                return method(self, *args)
            with open(index_path + ".lock", "a") as lock:
                fcntl.flock(lock, mode)  # released when the file closes
                return method(self, *args)

        return under_lock

    cache_file.save = locked(cache_file.save, fcntl.LOCK_EX)
    cache_file.load = locked(cache_file.load, fcntl.LOCK_SH)


if os.environ.get("PYTEST_XDIST_WORKER") and os.name == "posix":
    _lock_numba_cache_index()


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
