"""Compiled inner loop for fitting many small Poisson log-linear models.

Model selection fits thousands of models (6,212 hierarchical models of order <= 3 on five
lists; a stepwise search inside each of 1,000 bootstrap replicates), each a design with at
most a few dozen rows and columns. NumPy's per-call overhead dominates at that size, so the
Newton iteration runs in one numba-compiled function. It is the same algorithm as
:func:`undercount.models.loglinear._irls.fit_poisson` (IRLS = Newton's method for the
canonical log link, with step halving on the deviance) and agrees with it to ~1e-10.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["newton_poisson"]


@njit(cache=True)
def _dev(y: np.ndarray, mu: np.ndarray) -> float:
    d = 0.0
    for i in range(y.shape[0]):
        if y[i] > 0:
            d += y[i] * math.log(y[i] / mu[i])
        d -= y[i] - mu[i]
    return 2.0 * d


@njit(cache=True)
def newton_poisson(
    X: np.ndarray, y: np.ndarray, beta0: np.ndarray, warm: bool, tol: float, max_iter: int
):
    """Poisson MLE by IRLS with step halving.

    Returns ``(beta, mu, cov, deviance, converged, iterations)``; ``cov`` is the inverse
    Fisher information ``(X' diag(mu) X)^{-1}``.
    """
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
    for i in range(m):
        for k in range(p):
            Xw_ik = X[i, k] * mu[i]
            if i == 0:
                A[:, k] = 0.0
            for kk in range(p):
                A[kk, k] += X[i, kk] * Xw_ik
    cov = np.linalg.inv(A)
    return beta, mu, cov, dev_old, converged, it


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
