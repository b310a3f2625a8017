r"""Marginal likelihoods of completed tables under hyper-Dirichlet priors (Madigan & York 1997).

Complete the observed table with ``m`` people on no list, so ``N = n + m``. Under a
decomposable graph ``g`` with cliques :math:`\mathcal C` and separators :math:`\mathcal S`, the
hyper-Dirichlet prior makes the marginal likelihood of the complete table factorise into
clique terms divided by separator terms,

.. math::

    p(\mathbf y \mid g, N) = \frac{\prod_{C \in \mathcal C} \mathrm{DM}(\mathbf y_C)}
                                  {\prod_{S \in \mathcal S} \mathrm{DM}(\mathbf y_S)},
    \qquad
    \mathrm{DM}(\mathbf y_S) = \frac{\Gamma(A)}{\Gamma(N + A)}
        \prod_{c \in \{0,1\}^{|S|}} \frac{\Gamma(y_{S,c} + a_S)}{\Gamma(a_S)},

where :math:`\mathbf y_S` is the :math:`2^{|S|}`-cell margin of the complete table on the lists
in S, :math:`A = 2^J\delta` the prior's total mass and :math:`a_S = \delta\,2^{J-|S|}` (each
margin cell receives the prior mass of the :math:`2^{J-|S|}` full cells it aggregates, as in
dga's ``MakeCompMatrix``). The margin's all-zero cell holds the :math:`c_{0,S}` observed people
who are on none of the lists in S, plus the ``m`` unobserved. The empty set's term is 1.

Every term depends on the data only through its subset S, so the :math:`2^J` per-subset terms
are computed once per value of m and each graph's log marginal likelihood is a signed sum of
them (:func:`~undercount.models.graphical.graphs.coefficient_matrix`). The joint posterior
over (g, m) multiplies by the multinomial coefficient for choosing which N people fall in
which cell, :math:`N! / (m! \prod_c y_c!)`, and by the prior on N.

For large m each graph's unnormalised posterior is a ratio of equally many gamma functions
of m, so it decays like :math:`m^{e_g}` with

.. math::

    e_g = \sum_{C} u_C - \sum_{S} u_S + n + \pi, \qquad u_S = c_{0,S} + a_S - n - A,

where :math:`\pi = -1` for the prior :math:`\propto 1/N` (a geometric factor makes the
negative-binomial prior's tail decay faster than any power). This exponent drives the
conservative tail bound of the N grid.

References
----------
.. [1] Madigan, D. and York, J. C. (1997). Bayesian methods for estimation of the size of a
   closed population. *Biometrika* 84:19-31. https://doi.org/10.1093/biomet/84.1.19
.. [2] Dawid, A. P. and Lauritzen, S. L. (1993). Hyper Markov laws in the statistical
   analysis of decomposable graphical models. *Annals of Statistics* 21:1272-1317.
   https://doi.org/10.1214/aos/1176349260
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

__all__ = ["LogPrior", "SubsetTerms", "inverse_log_prior", "negbin_log_prior"]

#: A log prior on N: called with a float64 array of N values, returns an array of log weights
#: (up to a constant).
LogPrior = Callable[[np.ndarray], np.ndarray]


def inverse_log_prior(n_total: np.ndarray) -> np.ndarray:
    r"""dga's default prior, :math:`p(N) \propto 1/N`."""
    return -np.log(n_total)


def negbin_log_prior(a: float, b: float) -> LogPrior:
    r"""Negative-binomial prior on N, as in dga's test and Madigan & York's example.

    .. math::

        \log p(N) = N\log b - (N + a)\log(1 + b) + \log\Gamma(N + a) - \log\Gamma(N + 1)
                    - \log\Gamma(a),

    a negative binomial with size ``a`` and mean ``a b`` (Madigan & York use a = 13.14,
    b = 55.17 for the spina bifida example).
    """
    la, lb, l1b = gammaln(a), np.log(b), np.log1p(b)

    def log_prior(n_total: np.ndarray) -> np.ndarray:
        n_total = np.asarray(n_total, dtype=float)
        return n_total * lb - (n_total + a) * l1b + gammaln(n_total + a) - gammaln(n_total + 1) - la

    return log_prior


@dataclass(frozen=True)
class SubsetTerms:
    """The per-subset pieces of the log marginal likelihood for one table and one delta.

    Attributes
    ----------
    n_lists : int
    n_observed : int
    delta : float
    zero_count : ndarray, shape (2^J,)
        :math:`c_{0,S}`: observed people on none of the lists in subset S (S = bitmask).
    alpha : ndarray, shape (2^J,)
        :math:`a_S = \\delta 2^{J-|S|}`.
    constant : ndarray, shape (2^J,)
        The part of log DM(y_S) that does not depend on m (0 for the empty set).
    log_factorials : float
        :math:`\\sum_c \\log y_c!` over the observed cells.
    """

    n_lists: int
    n_observed: int
    delta: float
    zero_count: np.ndarray
    alpha: np.ndarray
    constant: np.ndarray
    log_factorials: float

    @classmethod
    def from_counts(cls, full_counts: np.ndarray, delta: float) -> SubsetTerms:
        """Build from :meth:`CaptureTable.full_counts` (cell 0 is ignored)."""
        y = np.asarray(full_counts, dtype=np.int64).copy()
        n_cells = y.size
        n_lists = n_cells.bit_length() - 1
        y[0] = 0
        n = int(y.sum())
        total = delta * n_cells
        codes = np.arange(n_cells)
        zero_count = np.zeros(n_cells)
        alpha = np.zeros(n_cells)
        constant = np.zeros(n_cells)
        for s in range(1, n_cells):
            size = s.bit_count()
            a = delta * 2.0 ** (n_lists - size)
            margin = np.bincount(codes & s, weights=y, minlength=n_cells)[_margin_cells(s, n_cells)]
            # margin[0] is the all-zero margin cell; its m-dependent Gamma is added per m.
            zero_count[s] = margin[0]
            alpha[s] = a
            constant[s] = (
                gammaln(total) + np.sum(gammaln(margin[1:] + a)) - margin.size * gammaln(a)
            )
        for arr in (zero_count, alpha, constant):
            arr.setflags(write=False)
        return cls(
            n_lists=n_lists,
            n_observed=n,
            delta=float(delta),
            zero_count=zero_count,
            alpha=alpha,
            constant=constant,
            log_factorials=float(np.sum(gammaln(y[1:] + 1.0))),
        )

    @property
    def total_mass(self) -> float:
        return self.delta * (1 << self.n_lists)

    def terms(self, m: np.ndarray, subsets: np.ndarray | None = None) -> np.ndarray:
        """log DM(y_S) for each subset S (rows; all 2^J by default) and each m (columns).

        The empty set's row is zero.
        """
        m = np.asarray(m, dtype=float)
        s = np.arange(self.constant.size) if subsets is None else np.asarray(subsets)
        out = self.constant[s, None] + gammaln(
            m[None, :] + (self.zero_count[s] + self.alpha[s])[:, None]
        )
        out -= gammaln(m + self.n_observed + self.total_mass)[None, :]
        out[s == 0] = 0.0
        return out

    def log_multinomial(self, m: np.ndarray) -> np.ndarray:
        """log N!/(m! prod_c y_c!) for N = n + m."""
        m = np.asarray(m, dtype=float)
        return gammaln(m + self.n_observed + 1.0) - gammaln(m + 1.0) - self.log_factorials

    def tail_exponent_terms(self) -> np.ndarray:
        """u_S = c_{0,S} + a_S - n - A (0 for the empty set): see the module notes."""
        u = self.zero_count + self.alpha - self.n_observed - self.total_mass
        u[0] = 0.0
        return u


def _margin_cells(s: int, n_cells: int) -> np.ndarray:
    """Cell codes of the full table that are exactly the cells of margin s (code & s == code)."""
    codes = np.arange(n_cells)
    return codes[(codes & s) == codes]
