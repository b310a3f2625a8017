"""read_list reads a plain CSV file with Arrow's parser and anything else with pandas' C
parser: the frame (values, missing values, dtypes, row numbers) and every error are the C
parser's either way."""

from __future__ import annotations

import glob
import io
from pathlib import Path

import pandas as pd
import pytest

from undercount.errors import InputError
from undercount.io.lists import read_list
from undercount.io.project_types import ListSource

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "plain": "id,name,age\n1,محمد علي,34\n2,Ahmad,\n3,,7\n",
    "leading zeros and empty last field": "id,name,age\n001,a,\n002,b,0012\n",
    "space after comma": "id,name,age\n1, محمد,34\n2,  x , 5\n",
    "tab after comma": "id,name,age\n1,\tx,34\n",
    "line starts with a space": "id,name,age\n 1,x,34\n2,y,5\n",
    "whitespace-only field": "id,name,age\n1, ,34\n",
    "quotes": 'id,name,age\n1,"Ali, Ahmad",34\n2,"say ""hi""",5\n',
    "quoted newline": 'id,name,age\n1,"a\nb",34\n',
    "CRLF": "id,name,age\r\n1,x,34\r\n2,y,5\r\n",
    "BOM": "\ufeffid,name,age\n1,x,34\n",
    "blank lines": "id,name,age\n\n1,x,34\n\n2,y,5\n",
    "row of empty fields": "id,name,age\n1,x,34\n3,,\n2,y,5\n",
    "short row": "id,name,age\n1,x\n2,y,5\n",
    "no trailing newline": "id,name,age\n1,x,34",
    "extra column": "id,name,age,other\n1,x,34,z\n",
    "NA-looking text": "id,name,age\n1,NA,null\n2,nan,None\n",
    "one field more on every row": "id,name,age\n1,x,34,extra\n",
    "duplicate header": "id,name,name,age\n1,x,y,3\n",
    "a longer row": "id,name,age\n1,x,34\n2,y,5,6,7\n",
}
ERRORS = {
    "missing column": "id,name\n1,x\n",
    "duplicate id": "id,name,age\n1,x,3\n1,y,4\n",
    "blank id": "id,name,age\n,x,3\n",
    "row of commas": "id,name,age\n1,x,34\n,,\n",
    "header only": "id,name,age\n",
}


def _spec(path: Path, columns: dict[str, str] | None = None) -> ListSource:
    return ListSource(name="a", file=path, format="csv", id_column="id",
                      columns=columns or {"name_ar": "name", "age": "age"})


def _c_parser(path: Path, spec: ListSource) -> pd.DataFrame:
    """read_list's frame with the C parser alone (what it was before Arrow's)."""
    frame = pd.read_csv(io.StringIO(path.read_text(encoding="utf-8-sig")), dtype=str,
                        keep_default_na=False, na_values=[""], skipinitialspace=True,
                        usecols=lambda c: c in set(spec.source_columns))
    return frame[spec.source_columns].reset_index(drop=True)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_frame_as_the_c_parser(tmp_path, name):
    path = tmp_path / "list.csv"
    path.write_text(CASES[name], encoding="utf-8", newline="")
    spec = _spec(path)
    pd.testing.assert_frame_equal(read_list(spec), _c_parser(path, spec), check_exact=True)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_same_error_as_the_c_parser(tmp_path, name, monkeypatch):
    path = tmp_path / "list.csv"
    path.write_text(ERRORS[name], encoding="utf-8", newline="")
    spec = _spec(path)
    with pytest.raises(InputError) as got:
        read_list(spec)
    # The same call with Arrow's parser ruled out: the message the project always gave.
    import undercount.io.lists as lists

    monkeypatch.setattr(lists, "_NOT_PLAIN", (b"",))
    with pytest.raises(InputError) as want:
        read_list(spec)
    assert str(got.value) == str(want.value)
    assert getattr(got.value, "problems", None) == getattr(want.value, "problems", None)


def test_every_csv_file_of_the_repository_reads_as_before():
    """Each CSV file under docs/ and tests/ (and the shared data, where present), with all
    its columns: Arrow's frame where it is used is the C parser's."""
    files = glob.glob(str(ROOT / "docs" / "**" / "*.csv"), recursive=True)
    files += glob.glob(str(ROOT / "tests" / "**" / "*.csv"), recursive=True)
    shared = glob.glob(str(ROOT / ".." / "shared" / "data" / "**" / "*.csv"), recursive=True)
    files += shared
    read = 0
    for name in sorted(files):
        path = Path(name)
        try:
            header = pd.read_csv(path, nrows=0, dtype=str).columns.tolist()
        except (pd.errors.EmptyDataError, UnicodeDecodeError):
            continue
        if not header or len(set(header)) != len(header):
            continue
        spec = ListSource(name="a", file=path, format="csv", id_column=header[0], columns={},
                          covariates=tuple(header[1:]))
        try:
            got = read_list(spec)
        except InputError:
            continue  # blank or repeated first column: no list file
        pd.testing.assert_frame_equal(got, _c_parser(path, spec), check_exact=True)
        read += 1
    # The repository's own files are 17 readable lists; a clean clone (CI) has no shared
    # data beside it, where the shared files add more.
    assert read >= 17
    if shared:
        assert read > 20
