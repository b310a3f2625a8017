r"""Families of estimators the validation battery runs on each replicate.

:data:`FAMILIES` run on a capture table; :data:`LINKAGE_FAMILIES` on a record design's
records and scored pairs (linkage averaging, with a Fellegi--Sunter bootstrap or a simulated
clerical review, and the estimator on the true linkage). :class:`BatteryOptions` holds their
settings. A family raises :class:`~undercount.errors.ConfigError` (through
:func:`not_applicable`) when it does not apply to a design; the runner reports it as ``n/a``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NoReturn

import numpy as np
import pandas as pd

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError, EstimationError
from undercount.link.partitions import table_from_clusters
from undercount.models.graphical import GraphicalEstimator
from undercount.models.heterogeneity import HeterogeneityEstimator, LogitNormalEstimator
from undercount.models.latent_class import FiniteClassEstimator, LatentClassEstimator
from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import Bootstrap
from undercount.uncertainty.linkage import LinkageAveraging

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_LINKAGE_FAMILIES",
    "FAMILIES",
    "LINKAGE_FAMILIES",
    "BatteryOptions",
    "ReplicateContext",
    "describe_linkage_family",
    "not_applicable",
    "run_linkage_family",
    "scripted_review",
]


@dataclass(frozen=True)
class BatteryOptions:
    """Settings of the families (chosen for the battery's time budget; see the docs).

    bootstrap_replicates : int
        Replicates of the bootstrap family (SparseMSE's default is 1,000).
    ntop : int
        Bootstrap re-selection among the ``ntop`` best models on the replicate's table.
    lcm_chains, lcm_iter, lcm_burn_in, lcm_thin : int
        Latent-class sampler settings.
    linkage_draws : int
        Plausible linkages per replicate for the ``linkavg-*`` families.
    review_pairs : int
        Pairs a (simulated, perfect) clerical reviewer labels for the ``linkavg-cal-*``
        families.
    linkage_em_centre : {"refit", "input"}
        ``em_centre`` of the ``linkavg-em-*`` families (see
        :class:`~undercount.uncertainty.linkage.LinkageAveraging`). ``"refit"`` samples
        edges from the Fellegi--Sunter refit's probabilities, right when the pairs are all
        the blocked pairs (as in the end-to-end designs); ``"input"`` keeps Splink's
        probabilities and adds only the bootstrap's spread.
    """

    bootstrap_replicates: int = 1000
    ntop: int = 10
    lcm_chains: int = 2
    lcm_iter: int = 20_000
    lcm_burn_in: int = 5_000
    lcm_thin: int = 10
    linkage_draws: int = 20
    review_pairs: int = 300
    linkage_em_centre: Literal["refit", "input"] = "refit"

    def __post_init__(self) -> None:
        if self.review_pairs < 2:
            raise ConfigError(f"BatteryOptions.review_pairs={self.review_pairs} must be >= 2")
        if self.linkage_em_centre not in ("refit", "input"):
            raise ConfigError(f"BatteryOptions.linkage_em_centre={self.linkage_em_centre!r}; "
                              "choose refit or input")


class ReplicateContext:
    """Per-replicate cache: the top-``ntop`` BIC models are selected once and shared by the
    ``bic`` and ``bootstrap`` families (the BIC-best model is the first of them, so the
    ``bic`` family's estimate and interval are exactly those of selection over all models)."""

    def __init__(self, table: CaptureTable, options: BatteryOptions) -> None:
        self.table = table
        self.options = options
        self._top: dict[str, Any] = {}
        self._stacked: Any = None
        self._bootstrap: dict[tuple[str, str], Any] = {}

    def stacked(self, rng: np.random.Generator):
        """The ``stacked`` family's result, fitted once per replicate (with the generator of
        the first stacking family run): its other weightings pool the same fits."""
        if self._stacked is None:
            # Lazy: the stacking module loads only for its own families.
            from undercount.uncertainty.stacking import StackedEstimator

            self._stacked = StackedEstimator(
                replicates=self.options.bootstrap_replicates, n_jobs=1
            ).fit(self.table, rng=rng)
        return self._stacked

    def bootstrap(self, rng: np.random.Generator, kind: str = "nonparametric",
                  select: str = "bic", world: str | None = None):
        """The bootstrap of the top-``ntop`` log-linear models with resample ``kind``, once per
        replicate: the ``bootstrap`` family's (nonparametric, BCa), which ``bootstrap-pct``
        reads too, or ``bootstrap-aug``'s (augmented, percentile), which ``bootstrap-smooth``
        reads; each pair draws one stream (:data:`FAMILY_STREAMS`). ``select="average"``
        re-averages the top models by BIC weight in each replicate instead of re-selecting
        the best (``bootstrap-avg``). ``world="aic"`` draws the parametric resample from
        the AIC-best model's fit over all models (``bootstrap-aic-world``)."""
        key = (kind, select, world)
        if key not in self._bootstrap:
            self._bootstrap[key] = Bootstrap(
                estimator=self.top(select),
                replicates=self.options.bootstrap_replicates,
                interval="bca" if kind == "nonparametric" else "percentile",
                kind=kind,
                n_jobs=1,
                world=None if world is None else LogLinearEstimator(select=world),
            ).fit(self.table, rng=rng)
        return self._bootstrap[key]

    def top(self, select: str = "bic"):
        """The log-linear estimator restricted to the ``ntop`` best models, selecting the
        best of them by BIC (``"bic"``), or averaging them by BIC (``"average"``) or AIC
        weight (``"average-aic"``; the ``ntop`` best by AIC)."""
        if select not in self._top:
            if self.table.n_lists > 5:
                # The message of the committed rows: a rerun reproduces them to the letter.
                criterion = "AIC" if select == "average-aic" else "BIC"
                not_applicable(f"{criterion} over all hierarchical models needs J <= 5")
            settings = {"bic": {"select": "bic"},
                        "average": {"select": "average", "weights": "bic"},
                        "average-aic": {"select": "average", "weights": "aic"}}[select]
            self._top[select] = LogLinearEstimator(**settings).restrict_to_top(
                self.table, self.options.ntop)
        return self._top[select]


def not_applicable(why: str) -> NoReturn:
    """Raise the :class:`ConfigError` that the runner reports as ``n/a``."""
    raise ConfigError(why)


def _top_fit(select: str):
    """A family that fits :meth:`ReplicateContext.top`'s estimator (no resample)."""
    def run(ctx: ReplicateContext, rng: np.random.Generator):
        return ctx.top(select).fit(ctx.table)
    return run


def _fam_bootstrap(ctx: ReplicateContext, rng: np.random.Generator):
    return ctx.bootstrap(rng)


def _fam_bootstrap_aug(ctx: ReplicateContext, rng: np.random.Generator):
    return ctx.bootstrap(rng, "augmented")


def _fam_bootstrap_param(ctx: ReplicateContext, rng: np.random.Generator):
    return ctx.bootstrap(rng, "parametric")


def _fam_bootstrap_aic_world(ctx: ReplicateContext, rng: np.random.Generator):
    return ctx.bootstrap(rng, "parametric", world="aic")


def _fam_bootstrap_avg(ctx: ReplicateContext, rng: np.random.Generator):
    return ctx.bootstrap(rng, "augmented", select="average")


def _fam_bootstrap_smooth(ctx: ReplicateContext, rng: np.random.Generator):
    # bootstrap-aug's replicates with Efron's smoothed interval: paired, as bootstrap-pct.
    return ctx.bootstrap(rng, "augmented").reread("smoothed")


def _fam_bootstrap_pct(ctx: ReplicateContext, rng: np.random.Generator):
    # The bootstrap family's own replicates, read as a percentile interval: a paired
    # comparison of the two intervals, with no second draw to blur it.
    return ctx.bootstrap(rng).reread("percentile")


def _fam_stepwise(ctx: ReplicateContext, rng: np.random.Generator):
    return LogLinearEstimator(select="stepwise").fit(ctx.table)


def _fam_rcapture(ctx: ReplicateContext, rng: np.random.Generator):
    return HeterogeneityEstimator(select="aic").fit(ctx.table)


def _fam_logitnormal(ctx: ReplicateContext, rng: np.random.Generator):
    return LogitNormalEstimator().fit(ctx.table)


def _fam_lcm_ml(ctx: ReplicateContext, rng: np.random.Generator):
    return FiniteClassEstimator().fit(ctx.table, rng=rng)


def _lcm(options: BatteryOptions):
    return LatentClassEstimator(
        chains=options.lcm_chains,
        iterations=options.lcm_iter,
        burn_in=options.lcm_burn_in,
        thin=options.lcm_thin,
        n_jobs=1,
    )


def _fam_lcm(ctx: ReplicateContext, rng: np.random.Generator):
    return _lcm(ctx.options).fit(ctx.table, rng=rng)


def _fam_dga(ctx: ReplicateContext, rng: np.random.Generator):
    if ctx.table.n_lists > 6:
        not_applicable("dga enumerates decomposable graphs for J <= 6 only")
    return GraphicalEstimator().fit(ctx.table)


def _fam_stacked(ctx: ReplicateContext, rng: np.random.Generator):
    return ctx.stacked(rng)


def _pooled(weighting: str):
    def family(ctx: ReplicateContext, rng: np.random.Generator):
        # Lazy: the stacking module loads only for its own families.
        from undercount.uncertainty.stacking import pool

        fits = ctx.stacked(rng).fits
        return pool(fits, weighting, rng)  # type: ignore[arg-type]

    return family


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


def _fam_default(ctx: ReplicateContext, rng: np.random.Generator):
    # Exactly `undercount estimate TABLE --seed S`: whatever the command does with no
    # options, including refusing a table, is what this family measures.
    from undercount.pipeline.estimate import estimate

    try:
        return estimate(ctx.table, seed=_seed(rng))
    except ConfigError as exc:
        # A default that refuses the table gave the user no answer: a failure of the
        # default, not a family that does not apply.
        raise EstimationError(f"the default refuses this table: {exc}") from exc


def _fam_strata(ctx: ReplicateContext, rng: np.random.Generator):
    # `undercount estimate TABLE --strata <every covariate> --seed S`.
    from undercount.pipeline.estimate import estimate

    covariates = ctx.table.covariates
    if covariates is None or covariates.empty or not len(covariates.columns):
        not_applicable("the design's tables carry no covariate to stratify by")
    return estimate(ctx.table, strata=list(covariates.columns), seed=_seed(rng))


#: Families: name -> (description, function(context, rng) -> MSEResult).
FAMILIES: dict[str, tuple[str, Callable[[ReplicateContext, np.random.Generator], Any]]] = {
    "bic": ("Log-linear, BIC-best model, conditional profile interval", _top_fit("bic")),
    "bootstrap": ("Log-linear BIC with bootstrap re-selection (top 10), BCa", _fam_bootstrap),
    "bootstrap-pct": ("The bootstrap family's replicates read as a percentile interval "
                      "(the same draws)", _fam_bootstrap_pct),
    "bootstrap-aug": ("Log-linear BIC with bootstrap re-selection (top 10), augmented "
                      "resample, percentile (the default's log-linear member before the AIC world)",
                      _fam_bootstrap_aug),
    "bootstrap-param": ("Log-linear BIC with bootstrap re-selection (top 10), parametric "
                        "resample from the selected model's fit, percentile",
                        _fam_bootstrap_param),
    "bootstrap-aic-world": ("Log-linear BIC with bootstrap re-selection (top 10), "
                            "parametric resample from the AIC-best model's fit, percentile "
                            "(the default's log-linear member on 3 to 5 lists)",
                            _fam_bootstrap_aic_world),
    "bootstrap-avg": ("Log-linear BIC model average of the top 10, re-averaged in each "
                      "replicate of the augmented resample, percentile", _fam_bootstrap_avg),
    "average": ("Log-linear BIC-weighted average of the 10 best models by BIC, mixture "
                "interval (no resample)", _top_fit("average")),
    "average-aic": ("Log-linear AIC-weighted average of the 10 best models by AIC, mixture "
                    "interval (no resample)", _top_fit("average-aic")),
    "bootstrap-smooth": ("bootstrap-aug's replicates with Efron's (2014) smoothed interval "
                         "(the same draws)", _fam_bootstrap_smooth),
    "stepwise": ("Log-linear forward stepwise (Chan et al. 2021), profile interval",
                 _fam_stepwise),
    "rcapture": ("Rcapture best-AIC of M0/Mt/Mh/Mth, profile interval", _fam_rcapture),
    "logitnormal": ("Logit-normal heterogeneity (Coull & Agresti 1999), best AIC of "
                    "Mth-/Mh-Normal, profile interval", _fam_logitnormal),
    "lcm": ("Latent class (LCMCR), posterior median, 95% equal-tailed interval", _fam_lcm),
    "lcm-ml": ("Latent classes by maximum likelihood (2 or 3 classes by BIC), profile "
               "interval", _fam_lcm_ml),
    "dga": ("Decomposable graphical model averaging (dga), 95% credible interval", _fam_dga),
    "default": ("What `undercount estimate` does with no options (with a seed)", _fam_default),
    "stacked": ("Log-linear bootstrap, heterogeneity, latent classes and dga pooled by "
                "stacking their leave-one-out scores (`--method stacked`)", _fam_stacked),
    "stacked-pbma": ("The same fits pooled by pseudo-BMA weights (exp of each family's "
                     "leave-one-out score)", _pooled("pseudo-bma")),
    "stacked-equal": ("The same fits pooled with equal weights", _pooled("equal")),
    "strata": ("`undercount estimate --strata` on every covariate of the table (joint "
               "bootstrap over strata)", _fam_strata),
}

#: Families that draw another family's random stream, so that they see the same draws
#: whatever else runs (a paired comparison): family -> the family whose stream it draws.
FAMILY_STREAMS: dict[str, str] = {"bootstrap-pct": "bootstrap",
                                   "bootstrap-smooth": "bootstrap-aug",
                                   "bootstrap-param": "bootstrap-aug",
                                   "bootstrap-aic-world": "bootstrap-aug",
                                   "bootstrap-avg": "bootstrap-aug"}

_LINKAGE_BASES = ("stepwise", "rcapture", "dga", "lcm")
#: Kinds of record-level family, by name prefix (see :func:`describe_linkage_family`).
_LINKAGE_KINDS = {
    "linkavg-": "average over plausible linkages sampled from the scored pairs",
    "linkavg-em-": "average over plausible linkages with a bootstrap of the "
                   "Fellegi-Sunter parameters (EM on the pairs' comparison levels)",
    "linkavg-cal-": "average over plausible linkages after calibrating the probabilities "
                    "on a simulated clerical review of BatteryOptions.review_pairs pairs",
    "truth-": "the estimator on the table of the TRUE linkage (reference: estimator error "
              "without linkage error)",
    "linkavg-rev-": "average over plausible linkages after a scripted clerical review of "
                    "BatteryOptions.review_pairs pairs through the review HTTP API (perfect "
                    "reviewer): design-weighted calibration, labelled pairs fixed",
    "linkavg-rev5-": "as linkavg-rev-, with a reviewer who errs on 5% of the hard pairs",
}
#: The scripted reviewers' error rate on hard pairs, by kind.
_REVIEW_ERROR = {"linkavg-rev-": 0.0, "linkavg-rev5-": 0.05}

#: Families that need records with known identity (record designs only): name -> base
#: estimator. ``linkavg-<base>``, ``linkavg-em-<base>``, ``linkavg-cal-<base>`` and
#: ``truth-<base>`` for each base (see :func:`describe_linkage_family`).
LINKAGE_FAMILIES: dict[str, str] = {
    f"{prefix}{base}": base for prefix in _LINKAGE_KINDS for base in _LINKAGE_BASES
}

DEFAULT_FAMILIES = ("bic", "bootstrap", "stepwise", "rcapture", "lcm", "dga", "default")
#: Added by default on record designs: every kind for stepwise, rcapture and dga (one
#: replicate of each took 0.03-5 s on one core on link4noisy and e2e4noisy, 20 draws). The
#: ``-lcm`` variants (M sampler runs each) are opt-in: ask with ``--families``.
DEFAULT_LINKAGE_FAMILIES = tuple(
    f"{prefix}{base}" for prefix in ("linkavg-", "linkavg-em-", "linkavg-cal-", "truth-")
    for base in ("stepwise", "rcapture", "dga")
)


def _linkage_kind(name: str) -> str:
    """The prefix of a record-level family's name (longest match)."""
    return max((k for k in _LINKAGE_KINDS if name.startswith(k)), key=len)


def describe_linkage_family(name: str) -> str:
    """One line describing a family of :data:`LINKAGE_FAMILIES`."""
    return f"{LINKAGE_FAMILIES[name]}: {_LINKAGE_KINDS[_linkage_kind(name)]}"


def _base_estimator(base: str, options: BatteryOptions):
    return {
        "lcm": lambda: _lcm(options),
        "stepwise": lambda: LogLinearEstimator(select="stepwise"),
        "rcapture": lambda: HeterogeneityEstimator(select="aic"),
        "dga": lambda: GraphicalEstimator(),
    }[base]()


def run_linkage_family(name: str, options: BatteryOptions, table, records, pairs, rng):
    """Run a family of :data:`LINKAGE_FAMILIES` on one replicate's records and pairs.

    * ``linkavg-<base>``: :class:`~undercount.uncertainty.linkage.LinkageAveraging` of the
      base estimator over ``options.linkage_draws`` plausible linkages, the match
      probabilities taken as known.
    * ``linkavg-em-<base>``: the same with ``parameter_uncertainty="em_bootstrap"`` (centre
      ``options.linkage_em_centre``): every draw re-scores the pairs with a bootstrap
      replicate of the Fellegi--Sunter m, u and lambda refitted by EM on the pairs'
      ``gamma_*`` comparison levels. Not applicable (``n/a``) on designs whose pairs carry
      no comparison levels (:class:`~undercount.validate.record_designs.LinkageDesign`
      scores pairs without a comparison vector).
    * ``linkavg-cal-<base>``: a simulated clerical review. A reviewer labels
      ``options.review_pairs`` candidate pairs (see :func:`_review_sample`: stratified over
      ten equal-width bands of match weight, the log-odds of the probability), drawn from
      the family's own stream; the labels are
      the simulation's truth (``is_match``), i.e. the reviewer is **perfect**: never wrong,
      never undecided, and able to judge every pair from the records alone. Real clerical
      review errs, most on the ambiguous pairs this sample favours, so this is an upper
      bound on what review-based calibration can do. The labels calibrate the
      probabilities (isotonic regression of the label on the probability,
      :class:`~undercount.link.calibrate.Calibrator`; sampling on the probability
      alone leaves :math:`P(M \\mid p)` unbiased) before the averaging. The reviewed pairs
      are not then fixed to their labels: only the calibration uses them.
    * ``linkavg-rev-<base>`` / ``linkavg-rev5-<base>``: a scripted clerical review through
      the review HTTP API (:func:`scripted_review`: a perfect reviewer, or one who errs
      on 5% of the hard pairs), whose labels calibrate the probabilities with the design
      weights and fix the labelled pairs, before the averaging.
    * ``truth-<base>``: the base family (as in :data:`FAMILIES`) on the capture table of
      the true linkage (records clustered by ``records["person"]``): the estimator's own
      error, with no linkage error, for reference.
    """
    base = LINKAGE_FAMILIES[name]
    kind = _linkage_kind(name)
    if kind == "truth-":
        list_idx = records["list"].map({n: i for i, n in enumerate(table.lists)})
        true_table = table_from_clusters(
            records["person"].to_numpy(), list_idx.to_numpy(dtype=np.int64), table.lists,
            source=f"{table.source} (true linkage)",
        )
        return FAMILIES[base][1](ReplicateContext(true_table, options), rng)
    estimator = _base_estimator(base, options)
    common = dict(lists=table.lists, cannot_link=("national_id", "sex"))
    if kind == "linkavg-":
        # One process per replicate: the battery already runs replicates in parallel.
        averaging = LinkageAveraging(
            estimator=estimator, n_draws=options.linkage_draws, n_jobs=1
        )
        return averaging.fit(pairs, records, **common, rng=rng)
    if kind == "linkavg-em-":
        if not any(str(c).startswith("gamma_") for c in pairs.columns):
            not_applicable(
                "the Fellegi-Sunter bootstrap needs the pairs' comparison levels (gamma_*), "
                "which this design's matcher does not produce"
            )
        averaging = LinkageAveraging(
            estimator=estimator, n_draws=options.linkage_draws,
            parameter_uncertainty="em_bootstrap", em_centre=options.linkage_em_centre,
            n_jobs=1,
        )
        return averaging.fit(pairs, records, **common, rng=rng)
    if kind in _REVIEW_ERROR:
        review_rng, fit_rng = rng.spawn(2)
        reviewed = scripted_review(pairs, records, n_review=options.review_pairs,
                                   error_rate=_REVIEW_ERROR[kind], rng=review_rng)
        averaging = LinkageAveraging(
            estimator=estimator, n_draws=options.linkage_draws, n_jobs=1)
        return averaging.fit(reviewed, records, **common, rng=fit_rng)
    review_rng, fit_rng = rng.spawn(2)
    labels = _review_sample(pairs, options.review_pairs, rng=review_rng)
    averaging = LinkageAveraging(
        estimator=estimator, n_draws=options.linkage_draws, calibration="isotonic", n_jobs=1
    )
    return averaging.fit(pairs, records, **common, labels=labels, rng=fit_rng)


def scripted_review(
    pairs: pd.DataFrame,
    records: pd.DataFrame,
    *,
    n_review: int,
    error_rate: float,
    rng: np.random.Generator,
    threshold: float = 0.5,
) -> pd.DataFrame:
    """A clerical review by a scripted reviewer through the real review code path; returns
    ``pairs`` with the reviewed probabilities.

    The pairs and records go into a temporary project store; a
    :class:`~undercount.review.session.ReviewSession` draws its stratified design sample of
    ``n_review`` pairs (ten equal-width bands of match weight, no purposive pairs, so every
    label carries a design weight); the reviewer asks the HTTP API
    (:func:`~undercount.review.app.create_app`, through Starlette's test client, with the
    bearer token) for the next pair, looks both records' true person up, and posts
    ``match`` or ``non-match``. It errs -- posts the wrong label -- with probability
    ``error_rate`` on a *hard* pair: one with :math:`0.01 < p < 0.99`, or one the model
    gets wrong at ``threshold``. The labels are read back from the store and fed back as
    the project does: the probabilities are calibrated by isotonic regression on the
    labelled design pairs with their design weights :math:`N_h / m_h`
    (:class:`~undercount.link.calibrate.Calibrator`), and each labelled pair is fixed to
    its label (probability 1 or 0: a must-link or a cannot-link in every sampled
    partition). The returned frame's ``reviewed`` column holds the labels (1 match, 0
    non-match, NaN unreviewed).
    """
    import tempfile
    from pathlib import Path

    # The review stack (Starlette, its test client, the store) only for these families.
    from starlette.testclient import TestClient

    from undercount.link.calibrate import reviewed_probabilities
    from undercount.link.cluster import constrained_clusters
    from undercount.pipeline.store import Store
    from undercount.review.app import create_app
    from undercount.review.session import DesignOptions, ReviewSession

    p = pairs["match_probability"].to_numpy(dtype=float)
    q = np.clip(p, 1e-15, 1 - 1e-15)
    cand = pd.DataFrame({"uid_l": pairs["uid_l"].to_numpy(dtype=np.int64),
                         "uid_r": pairs["uid_r"].to_numpy(dtype=np.int64),
                         "match_probability": p, "match_weight": np.log2(q / (1 - q))})
    n = len(records)
    uid = records["uid"].to_numpy(dtype=np.int64)
    ids = (records["record_id"].astype(str).to_numpy() if "record_id" in records
           else uid.astype(str))
    std = pd.DataFrame({"uid": uid, "list": records["list"].astype(str).to_numpy(),
                        "record_id": ids, "row": uid + 2})
    fixed = constrained_clusters(n, cand[cand["match_probability"] >= threshold])
    person = records["person"].to_numpy()
    err_rng, design_rng = rng.spawn(2)
    with tempfile.TemporaryDirectory(prefix="undercount-review-") as tmp:
        store = Store(Path(tmp) / "review.duckdb")
        store.write_frame("review_pairs", cand)
        store.write_frame("standardised", std)
        store.write_frame("clusters", pd.DataFrame({"uid": uid, "cluster_id": fixed.cluster}))
        session = ReviewSession(
            store=store, threshold=threshold, name="battery",
            design=DesignOptions(n_design=n_review, n_threshold=0, n_suspicious=0,
                                 seed=int(design_rng.integers(2**31 - 1))))
        token = "scripted-reviewer"
        auth = {"Authorization": f"Bearer {token}"}
        with store.hold(), TestClient(create_app(session, token, allowed_hosts={"testserver"},
                                                 reviewer="script")) as client:
            while True:
                shown = client.get("/api/pairs/next", headers=auth).json()
                if shown.get("pair_id") is None:
                    break
                same = bool(person[shown["left"]["uid"]] == person[shown["right"]["uid"]])
                prob = shown["match_probability"]
                hard = 0.01 < prob < 0.99 or (prob >= threshold) != same
                if hard and err_rng.random() < error_rate:
                    same = not same
                resp = client.post("/api/labels", headers=auth, json={
                    "pair_id": shown["pair_id"], "label": "match" if same else "non-match"})
                if resp.status_code != 201:  # pragma: no cover - the API refused a label
                    raise ConfigError(f"scripted review: label refused: {resp.text}")
        latest = store.latest_labels()
        design = session.design
        strata = session.strata
    key = pd.Series(np.arange(len(cand)), index=[f"{a}-{b}" for a, b in
                                                 zip(cand["uid_l"], cand["uid_r"], strict=True)])
    lab = latest[["pair_id", "label"]].merge(design[["pair_id", "band"]], on="pair_id")
    idx = key.reindex(lab["pair_id"]).to_numpy(dtype=np.int64)
    y = (lab["label"] == "match").to_numpy(dtype=float)
    size = strata.set_index("band")["pairs"]
    m = lab.groupby("band")["pair_id"].transform("size").to_numpy()
    weight = size.reindex(lab["band"]).to_numpy(dtype=float) / m
    out = pairs.copy()
    out["match_probability"] = reviewed_probabilities(p, idx, y, weight)
    reviewed = np.full(len(out), np.nan)
    reviewed[idx] = y
    out["reviewed"] = reviewed
    return out


def _review_sample(pairs: pd.DataFrame, n_review: int, *, rng: np.random.Generator):
    """Labels of a simulated clerical review: ``is_match`` on ``n_review`` sampled pairs,
    NaN elsewhere.

    The pairs are stratified by match weight (the log-odds of the match probability,
    clipped to +-20), in 10 bins of equal width between the smallest and the largest
    weight, and the budget is split equally over the bins, each drawn without replacement;
    what a bin cannot use passes to the others, so that ``min(n_review, len(pairs))`` pairs
    are labelled. Reviewing across match-weight bands, rather than across quantiles of the
    probability, spends the labels where the calibration curve can bend even when most
    probabilities pile up near 0 or 1 (as Splink's do); a first version that put 80% of the
    labels in deciles of 0.05 < p < 0.95 wasted them on e2e4noisy, where Splink's errors sit
    above 0.95 (smoke run of 8 replicates: RMSE 87 against 52 for weight bands).
    """
    p = pairs["match_probability"].to_numpy(dtype=float)
    n = len(p)
    n_review = min(int(n_review), n)
    with np.errstate(divide="ignore"):
        weight = np.clip(np.log(p) - np.log1p(-p), -20.0, 20.0)
    edges = np.linspace(weight.min(), weight.max(), 11) if n else np.zeros(11)
    bins = np.clip(np.searchsorted(edges, weight, side="right") - 1, 0, 9)
    strata = [np.flatnonzero(bins == b) for b in range(10)]
    k = len(strata)
    target = np.full(k, n_review // k, dtype=np.int64)
    target[: n_review % k] += 1
    size = np.array([len(x) for x in strata])
    take = np.minimum(target, size)
    # Hand what a stratum cannot use to those with pairs left, one at a time, in order.
    short = n_review - int(take.sum())
    while short > 0:
        room = np.flatnonzero(take < size)
        for j in room[:short]:
            take[j] += 1
        short = n_review - int(take.sum())
    chosen = [rng.choice(x, size=t, replace=False) for x, t in zip(strata, take, strict=True)
              if t > 0]
    labels = np.full(n, np.nan)
    if chosen:
        idx = np.concatenate(chosen)
        labels[idx] = pairs["is_match"].to_numpy(dtype=float)[idx]
    return labels
