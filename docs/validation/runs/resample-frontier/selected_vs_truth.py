"""How often does BIC select the truth's own model on kosovo_bic's and uk5_bic's tables?

An experiment for docs/validation.md ("Model averages without a resample"), not a package
feature. Both designs' truth is the BIC-best log-linear model of a real table (Kosovo,
UK 2013 with 5 lists). For each of replicates 0-99 it draws the design's table from the
battery's own stream, ranks the models by BIC as the default's log-linear member does
(the 10 best), and compares the BIC-best model's terms with the truth's: the same, a
proper subset (``smaller``), a proper superset (``larger``) or neither (``other``); and
the truth's rank among the 10 best (-1: not among them).

    python selected_vs_truth.py > selected_vs_truth.csv 2> selected_vs_truth_summary.txt
"""

import collections
import sys
from multiprocessing import Pool

from undercount import datasets
from undercount.models.loglinear._design import parse_model
from undercount.models.loglinear.estimator import LogLinearEstimator
from undercount.validate.runner import DESIGNS, _key, _rng

TRUTHS = {"kosovo_bic": "kosovo", "uk5_bic": "uk_2013_5"}


def one(args):
    name, r, truth = args
    table = DESIGNS[name].sample(_rng(2024, _key(name), r, 0)).aggregate()
    top = LogLinearEstimator(select="bic").restrict_to_top(table, 10)
    selected = set(parse_model(top.candidates[0], table.lists))
    true = set(parse_model(truth, table.lists))
    kind = ("same" if selected == true else "smaller" if selected < true
            else "larger" if selected > true else "other")
    rank = top.candidates.index(truth) if truth in top.candidates else -1
    return name, r, top.candidates[0], kind, rank


if __name__ == "__main__":
    jobs = []
    for name, dataset in TRUTHS.items():
        fit = LogLinearEstimator(select="bic").fit(datasets.load(dataset))
        truth = fit.candidates.sort_values("bic", kind="stable").iloc[0]["model"]
        print(f"# {name}: the truth's model {truth}", file=sys.stderr)
        jobs += [(name, r, truth) for r in range(100)]
    with Pool(2) as pool:
        rows = pool.map(one, jobs, chunksize=1)
    print("design,replicate,selected,kind,truth_rank")
    for row in rows:
        print(",".join(f'"{v}"' if isinstance(v, str) and "," in v else str(v) for v in row))
    for name in TRUTHS:
        rs = [row for row in rows if row[0] == name]
        kinds = collections.Counter(row[3] for row in rs)
        ranks = collections.Counter(row[4] for row in rs)
        print(f"# {name}: selected {dict(kinds)}; the truth's rank among the 10 best "
              f"{dict(sorted(ranks.items()))}", file=sys.stderr)
