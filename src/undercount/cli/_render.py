"""Rich rendering of estimate payloads (the same dicts the JSON view prints).

Every string in a payload may come from the user (list names, column names, stratum
values, file paths in warnings), so none is ever parsed as Rich markup: each becomes a
:class:`rich.text.Text` (:func:`_t`), and lines that mix our styling with user text are
assembled from styled pieces (:func:`_line`). A list called ``[bold]`` prints as ``[bold]``,
one ending in ``\\`` keeps its backslash, and emoji codes (``:family:``) are left alone
(``emoji=False`` on the consoles in :mod:`undercount.cli._common`).
"""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["render_payload"]


def _t(x: Any, style: str = "") -> Text:
    """User text as literal text (never markup), optionally styled."""
    return Text(str(x), style=style)


def _line(*parts: str | tuple[str, str] | Text) -> Text:
    """One line from literal pieces: ``"text"``, ``("text", "style")`` or a Text."""
    return Text.assemble(*parts)


def _num(x: Any, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, int | float):
        if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
            return "-"
        return f"{x:,.{digits}f}"
    return str(x)


def _interval(iv: list | None) -> str:
    if not iv:
        return "-"
    lo, hi = iv
    return f"{_num(lo)} – {'unbounded' if hi is None else _num(hi)}"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def _strata(console: Console, p: dict[str, Any]) -> None:
    strata = p.get("strata")
    rows = p.get("strata_table")
    if isinstance(strata, dict) and strata:
        t = Table(title="Strata")
        for col in ("stratum", "n", "model", "estimate", "interval"):
            t.add_column(col)
        for label, r in strata.items():
            t.add_row(_t(label), f"{r['n_observed']:,}", _t(r["model"]),
                      _t(_num(r["estimate"])), _t(_interval(r["interval"])))
        console.print(t)
    elif isinstance(rows, list) and rows:
        t = Table(title="Strata (published method: medians over imputations)")
        keys = [k for k in rows[0] if k not in ("estimate", "lower", "upper", "imputations")]
        for col in (*keys, "estimate", "lower", "upper"):
            t.add_column(_t(col))
        for r in rows:
            t.add_row(*(_t(r[k]) for k in keys), _t(_num(r["estimate"])),
                      _t(_num(r["lower"])), _t(_num(r["upper"])))
        console.print(t)


def _member_flags(defaults: dict[str, Any]) -> str:
    """The options that ask for the default's log-linear bootstrap by name."""
    flags = [f"--bootstrap {defaults.get('bootstrap', 1000)}"]
    if defaults.get("select") == "stepwise":
        flags.append("--select stepwise")
    if defaults.get("ntop"):
        flags.append(f"--ntop {defaults['ntop']}")
    if defaults.get("resample") not in (None, "augmented"):
        flags.append(f"--resample {defaults['resample']}")
    return " ".join(flags)


def _headline(console: Console, p: dict[str, Any]) -> None:
    level = p.get("level", 0.95)
    console.print(_line(
        (str(p["method"]), "bold"), " · model ", (str(p["model"]), "cyan"), " · lists ",
        ", ".join(map(str, p["lists"])),
    ), highlight=False)
    console.print(_line(
        f"Observed n = {p['n_observed']:,}   Estimate N = ", (_num(p["estimate"]), "bold"),
        f"   {level:.0%} interval ({p.get('interval_method', '')}) ",
        _interval(p["interval"]),
    ))
    for key in ("mean", "mode"):
        if key in p and p[key] is not None:
            console.print(_line(f"Posterior {key}: {_num(p[key])}"))
    boot = p.get("bootstrap")
    if isinstance(boot, dict):
        among = f" among the top {boot['ntop']} models" if boot.get("ntop") else ""
        world = (boot.get("settings") or {}).get("world")
        drawn = boot["kind"] + (f" from the {world['select'].upper()}-best model"
                                if isinstance(world, dict) and world.get("select") else "")
        console.print(_line(
            f"Bootstrap: {boot['replicates']:,} replicates ({drawn}, {boot['method']}), "
            f"model selection re-run in each{among}"
        ))
    defaults = p.get("defaults")
    if isinstance(defaults, dict) and defaults.get("families"):
        console.print(
            "[dim]default[/dim]: the log-linear bootstrap, logit-normal and latent-class "
            f"families weighted by {str(defaults['families']).upper()}, as the validation "
            "battery recommends "
            f"(docs/validation.md); {_member_flags(defaults)} gives the log-linear "
            "bootstrap alone, --bootstrap 0 the selected model's conditional profile interval",
            highlight=False,
        )
    elif isinstance(defaults, dict) and defaults.get("bootstrap"):
        console.print(
            "[dim]default[/dim] interval, as the validation battery recommends "
            "(docs/validation.md); --bootstrap 0 gives the selected model's conditional "
            "profile interval",
            highlight=False,
        )
    if "undercount" in p:
        u, r = p["undercount"], p["ratio"]
        lo, hi = u["interval"]
        console.print(_line(
            f"Reported figure {_num(p['reported'], 0)} is ", (f"{u['estimate']:.1%}", "bold"),
            f" ({_pct(lo)}–{_pct(hi)}) below the estimate; estimate/reported = "
            f"{r['estimate']:.2f} ({_num(r['interval'][0], 2)}–{_num(r['interval'][1], 2)})"
        ))


def _models(console: Console, p: dict[str, Any], top: int = 10) -> None:
    models = p.get("models") or []
    if not models:
        return
    usable = [m for m in models if m.get("status", "ok").startswith("ok")]
    failing = [m for m in models if not m.get("status", "ok").startswith("ok")]
    key = "bic" if any(m.get("bic") is not None for m in usable) else "weight"
    if key == "bic":
        usable.sort(key=lambda m: math.inf if m.get("bic") is None else m["bic"])
    else:
        usable.sort(key=lambda m: -(m.get("weight") or 0))
    t = Table(title=f"Top models ({len(usable)} usable of {len(models)})")
    for col in ("model", "estimate", "AIC", "BIC", "weight", "status"):
        t.add_column(col, justify="left" if col in ("model", "status") else "right")
    # the model the result rests on, which a stepwise search need not rank first by BIC
    chosen = p.get("model")
    for m in usable[:top]:
        status = m.get("status", "ok") + (", selected" if m["model"] == chosen else "")
        t.add_row(_t(m["model"]), _t(_num(m.get("estimate"))), _t(_num(m.get("aic"), 2)),
                  _t(_num(m.get("bic"), 2)), _t(_num(m.get("weight"), 3)), _t(status))
    console.print(t)
    if failing:
        f = Table(title=f"Models not used ({len(failing)})")
        f.add_column("model")
        f.add_column("status")
        f.add_column("reason")
        for m in failing[:top]:
            f.add_row(_t(m["model"]), _t(m.get("status", "")), _t(m.get("reason", "")))
        if len(failing) > top:
            f.add_row("…", "", f"{len(failing) - top} more (see --format json)")
        console.print(f)


def _warnings(console: Console, p: dict[str, Any]) -> None:
    for w in p.get("warnings") or []:
        console.print(_line(("warning", "yellow"), ": ", str(w)), highlight=False)


def _identifying(console: Console, block: dict[str, Any] | None) -> None:
    """One line: N-hat from half to twice the unobserved the model assumes."""
    rows = (block or {}).get("rows") or []
    if not rows:
        return
    lo, hi = rows[0], rows[-1]
    implied = block.get("implied_interaction") if block else None
    text = (f"N-hat {_num(lo['estimate'], 0)} to {_num(hi['estimate'], 0)} if the people on no "
            f"list are {lo['factor']:g} to {hi['factor']:g} times as many as the model assumes")
    if implied is not None:
        text += (f"; on these lists the estimate amounts to a {block['interaction_order']}-way "
                 f"interaction of {implied:+.2f}")
    console.print(_line(("identifying assumption", "cyan"), ": ", text), highlight=False)


def _covariates(console: Console, block: dict[str, Any] | None) -> None:
    """One line per covariate checked: N-hat pooled and within its groups."""
    for c in (block or {}).get("covariates") or []:
        if "stratified_estimate" in c:
            text = (f"{c['column']}: N-hat {_num(c['stratified_estimate'], 0)} estimated within "
                    f"its {c['levels']} groups, {_num(block['pooled'], 0)} pooled; capture "
                    f"{'differs' if c['p_value'] < 0.01 else 'does not differ clearly'} "
                    f"across them (p = {c['p_value']:.2g})")
        else:
            text = f"{c['column']}: not checked, {c['skipped']}"
        console.print(_line(("covariate", "cyan"), ": ", text), highlight=False)


def _families(console: Console, block: dict[str, Any] | None) -> None:
    """One line: the families the default was checked against, with their intervals (one
    line a stratum for the stratified default, which is checked within each)."""
    for name, part in ((block or {}).get("strata") or {}).items():
        _other_families(console, part, f"other families in {name}")
    if not _other_families(console, block or {}, "other families"):
        return
    weights = (block or {}).get("weights") or {}
    if weights:
        shown = "; ".join(f"{name} {w:.3f}" for name, w in
                          sorted(weights.items(), key=lambda kv: -kv[1]))
        rule = str(block.get("rule") or "criterion").upper()
        spent = block.get("search_penalty")
        if spent:
            shown += (f" (the log-linear search's {rule} counts the {spent['df']:.1f} "
                      f"parameters it spent, not the {spent['kept']} its model kept)")
        console.print(_line((f"{rule} weights", "cyan"), ": ", shown), highlight=False)


def _other_families(console: Console, block: dict[str, Any], title: str) -> bool:
    """The line of ``block``'s results after the first (the default's); False if none."""
    rows = block.get("results") or []
    if len(rows) < 2:
        return False
    parts = [
        f"{r['method']} not identified" if not r.get("identified", True) else
        _tied_text(r["method"], r["tied"]) if r.get("tied") else
        f"{r['method']} {_num(r['estimate'], 0)} ({_interval(r['interval'])})"
        for r in rows[1:]
    ]
    parts += [f"{f['method']} failed" for f in block.get("failures") or []]
    console.print(_line((title, "cyan"), ": ", "; ".join(parts)), highlight=False)
    return True


def _tied_text(method: str, tied: dict[str, Any]) -> str:
    """A family whose tied models give a range of N: the range, never one of them alone."""
    low, high = tied["estimates"]
    return (f"{method} {_num(low, 0)} to {_num(high, 0)} ({len(tied['models'])} models tied; "
            f"together {_interval(tied['interval'])})")


def render_payload(console: Console, p: dict[str, Any]) -> None:
    if p.get("method") == "all":
        t = Table(title=_line(
            f"All families · n = {p['n_observed']:,} · lists ", ", ".join(map(str, p["lists"]))
        ))
        for col in ("method", "model", "estimate", "interval", "interval method"):
            t.add_column(col)
        for r in p["results"]:
            tied = r.get("tied")
            if tied and r.get("identified", True):
                low, high = tied["estimates"]
                t.add_row(_t(r["method"]), _t(", ".join(tied["models"])),
                          _t(f"{_num(low)} to {_num(high)}"), _t(_interval(tied["interval"])),
                          _t(f"{len(tied['models'])} models tied: their range"))
            elif r.get("identified", True):
                t.add_row(_t(r["method"]), _t(r["model"]), _t(_num(r["estimate"])),
                          _t(_interval(r["interval"])), _t(r.get("interval_method", "")))
            else:
                t.add_row(_t(r["method"]), _t(r["model"]), "not identified", "-",
                          "see its warning")
        for f in p.get("failures", []):
            t.add_row(_t(f["method"]), "-", "-", "-", _t(f"failed: {f['reason']}"))
        console.print(t)
        for r in p["results"]:
            _warnings(console, r)
        _warnings(console, p)
        return
    _headline(console, p)
    _strata(console, p)
    if not p.get("strata") and not p.get("strata_table"):
        _models(console, p)
    _warnings(console, p)
    _identifying(console, p.get("identifying_assumption"))
    _covariates(console, p.get("covariates"))
    _families(console, p.get("families"))
    for a in p.get("assumptions") or []:
        console.print(_line(("assumes", "dim"), ": ", str(a)), highlight=False)
