"""Forward stepwise selection for the bootstrap's point estimate, compiled.

:func:`stepwise_point` runs the whole forward stepwise search of
:func:`undercount.models.loglinear.select.stepwise` for the point estimate alone, in one
compiled call per bootstrap replicate, with the Newton iterations and rank tests of
:mod:`undercount.models.loglinear._fast`; see there. It is a module of its own because it
loads scipy's compiled special functions (``cython_special``, ~0.2 s), which only the
bootstrap needs.
"""

from __future__ import annotations

import math

import llvmlite.binding as _llvm
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

from undercount.models.loglinear._fast import compiled

# The compiled kernels, as globals of the compiled search below.
_kernels = compiled()
_information = _kernels._information
_newton = _kernels._newton
_positive_definite = _kernels._positive_definite
column_rank = _kernels.column_rank

__all__ = ["STEP_FALLBACK", "STEP_OK", "stepwise_point"]

# --------------------------------------------------------------------------------------
# Stepwise selection for the bootstrap's point estimate
#
# The p-values must be exactly those of ``scipy.special.pdtr`` / ``pdtrc`` so that the
# compiled search ranks candidates (and breaks ties) exactly as :func:`.select.stepwise`
# does. The compiled kernel therefore calls scipy's own C implementations through their
# ``cython_special`` entry points, registered as named external symbols (not raw
# addresses) so that the kernel can be cached on disk.
_llvm.add_symbol(
    "undercount_pdtr", get_cython_function_address("scipy.special.cython_special", "pdtr")
)
_llvm.add_symbol(
    "undercount_pdtrc", get_cython_function_address("scipy.special.cython_special", "pdtrc")
)
_pdtr = types.ExternalFunction("undercount_pdtr", types.float64(types.float64, types.float64))
_pdtrc = types.ExternalFunction("undercount_pdtrc", types.float64(types.float64, types.float64))

#: :func:`stepwise_point` status codes.
STEP_OK = 0
STEP_FALLBACK = 1

_CHECK_UNDECIDED = -1


@njit(cache=True)
def _layout(J: int, pairs: np.ndarray, pair_zero: np.ndarray, included: np.ndarray):
    """Estimated terms and kept cells of main effects plus the ``included`` pairs.

    Pairs with a zero observed margin are fixed at minus infinity: they leave the design
    and every cell containing them is removed (as ``LogLinearProblem._reduce``). Terms are
    in the column order of ``select.stepwise``'s models: main effects, then pairs in
    ``(1,2), (1,3), ...`` order.
    """
    n_inc = 0
    n_fix = 0
    for k in range(pairs.shape[0]):
        if included[k]:
            n_inc += 1
            if pair_zero[k]:
                n_fix += 1
    terms = np.empty(J + n_inc - n_fix, dtype=np.int64)
    fixed = np.empty(n_fix, dtype=np.int64)
    for j in range(J):
        terms[j] = 1 << (J - 1 - j)
    a = J
    b = 0
    for k in range(pairs.shape[0]):
        if included[k]:
            if pair_zero[k]:
                fixed[b] = pairs[k]
                b += 1
            else:
                terms[a] = pairs[k]
                a += 1
    n_cells = (1 << J) - 1
    mark = np.ones(n_cells, dtype=np.bool_)
    n_keep = n_cells
    for i in range(n_cells):
        c = i + 1
        for f in fixed:
            if c & f == f:
                mark[i] = False
                n_keep -= 1
                break
    keep = np.empty(n_keep, dtype=np.int64)
    a = 0
    for i in range(n_cells):
        if mark[i]:
            keep[a] = i
            a += 1
    return terms, keep


@njit(cache=True)
def _design(terms: np.ndarray, keep: np.ndarray) -> np.ndarray:
    X = np.empty((keep.shape[0], terms.shape[0] + 1))
    for r in range(keep.shape[0]):
        c = keep[r] + 1
        X[r, 0] = 1.0
        for k in range(terms.shape[0]):
            t = terms[k]
            X[r, k + 1] = 1.0 if c & t == t else 0.0
    return X


@njit(cache=True)
def _check(X: np.ndarray, y: np.ndarray) -> int:
    """``existence.check_existence`` where it needs no SVD or LP.

    0: the MLE exists and the design has full rank; 2: the design is rank deficient (code 2
    or 3 there; either way the model is not usable); ``_CHECK_UNDECIDED`` otherwise (the
    positive cells alone do not identify the model: the caller falls back).
    """
    m, p = X.shape
    n_pos = 0
    for i in range(m):
        if y[i] > 0:
            n_pos += 1
    if n_pos == m:
        return 0 if column_rank(X, 1e-8) == p else 2
    XP = np.empty((n_pos, p))
    r = 0
    for i in range(m):
        if y[i] > 0:
            XP[r, :] = X[i, :]
            r += 1
    if column_rank(XP, 1e-8) == p:
        return 0
    if column_rank(X, 1e-8) < p:
        return 2
    return _CHECK_UNDECIDED


@njit(cache=True)
def _fit_point(X: np.ndarray, y: np.ndarray, beta0: np.ndarray, warm: bool):
    """:func:`newton_poisson` without the covariance: ``(beta, mu, ok, certain)``.

    ``ok``: converged with finite coefficients (the reference's usable fit). ``certain`` is
    False when the final information matrix is not positive definite, where
    ``newton_poisson``'s inversion might raise: the caller must fall back.
    """
    beta, mu, _, conv, _ = _newton(X, y, beta0, warm, 1e-12, 200)
    ok = conv and np.all(np.isfinite(beta))
    return beta, mu, ok, _positive_definite(_information(X, mu))


@njit(cache=True)
def stepwise_point(y: np.ndarray, J: int, pthresh: float, exclude: bool):
    """N-hat of SparseMSE's forward stepwise selection on the observable cells ``y``.

    The same search as :func:`undercount.models.loglinear.select.stepwise` (see there for
    the algorithm), the same checks and the same Newton fits, without any records: the
    inner loop of the bootstrap. ``y`` holds the counts of codes ``1 .. 2^J - 1`` as floats.

    Returns ``(status, estimate)``. ``status`` is :data:`STEP_FALLBACK` whenever the answer
    needs what only the reference path does (an empty list, an existence question that needs
    an SVD or LP, an unusable main-effects model, a fit that raises, a non-finite p-value or
    estimate); the caller must then run :func:`select.stepwise`.
    """
    n_cells = y.shape[0]
    nan = math.nan
    # Observed margin of each term: people on all of its lists (subset sums).
    nstar = np.zeros(n_cells + 1)
    nstar[1:] = y
    for b in range(J):
        bit = 1 << b
        for c in range(n_cells + 1):
            if c & bit == 0:
                nstar[c] += nstar[c | bit]
    for b in range(J):
        if nstar[1 << b] == 0.0:
            return STEP_FALLBACK, nan  # an empty list: the reference path raises
    n = 0.0
    for i in range(n_cells):
        n += y[i]
    n_pairs = J * (J - 1) // 2
    pairs = np.empty(n_pairs, dtype=np.int64)
    k = 0
    for i in range(J):
        for j in range(i + 1, J):
            pairs[k] = (1 << (J - 1 - i)) | (1 << (J - 1 - j))
            k += 1
    pn = np.empty(n_pairs)
    pair_zero = np.zeros(n_pairs, dtype=np.bool_)
    for k in range(n_pairs):
        pn[k] = nstar[pairs[k]]
        pair_zero[k] = pn[k] == 0.0

    included = np.zeros(n_pairs, dtype=np.bool_)
    terms, keep = _layout(J, pairs, pair_zero, included)
    X = _design(terms, keep)
    yk = y[keep]
    if _check(X, yk) != 0:
        return STEP_FALLBACK, nan
    try:
        beta, mu, ok, certain = _fit_point(X, yk, np.zeros(X.shape[1]), False)
    except Exception:  # LinAlgError (singular information matrix): the caller decides
        return STEP_FALLBACK, nan
    if not ok or not certain:
        return STEP_FALLBACK, nan
    est = n + math.exp(beta[0])
    if not math.isfinite(est):
        return STEP_FALLBACK, nan
    if pthresh <= 0:
        return STEP_OK, est

    if pthresh >= 1:
        # SparseMSE's special case: the all-two-way model when it passes the check.
        full = np.ones(n_pairs, dtype=np.bool_)
        if exclude and np.any(pair_zero):
            pass  # excluded model: not usable, fall through to the search
        else:
            t_full, k_full = _layout(J, pairs, pair_zero, full)
            X_full = _design(t_full, k_full)
            y_full = y[k_full]
            code = _check(X_full, y_full)
            if code == _CHECK_UNDECIDED:
                return STEP_FALLBACK, nan
            if code == 0:
                try:
                    bf, _, okf, certain = _fit_point(
                        X_full, y_full, np.zeros(X_full.shape[1]), False
                    )
                except Exception:  # LinAlgError: the caller decides
                    return STEP_FALLBACK, nan
                # A failed fit is cached as such by the reference path and would shape the
                # search below; leave that rare case to it.
                if not okf or not certain:
                    return STEP_FALLBACK, nan
                est_full = n + math.exp(bf[0])
                if not math.isfinite(est_full):
                    return STEP_FALLBACK, nan
                return STEP_OK, est_full

    lam = np.empty(n_pairs)
    pval = np.empty(n_pairs)
    order = np.empty(n_pairs, dtype=np.int64)
    trial = np.empty(n_pairs, dtype=np.bool_)
    pair_cells = np.empty((n_cells, n_pairs))
    for i in range(n_cells):
        for k in range(n_pairs):
            pair_cells[i, k] = 1.0 if (i + 1) & pairs[k] == pairs[k] else 0.0
    for _ in range(n_pairs):
        # Expected margin of each pair under the current fit, over the cells it keeps. The
        # product is the reference's own (``mu @ pair_cells[keep]``, one BLAS gemv), so the
        # p-values agree to the last bit and near-ties break the same way.
        lam[:] = np.dot(mu, pair_cells[keep])
        n_cand = 0
        for k in range(n_pairs):
            if included[k]:
                pval[k] = 1.0
                continue
            lower = _pdtr(pn[k], lam[k])
            upper = _pdtrc(max(pn[k] - 1.0, 0.0), lam[k]) if pn[k] > 0 else 1.0
            if math.isnan(lower) or math.isnan(upper):
                return STEP_FALLBACK, nan
            pval[k] = min(lower, upper)
            # Stable insertion: increasing p-value, ties in pair order.
            pos = n_cand
            while pos > 0 and pval[order[pos - 1]] > pval[k]:
                order[pos] = order[pos - 1]
                pos -= 1
            order[pos] = k
            n_cand += 1
        chosen = -1
        X_new = X
        t_new = terms
        k_new = keep
        for o in range(n_cand):
            j = order[o]
            if pval[j] >= pthresh:
                break
            if pair_zero[j] and exclude:
                continue
            trial[:] = included
            trial[j] = True
            t_new, k_new = _layout(J, pairs, pair_zero, trial)
            X_new = _design(t_new, k_new)
            code = _check(X_new, y[k_new])
            if code == 0:
                chosen = j
                break
            if code == _CHECK_UNDECIDED:
                return STEP_FALLBACK, nan
        if chosen < 0:
            break
        included[chosen] = True
        y_new = y[k_new]
        p_new = X_new.shape[1]
        b0 = np.zeros(p_new)
        warm = k_new.shape[0] == keep.shape[0] and np.all(k_new == keep)
        if warm:
            b0[0] = beta[0]
            for a in range(t_new.shape[0]):
                for b in range(terms.shape[0]):
                    if terms[b] == t_new[a]:
                        b0[a + 1] = beta[b + 1]
                        break
        try:
            b_new, mu_new, ok, certain = _fit_point(X_new, y_new, b0, warm)
        except Exception:  # LinAlgError: the caller decides
            return STEP_FALLBACK, nan
        if not certain:
            return STEP_FALLBACK, nan
        if not ok:
            break  # the reference search stops here and keeps the current model
        est_new = n + math.exp(b_new[0])
        if not math.isfinite(est_new):
            return STEP_FALLBACK, nan
        beta, mu, est, terms, keep, X = b_new, mu_new, est_new, t_new, k_new, X_new
    return STEP_OK, est
