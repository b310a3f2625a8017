"""Write docs/examples/simulated/: three simulated lists with known truth, and its project.

Run from the repository root:  .venv/bin/python scripts/make_simulated_example.py
then:                          undercount run docs/examples/simulated/project.toml
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from undercount.simulate import simulate_lists

N_PEOPLE = 3000
SEED = 20240630
DEST = Path(__file__).resolve().parents[1] / "docs" / "examples" / "simulated"

sim = simulate_lists(n_people=N_PEOPLE, lists=3, rng=np.random.default_rng(SEED), seed=SEED)
sim.write(DEST, overwrite=True)
project = DEST / "project.toml"
project.write_text(project.read_text() + f"""
[estimate]
method = "loglinear"
sensitivity = true
replicates = 100
headline = "stratified"

[report]
title = "Simulated three-list project (true N = {N_PEOPLE:,})"
subtitle = "simulate_lists(n_people={N_PEOPLE}, lists=3, seed={SEED}): names, IDs, noise"
subject = "deaths"
redact = true
pdf = true
""")
(DEST / "truth.json").write_text(json.dumps({"n_people": N_PEOPLE, "seed": SEED}) + "\n")
print(f"wrote {DEST}")
