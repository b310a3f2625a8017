"""Bayesian latent-class capture-recapture (LCMCR): a Dirichlet-process mixture of
independent-lists models, fitted by Gibbs sampling on the observed cells.

Heterogeneous capture probabilities make lists look dependent even when, for each person,
being listed by one source says nothing about being listed by another. The latent-class
model explains every dependence by a mixture: people fall into classes, and within a class
lists capture independently. Manrique-Vallier (2016) puts a truncated stick-breaking
(Dirichlet-process) prior on the class weights so that the data choose how many classes
are occupied. This module reproduces his R package LCMCR (same model, priors, updates and
prior on N) and adds several dispersed chains run in parallel, R-hat/ESS diagnostics, no
silent cap on N, optional informative priors on the inclusion probabilities, and three
Metropolis moves that leave the posterior unchanged: a partially collapsed move on the
unobserved, label swaps, and a Hamiltonian Monte Carlo move on the inclusion probabilities
and class weights from their posterior given the observed table alone. On Kosovo they give
about 20 times LCMCR's effective sample size of N per iteration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar

import numpy as np

from undercount.core.constraints import AtLeast, Open
from undercount.core.draws import import_arviz, make_draws, n_draws
from undercount.core.estimator import Estimator
from undercount.core.parallel import available_cores
from undercount.core.result import (
    CLOSED_POPULATION,
    LINKED_WITHOUT_ERROR,
    Diagnostic,
    Interval,
    ModelRecord,
    MSEResult,
)
from undercount.core.table import CaptureTable, pattern_string
from undercount.errors import ConfigError, EstimationError, NotIdentifiableError
from undercount.models.latent_class._kernels import (
    STATUS_DIVERGED,
    STATUS_OK,
    ChainOutput,
    run_chain,
)

__all__ = ["LatentClassEstimator", "LatentClassResult"]

#: R-hat above this, or bulk ESS below ``_ESS_MIN``, earns a warning (Vehtari et al. 2021).
_RHAT_MAX = 1.01
_ESS_MIN = 400.0
#: Burn-in sweeps after the warm-up below which the HMC adaptation is called too short.
_HMC_MIN_ADAPT = 1_000

_ASSUMPTIONS = (
    CLOSED_POPULATION,
    "People fall into a small number of latent classes (groups); the data decide how many.",
    "Within a class, being on one list says nothing about being on another (the lists are "
    "independent given the class); all dependence between lists comes from the classes.",
    "The classes found among the people who were listed describe the people no list "
    "recorded too: the unobserved differ from the observed only through the mix of classes.",
    LINKED_WITHOUT_ERROR,
)

_SUMMARY_PROBS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)


@dataclass(frozen=True, kw_only=True, eq=False)
class LatentClassResult(MSEResult):
    """Result of :class:`LatentClassEstimator`: posterior summaries of N and the sampler's
    diagnostics; ``draws`` is the ArviZ ``InferenceData`` of the chains (``posterior``:
    ``N``, ``n0``, ``k_star``, ``alpha``; see :mod:`undercount.core.draws`).

    Attributes
    ----------
    mean : float
        Posterior mean of N.
    rhat : float
        R-hat of N.
    ess : dict
        Bulk and tail effective sample sizes of N (``{"bulk": ..., "tail": ...}``).
    convergence : dict
        R-hat, ESS and MCSE of ``N``, ``k_star`` and ``alpha``.
    draws_summary : dict
        Quantiles of N (``"q2.5"``, ..., ``"q50"``, ...), its sd, the MCSE of the median,
        the number of draws, the mean number of occupied classes and the median of alpha.
    n_capped : int, optional
        Post-burn-in iterations whose draw of N hit ``max_n`` (only with ``max_n``).
    hmc : dict, optional
        The HMC move's leapfrog steps, adapted step size per chain, proposals after burn-in
        and acceptance rate (None without proposals), the number of chains that kept the
        move (``chains_using``) and, where the trial ran (``adaptive_hmc``), each chain's
        autocorrelation times of log n0 with and without it (``trial_tau``).
    collapsed_moves : dict, optional
        The collapsed moves per class per sweep, proposals and acceptance rate.

    :meth:`conf_int` gives the equal-tailed posterior interval at another level from the
    draws.
    """

    mean: float = math.nan
    rhat: float = math.nan
    ess: dict[str, float] = field(default_factory=dict)
    convergence: dict[str, dict[str, float]] = field(default_factory=dict)
    draws_summary: dict[str, Any] = field(default_factory=dict)
    n_capped: int | None = None
    hmc: dict[str, Any] | None = None
    collapsed_moves: dict[str, Any] | None = None
    #: With ``pattern_probs``: log p(pattern | observed) per draw (rows: chains' draws in
    #: order) and distinct observed pattern (columns, in the order of
    #: :attr:`pattern_codes`). Working arrays, not in the JSON.
    pattern_log_probs: np.ndarray | None = None
    pattern_codes: np.ndarray | None = None

    methods: ClassVar[tuple[str, ...]] = ("lcm",)
    json_fields: ClassVar[tuple[str, ...]] = (
        "mean", "rhat", "ess", "convergence", "draws_summary", "n_capped", "hmc",
        "collapsed_moves",
    )
    json_optional: ClassVar[frozenset[str]] = frozenset({"n_capped", "hmc", "collapsed_moves"})

    def conf_int(self, level: float) -> Interval:
        """Equal-tailed posterior interval at ``level`` (quantiles of the draws of N)."""
        flat = n_draws(self)
        if flat is None:
            raise ValueError("this result carries no draws (a stored copy?)")
        tail = (1.0 - level) / 2.0
        lower, upper = np.quantile(flat, [tail, 1.0 - tail])
        return Interval(float(lower), float(upper), level, "posterior quantiles")


@dataclass(frozen=True, kw_only=True)
class LatentClassEstimator(Estimator):
    r"""Bayesian latent-class model (LCMCR) for the number of people no list recorded.

    Parameters
    ----------
    max_classes : int
        Truncation level K of the stick-breaking prior (LCMCR's ``K``; default 10). It is an
        upper bound: the posterior decides how many classes are occupied (``k_star``).
    alpha_prior : (float, float)
        Gamma(shape, rate) prior on the stick-breaking concentration alpha (LCMCR's
        ``a_alpha``, ``b_alpha``; default (0.25, 0.25)).
    chains : int
        Independent chains, started from dispersed points and run in parallel (CLI
        ``--chains``).
    iterations : int
        Iterations per chain after burn-in (CLI ``--iterations``).
    burn_in : int
        Iterations per chain discarded; the first ``min(500, burn_in)`` hold alpha fixed and
        end with a relabelling of the classes by weight (LCMCR's initialisation).
    thin : int
        Keep every ``thin``-th iteration (``iterations // thin`` draws per chain).
    max_n : int or None
        Optional upper bound on N (the prior on N truncated at ``max_n``). None (default)
        means no bound. LCMCR silently bounds N by ``21 n``; here a bound is only ever set
        by the user, and every iteration in which it truncates the draw of N is counted and
        reported.
    collapsed_moves : int
        Metropolis moves per occupied class and sweep on the number of unobserved people
        in the class, with the inclusion probabilities and class weights integrated out
        (step 1b in Notes). They leave the posterior unchanged. On the six sparse UK 2013
        lists, where LCMCR's sweep does not converge in 4 x 1,000,000 iterations (R-hat of
        N 1.025, bulk ESS 130), these moves and the label swaps alone converge in the same
        run (R-hat 1.000, bulk ESS about 36,000). 0 gives LCMCR's plain Gibbs sampler.
    label_swaps : bool
        Metropolis swaps of adjacent class labels after every sweep (step 6 in Notes); they
        leave the posterior unchanged and help the ordering of the classes along the stick,
        and with it alpha and the number of occupied classes, mix. False (with
        ``collapsed_moves=0`` and ``hmc_steps=0``) gives LCMCR's sampler exactly.
    hmc_steps : int
        Leapfrog steps of the Hamiltonian Monte Carlo move on the inclusion probabilities
        and class weights (step 3b in Notes), made once per sweep after LCMCR's 500-sweep
        warm-up; 0 turns the move off. Its step size and diagonal mass matrix adapt during
        burn-in only (``result.hmc`` reports them and the acceptance rate). On Kosovo it
        raises the effective sample size of N per sweep from about 0.002 to about 0.03 at
        about 2.5 times the cost of a sweep. It is derived for the unbounded prior on N,
        so it is not used when ``max_n`` is set (an ``hmc_off`` note says so).
    adaptive_hmc : bool
        Let each chain keep the HMC move only where it pays (step 3c in Notes): on some
        tables the collapsed moves alone mix N as well, and HMC then only multiplies the
        cost of a sweep (2 to 6 times). Measured with one chain of 100,000 sweeps
        (2026-12-05), effective draws of N per CPU-second without HMC against with it: UK
        2013 4.1 times, hiv_rome 4.1, hare 4.0, uk_2013_5 2.2, bunting (8 lists) 35; with
        HMC against without: Kosovo 14, duck 4.1, my5 2.2. False keeps HMC on in every
        chain.
    list_priors : (a, b), mapping of list name to (a, b), or None
        Beta(a, b) priors on the lists' inclusion probabilities (in every class). One pair
        applies to every list; a mapping sets some lists and leaves the others at Beta(1, 1)
        (the default, as LCMCR). :func:`beta_prior_from_expansion_factor` derives a pair
        from a belief about the expansion factor ``N / n``.
    level : float
        Probability of the equal-tailed posterior interval.
    n_jobs : int or None
        Threads running chains; None uses every available core. Results do not depend on
        it.
    pattern_probs : bool
        Keep, for every draw, the probability of each observed capture pattern given that a
        person is observed (``result.pattern_log_probs``, by ``result.pattern_codes``): the
        pointwise predictive densities that stacking's leave-one-out scores need
        (:mod:`undercount.uncertainty.stacking`). Draws of N are unchanged.

    Notes
    -----
    With lists :math:`j = 1, \dots, J`, capture pattern :math:`x \in \{0, 1\}^J` and
    classes :math:`k = 1, \dots, K`:

    .. math::

        \Pr(x) = \sum_{k=1}^K \pi_k \prod_{j=1}^J \lambda_{jk}^{x_j}
                 (1 - \lambda_{jk})^{1 - x_j},\qquad
        \pi_k = V_k \prod_{l<k} (1 - V_l),\ V_K = 1,

    with :math:`V_k \sim \mathrm{Beta}(1, \alpha)`, :math:`\alpha \sim
    \mathrm{Gamma}(a, b)` (rate :math:`b`), :math:`\lambda_{jk} \sim \mathrm{Beta}(a_j,
    b_j)` (default 1, 1) and :math:`p(N) \propto 1/N`. Each Gibbs sweep

    1. splits the :math:`c_x` people in every observed cell across classes,
       :math:`\mathrm{Multinomial}(c_x; \propto \pi_k \Pr(x \mid k))`;
    1b. (``collapsed_moves`` > 0) moves the number :math:`m_k` of unobserved people in
        each class with an observed member by Metropolis steps :math:`m_k + \mathrm{round}
        (s_k Z)` whose target integrates :math:`\lambda` and :math:`\pi` out:

        .. math::

            p(m_k \mid \cdot) \propto \frac{(N - 1)!}{m_k!}
            \prod_j \frac{\Gamma(b_j + n_k - n^1_{jk})}{\Gamma(a_j + b_j + n_k)}
            \prod_{l<K} \frac{\Gamma(1 + n_l)\,\Gamma(\alpha + n_{>l})}
            {\Gamma(1 + \alpha + n_{\ge l})},

        with :math:`n_k` the class sizes including :math:`m_k`. Followed by steps 2 and 3,
        which draw :math:`\lambda` and :math:`\pi` from their full conditionals, this is a
        partially collapsed Gibbs sampler (van Dyk & Park 2008): the posterior is the same,
        but :math:`N` no longer has to wait for :math:`\lambda` to move. The step sizes
        :math:`s_k` adapt during burn-in only;
    2. draws :math:`\lambda_{jk} \sim \mathrm{Beta}(a_j + n_{jk}^{1}, b_j + n_{jk}^{0})`
       from the class counts (observed and unobserved people);
    3. draws :math:`V_k \sim \mathrm{Beta}(1 + n_k, \alpha + \sum_{l>k} n_l)`;
    3b. (``hmc_steps`` > 0) moves :math:`(\lambda, \pi)` by Hamiltonian Monte Carlo
        (Neal 2011) on their posterior given the observed table alone, with the class
        allocations and :math:`N` summed out:

        .. math::

            p(\lambda, \pi \mid \alpha, \text{data}) \propto p(\lambda)\,p(\pi \mid
            \alpha) \prod_{x \ne 0} \Big(\frac{\Pr(x)}{1 - \Pr(0)}\Big)^{c_x},

        the multinomial likelihood of the observed cells conditional on being observed,
        which is what summing :math:`p(N) \propto 1/N` times the complete-data likelihood
        over :math:`N` leaves. The leapfrog works on :math:`\mathrm{logit}\,\lambda_{jk}`
        and :math:`\mathrm{logit}\,V_k` with a diagonal mass matrix; the step size adapts
        by dual averaging to acceptance 0.8 (Hoffman & Gelman 2014) and the mass matrix to
        the variances of two burn-in windows (as Stan does), and both are fixed after
        burn-in. Step 4 and the next sweep's step 1 then redraw the unobserved and the
        allocations from their conditionals, so this is again a partially collapsed Gibbs
        step. It removes the main reason the sweep is slow: the missing data (allocations
        and :math:`n_0`) carry most of the information about :math:`(\lambda, \pi)`;
    4. draws :math:`n_0 \sim \mathrm{NegBin}(n, 1 - p_0)` (failures before :math:`n`
       successes), :math:`p_0 = \sum_k \pi_k \prod_j (1 - \lambda_{jk})`, which is the
       conditional of :math:`n_0` under :math:`p(N) \propto 1/N`, and splits the
       :math:`n_0` unobserved across classes :math:`\propto \pi_k \prod_j (1 - \lambda_{jk})`;
    5. draws :math:`\alpha \sim \mathrm{Gamma}(a + K - 1, b - \log \pi_K)`;
    6. (``label_swaps``) proposes, for :math:`k = K - 2, \dots, 1`, to swap the labels of
       classes :math:`k` and :math:`k + 1` (weights, inclusion probabilities and unobserved
       counts together). The likelihood is symmetric in the labels and the truncated
       stick-breaking density is :math:`\alpha^{K-1} \pi_K^{\alpha - 1} / \prod_{k<K}
       R_k`, :math:`R_k = \sum_{l \ge k} \pi_l`, so the swap is accepted with probability
       :math:`\min\{1, (\pi_{k+1} + R_{k+2}) / (\pi_k + R_{k+2})\}` (Papaspiliopoulos &
       Roberts 2008). The last class is never swapped.

    3c. (``adaptive_hmc``, and at least 2,500 burn-in sweeps after the warm-up) the last
        ``2 T`` burn-in sweeps, :math:`T = \lfloor (\text{burn\_in} - 500) / 4 \rfloor`,
        run with the adapted HMC move and then without it, and the chain drops the move
        iff twice the integrated autocorrelation time of :math:`n_0` (Geyer's initial
        monotone sequence) without it is at most :math:`1 + 0.27 L` times the time with
        it, :math:`L` the leapfrog steps and 0.27 the measured cost of a leapfrog step
        relative to a sweep: iff the chain without it looks at least twice as efficient
        in effective draws of :math:`N` per unit of work. The factor 2 guards against
        short windows, which estimate long autocorrelation times low, and against unequal
        losses (a needed move dropped costs 14 times on Kosovo; an unneeded one kept,
        2 to 6 times). Both
        kernels have the same stationary distribution and the choice is fixed before the
        first kept draw, so every chain's kept draws come from one homogeneous kernel
        (adaptation confined to burn-in). The step size and mass matrix adapt over the
        burn-in sweeps before the trial.

    The estimate is the posterior median of :math:`N = n + n_0`; the interval is the
    equal-tailed posterior interval. R-hat (rank-normalised, split) and bulk/tail ESS of
    N, :math:`k^*` (occupied classes) and :math:`\alpha` come from ArviZ.

    The model needs at least three lists: with two, the latent classes cannot be told
    apart from the data (:class:`~undercount.errors.NotIdentifiableError`).

    References
    ----------
    Manrique-Vallier, D. (2016). Bayesian population size estimation using Dirichlet process
    mixtures. *Biometrics* 72:1246-1254. doi:10.1111/biom.12502
    Manrique-Vallier, D. (2023). LCMCR: Bayesian non-parametric latent-class
    capture-recapture. R package version 0.4.14.
    Neal, R. M. (2011). MCMC using Hamiltonian dynamics. In *Handbook of Markov Chain Monte
    Carlo*, ch. 5. Chapman & Hall/CRC. doi:10.1201/b10905-6
    Hoffman, M. D. and Gelman, A. (2014). The No-U-Turn sampler: adaptively setting path
    lengths in Hamiltonian Monte Carlo. *JMLR* 15:1593-1623.
    Papaspiliopoulos, O. and Roberts, G. O. (2008). Retrospective Markov chain Monte Carlo
    methods for Dirichlet process hierarchical models. *Biometrika* 95:169-186.
    doi:10.1093/biomet/asm086
    van Dyk, D. A. and Park, T. (2008). Partially collapsed Gibbs samplers: theory and
    methods. *JASA* 103:790-796. doi:10.1198/016214508000000409
    Vehtari, A., Gelman, A., Simpson, D., Carpenter, B. and Bürkner, P.-C. (2021).
    Rank-normalization, folding, and localization: an improved R-hat for assessing
    convergence of MCMC. *Bayesian Analysis* 16:667-718. doi:10.1214/20-BA1221
    """

    method: ClassVar[str] = "lcm"
    stochastic: ClassVar[bool] = True

    max_classes: Annotated[int, AtLeast(2)] = 10
    alpha_prior: tuple[float, float] = (0.25, 0.25)
    chains: Annotated[int, AtLeast(1)] = 4
    iterations: Annotated[int, AtLeast(1)] = 100_000
    burn_in: Annotated[int, AtLeast(0)] = 10_000
    thin: Annotated[int, AtLeast(1)] = 10
    max_n: Annotated[int, AtLeast(1)] | None = None
    list_priors: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None
    collapsed_moves: Annotated[int, AtLeast(0)] = 1
    label_swaps: bool = True
    hmc_steps: Annotated[int, AtLeast(0)] = 12
    adaptive_hmc: bool = True
    level: Annotated[float, Open(0, 1)] = 0.95
    n_jobs: Annotated[int, AtLeast(1)] | None = None
    pattern_probs: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.iterations // self.thin < 1:
            raise ConfigError(
                f"LatentClassEstimator: iterations={self.iterations} with thin={self.thin} "
                "keeps no draws"
            )
        _pair("alpha_prior", self.alpha_prior)
        if self.list_priors is not None and not isinstance(self.list_priors, Mapping):
            _pair("list_priors", self.list_priors)
        elif isinstance(self.list_priors, Mapping):
            for name, prior in self.list_priors.items():
                _pair(f"list_priors[{name!r}]", prior)

    # ------------------------------------------------------------------ fitting
    def _fit(self, table: CaptureTable, *, rng: np.random.Generator | None) -> MSEResult:
        assert rng is not None  # Estimator.fit enforces it for stochastic families
        x, counts = _cells(table)
        n = int(counts.sum())
        _check_table(table, x, counts)
        if self.max_n is not None and self.max_n < n:
            raise ConfigError(f"max_n={self.max_n} is below the {n} people observed")
        prior_a, prior_b = self._lambda_priors(table)
        a_alpha, b_alpha = (float(v) for v in self.alpha_prior)
        kk = int(self.max_classes)
        n_keep = self.iterations // self.thin
        n_warmup = min(500, self.burn_in)
        max_n0 = -1 if self.max_n is None else int(self.max_n) - n

        chain_rngs = rng.spawn(self.chains)
        inits = [_initial_values(g, x, counts, kk) for g in chain_rngs]

        def run(c: int) -> ChainOutput:
            lam0, log_nu0, alpha0, n00 = inits[c]
            return run_chain(
                chain_rngs[c], x, counts, a_alpha, b_alpha, prior_a, prior_b, max_n0,
                n_warmup, self.burn_in, n_keep, self.thin, lam0, log_nu0, alpha0, n00,
                self.collapsed_moves, True, self.label_swaps, self.hmc_steps,
                self.pattern_probs, self.adaptive_hmc,
            )

        workers = min(self.chains, self.n_jobs or available_cores())
        if workers <= 1:
            outs = [run(c) for c in range(self.chains)]
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                outs = list(pool.map(run, range(self.chains)))

        statuses = [int(o.status) for o in outs]
        if any(s == STATUS_DIVERGED for s in statuses):
            raise EstimationError(
                "lcm: the sampler's draws of N ran off towards infinity (the probability of "
                "being on no list approached 1). The data do not bound N under this model "
                "and prior; set max_n to bound it explicitly, or use an informative "
                "list_priors."
            )
        if any(s != STATUS_OK for s in statuses):
            raise EstimationError(
                "lcm: numerical failure (every latent class gave an observed pattern "
                "probability 0); check list_priors"
            )

        n0 = np.stack([o.n0 for o in outs])
        alpha = np.stack([o.alpha for o in outs])
        k_star = np.stack([o.k_star for o in outs])
        p0 = np.stack([o.p0 for o in outs])
        capped = np.stack([o.capped for o in outs])
        n_capped = int(sum(int(o.n_capped) for o in outs))
        moves_accepted = int(sum(int(o.collapsed_accepted) for o in outs))
        moves_proposed = int(sum(int(o.collapsed_proposed) for o in outs))
        hmc_accepted = int(sum(int(o.hmc_accepted) for o in outs))
        hmc_proposed = int(sum(int(o.hmc_proposed) for o in outs))
        hmc_step = [float(o.hmc_step) for o in outs]
        big_n = n + n0

        draws = make_draws(
            posterior={"N": big_n, "n0": n0, "alpha": alpha, "k_star": k_star},
            sample_stats={"p_unobserved": p0, "hit_max_n": capped},
            observed_data={"counts": counts},
            constant_data={
                "max_classes": kk,
                "alpha_prior_shape": a_alpha,
                "alpha_prior_rate": b_alpha,
                "lambda_prior_a": prior_a,
                "lambda_prior_b": prior_b,
                "max_n": -1 if self.max_n is None else int(self.max_n),
                "n_observed": n,
            },
            coords={"cell": [pattern_string(r) for r in x], "list": list(table.lists)},
            dims={"counts": ["cell"], "lambda_prior_a": ["list"], "lambda_prior_b": ["list"]},
            attrs={
                "method": self.method,
                "model": "LCMCR (Manrique-Vallier 2016)",
                "chains": self.chains,
                "burn_in": self.burn_in,
                "thin": self.thin,
                "iterations": self.iterations,
                "collapsed_moves": self.collapsed_moves,
                "label_swaps": int(self.label_swaps),
                "hmc_steps": self.hmc_steps if hmc_proposed else 0,
            },
        )
        diag = _convergence(draws)
        diagnostics = _diagnostics(diag, self.chains)
        if hmc_proposed and self.burn_in - n_warmup < _HMC_MIN_ADAPT:
            diagnostics.append(
                Diagnostic(
                    "hmc_unadapted",
                    f"lcm: burn_in={self.burn_in:,} leaves {max(self.burn_in - n_warmup, 0)} "
                    f"sweeps after the {n_warmup}-sweep warm-up to adapt the HMC move's step "
                    "size and mass matrix; it ran mostly unadapted (still a valid sampler, "
                    "but mixing may be slower: use burn_in >= 2,000)",
                    "info",
                )
            )
        if self.max_n is not None and self.hmc_steps > 0:
            diagnostics.append(
                Diagnostic(
                    "hmc_off",
                    "lcm: the HMC move on the inclusion probabilities and class weights is "
                    "derived for the unbounded prior on N, so with max_n set the sampler "
                    "runs without it (slower mixing; check R-hat and ESS)",
                    "info",
                )
            )
        if self.max_n is not None:
            total_iter = self.chains * self.iterations
            sev = "warning" if n_capped > 0 else "info"
            diagnostics.append(
                Diagnostic(
                    "max_n",
                    f"max_n={self.max_n:,} truncated the draw of N in {n_capped:,} of "
                    f"{total_iter:,} post-burn-in iterations "
                    f"({int(capped.sum()):,} of {capped.size:,} kept draws)"
                    + ("; the bound shapes the posterior" if n_capped else ""),
                    sev,
                )
            )

        flat = big_n.ravel().astype(float)
        tail = (1.0 - self.level) / 2.0
        lower, median, upper = np.quantile(flat, [tail, 0.5, 1.0 - tail])
        az = import_arviz()
        mcse_median = float(
            az.mcse(draws, var_names=["N"], method="quantile", prob=0.5)["N"].item()
        )
        qs = np.quantile(flat, _SUMMARY_PROBS)
        draws_summary: dict[str, Any] = {f"q{p * 100:g}": float(q) for p, q in
                                         zip(_SUMMARY_PROBS, qs, strict=True)}
        draws_summary.update(
            {
                "sd": float(flat.std(ddof=1)) if flat.size > 1 else math.nan,
                "mcse_median": mcse_median,
                "n_draws": int(flat.size),
                "k_star_mean": float(k_star.mean()),
                "alpha_median": float(np.median(alpha)),
            }
        )
        interval = Interval(float(lower), float(upper), self.level, "posterior quantiles")
        hmc = None
        if self.hmc_steps > 0 and self.max_n is None:
            tried = [o for o in outs if not math.isnan(o.tau_hmc)]
            hmc = {
                "leapfrog_steps": self.hmc_steps,
                "step_size": hmc_step,
                "proposed": hmc_proposed,
                "acceptance": hmc_accepted / hmc_proposed if hmc_proposed else None,
                "chains_using": int(sum(bool(o.hmc_used) for o in outs)),
            }
            if tried:
                # Integrated autocorrelation times of log n0 in the burn-in trial, per chain.
                hmc["trial_tau"] = [
                    {"with": float(o.tau_hmc), "without": float(o.tau_plain)} for o in tried
                ]
        collapsed = None
        if self.collapsed_moves > 0:
            collapsed = {
                "per_class_per_sweep": self.collapsed_moves,
                "proposed": moves_proposed,
                "acceptance": moves_accepted / moves_proposed if moves_proposed else math.nan,
            }
        model = f"LCMCR K={kk}"
        record = ModelRecord(
            model=model,
            estimate=float(median),
            interval=interval,
            status="ok",
            extra={"mean": float(flat.mean())},
        )
        return LatentClassResult(
            method=self.method,
            model=model,
            estimate=float(median),
            interval=interval,
            n_observed=n,
            lists=table.lists,
            models=(record,),
            diagnostics=tuple(diagnostics),
            settings=self.get_params(),
            assumptions=_ASSUMPTIONS,
            draws=draws,
            mean=float(flat.mean()),
            rhat=diag["N"]["rhat"],
            ess={"bulk": diag["N"]["ess_bulk"], "tail": diag["N"]["ess_tail"]},
            convergence=diag,
            draws_summary=draws_summary,
            n_capped=n_capped if self.max_n is not None else None,
            hmc=hmc,
            collapsed_moves=collapsed,
            pattern_log_probs=(np.concatenate([o.pattern_logp for o in outs])
                               if self.pattern_probs else None),
            pattern_codes=table.codes()[table.counts > 0] if self.pattern_probs else None,
        )

    def _lambda_priors(self, table: CaptureTable) -> tuple[np.ndarray, np.ndarray]:
        jj = table.n_lists
        a = np.ones(jj)
        b = np.ones(jj)
        lp = self.list_priors
        if lp is None:
            return a, b
        if not isinstance(lp, Mapping):
            pa, pb = _pair("list_priors", lp)
            return np.full(jj, pa), np.full(jj, pb)
        unknown = sorted(set(lp) - set(table.lists))
        if unknown:
            raise ConfigError(
                f"list_priors names list(s) {unknown} not in the table; lists are "
                f"{list(table.lists)}"
            )
        for j, name in enumerate(table.lists):
            if name in lp:
                a[j], b[j] = _pair(f"list_priors[{name!r}]", lp[name])
        return a, b


# ---------------------------------------------------------------------- helpers
def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}={value!r}: need a pair of positive numbers") from None
    if not (a > 0.0 and b > 0.0 and math.isfinite(a) and math.isfinite(b)):
        raise ConfigError(f"{name}={value!r}: need a pair of positive finite numbers")
    return a, b


def _cells(table: CaptureTable) -> tuple[np.ndarray, np.ndarray]:
    keep = table.counts > 0
    x = np.ascontiguousarray(table.patterns[keep], dtype=np.uint8)
    counts = np.ascontiguousarray(table.counts[keep], dtype=np.int64)
    return x, counts


def _check_table(table: CaptureTable, x: np.ndarray, counts: np.ndarray) -> None:
    jj = table.n_lists
    if jj < 3:
        raise NotIdentifiableError(
            f"lcm needs at least 3 lists, the table has {jj}: with two lists the latent "
            "classes (and so N) are not identifiable from the data"
        )
    if x.shape[0] < 2:
        only = pattern_string(x[0]) if x.shape[0] else "none"
        raise NotIdentifiableError(
            f"lcm: the table has a single observed capture pattern ({only}); without "
            "overlaps between lists nothing in the data bounds the number unobserved"
        )
    overlap = (x.sum(axis=1) >= 2) & (counts > 0)
    if not overlap.any():
        raise NotIdentifiableError(
            "lcm: no one is on more than one list; without overlaps between lists nothing "
            "in the data bounds the number unobserved"
        )


def _initial_values(
    g: np.random.Generator, x: np.ndarray, counts: np.ndarray, kk: int
) -> tuple[np.ndarray, np.ndarray, float, int]:
    """Dispersed starting values for one chain.

    Inclusion probabilities scatter around each list's observed coverage (Beta with
    concentration 5), class weights are a stick-breaking draw with alpha = 1, the
    concentration starts within a factor e of LCMCR's warm-up value 0.3 / K, and n0
    between a quarter of n and three times n.
    """
    n = int(counts.sum())
    cover = (x.astype(float) * counts[:, None]).sum(axis=0) / n
    cover = np.clip(cover, 0.02, 0.98)
    conc = 5.0
    lam = g.beta(conc * cover[:, None], conc * (1.0 - cover[:, None]), size=(x.shape[1], kk))
    lam = np.clip(lam, 1e-3, 1.0 - 1e-3)
    v = g.beta(1.0, 1.0, size=kk - 1)
    log_nu = np.empty(kk)
    acc = 0.0
    for k in range(kk - 1):
        log_nu[k] = math.log(v[k]) + acc if v[k] > 0 else -745.0 + acc
        acc += math.log1p(-v[k]) if v[k] < 1 else -745.0
    log_nu[kk - 1] = acc
    alpha = 0.3 / kk * math.exp(g.uniform(-1.0, 1.0))
    n0 = round(n * g.uniform(0.25, 3.0))
    return np.ascontiguousarray(lam), log_nu, alpha, n0


def _convergence(draws: Any) -> dict[str, dict[str, float]]:
    """R-hat and bulk/tail ESS of N, k_star and alpha (ArviZ)."""
    az = import_arviz()
    out: dict[str, dict[str, float]] = {}
    names = ["N", "k_star", "alpha"]
    with np.errstate(invalid="ignore", divide="ignore"):
        rhat = az.rhat(draws, var_names=names)
        bulk = az.ess(draws, var_names=names, method="bulk")
        tail = az.ess(draws, var_names=names, method="tail")
    for v in names:
        out[v] = {
            "rhat": float(rhat[v].item()),
            "ess_bulk": float(bulk[v].item()),
            "ess_tail": float(tail[v].item()),
        }
    return out


def _diagnostics(diag: dict[str, dict[str, float]], n_chains: int) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    r_n = diag["N"]["rhat"]
    for v, d in diag.items():
        r, eb = d["rhat"], d["ess_bulk"]
        # alpha and k_star depend on how the classes are ordered along the stick, which
        # the Gibbs sampler changes slowly; say so, with N's own R-hat beside them.
        aside = "" if v == "N" else f" ({v} is a nuisance parameter; R-hat of N is {r_n:.3f})"
        constant = not math.isfinite(r) and v == "k_star"
        if constant:
            # k_star can be the same in every draw; R-hat is then undefined, not a problem.
            continue
        if n_chains > 1 and not (r <= _RHAT_MAX):
            out.append(
                Diagnostic(
                    "rhat",
                    f"lcm: R-hat of {v} is {r:.3f} (> {_RHAT_MAX}); the chains disagree{aside}. "
                    "Run longer (iterations, burn_in) before trusting the estimate.",
                )
            )
        if not (eb >= _ESS_MIN):
            out.append(
                Diagnostic(
                    "ess",
                    f"lcm: bulk effective sample size of {v} is {eb:.0f} (< {_ESS_MIN:.0f})"
                    f"{aside}; posterior quantiles are imprecise. Run longer (iterations).",
                )
            )
    if n_chains == 1:
        out.append(
            Diagnostic(
                "single_chain",
                "lcm: one chain only; R-hat compares halves of it and cannot detect a chain "
                "stuck in one mode. Use chains >= 2.",
                "info",
            )
        )
    return out
