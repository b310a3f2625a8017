"""A parametric bootstrap whose world is the AIC-best log-linear model's fit.

An experiment, not a package feature. Chatterjee & Lahiri (2011) cure the bootstrap after
selection by resampling from a thresholded fit; their world must keep every real
interaction. BIC's threshold (log n per parameter) drops uk5_bic's weaker real
interactions; AIC's (2 per parameter) keeps more of them, and fewer noise terms than the
nonparametric world's. For replicate r: the table from the battery's own stream; the 10
best models by BIC (the default member's candidates) plus the AIC-best model; 1,000
replicates of Multinomial(round(N-hat_AIC), the AIC-best model's fitted cell
probabilities), unobserved cell dropped, each re-selecting the BIC-best of the candidates;
the percentile interval (type 8); the estimate is the BIC-best model's.

    python aic_world.py kosovo_bic,uk5_bic,hiv_bic 100 > aic_world.csv 2> aic_world_summary.txt
"""

import dataclasses

import numpy as np
from bma_parametric import B, fitted_probs, resampled_estimate, run, top_fits

from undercount.models.loglinear._design import parse_model
from undercount.models.loglinear.estimator import LogLinearEstimator
from undercount.uncertainty.bootstrap import quantile_type8
from undercount.validate.runner import _key, _rng


def one(args):
    name, r = args
    design, table, top, problem, fits = top_fits(name, r)
    aic_best = LogLinearEstimator(select="aic").restrict_to_top(table, 1).candidates[0]
    candidates = top.candidates + ((aic_best,) if aic_best not in top.candidates else ())
    chooser = dataclasses.replace(top, candidates=candidates)
    world = problem.fit(parse_model(aic_best, table.lists))
    p, n_hat = fitted_probs(problem, world, table.n_lists)
    rng = _rng(2024, _key(name), r, 1, _key("bootstrap-aic-world"))
    reps = np.array([resampled_estimate(chooser, table.lists, rng, p, n_hat)
                     for _ in range(B)])
    lo, hi = quantile_type8(reps, np.array([0.025, 0.975]))
    same = "same" if aic_best == top.candidates[0] else "differs"
    estimate = min(fits, key=lambda f: f.bic).estimate
    return name, r, design.truth, float(estimate), float(lo), float(hi), float(n_hat), same


if __name__ == "__main__":
    run(one, "design,replicate,truth,estimate,lower,upper,aic_world_estimate,aic_vs_bic",
        lambda rs: f"; AIC-best = BIC-best on {sum(x[-1] == 'same' for x in rs)} of {len(rs)}")
