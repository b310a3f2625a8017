"""Benchmark: link real, messy lists with the default settings and score them against truth.

Usage::

    .venv/bin/python benchmarks/bench_link_real.py                      # all data sets
    .venv/bin/python benchmarks/bench_link_real.py --datasets airwars   # one
    .venv/bin/python benchmarks/bench_link_real.py --data ../shared/data/linkage

Data sets (read as they are, ``on_bad_value = "coerce"``; see their READMEs):

``airwars``
    ``airwars_moh_dev/``: Airwars' victims of 40% of its Gaza incidents (English and Arabic
    names, often two or three parts) against the MoH list of 31 August 2024 (34,344
    four-part Arabic names), truth = Airwars researchers' matches. Scored as the README
    says: *recall* = Airwars records in the same person as the MoH record whose
    ``id_number`` is their ``moh_id`` / Airwars records whose ``moh_id`` is on the list;
    *precision* = those right matches / the same records linked to any MoH record. Also
    printed: how many Airwars records without a ``moh_id`` were linked (not necessarily
    wrong: Airwars' matching is incomplete), and pairwise scores over all records.
    Target (issue 13): recall >= 0.92 at precision >= 0.98.
``hist50k``
    Splink's ``historical_50k`` (one list, deduplicated), truth = ``cluster``, with the
    columns a user would map: first name, surname, date and place of birth, sex, postcode
    and occupation (Splink's own tutorial compares the same fields).
    Target: pairwise recall >= 0.85 at precision >= 0.97.
``hist50k-names``
    The same file with only first name, surname, date and place of birth and sex mapped
    (the benchmark's mapping before the postcode and occupation fields existed).
``febrl``
    FEBRL ``dataset4a`` + ``dataset4b`` (5,000 + 5,000), truth from ``rec-N-``.
    Target (no regression): P >= 0.999, R >= 0.987.

Each data set is written as a project (the CSV/Parquet files are referenced in place, never
copied or modified), linked with :func:`undercount.link.link_project` exactly as
``undercount link`` does, and scored with :mod:`undercount.link.evaluate` (the code of
``undercount evaluate-linkage``): pairwise precision/recall, blocking recall overall and per
rule, and the time of each stage.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "linkage"

_AIRWARS = """
[project]
name = "airwars-moh-dev"
seed = 1
output = "linked"

[[lists]]
name = "airwars"
file = "{data}/airwars_moh_dev/airwars.csv"
id_column = "record_id"
on_bad_value = "coerce"
[lists.columns]
name_ar = "name_ar"
name_lat = "name_en"
sex = "sex"
age = "age"
dod = "date_of_death"

[[lists]]
name = "moh"
file = "{data}/airwars_moh_dev/moh.csv"
id_column = "record_id"
on_bad_value = "coerce"
[lists.columns]
name_ar = "name"
sex = "sex"
age = "age"
dob = "date_of_birth"
national_id = "id_number"

[link]
backend = "duckdb"
"""

_HIST = """
[project]
name = "historical-50k"
seed = 1
output = "linked"

[[lists]]
name = "hist"
file = "{data}/historical_50k/historical_50k.parquet"
id_column = "unique_id"
on_bad_value = "coerce"
[lists.columns]
given_lat = "first_name"
family_lat = "surname"
dob = "dob"
place = "birth_place"
sex = "gender"
{extra}
[link]
backend = "duckdb"
"""

_HIST_EXTRA = """postcode = "postcode_fake"
occupation = "occupation"
"""

_FEBRL = """
[project]
name = "febrl-4"
seed = 1
output = "linked"
{lists}
[link]
backend = "duckdb"
"""
_FEBRL_LIST = """
[[lists]]
name = "{name}"
file = "{data}/febrl/dataset{name}.csv"
id_column = "rec_id"
on_bad_value = "coerce"
[lists.columns]
given_lat = "given_name"
family_lat = "surname"
dob = "date_of_birth"
national_id = "soc_sec_id"
place = "suburb"
"""


def _project(work: Path, name: str, text: str) -> Path:
    folder = work / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "project.toml"
    path.write_text(text)
    return path


def _airwars_truth(records: pd.DataFrame, data: Path) -> tuple[np.ndarray, pd.DataFrame]:
    moh = pd.read_csv(data / "airwars_moh_dev" / "moh.csv", dtype=str)
    truth = pd.read_csv(data / "airwars_moh_dev" / "truth.csv", dtype=str)
    moh_label = dict(zip(moh["record_id"], "id:" + moh["id_number"].fillna(moh["record_id"]),
                         strict=True))
    on_list = set(moh["id_number"].dropna())
    aw = dict(zip(truth["record_id"], truth["moh_id"], strict=True))
    labels = []
    for lst, rid in zip(records["list"], records["record_id"], strict=True):
        if lst == "moh":
            labels.append(moh_label[rid])
        else:
            mid = aw.get(rid)
            labels.append(f"id:{mid}" if isinstance(mid, str) and mid in on_list else rid)
    return np.asarray(labels, dtype=object), truth


def _airwars_scores(records: pd.DataFrame, truth: pd.DataFrame, data: Path) -> dict:
    """The README's scoring: per Airwars record with a ``moh_id`` on the MoH list."""
    moh = pd.read_csv(data / "airwars_moh_dev" / "moh.csv", dtype=str)
    moh_rec = records[records["list"] == "moh"].merge(
        moh[["record_id", "id_number"]], on="record_id", how="left"
    )
    ids_in = moh_rec.groupby("cluster_id")["id_number"].agg(lambda s: set(s.dropna()))
    aw = records[records["list"] == "airwars"].merge(truth, on="record_id", how="left")
    aw["moh_ids"] = aw["cluster_id"].map(ids_in)
    aw["linked"] = aw["moh_ids"].map(lambda s: isinstance(s, set) and len(s) > 0)
    with_id = aw[aw["moh_id"].notna() & aw["moh_id"].isin(set(moh["id_number"].dropna()))]
    right = with_id.apply(
        lambda r: isinstance(r["moh_ids"], set) and r["moh_id"] in r["moh_ids"], axis=1
    )
    n_linked = int(with_id["linked"].sum())
    no_id = aw[aw["moh_id"].isna()]
    return {
        "airwars_with_moh_id": len(with_id),
        "right": int(right.sum()),
        "linked": n_linked,
        "recall": float(right.mean()) if len(with_id) else float("nan"),
        "precision": float(right.sum() / n_linked) if n_linked else float("nan"),
        "airwars_without_moh_id": len(no_id),
        "without_moh_id_linked": int(no_id["linked"].sum()),
    }


def _run(name: str, project: Path, data: Path) -> dict:
    from undercount.link.evaluate import load_truth, score_linkage
    from undercount.link.pipeline import link_project

    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = link_project(project)
    seconds = time.perf_counter() - t0
    records = result.records
    std = result.standardised
    extra: dict = {}
    if name == "airwars":
        labels, truth = _airwars_truth(records, data)
        extra["airwars"] = _airwars_scores(records, truth, data)
    elif name.startswith("hist50k"):
        labels = load_truth(data / "historical_50k" / "historical_50k.parquet", records)
    else:
        labels = load_truth("febrl", records)
    ev = score_linkage(records, labels, standardised=std,
                       blocking_rules=result.settings.blocking_rules)
    return {
        "dataset": name,
        "seconds": seconds,
        "timings": result.report.get("timings", {}),
        "n_records": len(records),
        "n_edges": result.report.get("n_edges"),
        "warnings": [str(w.message).splitlines()[0] for w in caught][:5],
        "pairwise": ev.pairwise,
        "blocking": ev.blocking,
        "n_clusters": ev.n_clusters,
        "n_entities": ev.n_entities,
        "threshold": result.settings.threshold,
        **extra,
    }


def _print(res: dict) -> None:
    p = res["pairwise"]
    print(f"== {res['dataset']}: {res['n_records']:,} records, {res['n_clusters']:,} clusters "
          f"({res['n_entities']:,} true entities), {res['n_edges']:,} edges at p >= "
          f"{res['threshold']}")
    for w in res["warnings"]:
        print(f"   warning: {w}")
    if "airwars" in res:
        a = res["airwars"]
        print(f"   Airwars scoring: recall {a['recall']:.4f} ({a['right']}/"
              f"{a['airwars_with_moh_id']})  precision {a['precision']:.4f} ({a['right']}/"
              f"{a['linked']} linked)  records without moh_id linked: "
              f"{a['without_moh_id_linked']}/{a['airwars_without_moh_id']}")
    print(f"   pairwise precision {p['precision']:.4f}  recall {p['recall']:.4f}  "
          f"F1 {p['f1']:.4f}  ({p['true_positive_pairs']:,} / {p['predicted_pairs']:,} "
          f"predicted, {p['true_pairs']:,} true pairs)")
    b = res["blocking"]
    if b:
        print(f"   blocking recall {b['recall']:.4f}")
        for rule, r in b["per_rule"].items():
            print(f"     {rule}: {r:.4f}")
    print("   time " + f"{res['seconds']:.1f}s: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in res["timings"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA,
                    help="folder holding airwars_moh_dev/, historical_50k/, febrl/")
    ap.add_argument("--datasets", default="airwars,hist50k,febrl",
                    help="comma-separated: airwars, hist50k, hist50k-names, febrl")
    ap.add_argument("--workdir", default=None, help="keep the projects and outputs here")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args(argv)
    data = args.data.resolve()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_link_real_"))
    texts = {
        "airwars": _AIRWARS.format(data=data),
        "hist50k": _HIST.format(data=data, extra=_HIST_EXTRA),
        "hist50k-names": _HIST.format(data=data, extra=""),
        "febrl": _FEBRL.format(lists="".join(
            _FEBRL_LIST.format(name=n, data=data) for n in ("4a", "4b"))),
    }
    results = []
    for name in args.datasets.split(","):
        name = name.strip()
        if name not in texts:
            print(f"unknown data set {name!r}; choose from {sorted(texts)}", file=sys.stderr)
            return 2
        res = _run(name, _project(work, name, texts[name]), data)
        _print(res)
        results.append(res)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"projects and outputs in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
