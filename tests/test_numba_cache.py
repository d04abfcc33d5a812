"""numba's cache index is locked in every process that imports taxsim (taxsim.numba_cache)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("fcntl")
import fcntl  # noqa: E402

from numba.core import caching  # noqa: E402

import taxsim  # noqa: E402, F401
from taxsim.numba_cache import _locked, lock_cache_index  # noqa: E402


class FakeCacheFile:
    def __init__(self, index_path: str) -> None:
        self._index_path = index_path


def lock_is_free(lock_path: str, mode: int) -> bool:
    """Whether another open file could take ``mode`` on ``lock_path`` now."""
    with open(lock_path, "a") as other:
        try:
            fcntl.flock(other, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def test_import_locks_saves_and_loads_once() -> None:
    assert lock_cache_index() is True
    save, load = caching.IndexDataCacheFile.save, caching.IndexDataCacheFile.load
    assert lock_cache_index() is True  # idempotent: not wrapped twice
    assert caching.IndexDataCacheFile.save is save
    assert caching.IndexDataCacheFile.load is load
    assert getattr(save, "_taxsim_cache_locked", False)
    assert getattr(load, "_taxsim_cache_locked", False)


def test_save_holds_an_exclusive_lock_and_load_a_shared_one(tmp_path: Path) -> None:
    index_path = str(tmp_path / "kernel.py.nbi")
    lock_path = index_path + ".lock"
    seen = {}

    def fake_save(self, key, data):
        seen["save"] = (lock_is_free(lock_path, fcntl.LOCK_SH),
                        lock_is_free(lock_path, fcntl.LOCK_EX))
        return "saved"

    def fake_load(self, key):
        seen["load"] = (lock_is_free(lock_path, fcntl.LOCK_SH),
                        lock_is_free(lock_path, fcntl.LOCK_EX))
        return "loaded"

    cache_file = FakeCacheFile(index_path)
    assert _locked(fake_save, fcntl.LOCK_EX)(cache_file, "key", b"data") == "saved"
    assert _locked(fake_load, fcntl.LOCK_SH)(cache_file, "key") == "loaded"
    assert seen["save"] == (False, False)  # no other reader or writer while saving
    assert seen["load"] == (True, False)  # other readers, no writer while loading
    assert lock_is_free(lock_path, fcntl.LOCK_EX)  # released on return


def test_unwritable_cache_folder_runs_unlocked(tmp_path: Path) -> None:
    missing = str(tmp_path / "no such folder" / "kernel.py.nbi")
    assert _locked(lambda self: "loaded", fcntl.LOCK_SH)(FakeCacheFile(missing)) == "loaded"
    assert _locked(lambda self: "loaded", fcntl.LOCK_SH)(FakeCacheFile(None)) == "loaded"


MODULE = """
from numba import njit

@njit(cache=True)
def add_one(x):
    return x + 1
"""

SCRIPT = """
import taxsim, kernel_for_cache_test as kernel
print(kernel.add_one(1), kernel.add_one(1.5))
"""


@pytest.mark.parametrize("enabled", [True, False])
def test_a_plain_process_that_imports_taxsim_locks_the_index(tmp_path: Path,
                                                             enabled: bool) -> None:
    """Not only test workers: a sweep's processes or a notebook kernel take the lock too
    (``TAXSIM_NUMBA_CACHE_LOCK=0`` turns it off)."""
    (tmp_path / "kernel_for_cache_test.py").write_text(textwrap.dedent(MODULE))
    cache_dir = tmp_path / "numba_cache"
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTEST_XDIST_WORKER", "TAXSIM_NUMBA_CACHE_LOCK")}
    env.update(NUMBA_CACHE_DIR=str(cache_dir),
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(Path(taxsim.__file__).parents[1])]))
    if not enabled:
        env["TAXSIM_NUMBA_CACHE_LOCK"] = "0"
    for _ in range(2):  # compile and save, then load
        done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=tmp_path,
                              capture_output=True, text=True, check=True)
        assert done.stdout.split() == ["2", "2.5"]
    indexes = list(cache_dir.rglob("*add_one*.nbi"))
    locks = list(cache_dir.rglob("*add_one*.nbi.lock"))
    assert len(indexes) == 1
    assert [lock.name for lock in locks] == ([indexes[0].name + ".lock"] if enabled else [])
