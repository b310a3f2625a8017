"""A small capture-history project with names and IDs, for the store and runner tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from undercount import datasets

FIRST = ["Zainab", "Mohammed", "Layla", "Omar", "Huda", "Yusuf", "Mariam", "Khalil"]
FAMILY = ["Al-Masri", "Abu Salem", "Haddad", "Nassar", "Darwish", "Qasem"]


def make_project(folder: Path, *, pdf: bool = False, redact: bool = False,
                 strata: bool = True, extra: str = "") -> Path:
    """Spina bifida (3 lists, n = 626) expanded to people with sex, a name and an ID."""
    folder.mkdir(parents=True, exist_ok=True)
    table = datasets.load("spina_bifida_my")
    rows = np.repeat(table.patterns, table.counts, axis=0)
    rng = np.random.default_rng(11)
    n = len(rows)
    frame = pd.DataFrame(rows, columns=list(table.lists))
    frame.insert(0, "person_id", [f"P-{700000 + i:07d}" for i in range(n)])
    frame["full_name"] = [f"{rng.choice(FIRST)} {rng.choice(FAMILY)} {i}" for i in range(n)]
    frame["sex"] = rng.choice(["female", "male"], size=n)
    frame.to_csv(folder / "people.csv", index=False)
    lists = ", ".join(f'"{x}"' for x in table.lists)
    text = f"""
[project]
name = "spina-bifida-test"
seed = 7
output = "out"

[capture_histories]
file = "people.csv"
lists = [{lists}]
strata = ["sex"]
id_column = "person_id"
identifying = ["full_name"]

{'[strata]' if strata else ''}
{'columns = ["sex"]' if strata else ''}

[estimate]
method = "loglinear"
sensitivity = false
replicates = 20
headline = "overall"
reported = 500

[report]
title = "Test project"
redact = {str(redact).lower()}
pdf = {str(pdf).lower()}
{extra}
"""
    path = folder / "project.toml"
    path.write_text(text)
    return path
