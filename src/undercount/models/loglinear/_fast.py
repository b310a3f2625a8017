"""Compiled inner loop for fitting many small Poisson log-linear models.

Model selection fits thousands of models (6,212 hierarchical models of order <= 3 on five
lists; a stepwise search inside each of 1,000 bootstrap replicates), each a design with at
most a few dozen rows and columns. NumPy's per-call overhead dominates at that size, so the
Newton iteration runs in one numba-compiled function. It is the same algorithm as
:func:`undercount.models.loglinear._irls.fit_poisson` (IRLS = Newton's method for the
canonical log link, with step halving on the deviance) and agrees with it to ~1e-10.

:func:`~undercount.models.loglinear._fast_stepwise.stepwise_point` (in its own module, so
that fitting without a bootstrap does not load scipy's compiled special functions, ~0.2 s)
is the whole forward stepwise search of
:func:`undercount.models.loglinear.select.stepwise` for the point estimate alone, in one
compiled call per bootstrap replicate: the Python bookkeeping of the full search (model
records, labels, design slicing) cost several times more than the fits themselves. It uses
the same Newton iterations, rank tests, p-value functions and matrix products, so it
selects the same model and returns the same estimate to the last bit; whatever it cannot
decide with these (an existence question needing an SVD or LP, a failed fit) it hands back
to the full search.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["column_rank", "newton_poisson"]


@njit(cache=True)
def _dev(y: np.ndarray, mu: np.ndarray) -> float:
    d = 0.0
    for i in range(y.shape[0]):
        if y[i] > 0:
            d += y[i] * math.log(y[i] / mu[i])
        d -= y[i] - mu[i]
    return 2.0 * d


@njit(cache=True)
def _newton(
    X: np.ndarray, y: np.ndarray, beta0: np.ndarray, warm: bool, tol: float, max_iter: int
):
    """The iterations of :func:`newton_poisson`: ``(beta, mu, deviance, converged, iters)``."""
    m, p = X.shape
    beta = np.zeros(p)
    eta = np.empty(m)
    mu = np.empty(m)
    if warm:
        beta[:] = beta0
        eta[:] = X @ beta
        for i in range(m):
            mu[i] = math.exp(eta[i])
        dev_old = _dev(y, mu)
    else:
        # glm's start: mu = y + 0.1, eta = log(mu)
        for i in range(m):
            mu[i] = y[i] + 0.1
            eta[i] = math.log(mu[i])
        dev_old = math.inf
    converged = False
    it = 0
    A = np.empty((p, p))
    rhs = np.empty(p)
    for it in range(1, max_iter + 1):
        Xw = np.empty((m, p))
        z = np.empty(m)
        for i in range(m):
            z[i] = mu[i] * eta[i] + y[i] - mu[i]
            for k in range(p):
                Xw[i, k] = X[i, k] * mu[i]
        A[:, :] = X.T @ Xw
        rhs[:] = X.T @ z
        new_beta = np.linalg.solve(A, rhs)
        step = 1.0
        first = (not warm) and it == 1
        while True:
            cand = beta + step * (new_beta - beta) if not first else new_beta.copy()
            eta_c = X @ cand
            mu_c = np.empty(m)
            for i in range(m):
                e = eta_c[i]
                if e > 700.0:
                    e = 700.0
                elif e < -700.0:
                    e = -700.0
                eta_c[i] = e
                mu_c[i] = math.exp(e)
            dev = _dev(y, mu_c)
            if first or dev <= dev_old + 1e-12 * (1.0 + abs(dev_old)) or step < 1e-6:
                break
            step *= 0.5
        change = abs(dev_old - dev) / (abs(dev) + 0.1) if dev_old != math.inf else math.inf
        beta = cand
        eta = eta_c
        mu = mu_c
        dev_old = dev
        if change < tol:
            converged = True
            break
    return beta, mu, dev_old, converged, it


@njit(cache=True)
def _information(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Fisher information ``X' diag(mu) X`` at the fitted values."""
    m, p = X.shape
    A = np.empty((p, p))
    for i in range(m):
        for k in range(p):
            Xw_ik = X[i, k] * mu[i]
            if i == 0:
                A[:, k] = 0.0
            for kk in range(p):
                A[kk, k] += X[i, kk] * Xw_ik
    return A


@njit(cache=True)
def newton_poisson(
    X: np.ndarray, y: np.ndarray, beta0: np.ndarray, warm: bool, tol: float, max_iter: int
):
    """Poisson MLE by IRLS with step halving.

    Returns ``(beta, mu, cov, deviance, converged, iterations)``; ``cov`` is the inverse
    Fisher information ``(X' diag(mu) X)^{-1}``.
    """
    beta, mu, dev, converged, it = _newton(X, y, beta0, warm, tol, max_iter)
    cov = np.linalg.inv(_information(X, mu))
    return beta, mu, cov, dev, converged, it


@njit(cache=True)
def _positive_definite(A: np.ndarray) -> bool:
    """Does the Cholesky factorisation of ``A`` succeed (all pivots positive)?"""
    p = A.shape[0]
    L = np.zeros((p, p))
    for j in range(p):
        s = A[j, j]
        for k in range(j):
            s -= L[j, k] * L[j, k]
        if not s > 0.0:
            return False
        d = math.sqrt(s)
        L[j, j] = d
        for i in range(j + 1, p):
            t = A[i, j]
            for k in range(j):
                t -= L[i, k] * L[j, k]
            L[i, j] = t / d
    return True


@njit(cache=True)
def column_rank(A: np.ndarray, rtol: float) -> int:
    """Numerical column rank by modified Gram-Schmidt with re-orthogonalisation.

    A column counts when its component orthogonal to the earlier accepted columns has norm
    above ``rtol`` times its own norm. For the 0/1 designs here a dependent column leaves a
    residual of order 1e-15, an independent one of order 1e-2 or more.
    """
    m, p = A.shape
    Q = np.empty((p, m))
    v = np.empty(m)
    r = 0
    for k in range(p):
        norm0 = 0.0
        for i in range(m):
            v[i] = A[i, k]
            norm0 += v[i] * v[i]
        norm0 = math.sqrt(norm0)
        if norm0 == 0.0:
            continue
        for _ in range(2):
            for j in range(r):
                d = 0.0
                for i in range(m):
                    d += Q[j, i] * v[i]
                for i in range(m):
                    v[i] -= d * Q[j, i]
        nv = 0.0
        for i in range(m):
            nv += v[i] * v[i]
        nv = math.sqrt(nv)
        if nv > rtol * norm0:
            for i in range(m):
                Q[r, i] = v[i] / nv
            r += 1
    return r
