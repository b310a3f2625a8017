"""lcm-ml's conditional fits before and after its starts were taken to a maximum.

Fits 2 and 3 classes to replicates 0..R-1 of each design, with the module of commit
1a8e5d7 (4 EM starts of up to 3,000 steps) and with this checkout's (20 starts, each
finished by L-BFGS-B), both from `np.random.default_rng(replicate)`. Usage (from the
repository root, with one BLAS thread so that the times are one core's):

    git show 1a8e5d7:src/undercount/models/latent_class/finite.py > /tmp/finite_old.py
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python \
        docs/validation/runs/default-lcm-starts/fits.py /tmp/finite_old.py DESIGN[,DESIGN] R

prints one CSV row per design, replicate and number of classes: the conditional
log-likelihood and the estimate n / (1 - pi_0) before and after, the number of classes BIC
chooses before and after, and each version's seconds for both fits of that table.
"""

from __future__ import annotations

import importlib.util
import sys
import time
import warnings

import numpy as np

import undercount.models.latent_class.finite as new
from undercount.validate.record_designs import RecordDesign
from undercount.validate.runner import DESIGNS, _key, _rng


def _load(path: str):
    spec = importlib.util.spec_from_file_location("finite_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["finite_old"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    warnings.filterwarnings("ignore")
    old = _load(sys.argv[1])
    designs, count = sys.argv[2].split(","), int(sys.argv[3])
    print("design,replicate,K,old_ll,new_ll,old_N,new_N,old_sel,new_sel,t_old,t_new")
    for d in designs:
        design = DESIGNS[d]
        for r in range(count):
            rng = _rng(2024, _key(d), r, 0)
            table = (design.sample_linkage(rng)[0] if isinstance(design, RecordDesign)
                     else design.sample(rng)).aggregate()
            t0 = time.process_time()
            before = [old.fit_finite_classes(table, k, np.random.default_rng(r)) for k in (2, 3)]
            t1 = time.process_time()
            after = [new.fit_finite_classes(table, k, np.random.default_rng(r)) for k in (2, 3)]
            t2 = time.process_time()
            sel_b = min(before, key=lambda f: f.bic).classes
            sel_a = min(after, key=lambda f: f.bic).classes
            for b, a in zip(before, after, strict=True):
                print(f"{d},{r},{b.classes},{b.conditional_loglik:.4f},"
                      f"{a.conditional_loglik:.4f},{b.estimate:.1f},{a.estimate:.1f},{sel_b},"
                      f"{sel_a},{t1 - t0:.2f},{t2 - t1:.2f}", flush=True)


if __name__ == "__main__":
    main()
