"""One way to hold draws of N: ArviZ's ``InferenceData`` layout in ``result.draws``.

Every result that has draws keeps them in one container, with ArviZ's conventions where
they apply, and every reader (the report, the project store, stratified totals, multiple
imputation, linkage averaging) gets them through one accessor, :func:`n_draws`. The groups:

``posterior``
    MCMC draws (the latent-class sampler, through :func:`make_draws`): ``N`` and the
    parameters, leading dimensions ``(chain, draw)``; with ``sample_stats``,
    ``observed_data`` (the capture table) and ``constant_data`` (priors, settings).
    Diagnostics (R-hat, ESS, MCSE) are computed by ArviZ on the container.
``posterior_grid``
    An exact posterior on a grid of N (graphical model averaging): coordinate ``N`` (the
    consecutive integers of the grid) and ``probability`` (dimension ``N``, summing to 1);
    the graphs' posterior ``graph_probability`` and ``graph_mean`` (E[N | graph]) on
    dimension ``graph``; attributes ``median``, ``mean``, ``mode``. There are no stored
    draws: :func:`n_draws` samples the grid with the caller's ``rng``.
``bootstrap``
    Bootstrap replicates (:class:`~undercount.uncertainty.bootstrap.Bootstrap`): ``N``
    (dimension ``replicate``, ``+inf`` where a replicate had no estimate) and, for BCa,
    the jackknife estimates ``jackknife_N`` (dimension ``history``, one per observed
    capture history).
``strata_total``
    Draws of a total over strata (:class:`~undercount.strata.StratifiedEstimator`): ``N``
    (dimension ``draw``): summed posterior draws, or joint-bootstrap replicates.
``imputation``
    Draws pooled over multiple imputations: ``N`` (dimension ``draw``) and ``imputation``
    (dimension ``draw``, which imputation each came from); ``estimate`` (dimension ``m``),
    each imputation's point estimate.
``linkage``
    Linkage averaging: ``N`` (dimensions ``(linkage, draw)``, the values representing each
    plausible linkage's fit in the pooled mixture); ``estimate`` and ``n_observed``
    (dimension ``linkage``).

``stacking``
    Draws of the stacked mixture of several families
    (:class:`~undercount.uncertainty.stacking.StackedEstimator`): ``N`` (dimension ``draw``),
    each family contributing in proportion to its stacking weight.

Groups other than ``posterior`` carry the attribute ``posterior`` (1 when their ``N`` are
posterior draws, 0 when they are resampling replicates or a mixture of frequentist fits),
which :func:`n_draws` uses to answer ``posterior_only``.

The groups other than ``posterior`` come in a :class:`Draws`: the same groups, read the same
way (``draws.groups()``, ``draws.bootstrap``), built without importing ArviZ, which takes
about a second (it loads matplotlib) -- most of a 1,000-replicate bootstrap's time at the
command line. ``draws.to_inference_data()`` gives the ``InferenceData``, and any other
attribute is looked up on it, so ArviZ's functions take either.

ArviZ 0.x prints a ``FutureWarning`` about its coming 1.0 refactor when imported; the import
here silences that one warning so that it does not reach users of undercount.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "N_GROUPS",
    "Draws",
    "group_draws",
    "import_arviz",
    "make_draws",
    "n_draws",
    "slim_draws",
]

#: The groups holding N, in the order :func:`n_draws` reads them.
N_GROUPS = ("posterior", "posterior_grid", "bootstrap", "strata_total", "imputation", "linkage",
            "stacking")


def import_arviz() -> Any:
    """Import :mod:`arviz` without its import-time ``FutureWarning`` about ArviZ 1.0."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"arviz(\.|$)")
        import arviz  # heavy (seconds to import): only when a result's draws are built

    return arviz


class Draws:
    """Groups of draws (:class:`xarray.Dataset` each), read like an ``InferenceData``.

    ``groups()``, attribute and item access to a group, ``in``; anything else (ArviZ's
    methods) is answered by :meth:`to_inference_data`, built on first use.
    """

    def __init__(self, groups: Mapping[str, xr.Dataset]) -> None:
        self._groups = dict(groups)
        self._idata: Any = None

    def groups(self) -> list[str]:
        return list(self._groups)

    def __contains__(self, group: object) -> bool:
        return group in self._groups

    def __getitem__(self, group: str) -> xr.Dataset:
        return self._groups[group]

    def __getattr__(self, name: str) -> Any:
        groups = self.__dict__.get("_groups")
        if groups is None or name.startswith("_"):
            raise AttributeError(name)  # unpickling, or a private name
        if name in groups:
            return groups[name]
        return getattr(self.to_inference_data(), name)

    def __repr__(self) -> str:
        return f"Draws(groups={self.groups()})"

    def to_inference_data(self) -> Any:
        """These groups as an :class:`arviz.InferenceData` (imports ArviZ)."""
        if self._idata is None:
            az = import_arviz()
            with warnings.catch_warnings():
                # ArviZ 0.x warns that a group outside its schema may not survive its 1.0
                # refactor.
                warnings.filterwarnings("ignore", message=r".*group.*", category=UserWarning)
                self._idata = az.InferenceData(**self._groups)
        return self._idata


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


def group_draws(
    group: str,
    data: Mapping[str, tuple[tuple[str, ...], Any]],
    *,
    coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
) -> Any:
    """An ``InferenceData`` with one of the groups above (other than ``posterior``).

    ``data`` maps each variable to ``(dims, values)``, as :class:`xarray.Dataset` takes it;
    ``attrs`` must include ``posterior`` (see the module docstring).
    """
    if group not in N_GROUPS[1:]:
        raise ValueError(f"group_draws: unknown group {group!r}; use one of {N_GROUPS[1:]}")
    if not attrs or "posterior" not in attrs:
        raise ValueError("group_draws: attrs must say whether N are posterior draws")
    ds = xr.Dataset(
        {k: (list(dims), np.asarray(v)) for k, (dims, v) in data.items()},
        coords=dict(coords) if coords else None,
        attrs={k: (int(v) if isinstance(v, bool) else v) for k, v in attrs.items()},
    )
    return Draws({group: ds})


def n_draws(
    result: Any,
    *,
    rng: np.random.Generator | None = None,
    size: int = 4000,
    posterior_only: bool = False,
) -> np.ndarray | None:
    """Draws of N carried by a result, flattened, as floats; None if it has none.

    The first group of :data:`N_GROUPS` in ``result.draws`` is read. An exact posterior on
    a grid (``posterior_grid``) has no stored draws: it is sampled ``size`` times with
    ``rng`` (``rng.choice(N, size, p=probability)``), and without an ``rng`` there are
    none (None). ``posterior_only`` returns only posterior draws: None for bootstrap
    replicates, a joint-bootstrap total or a mixture over linkages. Draws that did not
    produce an estimate are ``+inf`` and are kept.
    """
    idata = getattr(result, "draws", None)
    if idata is None:
        return None
    for group in N_GROUPS:
        ds = _group(idata, group)
        if ds is None:
            continue
        if group == "posterior":
            if "N" not in ds:
                return None
            return np.asarray(ds["N"]).reshape(-1).astype(float)
        if posterior_only and not ds.attrs.get("posterior"):
            return None
        if group == "posterior_grid":
            if rng is None:
                return None
            p = np.asarray(ds["probability"], dtype=float)
            values = np.asarray(ds["N"])
            return np.asarray(rng.choice(values, size=size, p=p / p.sum()), dtype=float)
        return np.asarray(ds["N"], dtype=float).reshape(-1)
    return None


def slim_draws(idata: Any) -> Any:
    """The draws reduced to N, for storage: every group of :data:`N_GROUPS` keeps its ``N``
    only, other groups and the (possibly huge) ``posterior_grid`` are dropped; None when no
    N is left."""
    if idata is None:
        return None
    kept = {}
    for group in N_GROUPS:
        ds = _group(idata, group)
        if ds is None or group == "posterior_grid" or "N" not in ds:
            continue
        kept[group] = xr.Dataset({"N": ds["N"]}, attrs=dict(ds.attrs))
    return Draws(kept) if kept else None


def _group(idata: Any, group: str) -> Any:
    groups = idata.groups() if hasattr(idata, "groups") else ()
    return getattr(idata, group) if group in groups else None
