"""Results every estimator returns: the estimate, its interval, the models tried, diagnostics.

``fit`` returns an immutable :class:`MSEResult` (statsmodels' model/results split). Families
add fields by subclassing; everything renders through one :class:`Summary`, whose
``to_dict()`` is the CLI's JSON contract and whose ``as_text()`` / ``as_html()`` feed the
terminal and the report.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "Diagnostic",
    "Interval",
    "MSEResult",
    "ModelRecord",
    "Summary",
    "json_number",
]

Severity = Literal["info", "warning", "error"]


def json_number(x: float | None) -> float | None:
    """A float for JSON: None for NaN or an infinite bound (an unbounded side)."""
    if x is None:
        return None
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    return x


@dataclass(frozen=True)
class Interval:
    """A confidence or credible interval for N.

    ``upper = inf`` means the upper side is unbounded (a profile likelihood that never drops
    below the cut-off, say); it is reported as such, never clipped to a grid or a cap.
    """

    lower: float
    upper: float
    level: float = 0.95
    method: str = ""

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.lower) and math.isfinite(self.upper)

    def to_list(self) -> list[float | None]:
        return [json_number(self.lower), json_number(self.upper)]

    def __str__(self) -> str:
        lo = _fmt(self.lower)
        hi = _fmt(self.upper) if math.isfinite(self.upper) else "unbounded"
        return f"[{lo}, {hi}]"


@dataclass(frozen=True)
class Diagnostic:
    """Something a reader of the result must know: a repaired input, an excluded model, ..."""

    code: str
    message: str
    severity: Severity = "warning"

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class ModelRecord:
    """One model that was considered: its fit, or why it was not used.

    ``status`` is ``"ok"`` for a usable fit. Anything else (``"mle_not_found"``,
    ``"not_identifiable"``, ``"excluded"``, ``"failed"``) keeps the model out of selection
    and averaging, and ``reason`` says why. ``"ok_zero_cells"`` marks a model fitted after
    fixing some interactions at minus infinity (SparseMSE's treatment of lists that never
    overlap); ``reason`` lists the cells removed.
    """

    model: str
    estimate: float | None
    interval: Interval | None = None
    aic: float | None = None
    bic: float | None = None
    deviance: float | None = None
    df: int | None = None
    n_params: int | None = None
    status: str = "ok"
    reason: str = ""
    weight: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return self.status in ("ok", "ok_zero_cells")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": self.model,
            "estimate": json_number(self.estimate),
            "interval": self.interval.to_list() if self.interval else None,
            "aic": json_number(self.aic),
            "bic": json_number(self.bic),
            "deviance": json_number(self.deviance),
            "df": self.df,
            "status": self.status,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.weight is not None:
            out["weight"] = json_number(self.weight)
        for k, v in self.extra.items():
            out[k] = _jsonable(v)
        return out


@dataclass(frozen=True, kw_only=True)
class MSEResult:
    """The result of fitting one estimator to one capture table.

    Attributes
    ----------
    method : str
        Estimator family (``"loglinear"``, ``"chapman"``, ``"heterogeneity"``, ...).
    model : str
        The model the estimate comes from (``"[123,14,34]"``, ``"Mth-Chao"``,
        ``"model average"``).
    estimate : float
        N-hat: the estimated total, observed plus unobserved.
    interval : Interval
        Interval for N at ``interval.level``.
    n_observed : int
        People on at least one list.
    lists : tuple of str
    models : tuple of ModelRecord
        Every model considered, including those excluded, with the reason.
    diagnostics : tuple of Diagnostic
    params : dict
        The estimator's parameters (for provenance).
    assumptions : tuple of str
        The identifying assumptions in plain words.
    draws : object, optional
        Posterior or bootstrap draws (an ArviZ container) where there are any.
    """

    method: str
    model: str
    estimate: float
    interval: Interval
    n_observed: int
    lists: tuple[str, ...]
    models: tuple[ModelRecord, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    params: dict[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    draws: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_unobserved(self) -> float:
        return self.estimate - self.n_observed

    @property
    def warnings(self) -> list[str]:
        return [d.message for d in self.diagnostics if d.severity != "info"]

    def summary(self) -> Summary:
        return Summary.from_result(self)

    def to_dict(self) -> dict[str, Any]:
        return self.summary().to_dict()

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __str__(self) -> str:
        return self.summary().as_text()


def _fmt(x: float | None, digits: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:,.{digits}f}"


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return json_number(v)
    if isinstance(v, Interval):
        return v.to_list()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return [_jsonable(x) for x in v.tolist()]
    return v


@dataclass(frozen=True)
class Summary:
    """A rendered view of a result: label/value pairs, a model table and warnings."""

    title: str
    rows: tuple[tuple[str, str], ...]
    model_table: tuple[dict[str, Any], ...]
    warnings: tuple[str, ...]
    assumptions: tuple[str, ...]
    data: dict[str, Any]

    @classmethod
    def from_result(cls, res: MSEResult, top: int = 10) -> Summary:
        iv = res.interval
        rows = [
            ("Method", res.method),
            ("Model", res.model),
            ("Lists", ", ".join(res.lists)),
            ("Observed (n)", f"{res.n_observed:,}"),
            ("Estimate (N)", _fmt(res.estimate)),
            (f"{iv.level:.0%} interval ({iv.method})", str(iv)),
        ]
        for key, value in res.extra.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                rows.append((key, _fmt(float(value), 3 if abs(value) < 10 else 1)))
        usable = [m for m in res.models if m.usable]
        ranked = sorted(usable, key=lambda m: (m.bic if m.bic is not None else math.inf))
        shown = ranked[:top] + [m for m in res.models if not m.usable]
        table = tuple(m.to_dict() for m in shown)
        data: dict[str, Any] = {
            "n_observed": int(res.n_observed),
            "estimate": json_number(res.estimate),
            "interval": iv.to_list(),
            "level": iv.level,
            "interval_method": iv.method,
            "method": res.method,
            "model": res.model,
            "lists": list(res.lists),
            "models": [m.to_dict() for m in res.models],
            "warnings": list(res.warnings),
            "assumptions": list(res.assumptions),
            "params": _jsonable(res.params),
        }
        for key, value in res.extra.items():
            data[key] = _jsonable(value)
        return cls(
            title=f"undercount: {res.method}",
            rows=tuple(rows),
            model_table=table,
            warnings=tuple(res.warnings),
            assumptions=tuple(res.assumptions),
            data=data,
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def as_text(self) -> str:
        width = max(len(k) for k, _ in self.rows)
        lines = [self.title, "=" * len(self.title)]
        lines += [f"{k:<{width}}  {v}" for k, v in self.rows]
        if self.model_table:
            lines += ["", f"{'model':<28} {'estimate':>12} {'AIC':>10} {'BIC':>10}  status"]
            for m in self.model_table:
                lines.append(
                    f"{m['model']:<28} {_fmt(m['estimate']):>12} {_fmt(m['aic'], 2):>10} "
                    f"{_fmt(m['bic'], 2):>10}  {m['status']}"
                    + (f" ({m['reason']})" if m.get("reason") else "")
                )
        if self.warnings:
            lines += ["", "Warnings:"] + [f"  - {w}" for w in self.warnings]
        if self.assumptions:
            lines += ["", "Assumptions:"] + [f"  - {a}" for a in self.assumptions]
        return "\n".join(lines)

    def as_html(self) -> str:
        esc = html.escape
        parts = [f"<div class='undercount-summary'><h3>{esc(self.title)}</h3><table>"]
        parts += [f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in self.rows]
        parts.append("</table>")
        if self.model_table:
            parts.append(
                "<table><tr><th>model</th><th>estimate</th><th>AIC</th><th>BIC</th>"
                "<th>status</th></tr>"
            )
            for m in self.model_table:
                parts.append(
                    f"<tr><td>{esc(m['model'])}</td><td>{_fmt(m['estimate'])}</td>"
                    f"<td>{_fmt(m['aic'], 2)}</td><td>{_fmt(m['bic'], 2)}</td>"
                    f"<td>{esc(m['status'])}</td></tr>"
                )
            parts.append("</table>")
        if self.warnings:
            parts.append("<ul>" + "".join(f"<li>{esc(w)}</li>" for w in self.warnings) + "</ul>")
        parts.append("</div>")
        return "".join(parts)

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()
