r"""Simulation battery: do the estimators' intervals cover the truth?

Each *design* draws capture tables (or linked records) from a process whose population size
N is known; each *family* of estimators is run on every replicate; the battery reports, per
design and family, the bias, the RMSE, the coverage of the nominal 95% interval, the median
interval width and how many replicates failed (raised
:class:`~undercount.errors.EstimationError`) or errored otherwise. Failures are counted and
reported, never dropped silently: ``coverage`` is computed over the replicates that produced
an interval, and ``coverage_all`` counts every failure as a miss.

Designs
-------
Latent-class designs (table level): each of N people belongs to a class with fixed size and
is captured by list j independently with the class's probability :math:`p_{kj}`.

* ``sim1`` -- Manrique-Vallier (2016), simulation 1 (the HRDAG benchmark): N = 2,000; 1,800
  people with probabilities (.033, .033, .099, .132, .033) and 200 with (.660, .825, .759,
  .990, .693).
* ``negdep4`` -- negative list dependence: N = 2,000 in two equal classes with opposite
  profiles (.30, .25, .05, .05) and (.05, .05, .30, .25), so lists 1-2 and 3-4 recruit from
  different halves of the population.
* ``hetero5`` -- continuous heterogeneity: N = 2,000, :math:`\operatorname{logit} p_{ij} =
  \operatorname{logit} r_j + 1.5\,\eta_i`, :math:`\eta_i \sim N(0, 1)`, r = (.10, .15, .20,
  .10, .25) (a logit-normal :math:`M_{th}`, positive dependence between all lists).
* ``sparse6`` / ``sparse8`` -- many sparse lists: N = 2,000, r_j between .04 and .12,
  heterogeneity scale 0.5.

Covariate designs (:class:`CovariateDesign`): capture depends on a covariate the table
carries; within each of its groups the lists are independent, so stratifying by it removes
the heterogeneity that the pooled table shows.

* ``cov4`` -- N = 2,000 in two groups of 1,000 (covariate ``group``), one easy to capture
  (.50, .40, .45, .35) and one hard (.08, .12, .10, .06), 4 lists.
* ``cov3age`` -- N = 2,500 in three age groups (covariate ``age_group``) of 600, 1,500 and
  400 with (.30, .15, .25), (.45, .35, .30) and (.20, .10, .40): each list favours another
  group, 3 lists.

Fitted-model designs (Silverman-style): the BIC-best log-linear model is fitted to a shipped
dataset; its fitted cell probabilities over all :math:`2^J` cells (the unobserved one
included) and :math:`\hat N` are the truth; each replicate draws
:math:`\mathrm{Multinomial}(\mathrm{round}(\hat N), \hat p)` and drops the unobserved cell
(``kosovo_bic``, ``uk5_bic``, ``hiv_bic``). The truth lies inside the log-linear family here,
so these designs favour the log-linear estimators; they test inference *given* that
selection can find the model.

Log-linear twins (:class:`TwinDesign`; run only when named): ``negdep4_twin`` (N = 3,119)
and ``sim1_twin`` (N = 1,125) are log-linear populations without the highest-order
interaction whose observed capture patterns have exactly the distribution of ``negdep4``'s
and ``sim1``'s. Given the number observed, a twin's tables are distributed as a multinomial
draw from its original's population, so no estimator can cover the two sizes on both designs
unless its intervals span them: the twins measure what the identifying assumption decides
(Aleshin-Guendel, Sadinle & Wakefield 2024).

Linkage designs (``link*``): records with known identity are scored by a calibrated
probabilistic matcher, see :class:`LinkageDesign`; the linkage-fixed families run on the
table from thresholded clustering, the ``linkavg-*`` families average over plausible
linkages (:class:`~undercount.uncertainty.linkage.LinkageAveraging`).

End-to-end designs (``e2e*``): the lists are simulated with names, dates and IDs by the
simulator behind ``undercount simulate`` and linked by the package's own Splink pipeline;
the fixed-linkage families run on its clusters at the pipeline's threshold, the
``linkavg-*`` families on its scored pairs, see :class:`EndToEndDesign`. ``e2e3``: N =
1,500, 3 lists, the default (MoH-measured) recording noise; ``e2e4noisy``: N = 1,500, 4
lists, heavy name, date and ID noise, missing IDs and large sibling groups. Capture is
independent and homogeneous in both (:math:`M_t` holds), so only linkage can go wrong.
Linkage and end-to-end designs run only when named (``--designs``).

Families
--------
``bic`` (log-linear, BIC-best model, conditional multinomial profile interval; J <= 5),
``bootstrap`` (the same with nonparametric bootstrap re-selection among the 10 best models,
BCa; Silverman, Chan & Vincent 2024), ``stepwise`` (forward stepwise, profile interval;
Chan, Silverman & Vincent 2021), ``rcapture`` (best-AIC of Rcapture's M0/Mt/Mh/Mth models,
profile interval), ``lcm`` (LCMCR, posterior median and equal-tailed interval), ``dga``
(decomposable graphical model averaging; J <= 6), ``default`` (exactly what
``undercount estimate`` does with no options but a seed, through
:func:`~undercount.pipeline.estimate.estimate`; a table the default refuses is a *failure*
of the default, not ``n/a``) and, only when named,
``strata`` (``undercount estimate --strata`` on every covariate of the table; ``n/a`` on
tables without covariates) and ``bootstrap-pct`` (the ``bootstrap`` family's own
replicates read as a percentile interval: the two families draw the same stream, so they
compare BCa and percentile on the same draws), ``bootstrap-aug`` (the same bootstrap with
the augmented resample and a percentile interval, the default's log-linear member before
the AIC world) and ``bootstrap-smooth`` (``bootstrap-aug``'s replicates read as Efron's
smoothed interval, the same draws), ``bootstrap-param`` (re-selection on a parametric
resample from the selected model's fit), ``bootstrap-aic-world`` (the same from the
AIC-best model's fit over all models: the default's log-linear member on 3 to 5 lists) and
``bootstrap-avg`` (the BIC-weighted average of the top 10 models, re-averaged in each
augmented replicate), all three on ``bootstrap-aug``'s stream, and
``average`` and ``average-aic`` (the BIC- or AIC-weighted average of the 10 best models by
the same criterion, with the mixture interval of ``LogLinearEstimator(select="average")``:
model uncertainty without a resample). A family that does not apply to a design (BIC
beyond 5 lists, dga beyond 6) is reported as ``n/a``, not as a failure.

Record-level families (record designs only; :data:`LINKAGE_FAMILIES`), for each base
``stepwise``, ``rcapture``, ``dga`` and ``lcm``: ``linkavg-<base>`` (average over plausible
linkages, the match probabilities taken as known), ``linkavg-em-<base>`` (the same with a
bootstrap of the Fellegi--Sunter parameters refitted by EM on the pairs' comparison levels;
``n/a`` on the ``link*`` designs, whose pairs have none), ``linkavg-cal-<base>`` (the
probabilities first calibrated on a simulated, perfect clerical review of
``BatteryOptions.review_pairs`` pairs) and ``truth-<base>`` (the base family on the table of
the true linkage: estimator error without linkage error). See
:func:`~undercount.validate.families.run_linkage_family`.

Modules
-------
:mod:`~undercount.validate.designs` (table-level designs),
:mod:`~undercount.validate.record_designs` (record-level designs),
:mod:`~undercount.validate.families` (the families and their options),
:mod:`~undercount.validate.runner` (:func:`run_battery`; its docstring gives the seeding
of the replicates' streams) and :mod:`~undercount.validate.io` (summary, Markdown,
replicate files of several runs, plots).

References
----------
.. [1] Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet
   process mixtures. Biometrics 72:1246-1254. doi:10.1111/biom.12502
.. [2] Silverman, B. W., Chan, L. and Vincent, K. (2024). Bootstrapping multiple systems
   estimates to account for model selection. Statistics and Computing 34:44.
   doi:10.1007/s11222-023-10346-9
.. [3] Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
   sparse capture data: inferential challenges when there are nonoverlapping lists. JASA
   116:1297-1306. doi:10.1080/01621459.2019.1708748
"""


from undercount.validate.designs import (
    TABLE_DESIGNS,
    TWIN_DESIGNS,
    CovariateDesign,
    Design,
    FittedModelDesign,
    LatentClassDesign,
    LogitNormalDesign,
    TwinDesign,
    table_from_full,
)
from undercount.validate.families import (
    DEFAULT_FAMILIES,
    DEFAULT_LINKAGE_FAMILIES,
    FAMILIES,
    LINKAGE_FAMILIES,
    BatteryOptions,
    describe_linkage_family,
)
from undercount.validate.io import load_replicates, summarise, summary_markdown, write_outputs
from undercount.validate.record_designs import (
    RECORD_DESIGNS,
    EndToEndDesign,
    LinkageDesign,
    RecordDesign,
)
from undercount.validate.runner import DESIGNS, run_battery

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_LINKAGE_FAMILIES",
    "DESIGNS",
    "FAMILIES",
    "LINKAGE_FAMILIES",
    "RECORD_DESIGNS",
    "TABLE_DESIGNS",
    "TWIN_DESIGNS",
    "BatteryOptions",
    "CovariateDesign",
    "Design",
    "EndToEndDesign",
    "FittedModelDesign",
    "LatentClassDesign",
    "LinkageDesign",
    "LogitNormalDesign",
    "RecordDesign",
    "TwinDesign",
    "describe_linkage_family",
    "load_replicates",
    "run_battery",
    "summarise",
    "summary_markdown",
    "table_from_full",
    "write_outputs",
]
