"""Compute the tables of docs/gaza-lancet-2025.md (the Lancet 2025 Gaza study, reproduced
and redone). Writes docs/gaza/results.json and prints Markdown tables.

    .venv/bin/python scripts/gaza_lancet_2025.py [--quick] [--rows TEXT[,TEXT...]]

``--rows`` reruns only the rows whose label contains one of the texts and replaces them in
the existing results.json, keeping the others.

Every number comes from the same calls as the CLI commands quoted in the docs page.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from undercount import CaptureTable, datasets
from undercount.pipeline.estimate import estimate
from undercount.uncertainty import compare_reported

REPORTED = 37877
SEED = 20251128


def row(label, res, command):
    iv = res.interval
    rep = compare_reported(res.estimate, iv, REPORTED)
    return {
        "analysis": label,
        "estimate": round(res.estimate, 1),
        "lower": round(iv.lower, 1),
        "upper": None if not np.isfinite(iv.upper) else round(iv.upper, 1),
        "interval": iv.method,
        "undercount": round(rep.undercount, 4),
        "undercount_interval": [round(x, 4) for x in rep.undercount_interval.to_list()],
        "command": command,
    }


def with_missing_persons() -> CaptureTable:
    frame = pd.concat([datasets.frame("gaza_lancet_2025_strata"),
                       datasets.frame("gaza_lancet_2025_missing_persons_strata")])
    return CaptureTable.from_frame(frame, lists=["hospital", "survey", "social_media"],
                                   source="gaza + 633 missing persons")


def without_no_age_social_media() -> CaptureTable:
    frame = datasets.frame("gaza_lancet_2025_strata")
    drop = ((frame.hospital == 0) & (frame.survey == 0) & (frame.social_media == 1)
            & frame.age_group.isna())
    assert int(frame.loc[drop, "count"].sum()) == 957
    return CaptureTable.from_frame(frame.loc[~drop], lists=["hospital", "survey",
                                                            "social_media"],
                                   source="gaza without 957 social-media-only records lacking age")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer imputations and replicates")
    ap.add_argument("--rows", help="rerun only rows whose label contains one of these "
                    "comma-separated texts; the others are kept from results.json")
    args = ap.parse_args()
    only = args.rows.split(",") if args.rows else None
    m_recipe, m_mi, boot = (20, 5, 100) if args.quick else (100, 20, 200)
    out: dict[str, list] = {"published": [], "ours": [], "sensitivity": []}
    g = "gaza-lancet-2025"
    runs = [
        ("published", f"lancet2025 recipe (chained forests, m = {m_recipe})",
         dict(recipe="lancet2025", imputations=m_recipe), g),
        ("published", f"lancet2025 recipe (hot-deck, m = {m_recipe})",
         dict(recipe="lancet2025", imputations=m_recipe, imputer="hotdeck"), g),
        ("ours", f"log-linear BIC per age x sex stratum; MI m = {m_mi}; joint bootstrap {boot}",
         dict(strata=("age_group", "sex"), imputations=m_mi, bootstrap=boot), g),
        ("ours", f"log-linear AIC-average per stratum; MI m = {m_mi}; joint bootstrap {boot}",
         dict(select="average", strata=("age_group", "sex"), imputations=m_mi,
              bootstrap=boot), g),
        ("ours", "latent classes (lcm) per stratum; MI m = 5; pooled draws",
         dict(method="lcm", strata=("age_group", "sex"), imputations=5), g),
        ("ours", "decomposable graphs (dga) per stratum; MI m = 5; pooled draws",
         dict(method="dga", strata=("age_group", "sex"), imputations=5), g),
        ("sensitivity", "all records, one stratum, saturated model [12,13,23]",
         dict(model="[12,13,23]", interval="profile"), "gaza_lancet_2025"),
        ("sensitivity", "all records, one stratum, log-linear BIC + bootstrap 1000",
         dict(bootstrap=1000), "gaza_lancet_2025"),
        ("sensitivity", "without the 957 social-media-only records lacking age, saturated",
         dict(model="[12,13,23]", interval="profile"), without_no_age_social_media()),
        ("sensitivity", "with the 633 persons reported missing, saturated",
         dict(model="[12,13,23]", interval="profile"), with_missing_persons()),
        ("sensitivity", f"month strata instead of age x sex (recipe, m = {m_mi})",
         dict(recipe="lancet2025", imputations=m_mi, strata=("month_of_death",)), g),
        ("sensitivity", f"month strata, log-linear BIC; MI m = {m_mi}; joint bootstrap {boot}",
         dict(strata=("month_of_death",), imputations=m_mi, bootstrap=boot), g),
    ]
    results = Path("docs/gaza/results.json")
    kept = json.loads(results.read_text()) if only else {}
    for group, label, opts, source in runs:
        if only and not any(text in label for text in only):
            (old,) = [r for r in kept[group] if r["analysis"] == label]
            out[group].append(old)
            continue
        t0 = time.perf_counter()
        res = estimate(source, seed=SEED, reported=REPORTED, **opts)
        cmd = _command(source, opts)
        out[group].append({**row(label, res, cmd), "seconds": round(time.perf_counter() - t0)})
        print(group, label, out[group][-1], flush=True)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(out, indent=2) + "\n")
    for group, rows in out.items():
        print(f"\n### {group}\n")
        print("| analysis | estimate | 95% interval | interval method | undercount vs 37,877 |")
        print("|---|---|---|---|---|")
        for r in rows:
            hi = "unbounded" if r["upper"] is None else f"{r['upper']:,.0f}"
            u = r["undercount_interval"]
            print(f"| {r['analysis']} | {r['estimate']:,.0f} | {r['lower']:,.0f}–{hi} | "
                  f"{r['interval']} | {r['undercount']:.1%} ({u[0]:.1%}–{u[1]:.1%}) |")


def _command(source, opts) -> str:
    if not isinstance(source, str):
        return "(Python: see scripts/gaza_lancet_2025.py)"
    parts = [f"undercount estimate {source}"]
    for k, v in opts.items():
        flag = "--" + k.replace("_", "-")
        parts.append(f"{flag} {','.join(v) if isinstance(v, tuple) else v}")
    parts.append(f"--reported {REPORTED} --seed {SEED}")
    return " ".join(parts)


if __name__ == "__main__":
    main()
