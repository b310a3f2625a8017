"""The latent-class kernels' on-disk numba cache follows every source file of the package.

numba reuses a function's cached machine code while the file that defines it is unchanged, and
a caller's code contains its callees: without the package-wide stamp of
:mod:`undercount.models.latent_class._kernels._cache`, editing a callee in one module (the HMC
move, a variate) would leave ``run_chain`` in another running the old callee from the cache.
The test copies the kernel package to a temporary directory as a separate package, adds a
caller and a callee in two modules of it, and runs the caller in fresh processes before and
after the callee's source changes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from numba.core.dispatcher import Dispatcher

from undercount.models.latent_class import _kernels
from undercount.models.latent_class._kernels import hmc, moves, sweep, variates
from undercount.models.latent_class._kernels._cache import package_source_hash

CALLER = """\
from numba import njit

from ._probe_callee import value


@njit(cache=True)
def probe():
    return value() + 1
"""

CALLEE = """\
from numba import njit


@njit(cache=True)
def value():
    return {}
"""

RUN = (
    "from kcopy._probe_caller import probe\n"
    "print(probe(), sum(probe.stats.cache_hits.values()))\n"
)


def _probe(root: Path, cache_dir: Path | None) -> tuple[int, int]:
    """(the caller's result, its on-disk cache hits) in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["PYTHONPATH"] = str(root)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    done = subprocess.run(
        [sys.executable, "-c", RUN], cwd=root, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    value, hits = done.stdout.split()
    return int(value), int(hits)


@pytest.mark.parametrize("where", ["in_tree", "numba_cache_dir"])
def test_a_changed_callee_in_another_module_invalidates_the_callers_cache(
    tmp_path: Path, where: str
) -> None:
    """Both where numba caches beside the sources and where it caches elsewhere
    (``NUMBA_CACHE_DIR``, as for an install whose directory is read-only)."""
    root = tmp_path / "src"
    package = root / "kcopy"
    shutil.copytree(Path(_kernels.__file__).parent, package,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (package / "_probe_caller.py").write_text(CALLER)
    (package / "_probe_callee.py").write_text(CALLEE.format(1))
    cache_dir = tmp_path / "numba_cache" if where == "numba_cache_dir" else None

    assert _probe(root, cache_dir) == (2, 0)  # compiled and written to the cache
    assert _probe(root, cache_dir) == (2, 1)  # loaded from the cache: the cache is in use
    index = "_probe_caller.probe-*.nbi"
    cached_in_tree = list((package / "__pycache__").glob(index))
    assert bool(cached_in_tree) == (cache_dir is None)
    if cache_dir is not None:
        assert list(cache_dir.rglob(index))

    (package / "_probe_callee.py").write_text(CALLEE.format(41))
    # The caller's own file is unchanged; numba alone would load its stale code (2).
    assert _probe(root, cache_dir) == (42, 0)
    assert _probe(root, cache_dir) == (42, 1)


def test_every_kernel_carries_the_package_stamp() -> None:
    """Every cached kernel is stamped (not only those the probe above reaches), and the
    stamp is the hash of the package's sources, so numba's freshness test covers them all."""
    stamp = package_source_hash(Path(_kernels.__file__).parent)
    assert stamp is not None
    kernels = [obj for module in (variates, moves, hmc, sweep) for obj in vars(module).values()
               if isinstance(obj, Dispatcher)]
    assert sweep.run_chain in kernels
    for kernel in kernels:
        assert kernel._cache._cache_file._source_stamp == stamp, kernel.py_func.__qualname__
