"""The default on eight sparse independent lists: sparse8's list rates with sigma 0.

Not a battery design: a check of what counting the stepwise search in the weights costs
where the stepwise model is the truth. Run from the repository root, once with the code
before the change (``PYTHONPATH=<checkout of c100726>/src``) and once after:

    python docs/validation/runs/default-search-weights/indep8/indep8.py OUT.csv 0 50
"""

import sys

from undercount.validate.designs import LogitNormalDesign
from undercount.validate.runner import run_battery

out, first, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
design = LogitNormalDesign(
    "indep8", "8 sparse independent lists (sparse8's rates, sigma 0)", 8,
    n=2000, rates=(0.03, 0.05, 0.07, 0.10, 0.04, 0.06, 0.08, 0.05), sigma=0.0)
rows = run_battery(designs=["indep8"], families=["default"], replicates=reps, seed=2024,
                   first_replicate=first, extra_designs={"indep8": design})
rows.to_csv(out, index=False)
