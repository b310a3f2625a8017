"""Shared fixtures: the aggregate Arabic-name tables shipped with the simulator."""

from __future__ import annotations

from importlib import resources

import pandas as pd
import pytest


def _read(name: str) -> pd.DataFrame:
    path = resources.files("undercount.simulate") / "data" / name
    with resources.as_file(path) as p:
        return pd.read_csv(p, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="session")
def name_tokens() -> pd.DataFrame:
    return _read("name_tokens.csv")


@pytest.fixture(scope="session")
def transliterations() -> pd.DataFrame:
    return _read("transliterations.csv")


@pytest.fixture(scope="session")
def release_noise() -> pd.DataFrame:
    return _read("release_noise.csv")
