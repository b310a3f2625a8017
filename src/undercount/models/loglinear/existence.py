"""Does the maximum-likelihood estimate of a log-linear model exist, and is it identifiable?

Every model is checked *before* it is fitted or compared, with the codes of SparseMSE's
``checkident`` (Chan, Silverman & Vincent 2021): 0 = fine, 1 = the MLE does not exist,
2 = the parameters are not identifiable, 3 = both.

Existence (Fienberg & Rinaldo 2012)
-----------------------------------
For Poisson counts ``y`` on the observable cells with design ``X`` (intercept first), the
MLE of ``beta`` exists if and only if the observed margins ``t = X'y`` lie in the relative
interior of the marginal cone ``{X'x : x >= 0}``, i.e. if and only if some *strictly
positive* table has the same margins:

.. math:: \\exists\\, x > 0 : X^\\top x = X^\\top y .

:func:`fienberg_rinaldo_lp` decides this with the linear program of Fienberg & Rinaldo
(2012, p. 3, as corrected in SparseMSE)

.. math:: \\max\\; s \\quad \\text{s.t.}\\quad X^\\top x = X^\\top y,\\; x_i \\ge s,\\; x \\ge 0,

whose optimum is positive exactly when the MLE exists (solved with HiGHS through
``scipy.optimize.linprog``).

The fast path used in model selection reduces the same question to the zero cells ``Z``.
Write ``P`` for the positive cells and ``B`` for a basis of the null space of ``X_P``.
Substituting ``x = y + d`` with ``X'd = 0``, a positive ``x`` exists iff some ``d`` with
``d_Z > 0`` lies in the null space of ``X'``, i.e. (Stiemke's lemma) iff there is
``w > 0`` with ``M'w = 0`` where ``M = X_Z B``. Hence:

* no zero cells, or ``X_P`` of full column rank: the MLE exists (no LP needed);
* ``M'`` has a trivial null space: the MLE does not exist;
* the null space of ``M'`` is one-dimensional: it exists iff the spanning vector has all
  entries of one strict sign;
* otherwise a small LP in ``w`` decides.

When the MLE does not exist, the fitted values of some zero cells go to 0 along a direction
``d = Xb`` with ``d_P = 0`` and ``d_Z <= 0``; those cells (the complement of the *facial
set*) are the cells :func:`boundary_cells` reports.

Identifiability
---------------
Code 2 is raised when the design restricted to the cells used in the fit (after removing
cells of structurally-zero interactions, see below) is not of full column rank.

Lists that never overlap
------------------------
If a term of the model has a zero observed margin (two lists with no case in common, say),
its extended MLE is minus infinity. Following Chan, Silverman & Vincent (2021) and
MultipleSystemsEstimation's ``check_extended_MLE``, such terms (and any term containing
them) are fixed at minus infinity: the cells containing them are removed, the terms are
dropped from the design, and the check is carried out on what is left.

References
----------
.. [1] Fienberg, S. E. and Rinaldo, A. (2012). Maximum likelihood estimation in log-linear
   models. Annals of Statistics 40:996-1023. doi:10.1214/12-AOS986
.. [2] Chan, L., Silverman, B. W. and Vincent, K. (2021). Multiple systems estimation for
   sparse capture data: inferential challenges when there are nonoverlapping lists.
   Journal of the American Statistical Association 116:1297-1310.
   doi:10.1080/01621459.2019.1708748
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from undercount.models.loglinear._fast import kernels

__all__ = [
    "ExistenceCheck",
    "boundary_cells",
    "check_existence",
    "fienberg_rinaldo_lp",
]

_RANK_RTOL = 1e-9


@dataclass(frozen=True)
class ExistenceCheck:
    """Outcome of the existence and identifiability checks (SparseMSE ``checkident`` codes).

    ``code``: 0 ok, 1 the MLE does not exist, 2 not identifiable, 3 both.
    ``rank_deficiency``: number of design columns that are linear combinations of others.
    ``method``: how existence was decided (``"all cells positive"``, ``"rank"``, ``"sign"``,
    ``"lp"``).
    """

    code: int
    rank_deficiency: int
    method: str

    @property
    def exists(self) -> bool:
        return not self.code & 1

    @property
    def identifiable(self) -> bool:
        return not self.code & 2


def _rank_and_null(A: np.ndarray) -> tuple[int, np.ndarray]:
    """Rank of ``A`` and an orthonormal basis (columns) of its null space."""
    if A.shape[0] == 0:
        return 0, np.eye(A.shape[1])
    _, s, vt = np.linalg.svd(A, full_matrices=True)
    tol = _RANK_RTOL * max(A.shape) * (s[0] if s.size else 0.0)
    r = int(np.sum(s > tol))
    return r, vt[r:].T


def fienberg_rinaldo_lp(X: np.ndarray, y: np.ndarray) -> float:
    """Optimum ``s*`` of the Fienberg-Rinaldo LP; the MLE exists iff ``s* > 0``.

    ``max s`` subject to ``X'x = X'y``, ``x_i - s >= 0``, ``x >= 0`` (SparseMSE's
    ``checkident`` formulation, solved with HiGHS). The value is bounded because the
    intercept column fixes ``sum(x) = n``.
    """
    from scipy.optimize import linprog  # ~0.13 s to import; most checks never get here

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    m, _ = X.shape
    c = np.zeros(m + 1)
    c[-1] = -1.0
    A_eq = np.hstack([X.T, np.zeros((X.shape[1], 1))])
    b_eq = X.T @ y
    A_ub = np.hstack([-np.eye(m), np.ones((m, 1))])
    b_ub = np.zeros(m)
    res = linprog(
        c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
        bounds=[(0, None)] * (m + 1), method="highs",
    )
    if res.status != 0:
        return 0.0
    return float(-res.fun)


def _lp_positive_null(M: np.ndarray) -> bool:
    """Is there ``w > 0`` with ``M'w = 0``? (max s: M'w = 0, sum w = 1, w >= s)."""
    from scipy.optimize import linprog

    z = M.shape[0]
    c = np.zeros(z + 1)
    c[-1] = -1.0
    A_eq = np.vstack([
        np.hstack([M.T, np.zeros((M.shape[1], 1))]),
        np.hstack([np.ones((1, z)), np.zeros((1, 1))]),
    ])
    b_eq = np.zeros(M.shape[1] + 1)
    b_eq[-1] = 1.0
    A_ub = np.hstack([-np.eye(z), np.ones((z, 1))])
    res = linprog(
        c, A_ub=A_ub, b_ub=np.zeros(z), A_eq=A_eq, b_eq=b_eq,
        bounds=[(0, None)] * z + [(None, None)], method="highs",
    )
    return res.status == 0 and -res.fun > 1e-9 / z


def check_existence(
    X: np.ndarray,
    y: np.ndarray,
    *,
    all_cells: bool = False,
    column_rank: Callable[[np.ndarray, float], int] | None = None,
) -> ExistenceCheck:
    """Existence of the MLE and identifiability for design ``X`` and counts ``y``.

    ``X`` and ``y`` cover the cells used in the fit (all observable cells, zero counts
    included, minus any removed for structurally-zero interactions). See the module
    docstring for the mathematics.

    ``all_cells=True`` declares that ``X`` is the intercept and distinct terms, not all
    ``2^J`` of them, on all ``2^J - 1`` observable cells (no cell removed). Such a design
    has full column rank: it is a set of columns of the zeta matrix ``Z[c, t] = [t in c]``
    of the subsets of the J lists without its row ``c = {}``, whose null space is spanned by
    ``Z^{-1} e_{} = ((-1)^{|t|})_t``, a vector with no zero entry, so no proper subset of
    the columns is dependent. If moreover every count is positive, ``y`` itself is a strictly
    positive table with the observed margins, so the margins lie in the relative interior of
    the marginal cone and the MLE exists (Haberman 1974; Fienberg & Rinaldo 2012; the
    criterion of the module docstring), and the check needs no arithmetic at all. The LP
    gives the same verdict (``tests/models/loglinear/test_loglinear_engines.py``).

    ``column_rank``: the rank kernel to use (:func:`._fast.column_rank` compiled, unless the
    caller holds the plain one, see :func:`._fast.kernels`).

    References
    ----------
    Haberman, S. J. (1974). The Analysis of Frequency Data, ch. 2. University of Chicago
    Press. Fienberg, S. E. and Rinaldo, A. (2012), Ann. Statist. 40:996-1023.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    p = X.shape[1]
    pos = y > 0
    if pos.all() and all_cells and p <= X.shape[0]:
        return ExistenceCheck(0, 0, "all cells positive")
    if column_rank is None:
        column_rank = kernels("compiled").column_rank
    if pos.all():
        deficiency = p - column_rank(X, 1e-8)
        return ExistenceCheck(2 * (deficiency > 0), deficiency, "all cells positive")
    XP = np.ascontiguousarray(X[pos])
    if column_rank(XP, 1e-8) == p:
        return ExistenceCheck(0, 0, "rank")
    _, B = _rank_and_null(XP)
    r = column_rank(X, 1e-8)
    deficiency = p - r
    if deficiency > 0:
        # Rare: decide existence on the full LP, as SparseMSE does.
        exists = fienberg_rinaldo_lp(X, y) > 1e-9
        return ExistenceCheck(int(not exists) + 2, deficiency, "lp")
    M = X[~pos] @ B
    _, C = _rank_and_null(M.T)
    if C.shape[1] == 0:
        return ExistenceCheck(1, 0, "rank")
    if C.shape[1] == 1:
        u = C[:, 0]
        u = u / np.abs(u).max()
        ok = bool(np.all(u > 1e-10) or np.all(u < -1e-10))
        return ExistenceCheck(int(not ok), 0, "sign")
    return ExistenceCheck(int(not _lp_positive_null(M)), 0, "lp")


def boundary_cells(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices (rows of ``X``) of the zero cells whose fitted values are forced to 0.

    These are the cells outside the facial set of Fienberg & Rinaldo (2012): the union of
    the supports of all directions ``d = Xb`` with ``d = 0`` on positive cells and
    ``d <= 0`` on zero cells. Empty when the MLE exists. Found by repeated LPs
    ``min sum_{i in S} d_i`` over ``-1 <= d_Z <= 0``, each adding the cells it reaches.
    """
    from scipy.optimize import linprog

    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    pos = y > 0
    zero_idx = np.flatnonzero(~pos)
    if zero_idx.size == 0:
        return zero_idx
    _, B = _rank_and_null(X[pos])
    if B.shape[1] == 0:
        return zero_idx[:0]
    M = X[~pos] @ B
    found = np.zeros(zero_idx.size, dtype=bool)
    for _ in range(zero_idx.size):
        obj = (~found).astype(float) @ M
        res = linprog(
            obj, A_ub=np.vstack([M, -M]),
            b_ub=np.concatenate([np.zeros(len(M)), np.ones(len(M))]),
            bounds=[(None, None)] * M.shape[1], method="highs",
        )
        if res.status != 0:
            break
        d = M @ res.x
        new = (d < -1e-8) & ~found
        if not new.any():
            break
        found |= new
    return zero_idx[found]
