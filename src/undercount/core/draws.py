"""One way to hold posterior (or bootstrap) draws: an ArviZ ``InferenceData``.

Every sampler in undercount (the latent-class Gibbs sampler, graphical-model averaging, ...)
returns its draws through :func:`make_draws`, so results share one container and one set of
conventions (ArviZ's): the ``posterior`` and ``sample_stats`` groups have leading dimensions
``(chain, draw)``; ``observed_data`` holds the capture table; ``constant_data`` holds the
priors and fixed settings. Diagnostics (R-hat, ESS, MCSE) are then computed by ArviZ on the
container, never reimplemented.

ArviZ 0.x prints a ``FutureWarning`` about its coming 1.0 refactor when imported; the import
here silences that one warning so that it does not reach users of undercount.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["import_arviz", "make_draws", "posterior_n"]


def import_arviz() -> Any:
    """Import :mod:`arviz` without its import-time ``FutureWarning`` about ArviZ 1.0."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz(\.|$)")
        import arviz

    return arviz


def make_draws(
    posterior: Mapping[str, np.ndarray],
    sample_stats: Mapping[str, np.ndarray] | None = None,
    observed_data: Mapping[str, np.ndarray] | None = None,
    constant_data: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    *,
    coords: Mapping[str, Any] | None = None,
    dims: Mapping[str, list[str]] | None = None,
) -> Any:
    """Wrap sampler output into an :class:`arviz.InferenceData`.

    Parameters
    ----------
    posterior : mapping of str to ndarray
        Posterior draws, each of shape ``(chain, draw, ...)``. Integer draws (N, n0) keep
        their integer dtype.
    sample_stats : mapping of str to ndarray, optional
        Per-draw sampler statistics, shape ``(chain, draw, ...)`` (for example the
        probability of the unobserved cell, or whether a cap on N was hit).
    observed_data : mapping of str to ndarray, optional
        The data conditioned on (for a capture table: the cell counts, with a ``"cell"``
        dimension whose coordinates are the pattern strings).
    constant_data : mapping of str to array-like, optional
        Priors and fixed settings. Scalars are stored as 0-d arrays.
    attrs : mapping, optional
        Attributes stamped on every group (provenance: method name, package version, seed
        policy). Values must be netCDF-friendly (str, int, float).
    coords, dims : mapping, optional
        Extra dimensions beyond ``(chain, draw)``, as in :func:`arviz.from_dict`; e.g.
        ``dims={"counts": ["cell"]}, coords={"cell": ["0001", ...]}``.

    Returns
    -------
    arviz.InferenceData
        With groups ``posterior`` and, where given, ``sample_stats``, ``observed_data`` and
        ``constant_data``.

    Raises
    ------
    ValueError
        If a posterior or sample-stats array has fewer than two dimensions, or the arrays
        disagree on the number of chains or draws.

    Examples
    --------
    >>> import numpy as np
    >>> d = make_draws({"N": np.arange(20).reshape(2, 10)}, attrs={"method": "lcm"})
    >>> d.posterior["N"].shape
    (2, 10)
    """
    shape: tuple[int, int] | None = None
    for group, data in (("posterior", posterior), ("sample_stats", sample_stats or {})):
        for name, value in data.items():
            arr = np.asarray(value)
            if arr.ndim < 2:
                raise ValueError(
                    f"make_draws: {group}[{name!r}] must have shape (chain, draw, ...), "
                    f"got {arr.shape}"
                )
            if shape is None:
                shape = (arr.shape[0], arr.shape[1])
            elif arr.shape[:2] != shape:
                raise ValueError(
                    f"make_draws: {group}[{name!r}] has (chain, draw) = {arr.shape[:2]}, "
                    f"expected {shape}"
                )
    az = import_arviz()
    coords = dict(coords) if coords else {}
    dims = dict(dims) if dims else {}
    idata = az.from_dict(
        posterior={k: np.asarray(v) for k, v in posterior.items()},
        sample_stats=(
            {k: np.asarray(v) for k, v in sample_stats.items()} if sample_stats else None
        ),
        coords=coords or None,
        dims=dims or None,
        attrs=dict(attrs) if attrs else None,
    )
    # Data groups are built directly so that scalars stay 0-d (from_dict would give them a
    # length-1 dimension).
    extra = {}
    for group, data in (("observed_data", observed_data), ("constant_data", constant_data)):
        if data:
            extra[group] = _dataset(data, coords, dims, attrs)
    if extra:
        idata.add_groups(extra)
    if attrs:
        for group in idata.groups():
            idata[group].attrs.update(dict(attrs))
    return idata


def _dataset(
    data: Mapping[str, Any],
    coords: Mapping[str, Any],
    dims: Mapping[str, list[str]],
    attrs: Mapping[str, Any] | None,
) -> Any:
    import xarray as xr

    variables = {}
    used: dict[str, Any] = {}
    for name, value in data.items():
        arr = np.asarray(value)
        names = list(dims.get(name, []))
        names += [f"{name}_dim_{i}" for i in range(len(names), arr.ndim)]
        if len(names) != arr.ndim:
            raise ValueError(f"make_draws: dims for {name!r} do not match its shape {arr.shape}")
        variables[name] = (names, arr)
        for d in names:
            if d in coords:
                used[d] = coords[d]
    return xr.Dataset(variables, coords=used, attrs=dict(attrs) if attrs else {})


def posterior_n(
    result: Any, *, rng: np.random.Generator | None = None, size: int = 4000
) -> np.ndarray | None:
    """Posterior draws of N carried by a result, flattened over chains; None if it has none.

    A result with an exact posterior (``result.sample(size, rng=...)``, as graphical model
    averaging returns) is sampled ``size`` times with ``rng``; otherwise the draws are read
    from ``result.draws.posterior["N"]``. Bootstrap replicates are not posterior draws and
    are not returned here.
    """
    sample = getattr(result, "sample", None)
    if callable(sample) and rng is not None:
        return np.asarray(sample(size, rng=rng), dtype=float)
    post = getattr(getattr(result, "draws", None), "posterior", None)
    if post is None or "N" not in post:
        return None
    return np.asarray(post["N"]).reshape(-1).astype(float)
