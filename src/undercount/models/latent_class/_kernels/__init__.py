"""Numba kernels of the latent-class (LCMCR) Gibbs sampler. Arrays in, arrays out.

The sampler works on the distinct observed capture patterns (cells) rather than on
individuals: the class allocation of the ``c_m`` people sharing cell ``m`` is a single
multinomial draw. Every random variate comes from the chain's own
:class:`numpy.random.Generator` (numba's nopython support for ``Generator``), so a chain's
draws depend only on its generator's state, never on thread scheduling.

Modules:

- :mod:`.variates`: binomial, multinomial, gamma, beta and negative-binomial variates;
- :mod:`.sweep`: one chain of the Gibbs sweep, :func:`run_chain`, and its :class:`ChainOutput`;
- :mod:`.moves`: the partially collapsed moves on the unobserved and the label swaps;
- :mod:`.hmc`: the Hamiltonian Monte Carlo move on (lambda, pi) and its adaptation.

Three Metropolis moves can be added to LCMCR's Gibbs sweep without changing its stationary
distribution: moves on each class's unobserved count with the inclusion probabilities and
class weights integrated out, swaps of adjacent class labels, and a Hamiltonian Monte Carlo
move on (lambda, pi) from their posterior given the observed table alone, with the class
allocations and N summed out. They attack the slowest-mixing directions of the plain sweep:
N moving only as fast as lambda, the order of the classes along the stick, and the coupling
between the parameters and the missing data (allocations and unobserved) that the sweep
alternates between.

Every module of this package is imported here and its kernels' on-disk cache stamped with a
hash of all of the package's sources (:mod:`._cache`), before any kernel can be called:
numba alone would keep a caller's cached code after a change to a callee in another module.

References
----------
Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet process
mixtures. *Biometrics* 72:1246-1254. doi:10.1111/biom.12502
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from ._cache import stamp_package_caches
from .sweep import STATUS_DIVERGED, STATUS_NUMERIC, STATUS_OK, ChainOutput, run_chain

__all__ = ["STATUS_DIVERGED", "STATUS_NUMERIC", "STATUS_OK", "ChainOutput", "run_chain"]

# All submodules, not only those run_chain reaches: a kernel module added later is stamped too.
stamp_package_caches(
    [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)],
    Path(__file__).parent,
)
