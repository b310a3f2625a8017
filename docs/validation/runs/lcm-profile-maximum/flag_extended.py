"""Which replicates' default lcm-ml fit searches past its first bracket.

The default fits lcm-ml on a stream of its own (`crossfamily.default_family_steps`, from the
replicate's seed as the battery's `default` family draws it). This script fits it the same
way and flags a replicate when the profile's first bounded search stops at its bracket's
end, the only case in which `models._profile.profile_maximum` differs from the search before
it. Usage (from the repository root):

    python docs/validation/runs/lcm-profile-maximum/flag_extended.py DESIGN[,DESIGN] FIRST COUNT

prints one CSV row per replicate: design, replicate, extended (0/1), and lcm-ml's model,
estimate, lower and upper (or the error).
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
from scipy import optimize

import undercount.models.latent_class.finite as finite
from undercount.models.latent_class import FiniteClassEstimator
from undercount.uncertainty.crossfamily import default_family_steps
from undercount.validate.record_designs import RecordDesign
from undercount.validate.runner import DESIGNS, _key, _rng

SEED = 2024
_search = finite.profile_maximum
_extended: list[bool] = []


def _flagging(prof, s_start, *, width, s_max, s_min=-10.0):
    lo, hi = max(s_start - width, s_min), min(s_start + width, s_max)
    opt = optimize.minimize_scalar(lambda s: -prof(s), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-6})
    s = float(opt.x)
    if (s - lo < 1e-3 and lo > s_min) or (hi - s < 1e-3 and hi < s_max):
        _extended.append(True)
        return _search(prof, s_start, width=width, s_max=s_max, s_min=s_min)
    return s, -float(opt.fun)


def main() -> None:
    warnings.filterwarnings("ignore")
    finite.profile_maximum = _flagging
    designs, first, count = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
    print("design,replicate,extended,model,estimate,lower,upper")
    for d in designs:
        design = DESIGNS[d]
        for r in range(first, first + count):
            data_rng = _rng(SEED, _key(d), r, 0)
            table = (design.sample_linkage(data_rng)[0] if isinstance(design, RecordDesign)
                     else design.sample(data_rng))
            seed = int(_rng(SEED, _key(d), r, 1, _key("default")).integers(2**31 - 1))
            check_seed, cross_seed = np.random.SeedSequence(seed).spawn(2)
            steps, _ = default_family_steps(table, np.random.default_rng(cross_seed),
                                            np.random.default_rng(check_seed))
            _extended.clear()
            row = ["", "", "", ""]
            for fn, args in steps:
                if any(isinstance(e, FiniteClassEstimator) for e in args[0]):
                    fits, _ = fn(*args)
                    (fit,) = [f for e, f in zip(args[0], fits, strict=True)
                              if isinstance(e, FiniteClassEstimator)]
                    row = ([fit.model, f"{fit.estimate:.6f}", f"{fit.interval.lower:.6f}",
                            f"{fit.interval.upper:.6f}"] if not isinstance(fit, tuple)
                           else ["failed", "", "", fit[1].replace(",", ";")])
            print(",".join([d, str(r), str(int(bool(_extended))), *row]), flush=True)


if __name__ == "__main__":
    main()
