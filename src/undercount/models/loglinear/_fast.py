"""Inner loops for fitting many small Poisson log-linear models, compiled or not.

Model selection fits thousands of models (6,212 hierarchical models of order <= 3 on five
lists; a stepwise search inside each of 1,000 bootstrap replicates), each a design with at
most a few dozen rows and columns. NumPy's per-call overhead dominates at that size, so the
Newton iteration runs in one numba-compiled function. It is the same algorithm as
:func:`undercount.models.loglinear._irls.fit_poisson` (IRLS = Newton's method for the
canonical log link, with step halving on the deviance) and agrees with it to ~1e-10.

One algorithm, two ways of calling it
-------------------------------------
Compiling is not free: importing numba, building the dispatchers and loading the cached
machine code of the first kernel take ~0.35 s, more than the whole exhaustive search over
the 113 hierarchical models of a four-list table takes in plain Python. The kernels are
therefore written once, as ordinary functions (this module never imports numba itself), and
:func:`kernels` hands out either those functions (``"python"``) or numba-compiled versions of
the very same code objects (``"compiled"``, built on first use and cached on disk).

The two give the same numbers bit for bit: the kernels use elementwise arithmetic in a fixed
order, ``math.exp``/``math.log`` and sequential sums, which IEEE arithmetic rounds the same
way either way; the matrix products agree between NumPy and numba; and the linear solves and
inverses call the same LAPACK routines (``dgesv``, ``dgetrf``/``dgetri`` of SciPy's LAPACK,
which numba's ``np.linalg`` calls; NumPy's own LAPACK can differ in the last bits, so the
plain kernels do not use it). ``tests/models/loglinear/test_loglinear_engines.py`` pins
this, the statuses and reasons of unusable fits included. (One difference remains: ``math.exp`` of
more than 709 raises in plain Python where compiled code returns inf. Only a warm start
from a fitted log-mean beyond 709 could get there, and usable fits have none.)
:class:`~undercount.models.loglinear.select.LogLinearProblem` takes the plain functions for
small tables while the process has made few kernel calls, and the compiled ones otherwise
(:func:`choose`); which one ran never changes a result.

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
import threading
from collections.abc import Callable
from types import FunctionType, SimpleNamespace
from typing import Literal

import numpy as np

__all__ = [
    "Engine",
    "choose",
    "column_rank",
    "compiled",
    "count_python_calls",
    "kernels",
    "newton_poisson",
]

Engine = Literal["python", "compiled"]

#: Names of the kernels, in definition order (each may call the ones before it).
_KERNELS: list[str] = []


def _kernel(fn: Callable) -> Callable:
    """Register ``fn`` as a kernel; it stays the plain function (the ``"python"`` way)."""
    _KERNELS.append(fn.__name__)
    return fn


def _lapack(name: str) -> Callable:
    from scipy.linalg import lapack  # imported on first use: ~0.03 s

    return getattr(lapack, name)


def _lapack_result(info: int) -> None:
    # numba's np.linalg checks and messages, so that a failed fit reads the same either way.
    if info > 0:
        raise np.linalg.LinAlgError("Matrix is singular to machine precision.")
    if info < 0:
        raise ValueError(f"LAPACK: illegal argument {-info}")


def _finite(*arrays: np.ndarray) -> None:
    for a in arrays:
        if not np.isfinite(a).all():
            raise np.linalg.LinAlgError("Array must not contain infs or NaNs.")


@_kernel
def _solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``A^{-1} b`` by LAPACK's ``dgesv`` from SciPy's LAPACK: what numba's
    ``np.linalg.solve`` calls (NumPy's own LAPACK can differ in the last bits)."""
    _finite(A, b)
    _, _, x, info = _lapack("dgesv")(A, b)
    _lapack_result(info)
    return x


@_kernel
def _inv(A: np.ndarray) -> np.ndarray:
    """``A^{-1}`` by LAPACK's ``dgetrf`` and ``dgetri`` from SciPy's LAPACK, as numba's
    ``np.linalg.inv``."""
    _finite(A)
    lu, piv, info = _lapack("dgetrf")(A)
    _lapack_result(info)
    inv, info = _lapack("dgetri")(lu, piv)
    _lapack_result(info)
    return inv


def _numba_solve(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.solve(A, b)


def _numba_inv(A: np.ndarray) -> np.ndarray:
    return np.linalg.inv(A)


#: The compiled form of the kernels that call LAPACK: numba's own ``np.linalg`` (which calls
#: the same SciPy LAPACK routines as the plain forms above).
_COMPILED_FORM = {"_solve": _numba_solve, "_inv": _numba_inv}


@_kernel
def _dev(y: np.ndarray, mu: np.ndarray) -> float:
    d = 0.0
    for i in range(y.shape[0]):
        if y[i] > 0:
            d += y[i] * math.log(y[i] / mu[i])
        d -= y[i] - mu[i]
    return 2.0 * d


@_kernel
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
        # Whole-array elementwise operations: the same products in either engine, and one
        # NumPy call each instead of m*p interpreted steps in the "python" engine.
        z = mu * eta + y - mu
        Xw = X * mu[:, np.newaxis]
        A[:, :] = X.T @ Xw
        rhs[:] = X.T @ z
        new_beta = _solve(A, rhs)
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


@_kernel
def _information(X: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Fisher information ``X' diag(mu) X`` at the fitted values."""
    m, p = X.shape
    Xw = X * mu[:, np.newaxis]
    A = np.zeros((p, p))
    T = np.empty((p, p))
    # Row by row into preallocated arrays: every entry is the same sequential sum in either
    # engine, in m NumPy calls rather than m*p*p interpreted steps, and without an
    # allocation per row in the compiled one.
    for i in range(m):
        np.multiply(X[i][:, np.newaxis], Xw[i], T)
        np.add(A, T, A)
    return A


@_kernel
def newton_poisson(
    X: np.ndarray, y: np.ndarray, beta0: np.ndarray, warm: bool, tol: float, max_iter: int
):
    """Poisson MLE by IRLS with step halving.

    Returns ``(beta, mu, cov, deviance, converged, iterations)``; ``cov`` is the inverse
    Fisher information ``(X' diag(mu) X)^{-1}``.
    """
    beta, mu, dev, converged, it = _newton(X, y, beta0, warm, tol, max_iter)
    cov = _inv(_information(X, mu))
    return beta, mu, cov, dev, converged, it


@_kernel
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


@_kernel
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


_compiled: SimpleNamespace | None = None
_compiled_lock = threading.Lock()


def compiled() -> SimpleNamespace:
    """The kernels compiled by numba (``cache=True``), built on the first call.

    Each kernel is compiled from its own code object with globals in which the other kernels
    are the compiled ones, so a compiled kernel calls compiled callees. numba's on-disk cache
    is keyed by the code's file, name and line, as for a decorated function.
    """
    global _compiled
    with _compiled_lock:
        if _compiled is None:
            from numba import njit

            ns = dict(globals())
            for name in _KERNELS:
                fn = _COMPILED_FORM.get(name, globals()[name])
                ns[name] = njit(cache=True)(
                    FunctionType(fn.__code__, ns, fn.__name__, fn.__defaults__, fn.__closure__)
                )
            _compiled = SimpleNamespace(**{name: ns[name] for name in _KERNELS})
    return _compiled


_PYTHON = SimpleNamespace(**{name: globals()[name] for name in _KERNELS})


def kernels(engine: Engine) -> SimpleNamespace:
    """The kernels called one way or the other: attributes ``newton_poisson``,
    ``column_rank``, ``_newton``, ``_information``, ``_positive_definite``, ``_dev``,
    ``_solve`` and ``_inv``."""
    if engine == "python":
        return _PYTHON
    if engine == "compiled":
        return compiled()
    raise ValueError(f"engine must be 'python' or 'compiled', not {engine!r}")


#: Most observable cells of a table fitted with the plain functions (J <= 4 lists).
PYTHON_MAX_CELLS = 15
#: Kernel calls (fits and rank tests) the plain functions make in a process before every
#: later table is fitted compiled: ~0.1 s of Python, against ~0.35 s to start numba.
PYTHON_CALL_BUDGET = 400
_python_calls = 0
_python_lock = threading.Lock()


def choose(n_cells: int) -> Engine:
    """The engine for a new table of ``n_cells`` observable cells.

    ``"python"`` while the table is small (at most :data:`PYTHON_MAX_CELLS` cells) and this
    process has made fewer than :data:`PYTHON_CALL_BUDGET` plain kernel calls, so that one
    analysis of a small table never waits for numba; ``"compiled"`` otherwise (a bootstrap's
    replicates, a simulation study, a table of five or more lists), where the compiled
    kernels are tens of times faster. Both give the same numbers bit for bit (see the module
    docstring), and the choice depends only on the sequence of tables fitted, never on
    timings.
    """
    if n_cells <= PYTHON_MAX_CELLS and _python_calls < PYTHON_CALL_BUDGET:
        return "python"
    return "compiled"


def count_python_calls(n: int = 1) -> None:
    """Debit ``n`` plain kernel calls from the process's budget (see :func:`choose`)."""
    global _python_calls
    with _python_lock:
        _python_calls += n
