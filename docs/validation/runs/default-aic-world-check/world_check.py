"""The default bootstrap's world read from the BIC search's records, against a second search.

For replicates 0-2 of eight battery designs (the battery's own tables), the AIC-best model
and its fitted cell means as `undercount.uncertainty.bootstrap._fit_world` reads them from
`LogLinearEstimator(select="bic")`'s result, and as `LogLinearEstimator(select="aic")` finds
them by searching again; with the seconds each took (the first search in a process includes
compilation).

    python world_check.py > world_check.txt
"""

import time

import numpy as np

from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import _fit_world
from undercount.validate.runner import DESIGNS, _key, _rng

print("design replicate lists model_read model_searched identical seconds_read seconds_search")
for name in ["kosovo_bic", "uk5_bic", "hiv_bic", "link4", "e2e3", "sim1", "hetero5", "negdep4"]:
    for r in range(3):
        table = DESIGNS[name].sample(_rng(2024, _key(name), r, 0))
        base = LogLinearEstimator(select="bic").fit(table)
        t0 = time.perf_counter()
        read = _fit_world(LogLinearEstimator(select="aic"), table, base)
        t1 = time.perf_counter()
        searched = LogLinearEstimator(select="aic").fit(table)
        t2 = time.perf_counter()
        same = (read.model == searched.model and read.estimate == searched.estimate
                and np.array_equal(np.asarray(read.fitted), np.asarray(searched.fitted)))
        print(name, r, table.n_lists, read.model, searched.model, same,
              f"{t1 - t0:.2f}", f"{t2 - t1:.2f}")
