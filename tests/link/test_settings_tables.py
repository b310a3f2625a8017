"""LinkSettings JSON round trip and the capture-history covariate rule."""

import pandas as pd
import pytest

from undercount.core.table import CaptureTable
from undercount.errors import ConfigError
from undercount.link.settings import LinkSettings
from undercount.tables.build import capture_histories, sidecar


def test_settings_json_round_trip(tmp_path):
    s = LinkSettings(threshold=0.95, seed=3, blocking_rules=(("national_id",), ("dob", "sex")))
    text = s.to_json(tmp_path / "s.json")
    back = LinkSettings.from_json(tmp_path / "s.json")
    assert back == s
    assert LinkSettings.from_json(text) == s
    with pytest.raises(ConfigError, match="unknown comparison 'shoe_size'"):
        LinkSettings(comparisons=("shoe_size",))
    with pytest.raises(ConfigError, match="unknown key"):
        LinkSettings.from_dict({"treshold": 0.9})


def test_settings_for_records_drops_missing_columns():
    std = pd.DataFrame(
        {
            "given_key": ["a", "b"], "family_key": ["c", "d"], "father_key": [None, None],
            "grandfather_key": [None, None], "dob": ["2000-01-01", None],
            "birth_year": [2000, None], "age": [None, None], "dod": [None, None],
            "sex": ["m", "f"], "place": [None, None], "national_id": [None, None],
            "name_key": ["ac", "bd"],
        }
    )
    s = LinkSettings.for_records(std, n_lists=1)
    assert s.link_type == "dedupe_only"
    assert "national_id" not in s.comparisons and "name:father" not in s.comparisons
    assert ("given_key", "family_key") in s.blocking_rules
    assert all("national_id" not in r for r in s.blocking_rules)
    with pytest.raises(ConfigError, match="national_id"):
        LinkSettings.for_records(std, n_lists=2, blocking_rules=[("national_id",)])


def test_capture_histories_conflict_rule():
    records = pd.DataFrame(
        {
            "cluster_id": [0, 0, 0, 1, 1, 2],
            "list": ["b", "a", "c", "b", "a", "c"],
            "row": [0, 0, 0, 1, 1, 1],
            # cluster 0: "x" twice beats "y"; cluster 1: tie -> earliest list a ("q");
            # cluster 2: only missing.
            "region": ["x", "y", "x", "p", "q", None],
            "sex": ["m", "m", None, "f", "f", None],
        }
    )
    h = capture_histories(records, lists=["a", "b", "c"], covariates=["region", "sex"])
    assert h["cluster_id"].tolist() == [0, 1, 2]
    assert h[["a", "b", "c"]].to_numpy().tolist() == [[1, 1, 1], [1, 1, 0], [0, 0, 1]]
    assert h["region"].tolist()[:2] == ["x", "q"]
    assert pd.isna(h["region"].iloc[2])
    assert h["sex"].tolist()[:2] == ["m", "f"]
    assert h["conflicts"].tolist() == ["region", "region", ""]
    assert h["n_records"].tolist() == [3, 2, 1]
    table = CaptureTable.from_individuals(h, lists=["a", "b", "c"], covariates=["sex"])
    assert table.cells() == {"001": 1, "110": 1, "111": 1}
    side = sidecar(lists=["a", "b", "c"], strata=["sex"], covariates=["region", "sex"],
                   source="p.toml")
    assert side["lists"] == ["a", "b", "c"] and side["strata"] == ["sex"]
