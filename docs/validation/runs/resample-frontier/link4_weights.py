"""What the default mixes on link4's tables: each family's interval and BIC weight.

An experiment for docs/validation.md ("A resample from the AIC-best model"), not a package
feature. For each replicate named it takes the battery's own table and the `default`
family's own seed, runs `undercount estimate` (undercount.pipeline.estimate) and prints the
default's interval, then each family the default weighed, with its interval and weight.

    python link4_weights.py link4 7,34,60,83 > link4_weights.txt
"""

import sys

from undercount.pipeline.estimate import estimate
from undercount.validate.families import _seed
from undercount.validate.runner import DESIGNS, _key, _rng

if __name__ == "__main__":
    name = sys.argv[1]
    for r in map(int, sys.argv[2].split(",")):
        table = DESIGNS[name].sample(_rng(2024, _key(name), r, 0))
        res = estimate(table, seed=_seed(_rng(2024, _key(name), r, 1, _key("default"))))
        iv = res.interval
        print(f"{name} {r}: default {res.estimate:.1f} ({iv.lower:.1f}-{iv.upper:.1f}), "
              f"width {iv.upper - iv.lower:.1f}")
        for f in res.fits.results:
            w = res.weights.get(f"{f.method}: {f.model}", 0.0)
            print(f"  {f.method} {f.model}: {f.estimate:.1f} ({f.interval.lower:.1f}-"
                  f"{f.interval.upper:.1f}), width {f.interval.upper - f.interval.lower:.1f}, "
                  f"weight {w:.3f}")
