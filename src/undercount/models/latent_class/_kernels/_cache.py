"""Keep numba's on-disk cache of the kernels in step with every one of their source files.

numba stamps each cached function's index (``__pycache__/<module>.<function>-<line>.pyXY.nbi``
beside the source, or under ``NUMBA_CACHE_DIR`` or the user's cache directory where the source
directory is read-only) with a hash of the file that *defines* the function, and reuses the
compiled code while that stamp matches. The compiled code of a caller contains its callees, so
after a change to a callee in another file the caller's stamp still matches and numba runs the
old callee: splitting the sampler over several modules would let a stale ``run_chain`` survive
an edit of, say, the HMC move.

:func:`stamp_package_caches` gives every cached kernel of the package one stamp, a hash of all
of the package's source files. A change to any of them then makes every kernel's index stale
by numba's own freshness test, which recompiles and rewrites it. Nothing is deleted, so there is
no race with another process loading the cache, and a read-only install needs nothing special.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from numba.core.caching import NullCache
from numba.core.dispatcher import Dispatcher

__all__ = ["package_source_hash", "stamp_package_caches"]


def package_source_hash(directory: Path) -> bytes | None:
    """SHA-256 of the names and contents of every ``*.py`` file in ``directory``, in name
    order; None when there are none (e.g. a zipped or frozen install, where numba's own
    stamp is all there is)."""
    paths = sorted(directory.glob("*.py"))
    if not paths:
        return None
    digest = hashlib.sha256()
    for path in paths:
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.digest()


def stamp_package_caches(modules: Iterable[ModuleType], directory: Path) -> int:
    """Stamp the on-disk cache of every ``cache=True`` kernel in ``modules`` with
    :func:`package_source_hash` of ``directory``; returns how many were stamped.

    Must run before any of them is first called, since numba reads the index then. Where
    numba's cache internals are not as expected (a numba release that reorganised them), the
    kernel's on-disk cache is switched off with a warning: slower imports, never stale code.
    """
    stamp = package_source_hash(directory)
    if stamp is None:
        return 0
    stamped = 0
    seen: set[int] = set()
    for module in modules:
        for obj in vars(module).values():
            if not isinstance(obj, Dispatcher) or id(obj) in seen:
                continue
            seen.add(id(obj))
            cache = getattr(obj, "_cache", None)
            if cache is None or isinstance(cache, NullCache):
                continue
            cache_file = getattr(cache, "_cache_file", None)
            if cache_file is None or not hasattr(cache_file, "_source_stamp"):
                warnings.warn(
                    f"numba's cache layout is not the expected one; on-disk caching of "
                    f"{obj.py_func.__qualname__} is off (it compiles at each first call)",
                    RuntimeWarning,
                    stacklevel=2,
                )
                obj._cache = NullCache()
                continue
            cache_file._source_stamp = stamp
            stamped += 1
    return stamped
