"""Start-up and bootstrap wall times of the CLI, against ``python -c "import pandas"``.

Prints the acceptance measurements of issue 17 (all in one run, on one machine):

* ``undercount --help`` ≤ 1.5× and ``undercount estimate kosovo --bootstrap 0`` ≤ 2.5× the
  time of ``python -c "import pandas"``;
* ``undercount estimate uk_2013_5 --select stepwise --bootstrap 1000`` ≤ 1.5× the same
  command with ``--bootstrap 0`` (and its interval, to compare across versions for the
  same seed);
* the heaviest imports of ``import undercount.cli`` and of the estimate command
  (``python -X importtime``).

Each figure is the median of ``--runs`` runs, the commands interleaved so that a change in
the machine's load falls on all of them alike; the 1-minute load average is printed with
each (the timings mean little on a loaded machine). Run from the repository root::

    PYTHONPATH=src python benchmarks/bench_startup.py --runs 5

``--src OTHER/src`` times another source tree (e.g. ``git archive`` of an earlier commit)
with the same commands, for a before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
_HEAVY = ("numba", "scipy.optimize", "scipy.stats", "arviz", "matplotlib")


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("undercount")
    if script.exists():
        return [sys.executable, str(script)]
    found = shutil.which("undercount")
    if found:
        return [found]
    return [sys.executable, "-c", "import sys; from undercount.cli import main; "
            "sys.argv[0] = 'undercount'; main()"]


def _env() -> dict[str, str]:
    path = os.pathsep.join([str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])
    return {**os.environ, "PYTHONPATH": path}


def _run(cmd: list[str]) -> tuple[float, float, str]:
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr}")
    return wall, load, proc.stdout


def _importtime(code: list[str], top: int) -> None:
    proc = subprocess.run([sys.executable, "-X", "importtime", *code], capture_output=True,
                          text=True, env=_env())
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), len(m.group(3)) // 2, m.group(4)))
    total = sum(c for c, depth, _ in rows if depth == 0)
    print(f"  all imports: {total / 1e6:.2f} s (cumulative, top-level modules)")
    # The heavy optional imports, loaded or not: a command that needs none of them should not
    # pay for them (numba only for many fits, scipy.optimize for the profile interval).
    names = [name for _, _, name in rows]
    print("  loaded: " + ", ".join(
        f"{heavy} {'yes' if any(n == heavy or n.startswith(heavy + '.') for n in names) else 'no'}"
        for heavy in _HEAVY))
    for cum, depth, name in sorted(rows, reverse=True)[:top]:
        print(f"  {cum / 1e6:6.2f} s  {'  ' * depth}{name}")


def main() -> None:
    global SRC
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--src", type=Path, default=SRC,
                    help="the undercount source tree to time (default: this checkout's src; "
                    "another tree gives a before/after comparison)")
    ap.add_argument("--no-bootstrap", action="store_true",
                    help="skip the uk_2013_5 1,000-replicate bootstrap comparison")
    args = ap.parse_args()
    SRC = args.src.resolve()
    cli = _cli()
    commands = {
        "python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
        "undercount --help": [*cli, "--help"],
        "estimate kosovo --bootstrap 0": [*cli, "estimate", "kosovo", "--bootstrap", "0",
                                          "--seed", str(args.seed)],
    }
    if not args.no_bootstrap:
        uk = [*cli, "estimate", "uk_2013_5", "--select", "stepwise", "--seed", str(args.seed)]
        commands["uk_2013_5 stepwise --bootstrap 0"] = [*uk, "--bootstrap", "0"]
        commands["uk_2013_5 stepwise --bootstrap 1000"] = [*uk, "--bootstrap", "1000"]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.runs} runs each, "
          f"interleaved; source {SRC}")
    for cmd in commands.values():  # warm the numba cache and the OS file cache
        _run(cmd)
    walls: dict[str, list[float]] = {n: [] for n in commands}
    loads: dict[str, list[float]] = {n: [] for n in commands}
    outputs: dict[str, str] = {}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            wall, load, out = _run(cmd)
            walls[name].append(wall)
            loads[name].append(load)
            outputs[name] = out
    med = {n: statistics.median(w) for n, w in walls.items()}
    print("\nwall time (median; min-max) and 1-minute load average during the runs")
    for name in commands:
        print(f"  {name:38s} {med[name]:6.2f} s  ({min(walls[name]):.2f}-"
              f"{max(walls[name]):.2f})  load {statistics.mean(loads[name]):.1f}")
    base = med["python -c 'import pandas'"]
    print("\nratios (acceptance)")
    print(f"  --help / import pandas:                 {med['undercount --help'] / base:5.2f}"
          "  (target <= 1.5)")
    est = med["estimate kosovo --bootstrap 0"]
    print(f"  estimate kosovo --bootstrap 0 / pandas: {est / base:5.2f}  (target <= 2.5)")
    if not args.no_bootstrap:
        b0 = med["uk_2013_5 stepwise --bootstrap 0"]
        b1 = med["uk_2013_5 stepwise --bootstrap 1000"]
        print(f"  uk_2013_5 --bootstrap 1000 / 0:         {b1 / b0:5.2f}  (target <= 1.5)")
        line = next((x for x in outputs["uk_2013_5 stepwise --bootstrap 1000"].splitlines()
                     if "Estimate N" in x), "")
        print(f"  bootstrap result (seed {args.seed}): {' '.join(line.split())}")
    print("\nheaviest imports of `import undercount.cli`")
    _importtime(["-c", "import undercount.cli"], 12)
    print("\nheaviest imports of `undercount estimate kosovo --bootstrap 0`")
    _importtime([*cli[1:], "estimate", "kosovo", "--bootstrap", "0"] if cli[0] ==
                sys.executable else ["-c", "import undercount.pipeline.estimate"], 15)


if __name__ == "__main__":
    main()
