"""``[link.spark]`` in the project file, and a master that cannot be reached (no JVM needed)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager

import pytest

from undercount.errors import ConfigError, LinkageError
from undercount.io.project import load_project
from undercount.io.project_types import SparkConfig
from undercount.link.backends import spark_available
from undercount.link.pipeline import link_project


def _spark(path, block: str):
    text = path.read_text().replace('backend = "duckdb"', 'backend = "spark"')
    path.write_text(text + "\n" + block)
    return path


def test_defaults_without_a_spark_table(make_project):
    config = load_project(make_project())
    assert config.link.spark == SparkConfig()
    assert config.link.spark.master == "local[*]"
    assert config.link.to_dict()["spark"] == {"master": "local[*]", "conf": {}}


def test_master_and_conf_are_read(make_project):
    path = _spark(make_project(), '[link.spark]\nmaster = "spark://10.0.0.5:7077"\n'
                  'conf = { "spark.executor.memory" = "4g", "spark.executor.cores" = 2, '
                  '"spark.dynamicAllocation.enabled" = false }\n')
    spark = load_project(path).link.spark
    assert spark.master == "spark://10.0.0.5:7077"
    assert dict(spark.conf) == {"spark.executor.memory": "4g", "spark.executor.cores": "2",
                                "spark.dynamicAllocation.enabled": "false"}


@pytest.mark.parametrize(
    "block, message",
    [
        ('[link.spark]\nmaster = ""\n', "master"),
        ('[link.spark]\nconf = "spark.executor.memory=4g"\n', "conf"),
        ('[link.spark]\nconf = { "spark.x" = [1, 2] }\n', "conf.spark.x"),
        ('[link.spark]\nmastr = "local[2]"\n', "mastr"),
    ],
)
def test_bad_spark_table_is_a_config_error(make_project, block, message):
    path = _spark(make_project(), block)
    with pytest.raises(ConfigError, match=r"\[link\.spark\]") as err:
        load_project(path)
    assert message in str(err.value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java")
def test_unreachable_master_fails_fast_naming_the_url(make_project):
    url = f"spark://127.0.0.1:{_closed_port()}"
    path = _spark(make_project(), f'[link.spark]\nmaster = "{url}"\n')
    t0 = time.monotonic()
    with pytest.raises(LinkageError, match=url.replace(".", r"\.")) as err:
        link_project(path)
    assert time.monotonic() - t0 < 60
    assert "cannot be reached" in str(err.value)
    assert not (path.parent / "linked").exists()


@contextmanager
def _not_spark(answer: bytes | None):
    """A server on 127.0.0.1 that accepts connections and answers ``answer`` to anything
    (an HTTP proxy does) or, with None, nothing at all; yields its URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    held = []

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)
            if answer is not None:
                conn.recv(4096)
                conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"spark://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java")
@pytest.mark.parametrize("answer, problem", [
    (b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n", "not in Spark's protocol"),
    (None, "sent no answer in 10 s"),
])
def test_a_port_that_is_not_a_spark_master_fails_fast(make_project, answer, problem):
    # Something listens (here: a proxy answering HTTP, or a silent service) but it is no
    # Spark master: Spark would retry it for a minute, then fail obscurely.
    with _not_spark(answer) as url:
        path = _spark(make_project(), f'[link.spark]\nmaster = "{url}"\n')
        t0 = time.monotonic()
        with pytest.raises(LinkageError, match=url.replace(".", r"\.")) as err:
            link_project(path)
    assert time.monotonic() - t0 < 60
    assert "not a Spark master" in str(err.value) and problem in str(err.value)
    assert not (path.parent / "linked").exists()


@pytest.mark.skipif(not spark_available(), reason="needs pyspark and Java")
def test_spark_connect_url_is_refused_clearly(make_project):
    path = _spark(make_project(), '[link.spark]\nmaster = "sc://127.0.0.1:15002"\n')
    with pytest.raises(LinkageError, match="Spark Connect"):
        link_project(path)
