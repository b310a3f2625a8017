"""A parametric bootstrap from the BIC model average of the top 10 log-linear models.

An experiment for docs/validation.md ("What narrows kosovo_bic costs uk5_bic"), not a
package feature. For replicate r of a design it draws the design's table from the battery's
own stream, ranks the models by BIC (``LogLinearEstimator(select="bic").restrict_to_top``),
and gives each of the top 10 the weight exp(-BIC/2), normalised (Kass & Raftery 1995).
Each of 1,000 bootstrap replicates then draws a model by those weights, draws
Multinomial(round(N-hat_m), fitted cell probabilities of model m) including the unobserved
cell, drops that cell, and re-selects the BIC-best of the same 10 models. The interval is the
percentile interval (type-8 quantiles) of the replicates; the estimate is the BIC-best
model's, as in the default's log-linear member.

    python bma_parametric.py kosovo_bic,uk5_bic,hiv_bic 100 \
        > bma_parametric.csv 2> bma_parametric_summary.txt
"""

import collections
import sys
from multiprocessing import Pool

import numpy as np

from undercount.models.loglinear._design import parse_model
from undercount.models.loglinear.estimator import LogLinearEstimator
from undercount.models.loglinear.select import LogLinearProblem
from undercount.uncertainty.bootstrap import quantile_type8
from undercount.validate.runner import DESIGNS, _key, _rng

B = 1000


def fitted_probs(problem, fit, n_lists):
    full = np.zeros(2**n_lists)
    full[0] = fit.estimate - problem.n
    kept = np.arange(len(problem.y)) if fit.keep is None else fit.keep
    full[1 + np.asarray(kept)] = fit.mu
    return full / full.sum(), fit.estimate


def top_fits(name, r):
    """Replicate r's table of design ``name`` (the battery's own stream, seed 2024), the
    estimator restricted to its 10 best models by BIC, their problem and usable fits."""
    design = DESIGNS[name]
    table = design.sample(_rng(2024, _key(name), r, 0)).aggregate()
    top = LogLinearEstimator(select="bic").restrict_to_top(table, 10)
    problem = LogLinearProblem(table, non_overlap=top.non_overlap)
    fits = [problem.fit(parse_model(s, table.lists)) for s in top.candidates]
    return design, table, top, problem, [f for f in fits if f.usable]


def resampled_estimate(chooser, lists, rng, p, n_hat):
    """One replicate: Multinomial(round(n_hat), p) over all cells, the unobserved dropped,
    re-estimated by ``chooser`` (+inf where the selected model has no estimate)."""
    counts = rng.multinomial(round(n_hat), p)
    counts[0] = 0
    try:
        return chooser._point_estimate_cells(lists, counts)
    except Exception:
        return np.inf


def one(args):
    name, r = args
    design, table, top, problem, fits = top_fits(name, r)
    bic = np.array([f.bic for f in fits])
    w = np.exp(-(bic - bic.min()) / 2)
    w /= w.sum()
    estimate = fits[int(np.argmin(bic))].estimate
    rng = _rng(2024, _key(name), r, 1, _key("bootstrap-bma"))
    probs = [fitted_probs(problem, f, table.n_lists) for f in fits]
    reps = np.empty(B)
    for b, m in enumerate(rng.choice(len(fits), size=B, p=w)):
        reps[b] = resampled_estimate(top, table.lists, rng, *probs[m])
    lo, hi = quantile_type8(reps, np.array([0.025, 0.975]))
    return name, r, design.truth, float(estimate), float(lo), float(hi), float(w.max())


def run(one, header, suffix=lambda rows: ""):
    """Run ``one`` over the designs and replicates of the command line on two processes,
    print the rows (``header`` first) and, per design, the coverage and median width of
    the interval in columns 4 and 5 (truth in column 2), with ``suffix(rows)`` after."""
    designs, n_rep = sys.argv[1].split(","), int(sys.argv[2])
    with Pool(2) as pool:
        rows = pool.map(one, [(d, r) for d in designs for r in range(n_rep)], chunksize=1)
    by = collections.defaultdict(list)
    print(header)
    for row in rows:
        print(",".join(str(v) for v in row))
        by[row[0]].append(row)
    for name, rs in by.items():
        cover = np.mean([x[4] <= x[2] <= x[5] for x in rs])
        width = np.median([x[5] - x[4] for x in rs])
        print(f"# {name}: coverage {cover:.2f}, median width {width:.0f}{suffix(rs)}",
              file=sys.stderr)


if __name__ == "__main__":
    run(one, "design,replicate,truth,estimate,lower,upper,top_weight")
