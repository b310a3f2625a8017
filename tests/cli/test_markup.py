"""User text is never Rich markup: list names, column names and values from a user's file
print as written (issue 16: `hospital,family,media` printed an emoji, `:x:` a cross)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from undercount.cli import app

runner = CliRunner()

ROWS = [((1, 0, 0), 40), ((0, 1, 0), 30), ((0, 0, 1), 20), ((1, 1, 0), 6), ((1, 0, 1), 4),
        ((0, 1, 1), 5), ((1, 1, 1), 2)]
NAMES = ["hospital", ":family:", "[bold]m", "b\\"]
EMOJI = ("👪", "❌", "✖")


def _agg(names: list[str]) -> str:
    lines = [",".join([*names[:3], "count"])]
    lines += [",".join([*map(str, p), str(n)]) for p, n in ROWS]
    return "\n".join(lines) + "\n"


def _clean(text: str) -> None:
    for e in EMOJI:
        assert e not in text


@pytest.mark.parametrize("names", [NAMES[:3], [NAMES[0], NAMES[1], NAMES[3]],
                                   ["[/]", "x[/bold]", ":x:"]])
def test_list_names_print_as_written(tmp_path, names):
    p = tmp_path / "t.csv"
    p.write_text(_agg(names), encoding="utf-8")
    res = runner.invoke(app, ["estimate", str(p), "--seed", "1", "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    headline = res.stdout.splitlines()[0]
    assert headline.endswith("lists " + ", ".join(names)), headline
    _clean(res.stdout)


def test_hospital_family_media_has_no_emoji(tmp_path):
    # The issue's own example: the term "hospital:family:media" must not become
    # "hospital👪media" wherever a model, reason, warning or assumption names it.
    from undercount.cli._common import out
    from undercount.cli._render import render_payload

    term = "hospital:family:media interaction [bold]x[/] \\"
    payload = {
        "method": "loglinear", "model": "[hospital:family,media]", "level": 0.95,
        "lists": ["hospital", "family", "media"], "n_observed": 10, "estimate": 12.0,
        "interval": [10.0, 20.0], "interval_method": "profile",
        "models": [{"model": term, "estimate": 12.0, "status": "ok"},
                   {"model": "[x]", "estimate": None, "status": "failed", "reason": term}],
        "warnings": [term], "assumptions": [term],
    }
    with out.capture() as cap:  # the console the CLI prints with
        render_payload(out, payload)
    printed = cap.get()
    assert f"warning: {term}" in printed and f"assumes: {term}" in printed, printed
    assert "model [hospital:family,media]" in printed
    _clean(printed)


def test_header_echoed_in_an_error_is_not_markup(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(_agg([":x:", "[bold]", "b\\"]).replace("count", "n"), encoding="utf-8")
    res = runner.invoke(app, ["estimate", str(p), "--seed", "1"])
    assert res.exit_code == 2
    assert "columns are [':x:', '[bold]', 'b\\\\', 'n']" in res.stderr, res.stderr
    _clean(res.stderr)


def test_stratum_values_print_as_written():
    # Stratum labels carry the user's column names and values. (Rendered directly: a
    # stratified run starts a process pool, too slow for this check.)
    from undercount.cli._common import out
    from undercount.cli._render import render_payload

    labels = ["[g]=[bold]x", "[g]=:x: y\\"]
    payload = {
        "method": "loglinear", "model": "stratified", "level": 0.95, "lists": ["a", "b"],
        "n_observed": 10, "estimate": 12.0, "interval": [10.0, 20.0],
        "interval_method": "bootstrap",
        "strata": {lab: {"n_observed": 5, "model": "[1,2]", "estimate": 6.0,
                         "interval": [5.0, 9.0]} for lab in labels},
    }
    with out.capture() as cap:
        render_payload(out, payload)
    printed = cap.get()
    for lab in labels:
        assert lab in printed, printed
    _clean(printed)


def test_identical_lists_warned_in_the_table_view(tmp_path):
    p = tmp_path / "t.csv"
    lines = ["a,b,c,a_copy,count"] + [f"{a},{b},{c},{a},{n}" for (a, b, c), n in ROWS]
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["estimate", str(p), "--seed", "1", "--bootstrap", "0"])
    assert res.exit_code == 0, res.output
    assert "warning: lists 'a' and 'a_copy' are identical: both hold the same 52 people" \
        in res.stdout
