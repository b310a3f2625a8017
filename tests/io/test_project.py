"""Project TOML: valid files load; every bad file fails early with a clear error."""

import pandas as pd
import pytest

from undercount.errors import ConfigError, InputError
from undercount.io.lists import read_list
from undercount.io.project import load_project

GOOD = """
[project]
name = "simulated"
seed = 42
output = "linked"

[[lists]]
name = "hospital"
file = "lists/hospital.csv"
format = "csv"
id_column = "record_id"
[lists.columns]
name_ar = "name"
sex = "sex"
covariates = ["governorate"]

[[lists]]
name = "family"
file = "lists/family.csv"
id_column = "rid"
covariates = ["governorate"]
[lists.columns]
name_lat = "full_name"
dob = "birth"

[link]
backend = "duckdb"
threshold = 0.9
blocking_rules = [["given_key", "family_key"], ["national_id"]]

[strata]
columns = ["sex"]
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "lists").mkdir()
    pd.DataFrame(
        {"record_id": ["h1", "h2"], "name": ["محمد احمد", "علي حسن"], "sex": ["m", "f"],
         "governorate": ["Gaza", "Rafah"]}
    ).to_csv(tmp_path / "lists/hospital.csv", index=False)
    pd.DataFrame(
        {"rid": [1, 2], "full_name": ["Mohammed Ahmed", "Ali Hassan"],
         "birth": ["1990-01-01", None], "governorate": ["Gaza", None]}
    ).to_csv(tmp_path / "lists/family.csv", index=False)

    def write(text=GOOD):
        path = tmp_path / "project.toml"
        path.write_text(text)
        return path

    return write


def test_good_project(project, tmp_path):
    cfg = load_project(project())
    assert cfg.name == "simulated" and cfg.seed == 42
    assert cfg.output == (tmp_path / "linked").resolve()
    assert cfg.list_names == ("hospital", "family")
    h, f = cfg.lists
    assert h.columns == {"name_ar": "name", "sex": "sex"}
    assert h.covariates == ("governorate",) == f.covariates
    assert f.format == "csv"  # from the extension
    assert cfg.link.blocking_rules == (("given_key", "family_key"), ("national_id",))
    assert cfg.strata.columns == ("sex",)
    frame = read_list(f)
    assert frame["rid"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("threshold = 0.9", "threshold = 0.9\ntreshold = 1",
         r"unknown key \[link\]\.treshold"),
        ('backend = "duckdb"', 'backend = "postgres"', "backend = 'postgres': must be one of"),
        ("threshold = 0.9", "threshold = 1.5", r"threshold = 1.5: must be in \[0.0, 1.0\]"),
        ('sex = "sex"', 'gender = "sex"', "unknown role 'gender'"),
        ('file = "lists/hospital.csv"', 'file = "lists/nope.csv"',
         "file 'lists/nope.csv' not found"),
        ('format = "csv"', 'format = "sas"', "format = 'sas': must be one of"),
        ('name = "family"', 'name = "hospital"', "list name\\(s\\) used more than once"),
        ('columns = ["sex"]', 'columns = ["religion"]', "religion"),
        ('seed = 42', 'seed = "x"', "seed = 'x': expected an integer"),
        ('["national_id"]]', '["shoe"]]', r"blocking_rules\[1\]: unknown column"),
        ('id_column = "rid"', "", "'id_column' is required"),
        ('name_lat = "full_name"\ndob = "birth"', 'dob = "birth"', "no name column"),
    ],
)
def test_bad_config(project, old, new, message):
    assert old in GOOD
    path = project(GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message) as info:
        load_project(path)
    assert str(path) in str(info.value)


def test_all_problems_reported_together(project):
    text = GOOD.replace("threshold = 0.9", "threshold = 2").replace('sex = "sex"', 'x = "sex"')
    with pytest.raises(ConfigError, match="2 problems"):
        load_project(project(text))


def test_missing_column_names_file_and_role(project):
    path = project(GOOD.replace('dob = "birth"', 'dob = "born"'))
    pattern = r"family.csv: column 'born' \(list 'family', columns.dob\)"
    with pytest.raises(InputError, match=pattern):
        load_project(path)


def test_bad_toml(project):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_project(project("[project\nname="))


def test_missing_project_file(tmp_path):
    with pytest.raises(ConfigError, match="project file not found"):
        load_project(tmp_path / "none.toml")


def test_repeated_and_blank_ids(project, tmp_path):
    cfg = load_project(project())
    pd.DataFrame({"record_id": ["h1", "h1", None], "name": ["a", "b", "c"], "sex": "m",
                  "governorate": "G"}).to_csv(tmp_path / "lists/hospital.csv", index=False)
    with pytest.raises(InputError) as info:
        read_list(cfg.lists[0])
    text = str(info.value)
    assert "row 4, column 'record_id': blank record id" in text
    assert "rows 2, 3, column 'record_id': record id 'h1' repeated" in text


@pytest.mark.parametrize(("table", "old", "new"), [
    ("[estimate]\nmethod = \"lcm\"", "n_chains = 2", "chains"),
    ("[estimate]\nmethod = \"lcm\"", "n_iter = 2000", "iterations"),
    ("[estimate]", "n_replicates = 200", "replicates"),
])
def test_old_python_names_are_refused_with_the_new_name(project, table, old, new):
    with pytest.raises(ConfigError, match=f"{old.split()[0]} is now called {new}"):
        load_project(project(GOOD + f"\n{table}\n{old}\n"))


def test_strata_old_imputation_name(project):
    text = GOOD.replace('columns = ["sex"]', 'columns = ["sex"]\nm = 5')
    with pytest.raises(ConfigError, match=r"\[strata\] m is now called imputations"):
        load_project(project(text))


def test_one_reader_for_link_and_run(project):
    # The same file carries the linkage and the run's tables; both read it through one reader.
    cfg = load_project(project(GOOD + '\n[estimate]\nmethod = "lcm"\nchains = 2\n'
                               '[report]\ntitle = "T"\n'))
    assert cfg.linked and cfg.estimate.options == {"chains": 2} and cfg.report.title == "T"
    assert cfg.strata.sources() == ("sex",)


@pytest.mark.parametrize(("estimate", "message"), [
    ("linkage_draws = 1", "linkage_draws = 1: expected 0 \\(off\\) or an integer of at least 2"),
    ("linkage_draws = true", "linkage_draws = True"),
    ('headline = "linkage"', 'headline = "linkage" needs linkage_draws'),
    ('headline = "best"', "must be \"stratified\", \"overall\" or \"linkage\""),
])
def test_bad_linkage_draws(project, estimate, message):
    with pytest.raises(ConfigError, match=message):
        load_project(project(GOOD + f"\n[estimate]\n{estimate}\n"))


def test_linkage_draws_head_the_report_unless_another_headline_is_chosen(project):
    cfg = load_project(project(GOOD + "\n[estimate]\nlinkage_draws = 50\n"))
    assert (cfg.estimate.linkage_draws, cfg.estimate.headline) == (50, "linkage")
    cfg = load_project(project(GOOD + '\n[estimate]\nlinkage_draws = 20\nheadline = "overall"\n'))
    assert (cfg.estimate.linkage_draws, cfg.estimate.headline) == (20, "overall")
    assert load_project(project()).estimate.linkage_draws == 0
