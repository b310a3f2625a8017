"""Model-averaged profile-likelihood intervals (MATA) over the 10 best log-linear models.

An experiment for docs/validation.md ("Model averages without a resample"), not a package
feature. For replicate r of a design it draws the design's table from the battery's own
stream and ranks the models by BIC, as ``bma_parametric.py`` beside it does
(``top_fits``). Each of the 10 best models m has its multinomial profile likelihood
l_m(N) (Rcapture's, as the ``bic`` family's interval) and the signed root
r_m(N) = sign(N-hat_m - N) sqrt(2 [max l_m - l_m(N)]). With weights w_m = exp(-Delta_m / 2),
normalised, from BIC or from AIC, the model-averaged tail-area interval (Fletcher & Turek
2012) solves

    sum_m w_m Phi(-r_m(N_L)) = 0.025,    sum_m w_m Phi(r_m(N_U)) = 0.025.

With one model it is that model's profile interval. The package's ``select="average"``
(the battery's ``average`` family) solves the same equations with each model's Wald
statistic on log(N - n) in place of r_m.

    python mata_profile.py kosovo_bic,hiv_bic,uk5_bic 100 \
        > mata_profile.csv 2> mata_profile_summary.txt
"""

import collections
import math
import sys
from multiprocessing import Pool

import numpy as np
from bma_parametric import top_fits  # the same tables and models, from the script beside
from scipy import optimize, special

from undercount.models.loglinear._irls import _profile_loglik


class Profile:
    """One model's signed root r(t) of the profile likelihood ratio, t = log(N - n)."""

    def __init__(self, problem, fit):
        X = problem.design(fit.terms, fit.keep)
        self.y = problem.y[fit.keep].astype(float)
        self.n = float(self.y.sum())
        row0 = np.zeros((1, X.shape[1]))
        row0[0, 0] = 1.0
        self.X_full = np.vstack([row0, X])
        self.lgam = float(special.gammaln(self.y + 1).sum())
        self.state = {"beta": fit.beta}
        n0 = fit.estimate - self.n
        res = optimize.minimize_scalar(
            lambda t: -self.loglik(t), bounds=(math.log(n0 / 50), math.log(n0 * 50)),
            method="bounded", options={"xatol": 1e-10})
        self.t_hat, self.l_hat = float(res.x), float(-res.fun)

    def loglik(self, t):
        return _profile_loglik(self.n + math.exp(t), self.X_full, self.y, self.n, self.lgam,
                               self.state)

    def r(self, t):
        return math.copysign(math.sqrt(max(2 * (self.l_hat - self.loglik(t)), 0.0)),
                             self.t_hat - t)


def mata(profiles, w, n, level=0.95):
    a = (1 - level) / 2

    def below(t):  # the averaged probability that N lies below n + e^t, minus a
        return sum(wk * special.ndtr(-p.r(t)) for p, wk in zip(profiles, w, strict=True)) - a

    def above(t):
        return sum(wk * special.ndtr(p.r(t)) for p, wk in zip(profiles, w, strict=True)) - a

    t_min = min(p.t_hat for p in profiles)
    t_max = max(p.t_hat for p in profiles)
    lo = t_min - 0.5
    while below(lo) > 0 and lo > -20:
        lo -= 0.5
    hi = t_max + 0.5
    while above(hi) > 0 and hi < 25:
        hi += 0.5
    lower = n + math.exp(optimize.brentq(below, lo, t_max + 0.01, xtol=1e-8)) if lo > -20 else n
    upper = (n + math.exp(optimize.brentq(above, t_min - 0.01, hi, xtol=1e-8)) if hi < 25
             else math.inf)
    return lower, upper


def one(args):
    name, r = args
    design, _, _, problem, fits = top_fits(name, r)
    profiles = [Profile(problem, f) for f in fits]
    row = [name, r, design.truth, fits[int(np.argmin([f.bic for f in fits]))].estimate]
    for criterion in ("bic", "aic"):
        c = np.array([f.criterion(criterion) for f in fits])
        w = np.exp(-(c - c.min()) / 2)
        w /= w.sum()
        row += [float(np.sum(w * [f.estimate for f in fits])), *mata(profiles, w, problem.n)]
    return row


if __name__ == "__main__":
    designs, n_rep = sys.argv[1].split(","), int(sys.argv[2])
    with Pool(2) as pool:
        rows = pool.map(one, [(d, r) for d in designs for r in range(n_rep)], chunksize=1)
    print("design,replicate,truth,bic_best,bic_average,bic_lower,bic_upper,"
          "aic_average,aic_lower,aic_upper")
    by = collections.defaultdict(list)
    for row in rows:
        print(",".join(str(v) for v in row))
        by[row[0]].append(row)
    for name, rs in by.items():
        for k, label in ((5, "BIC weights"), (8, "AIC weights")):
            cover = np.mean([x[k] <= x[2] <= x[k + 1] for x in rs])
            width = np.median([x[k + 1] - x[k] for x in rs])
            print(f"# {name}, {label}: coverage {cover:.2f}, median width {width:.0f}",
                  file=sys.stderr)
