r"""Design matrices of Rcapture's closed-population models M0, Mt, Mh and Mth.

Every model is a Poisson log-linear model for the counts of the ``2^t - 1`` observable
capture histories ``omega`` over ``t`` lists (occasions), with an intercept whose exponential
is the expected number of people on no list:

.. math::

    \log \mu_\omega = \beta_0 + (\text{list part}) + (\text{heterogeneity part}),
    \qquad \hat N = n + e^{\hat\beta_0}.

List part
    M0 and Mh: :math:`\beta\, k_\omega`, where :math:`k_\omega = \sum_j \omega_j` is the number
    of lists the history is on (one capture probability shared by all lists).
    Mt and Mth: :math:`\sum_j \beta_j \omega_j` (one capture probability per list; the lists
    are independent given a person's catchability).

Heterogeneity part (Rivest & Lévesque 2001; Baillargeon & Rivest 2007, table 2), a
function of :math:`k_\omega` only, because with capture probabilities drawn from a mixing
distribution the log-odds of being caught ``k`` times pick up a term
:math:`\log E[\ldots]` that depends on ``k`` alone:

* Chao's lower bound ("Chao (LB)", Chao 1987; Rivest & Lévesque 2001): ``t - 2`` columns
  :math:`\eta_j \max(k_\omega - j + 1, 0)` for ``j = 3, ..., t``. The mixture is only
  constrained to make the second differences of the log-moments non-negative, so every
  :math:`\eta_j \ge 0`; a negative :math:`\hat\eta_j` is set to zero (its column removed) and
  the model refitted, leftmost first, until none is negative. The result is Chao's lower
  bound for N.
* Poisson2: :math:`\tau\, (2^{k_\omega} - 1)`.
* Darroch: :math:`\tau\, k_\omega^2 / 2` (Darroch et al. 1993).
* Gamma3.5: :math:`-\tau \log(1 + k_\omega / 3.5)`.

In the last three, :math:`\tau \ge 0` corresponds to a genuine mixture of capture
probabilities (:math:`\tau` is a scaled variance of the mixing distribution); Rcapture does
not constrain it, and neither do we, but we flag :math:`\hat\tau < 0`.

References
----------
.. [1] Baillargeon, S. and Rivest, L.-P. (2007). Rcapture: loglinear models for
   capture-recapture in R. Journal of Statistical Software 19(5). doi:10.18637/jss.v019.i05
.. [2] Rivest, L.-P. and Lévesque, T. (2001). Improved log-linear model estimators of
   abundance in capture-recapture experiments. Canadian Journal of Statistics 29:555-572.
   doi:10.2307/3316007
.. [3] Chao, A. (1987). Estimating the population size for capture-recapture data with
   unequal catchability. Biometrics 43:783-791. doi:10.2307/2531532
.. [4] Darroch, J. N., Fienberg, S. E., Glonek, G. F. V. and Junker, B. W. (1993). A
   three-sample multiple-recapture approach to census population estimation with
   heterogeneous catchability. JASA 88:1137-1148. doi:10.1080/01621459.1993.10476387
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MODELS", "Design", "build_design", "histories"]

#: The ten closed-population models, in Rcapture's ``closedp`` order (Mb and Mbh excluded).
MODELS: tuple[str, ...] = (
    "M0",
    "Mt",
    "Mh-Chao",
    "Mh-Poisson2",
    "Mh-Darroch",
    "Mh-Gamma3.5",
    "Mth-Chao",
    "Mth-Poisson2",
    "Mth-Darroch",
    "Mth-Gamma3.5",
)

POISSON_THETA = 2.0
GAMMA_THETA = 3.5


@dataclass(frozen=True)
class Design:
    """A model's design on the observable histories.

    Attributes
    ----------
    X : ndarray (2^t - 1, p)
        Column 0 is the intercept; rows are histories with codes ``1 .. 2^t - 1``
        (first list = most significant bit, as in :class:`~undercount.core.table.CaptureTable`).
    names : tuple of str
        Coefficient names (``"intercept"``, ``"beta"`` or ``"beta_<list>"``, ``"eta3"`` ...,
        ``"tau"``).
    n_base : int
        Columns, intercept included, that are not heterogeneity columns (Rcapture's ``nca``).
    heterogeneity : str
        ``"none"``, ``"Chao"``, ``"Poisson2"``, ``"Darroch"`` or ``"Gamma3.5"``.
    """

    X: np.ndarray
    names: tuple[str, ...]
    n_base: int
    heterogeneity: str

    def drop(self, column: int) -> Design:
        """The design without one column (used to set a negative Chao eta to zero)."""
        keep = [j for j in range(self.X.shape[1]) if j != column]
        return Design(
            X=self.X[:, keep],
            names=tuple(self.names[j] for j in keep),
            n_base=self.n_base,
            heterogeneity=self.heterogeneity,
        )


def histories(t: int) -> np.ndarray:
    """The ``2^t - 1`` observable histories as a (2^t - 1, t) 0/1 array, codes 1 .. 2^t - 1."""
    codes = np.arange(1, 2**t, dtype=np.int64)
    shifts = np.arange(t - 1, -1, -1)
    return ((codes[:, None] >> shifts) & 1).astype(float)


def _split(model: str) -> tuple[str, str]:
    if model in ("M0", "Mt"):
        return model, "none"
    base, _, het = model.partition("-")
    return base, het


def build_design(model: str, t: int, lists: tuple[str, ...] | None = None) -> Design:
    """Design of one of :data:`MODELS` for ``t`` lists.

    Chao's model has ``t - 2`` heterogeneity columns, so it needs ``t >= 3``; for ``t = 2``
    every heterogeneity model is confounded with the list effects and is not built here
    (the caller reports it as not identifiable, as Rcapture fits only M0 and Mt then).
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
    if t < 2:
        raise ValueError("at least two lists are needed")
    base, het = _split(model)
    if het != "none" and t < 3:
        raise ValueError(f"{model} needs at least three lists (got {t})")
    H = histories(t)
    k = H.sum(axis=1)
    names_l = tuple(lists) if lists is not None else tuple(str(j + 1) for j in range(t))
    cols: list[np.ndarray] = [np.ones_like(k)]
    names: list[str] = ["intercept"]
    if base in ("M0", "Mh"):
        cols.append(k)
        names.append("beta")
    else:
        cols += [H[:, j] for j in range(t)]
        names += [f"beta_{x}" for x in names_l]
    n_base = len(cols)
    if het == "Chao":
        for j in range(3, t + 1):
            cols.append(np.maximum(k - j + 1, 0.0))
            names.append(f"eta{j}")
    elif het == "Poisson2":
        cols.append(POISSON_THETA**k - 1.0)
        names.append("tau")
    elif het == "Darroch":
        cols.append(k**2 / 2.0)
        names.append("tau")
    elif het == "Gamma3.5":
        cols.append(-np.log1p(k / GAMMA_THETA))
        names.append("tau")
    return Design(
        X=np.column_stack(cols), names=tuple(names), n_base=n_base, heterogeneity=het or "none"
    )
