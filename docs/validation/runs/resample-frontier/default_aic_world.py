"""The package default with its log-linear member's resample drawn from the AIC-best model.

An experiment for docs/validation.md ("A resample from the AIC-best model"), not a package
option. For replicate r of a design it takes the battery's own table and the `default`
family's own seed, and runs what `undercount estimate TABLE --seed S` runs on a table
without covariates (undercount.pipeline.estimate): the log-linear member, the
cross-family weighting by BIC (cross_family) and the family check (default_family_check),
each on the seed's own stream. The one change is the member: the bootstrap family
`bootstrap-aic-world` (a parametric resample from the AIC-best model's fit, re-selecting
the BIC-best of the 10 best models by BIC, percentile) in place of the augmented resample.
With `augmented` as the fourth argument it is the default itself, which reproduces the
committed `default` rows. `--summary` compares rows with the committed default's
(docs/validation/runs/default-augmented) on the same replicates: coverage, median width,
and the misses with the default's own `model families disagree` warning.

    python default_aic_world.py kosovo_bic,link4 0 50 [augmented] > rows.csv
    python default_aic_world.py --summary rows.csv [more.csv ...]
"""

import csv
import glob
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from undercount.models.loglinear import LogLinearEstimator
from undercount.uncertainty.bootstrap import Bootstrap
from undercount.uncertainty.crossfamily import cross_family
from undercount.uncertainty.families import default_family_check
from undercount.validate.families import _seed
from undercount.validate.runner import DESIGNS, _key, _rng


def default_row(name, r, kind):
    design = DESIGNS[name]
    table = design.sample(_rng(2024, _key(name), r, 0))
    if table.has_covariates:
        raise SystemExit(f"{name}: the default may stratify a table with covariates")
    seed = _seed(_rng(2024, _key(name), r, 1, _key("default")))
    t0 = time.perf_counter()
    member = Bootstrap(
        estimator=LogLinearEstimator(select="bic"), replicates=1000, interval="percentile",
        kind="augmented" if kind == "augmented" else "parametric", ntop=10, n_jobs=1,
        world=None if kind == "augmented" else LogLinearEstimator(select="aic"),
    ).fit(table, rng=np.random.default_rng(seed))
    check_seed, cross_seed = np.random.SeedSequence(seed).spawn(2)
    cross = cross_family(member, table, np.random.default_rng(cross_seed))
    res = cross.result
    _, warned = default_family_check(
        res, table, np.random.default_rng(check_seed),
        fitted=[f for f in cross.fits if f is not cross.result], aic=cross.aic)
    codes = {d.code for d in (*res.diagnostics, *warned) if d.severity == "warning"}
    return {"design": name, "replicate": r, "family": f"default-{kind}",
            "truth": design.truth, "n_observed": table.n_observed,
            "estimate": res.estimate, "lower": res.interval.lower,
            "upper": res.interval.upper, "status": "ok", "message": "",
            "warnings": ";".join(sorted(codes)), "seconds": time.perf_counter() - t0}


COMMITTED = Path(__file__).parents[1] / "default-augmented"


def _line(rows):
    covered = [float(r["lower"]) <= float(r["truth"]) <= float(r["upper"]) for r in rows]
    missed = [r for r, c in zip(rows, covered, strict=True) if not c]
    width = statistics.median(float(r["upper"]) - float(r["lower"]) for r in rows)
    warned = sum("families_disagree" in r["warnings"] for r in missed)
    return (f"{len(rows)} replicates, coverage {sum(covered)}, median width {width:,.1f}, "
            f"misses {len(missed)}, warned {warned}")


def _read(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def summary(paths):
    rows = [r for p in paths for r in _read(p)]
    for name in dict.fromkeys(r["design"] for r in rows):
        mine = [r for r in rows if r["design"] == name]
        committed = {r["replicate"]: r
                     for p in glob.glob(str(COMMITTED / f"{name}*" / "replicates.csv"))
                     for r in _read(p) if r["family"] == "default"}
        print(f"{name}: {mine[0]['family']}: {_line(mine)}")
        print(f"{name}: committed default: {_line([committed[r['replicate']] for r in mine])}")


if __name__ == "__main__" and sys.argv[1] == "--summary":
    summary(sys.argv[2:])
elif __name__ == "__main__":
    names, first, count = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
    kind = sys.argv[4] if len(sys.argv) > 4 else "aic-world"
    out = csv.DictWriter(sys.stdout, ["design", "replicate", "family", "truth", "n_observed",
                                      "estimate", "lower", "upper", "status", "message",
                                      "warnings", "seconds"])
    out.writeheader()
    for name in names:
        for r in range(first, first + count):
            out.writerow(default_row(name, r, kind))
            sys.stdout.flush()
