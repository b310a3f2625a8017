"""The default's rows before and after a change, design by design.

Usage (from the repository root):

    python docs/validation/runs/default-lcm-starts/compare.py BEFORE.csv AFTER.csv

Both files are battery `replicates.csv` files; only the `default` family's rows are read.
Prints one line per design: replicates in both, rows whose estimate, interval and warnings
are equal to the last digit, rows whose interval moved by more than 0.1%, coverage, median
interval width and the share warned (families disagree, or the covariates change the
answer: `undercount.validate.io.WARNING_CODES`) before and after, the tables warned only after and
only before, and the tables that changed from covered to missed or back.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd

from undercount.validate.io import WARNING_CODES


def _read(path: str) -> pd.DataFrame:
    rows = pd.read_csv(path, keep_default_na=False, dtype={"warnings": str})
    rows = rows[rows["family"] == "default"].copy()
    for col in ("estimate", "lower", "upper", "truth"):
        rows[col] = pd.to_numeric(rows[col], errors="coerce")
    rows["covered"] = (rows["lower"] <= rows["truth"]) & (rows["truth"] <= rows["upper"])
    rows["width"] = rows["upper"] - rows["lower"]
    return rows.set_index(["design", "replicate"])


def main() -> None:
    before, after = _read(sys.argv[1]), _read(sys.argv[2])
    both = before.merge(after, left_index=True, right_index=True, suffixes=("_b", "_a"))
    print("design,R,identical,moved_over_0.1pct,coverage_before,coverage_after,"
          "median_width_before,median_width_after,warned_before,warned_after,"
          "newly_warned,no_longer_warned,newly_missed,newly_covered")
    for design, g in both.groupby(level="design"):
        same = ((g["estimate_b"] == g["estimate_a"]) & (g["lower_b"] == g["lower_a"])
                & (g["upper_b"] == g["upper_a"]) & (g["warnings_b"] == g["warnings_a"]))
        rel = np.maximum(abs(g["lower_a"] / g["lower_b"] - 1),
                         abs(g["upper_a"] / g["upper_b"] - 1))
        lost = g.index[g["covered_b"] & ~g["covered_a"]].get_level_values("replicate")
        won = g.index[~g["covered_b"] & g["covered_a"]].get_level_values("replicate")
        warned_b, warned_a = (g[f"warnings_{v}"].map(lambda t: bool(set(t.split(";"))
                                                                    & set(WARNING_CODES)))
                              for v in "ba")
        print(",".join(str(x) for x in (
            design, len(g), int(same.sum()), int((rel > 1e-3).sum()),
            f"{g['covered_b'].mean():.2f}", f"{g['covered_a'].mean():.2f}",
            f"{g['width_b'].median():.0f}", f"{g['width_a'].median():.0f}",
            f"{warned_b.mean():.2f}", f"{warned_a.mean():.2f}", int((warned_a & ~warned_b).sum()),
            int((warned_b & ~warned_a).sum()), " ".join(map(str, lost)),
            " ".join(map(str, won)))))


if __name__ == "__main__":
    main()
