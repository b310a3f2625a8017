"""Benchmark: the 1M-record linkage through a Spark standalone cluster on 127.0.0.1.

Usage::

    .venv/bin/python benchmarks/bench_link_spark.py                   # 1,000,000 records
    .venv/bin/python benchmarks/bench_link_spark.py --records 100000  # quicker
    .venv/bin/python benchmarks/bench_link_spark.py --master spark://host:7077  # a real one

Simulates the lists as ``bench_link_1m.py`` does (same seed, same people), starts a master and
a worker on the loopback address from the installed PySpark (unless ``--master`` is given),
and links them with ``[link] backend = "spark"`` and ``spark.driver.memory = 1g``: the
driver only holds the model, a few aggregates and the capture table. Prints the time per
stage, peak driver memory (JVM heap used, sampled, and the Python process's ``ru_maxrss``),
peak executor memory (Spark's ``peakJVMHeapMemory`` / ``peakExecutionMemory`` metrics) and
pairwise precision/recall against the truth.

Targets (issue 18): completes with the driver at 1 GB; precision >= 0.98, recall >= 0.95.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import resource
import sys
import tempfile
import threading
import time
import urllib.request
import warnings
from pathlib import Path

import numpy as np


class _HeapSampler(threading.Thread):
    """Samples the driver JVM's used heap every second (through py4j)."""

    def __init__(self, spark) -> None:
        super().__init__(daemon=True)
        self.runtime = spark.sparkContext._jvm.java.lang.Runtime.getRuntime()
        self.peak = 0
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.wait(1.0):
            try:
                used = self.runtime.totalMemory() - self.runtime.freeMemory()
            except Exception:
                return
            self.peak = max(self.peak, int(used))


def _executor_peaks(spark) -> dict[str, float]:
    """Peak executor memory from the driver's REST API (the UI must be on)."""
    url = spark.sparkContext.uiWebUrl
    if not url:
        return {}
    app = spark.sparkContext.applicationId
    try:
        with urllib.request.urlopen(f"{url}/api/v1/applications/{app}/allexecutors",
                                    timeout=10) as r:
            execs = json.load(r)
    except OSError:
        return {}
    out: dict[str, float] = {}
    for e in execs:
        if e.get("id") == "driver":
            continue
        peak = e.get("peakMemoryMetrics") or {}
        for key in ("JVMHeapMemory", "ProcessTreeJVMRSSMemory", "OnHeapExecutionMemory"):
            if key in peak:
                out[key] = max(out.get(key, 0.0), peak[key] / 1024**3)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000, help="target number of records")
    ap.add_argument("--lists", type=int, default=3)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--master", default=None, help="an existing master (default: loopback)")
    ap.add_argument("--driver-memory", default="1g")
    ap.add_argument("--executor-memory", default="6g")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--workdir", default=None, help="keep the lists and output here")
    args = ap.parse_args(argv)

    from undercount.io.project import SparkConfig, load_project
    from undercount.link.backends import spark_session
    from undercount.link.evaluate import pairwise_metrics
    from undercount.link.pipeline import link_project
    from undercount.link.spark_cluster import LoopbackCluster
    from undercount.simulate import simulate_lists

    warnings.simplefilter("ignore")
    # Stage and training times as they end, so a long run shows where it is.
    progress = logging.StreamHandler(sys.stdout)
    progress.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    for name in ("undercount.link.spark_pipeline", "undercount.link.train",
                 "undercount.link.u_sampling"):
        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addHandler(progress)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_link_spark_"))
    work.mkdir(parents=True, exist_ok=True)
    n_people = max(100, round(args.records / 1.17))
    t0 = time.perf_counter()
    sim = simulate_lists(n_people=n_people, lists=args.lists,
                         rng=np.random.default_rng(args.seed), seed=args.seed)
    sim.write(work)
    n_records = sum(len(v) for v in sim.lists.values())
    print(f"simulated {n_people:,} people -> {n_records:,} records in {len(sim.lists)} lists "
          f"({time.perf_counter() - t0:.1f}s, not counted)", flush=True)

    cluster = None
    master = args.master
    if master is None:
        src = str(Path(__file__).resolve().parents[1] / "src")
        env = {"PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH"))
                                             if p)}
        cluster = LoopbackCluster(cores=args.cores, memory=args.executor_memory,
                                  workdir=work / "spark", env=env).start()
        master = cluster.master_url
        print(f"loopback cluster {master} (logs in {cluster.workdir})", flush=True)
    conf = {
        "spark.driver.memory": args.driver_memory,
        "spark.executor.memory": args.executor_memory,
        "spark.sql.shuffle.partitions": str(8 * args.cores),
        "spark.ui.enabled": "true",
        **(cluster.session_conf() if cluster else {}),
    }
    if cluster is not None:  # executors on this machine: this Python and this checkout
        conf["spark.executorEnv.PYTHONPATH"] = cluster.env["PYTHONPATH"]
        conf["spark.pyspark.python"] = sys.executable
    try:
        spark = spark_session(master, conf, app_name="undercount-bench-1m")
        sampler = _HeapSampler(spark)
        sampler.start()
        config = load_project(work / "project.toml")
        config = dataclasses.replace(config, link=dataclasses.replace(
            config.link, backend="spark",
            spark=SparkConfig(master=master, conf=tuple(conf.items()))))
        t0 = time.perf_counter()
        result = link_project(config, spark_session=spark)
        wall = time.perf_counter() - t0
        sampler.stop_event.set()
        executors = _executor_peaks(spark)
        import pandas as pd

        records = pd.read_parquet(result.output / "records.parquet",
                                  columns=["list", "record_id", "cluster_id"])
        spark.stop()
    finally:
        if cluster is not None:
            cluster.stop()
    peak_py = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    truth = sim.truth.assign(record_id=sim.truth["record_id"].astype(str))
    rec = records.merge(truth, on=["list", "record_id"], how="left")
    if rec["person_id"].isna().any():
        print("ERROR: records without truth", file=sys.stderr)
        return 1
    m = pairwise_metrics(rec["cluster_id"].to_numpy(), rec["person_id"].to_numpy())
    t = result.report["timings"]
    print(f"records          {n_records:,} through {master}")
    print("stage seconds    " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))
    print(f"end to end       {wall:.1f} s  ({n_records / wall:,.0f} records/s)")
    print(f"driver memory    JVM heap peak {sampler.peak / 1024**3:.2f} GB of "
          f"{args.driver_memory}; Python ru_maxrss {peak_py:.2f} GB (includes the "
          "evaluation's read of records.parquet)")
    print("executor memory  " + (", ".join(f"peak {k} {v:.2f} GB" for k, v in executors.items())
                                 or "not available"))
    print(f"links            {result.report['n_edges']:,} edges >= {result.settings.threshold}, "
          f"{result.report['n_refused']:,} refused; {result.report['n_clusters']:,} clusters "
          f"vs {rec['person_id'].nunique():,} true people")
    print(f"pairwise         precision {m['precision']:.4f} (target 0.98)  recall "
          f"{m['recall']:.4f} (target 0.95)  F1 {m['f1']:.4f}")
    print(f"output           {result.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
