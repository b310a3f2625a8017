import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


def pytest_configure(config):
    # Registered here too so `--strict-markers` accepts it before pyproject lists it.
    config.addinivalue_line(
        "markers", "spark: needs pyspark and Java (run with: pytest -m spark tests/link)"
    )


def write_project(tmp_path: Path, extra_link: str = "", lists_block: str | None = None) -> Path:
    """A two-list FEBRL fixture project in tmp_path; returns the TOML path."""
    for name in ("febrl_a.csv", "febrl_b.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    block = lists_block or """
[[lists]]
name = "a"
file = "febrl_a.csv"
id_column = "rec_id"
on_bad_value = "coerce"
[lists.columns]
given_lat = "given_name"
family_lat = "surname"
dob = "date_of_birth"
national_id = "soc_sec_id"
place = "suburb"
covariates = ["state"]

[[lists]]
name = "b"
file = "febrl_b.csv"
id_column = "rec_id"
on_bad_value = "coerce"
[lists.columns]
given_lat = "given_name"
family_lat = "surname"
dob = "date_of_birth"
national_id = "soc_sec_id"
place = "suburb"
covariates = ["state"]
"""
    text = f"""
[project]
name = "fixture"
seed = 7
output = "linked"
{block}
[link]
backend = "duckdb"
threshold = 0.9
max_pairs = 100000
{extra_link}

[strata]
columns = ["state"]
"""
    path = tmp_path / "project.toml"
    path.write_text(text)
    return path


@pytest.fixture
def make_project(tmp_path):
    def make(extra_link: str = "", lists_block: str | None = None) -> Path:
        return write_project(tmp_path, extra_link, lists_block)

    return make


def pytest_collection_modifyitems(config, items):
    # Spark tests take minutes on a small machine: run them only when asked (-m spark).
    if "spark" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="Spark test: run with pytest -m spark tests/link")
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(skip)
