"""A Spark standalone cluster (one master, one worker) on the loopback address.

For tests and benchmarks of the Spark backend against a real cluster on one machine:
the master and the worker are separate JVMs started from the installed PySpark
(``bin/spark-class org.apache.spark.deploy.master.Master``/``...worker.Worker``), so the
driver, the executors and the master talk over the network as on a real cluster, but only
on 127.0.0.1. Used as a context manager it stops both at the end::

    with LoopbackCluster(cores=2, memory="2g") as cluster:
        link_project(path)  # with [link.spark] master = cluster.master_url
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from undercount.errors import LinkageError

__all__ = ["LoopbackCluster"]

_HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((_HOST, 0))
        return int(s.getsockname()[1])


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


class LoopbackCluster:
    """Start a standalone master and one worker on 127.0.0.1.

    Parameters
    ----------
    cores, memory : int, str
        What the worker offers executors (``--cores``, ``--memory``).
    workdir : path, optional
        Logs and the worker's scratch space (default: a new temporary folder).
    env : dict, optional
        Extra environment for the daemons (and so for the executors they start, e.g. a
        ``PYTHONPATH``).
    timeout : float
        Seconds to wait for the master to lead and the worker to register.

    Attributes
    ----------
    master_url : str
        ``spark://127.0.0.1:<port>``.
    master_log, worker_log : Path
    """

    def __init__(self, *, cores: int = 2, memory: str = "2g", workdir: str | Path | None = None,
                 env: dict[str, str] | None = None, timeout: float = 120.0) -> None:
        self.cores = cores
        self.memory = memory
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="undercount_spark_"))
        self.env = dict(env or {})
        self.timeout = timeout
        self.port = _free_port()
        self.master_url = f"spark://{_HOST}:{self.port}"
        self.master_log = self.workdir / "master.log"
        self.worker_log = self.workdir / "worker.log"
        self._procs: list[subprocess.Popen] = []

    def _start(self, args: list[str], log: Path) -> None:
        env = {**os.environ, **self.env, "SPARK_HOME": str(_spark_home()),
               "SPARK_LOCAL_IP": _HOST, "SPARK_MASTER_HOST": _HOST,
               "SPARK_LOG_DIR": str(self.workdir), "SPARK_WORKER_DIR": str(self.workdir / "w")}
        cmd = [str(_spark_home() / "bin" / "spark-class"), *args]
        with open(log, "wb") as out:
            self._procs.append(subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                                env=env, start_new_session=True))

    def _wait_for(self, log: Path, text: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if log.exists() and text in log.read_text(errors="replace"):
                return
            if any(p.poll() is not None for p in self._procs):
                break
            time.sleep(0.5)
        self.stop()
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise LinkageError(f"loopback Spark cluster did not start ({text!r} not in {log}):\n"
                           f"{tail}")

    def start(self) -> LoopbackCluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start(["org.apache.spark.deploy.master.Master", "--host", _HOST,
                     "--port", str(self.port), "--webui-port", str(_free_port())],
                    self.master_log)
        self._wait_for(self.master_log, "I have been elected leader")
        self._start(["org.apache.spark.deploy.worker.Worker", self.master_url,
                     "--host", _HOST, "--cores", str(self.cores), "--memory", self.memory,
                     "--webui-port", str(_free_port()),
                     "--work-dir", str(self.workdir / "w")], self.worker_log)
        self._wait_for(self.worker_log, "Successfully registered with master")
        return self

    def stop(self) -> None:
        """Stop the worker, then the master (each by its own process id)."""
        for proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._procs.clear()

    def session_conf(self) -> dict[str, str]:
        """Spark settings that keep a driver on this cluster on the loopback address."""
        return {"spark.driver.host": _HOST, "spark.driver.bindAddress": _HOST}

    def __enter__(self) -> LoopbackCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
