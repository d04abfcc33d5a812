"""numba's on-disk cache, made safe for processes that share it (sweeps, test workers).

numba writes each cache file aside and renames it into place, but a save reads the function's
index, picks a data file name, writes the index, then the data. Two processes saving
different signatures of one function at once (a process-pool or Dask sweep on a fresh
cache, pytest-xdist workers, a notebook kernel beside them) can pair one's index entry with
the other's data file, and a load between another process's index and data writes finds no
data. :func:`lock_cache_index` makes every save take an exclusive lock on a file beside the
function's index (``<index>.lock``) and every load a shared one. ``import taxsim`` calls it.
"""

from __future__ import annotations

import os

try:
    import fcntl
except ImportError:  # Windows: numba's own behaviour, unlocked
    fcntl = None

_LOCKED_MARK = "_taxsim_cache_locked"


def _locked(method, mode: int):
    def under_lock(self, *args):
        index_path = getattr(self, "_index_path", None)
        try:
            lock = open(index_path + ".lock", "a") if index_path else None  # noqa: SIM115
        except OSError:  # a cache folder we cannot write to: numba's own behaviour, unlocked
            lock = None
        if lock is None:
            return method(self, *args)
        with lock:
            fcntl.flock(lock, mode)  # released when the file closes
            return method(self, *args)

    setattr(under_lock, _LOCKED_MARK, True)
    return under_lock


def lock_cache_index() -> bool:
    """Lock numba's cache index around each save (exclusive) and load (shared).

    Idempotent. Does nothing where ``fcntl`` is missing (Windows) or where this numba lacks
    the internals it wraps (``numba.core.caching.IndexDataCacheFile.save``/``load``), and
    when ``TAXSIM_NUMBA_CACHE_LOCK=0``. Returns whether the lock is in place.
    """
    if os.environ.get("TAXSIM_NUMBA_CACHE_LOCK") == "0":
        return False
    if fcntl is None:
        return False
    try:
        from numba.core import caching
    except ImportError:
        return False
    cache_file = getattr(caching, "IndexDataCacheFile", None)
    if cache_file is None or not all(callable(getattr(cache_file, name, None))
                                     for name in ("save", "load")):
        return False
    if getattr(cache_file.save, _LOCKED_MARK, False):
        return True
    cache_file.save = _locked(cache_file.save, fcntl.LOCK_EX)
    cache_file.load = _locked(cache_file.load, fcntl.LOCK_SH)
    return True
