"""Results every estimator returns: the estimate, its interval, the models tried, diagnostics.

``fit`` returns an immutable :class:`MSEResult` (statsmodels' model/results split), in fact
a subclass per family (``LogLinearResult``, ``TwoListResult``, ``HeterogeneityResult``,
``LatentClassResult``, ``GraphicalResult``, ``BootstrapResult``, ``StratifiedResult``,
``ImputationResult``, ``LinkageAveragingResult``, ``Lancet2025Result``, each in its family's
module). What other modules read is a named field, never an ``extra`` key; draws are
``result.draws`` in one container (:mod:`undercount.core.draws`).

Everything renders through one :class:`Summary`, whose ``to_dict()`` is the CLI's JSON
contract and whose ``as_text()`` / ``as_html()`` feed the terminal and the report. A family
declares its JSON keys with ``json_fields`` (or overrides :meth:`MSEResult.family_data`)
and :meth:`MSEResult.from_dict` rebuilds the result from them.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

__all__ = [
    "NOT_IDENTIFIED",
    "NOT_IDENTIFIED_PREFIX",
    "Diagnostic",
    "Interval",
    "MSEResult",
    "ModelRecord",
    "Summary",
    "common_kwargs",
    "json_number",
    "result_from_dict",
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
    """Something a reader of the result must know: a repaired input, an excluded model, ...

    The code :data:`NOT_IDENTIFIED` marks a result whose N the data do not identify (its
    summary is the prior's, or a model's that cannot be told apart from the data): it is
    never shown as a point estimate, and it is left out of comparisons across families. Its
    message starts with :data:`NOT_IDENTIFIED_PREFIX`.
    """

    code: str
    message: str
    severity: Severity = "warning"

    def __str__(self) -> str:
        return self.message


#: Diagnostic code of a result whose N the data do not identify (see :class:`Diagnostic`).
NOT_IDENTIFIED = "not_identified"
#: How such a diagnostic's message starts, so that the code survives a JSON round trip.
NOT_IDENTIFIED_PREFIX = "N is not identified"

#: The assumptions every family makes, worded once so that a result pooling several families
#: lists each once.
CLOSED_POPULATION = ("Closed population: everyone counted belonged to the population "
                     "throughout the period.")
LINKED_WITHOUT_ERROR = "Records are linked without error within and across lists."
SHARED_ASSUMPTIONS = (CLOSED_POPULATION, LINKED_WITHOUT_ERROR)


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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelRecord:
        """Inverse of :meth:`to_dict` (the interval's level and ``n_params`` are not kept)."""
        d = dict(data)
        iv = d.pop("interval", None)
        return cls(
            model=d.pop("model"),
            estimate=d.pop("estimate", None),
            interval=None if iv is None else Interval(_bound(iv[0], -math.inf),
                                                      _bound(iv[1], math.inf)),
            aic=d.pop("aic", None),
            bic=d.pop("bic", None),
            deviance=d.pop("deviance", None),
            df=d.pop("df", None),
            status=d.pop("status", "ok"),
            reason=d.pop("reason", ""),
            weight=d.pop("weight", None),
            extra=d,
        )


@dataclass(frozen=True, kw_only=True)
class MSEResult:
    """The result of fitting one estimator to one capture table.

    Every family returns a subclass (:class:`~undercount.models.loglinear.LogLinearResult`,
    :class:`~undercount.uncertainty.bootstrap.BootstrapResult`, ...) whose values other
    modules need are named fields, and whose draws, if any, are ``draws``: one ArviZ
    ``InferenceData`` whose groups are documented in :mod:`undercount.core.draws` and read
    through :func:`undercount.core.draws.n_draws`.

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
    settings : dict
        The estimator's parameters (for provenance; JSON key ``"settings"``).
    assumptions : tuple of str
        The identifying assumptions in plain words.
    draws : arviz.InferenceData or undercount.core.draws.Draws, optional
        Draws of N (and parameters) where the family has any; see :mod:`undercount.core.draws`.
    provenance, defaults, reported : dict, optional
        Set by :func:`undercount.pipeline.estimate.estimate`: the run's provenance, the
        package defaults it filled in, and the comparison with a reported figure (written to
        JSON as its own top-level keys ``reported``, ``undercount``, ``ratio``).
    identifying : dict, optional
        Set by :func:`undercount.pipeline.estimate.estimate`: N-hat under shifted identifying
        assumptions (:func:`undercount.uncertainty.identifying.identifying_summary`; JSON key
        ``identifying_assumption``).
    covariates : dict, optional
        Set by :func:`undercount.pipeline.estimate.estimate` for a log-linear result on a
        table with covariates: the pooled N-hat against the N-hat estimated within each
        covariate's groups (:func:`undercount.uncertainty.covariates.covariate_check`; JSON
        key ``covariates``).
    families : dict, optional
        Set by :func:`undercount.pipeline.estimate.estimate` on the package default's result:
        the families it was checked against and how far apart they are
        (:func:`undercount.uncertainty.families.default_family_check`; JSON key
        ``families``).
    input_notes : tuple of str
        Notes about repairs made to the input table.
    extra : dict
        Free-form, display-only values (JSON keys of their own, numeric ones also summary
        rows). No module reads them by name: what another module needs is a named field.
    """

    method: str
    model: str
    estimate: float
    interval: Interval
    n_observed: int
    lists: tuple[str, ...]
    models: tuple[ModelRecord, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()
    draws: Any = None
    provenance: dict[str, Any] | None = None
    defaults: dict[str, Any] | None = None
    reported: dict[str, Any] | None = None
    identifying: dict[str, Any] | None = None
    covariates: dict[str, Any] | None = None
    families: dict[str, Any] | None = None
    input_notes: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    #: Family fields written to JSON under their own names, in this order.
    json_fields: ClassVar[tuple[str, ...]] = ()
    #: Those of ``json_fields`` left out of the JSON when None.
    json_optional: ClassVar[frozenset[str]] = frozenset()
    #: Values of ``method`` whose results this class holds (for :func:`result_from_dict`).
    methods: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for m in cls.__dict__.get("methods", ()):
            _RESULT_CLASSES[m] = cls

    @property
    def n_unobserved(self) -> float:
        return self.estimate - self.n_observed

    @property
    def not_identified_reason(self) -> str | None:
        """Why the data do not identify N (the :data:`NOT_IDENTIFIED` diagnostic), or None."""
        return next((d.message for d in self.diagnostics if d.code == NOT_IDENTIFIED), None)

    @property
    def identified(self) -> bool:
        """False when a diagnostic says the data do not identify N (:data:`NOT_IDENTIFIED`)."""
        return self.not_identified_reason is None

    @property
    def tied_models(self) -> dict[str, Any] | None:
        """Where the data cannot choose among models that give different N (criteria tied):
        ``{"models": [...], "estimates": [low, high], "interval": [lower, upper]}``, the
        smallest and largest of their estimates and the union of their intervals, which a
        table or plot shows in place of the one reported; None otherwise."""
        return None

    @property
    def warnings(self) -> list[str]:
        return [d.message for d in self.diagnostics if d.severity != "info"]

    # ------------------------------------------------------------------ JSON
    def family_data(self) -> dict[str, Any]:
        """The family's own JSON keys (raw values, in order), after the common ones."""
        out: dict[str, Any] = {}
        for name in self.json_fields:
            value = getattr(self, name)
            if value is None and name in self.json_optional:
                continue
            out[name] = value
        return out

    def tail_data(self) -> dict[str, Any]:
        """Family JSON keys written after the run annotations (provenance, ...)."""
        return {}

    @classmethod
    def family_kwargs(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments for the family fields, popped from a ``to_dict`` mapping."""
        return {name: data.pop(name) for name in cls.json_fields if name in data}

    def summary(self) -> Summary:
        return Summary.from_result(self)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON contract: JSON-native values only."""
        return self.summary().to_dict()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MSEResult:
        """Rebuild a result from :meth:`to_dict` output, so that
        ``type(r).from_dict(r.to_dict()).to_dict() == r.to_dict()``.

        What JSON does not carry is not restored: the draws, info-level diagnostics and the
        diagnostics' codes (the warnings come back as diagnostics with an empty code), and
        working arrays a family keeps outside its JSON keys. Keys the class does not know
        go to ``extra``.
        """
        d = dict(data)
        kwargs = common_kwargs(d)
        kwargs.update(cls.family_kwargs(d))
        return cls(**kwargs, extra=d)

    def conf_int(self, level: float) -> Interval:
        """The interval for N at another ``level``, where the family can give one exactly.

        Raises :class:`NotImplementedError` for families whose interval at another level
        needs a refit (profile likelihoods): refit with ``level=`` instead.
        """
        raise NotImplementedError(
            f"{type(self).__name__} has no interval at another level without refitting; "
            "fit again with level=..."
        )

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def __str__(self) -> str:
        return self.summary().as_text()


#: Result classes by the ``method`` they hold, filled in as the family modules load.
_RESULT_CLASSES: dict[str, type[MSEResult]] = {}

_COMMON_KEYS = ("n_observed", "estimate", "interval", "level", "interval_method", "method",
                "model", "lists", "models", "warnings", "assumptions", "settings")
_REPORTED_KEYS = ("reported", "undercount", "ratio", "reported_note")


def result_from_dict(data: dict[str, Any]) -> MSEResult:
    """Rebuild a result of any family from its :meth:`MSEResult.to_dict` mapping.

    JSON carries no type tag (the CLI's contract), so the class is chosen from the keys a
    wrapper adds (``"bootstrap"``, ``"imputation"``) and else from ``method``; an unknown
    method gives a plain :class:`MSEResult` with the family keys in ``extra``.
    """
    for key in ("imputation", "bootstrap"):
        if key in data and key in _RESULT_CLASSES:
            return _RESULT_CLASSES[key].from_dict(data)
    method = str(data.get("method", ""))
    cls = _RESULT_CLASSES.get(method)
    if cls is None and method.startswith("stratified "):
        cls = _RESULT_CLASSES.get("stratified")
    return (cls or MSEResult).from_dict(data)


def _bound(x: float | None, missing: float) -> float:
    return missing if x is None else float(x)


def common_kwargs(d: dict[str, Any]) -> dict[str, Any]:
    """Pop the common keys and run annotations of a ``to_dict`` mapping (``d`` is changed)
    and return them as :class:`MSEResult` field values, for a family's ``from_dict``."""
    lo, hi = d.pop("interval")
    level = d.pop("level")
    interval = Interval(_bound(lo, -math.inf), _bound(hi, math.inf), level,
                        d.pop("interval_method"))
    est = d.pop("estimate")
    warnings = d.pop("warnings", [])
    kwargs: dict[str, Any] = {
        "n_observed": d.pop("n_observed"),
        "estimate": math.nan if est is None else est,
        "interval": interval,
        "method": d.pop("method"),
        "model": d.pop("model"),
        "lists": tuple(d.pop("lists")),
        "models": tuple(ModelRecord.from_dict(m) for m in d.pop("models", [])),
        "diagnostics": tuple(
            Diagnostic(NOT_IDENTIFIED if w.startswith(NOT_IDENTIFIED_PREFIX) else "", w, "warning")
            for w in warnings),
        "assumptions": tuple(d.pop("assumptions", [])),
        "settings": d.pop("settings", {}),
        "provenance": d.pop("provenance", None),
        "defaults": d.pop("defaults", None),
        "input_notes": tuple(d.pop("input_notes", ())),
        "identifying": d.pop("identifying_assumption", None),
        "covariates": d.pop("covariates", None),
        "families": d.pop("families", None),
    }
    if "reported" in d:
        kwargs["reported"] = {k: d.pop(k) for k in _REPORTED_KEYS if k in d}
    return kwargs


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
    if isinstance(v, pd.DataFrame):
        return [_jsonable(r) for r in v.to_dict(orient="records")]
    if isinstance(v, pd.Series):
        return {str(k): _jsonable(x) for k, x in v.items()}
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
        usable = [m for m in res.models if m.usable]
        ranked = sorted(usable, key=lambda m: (m.bic if m.bic is not None else math.inf))
        shown = ranked[:top] + [m for m in res.models if not m.usable]
        table = tuple(m.to_dict() for m in shown)
        raw: dict[str, Any] = {**res.family_data(), **res.extra}
        if res.defaults:
            raw["defaults"] = res.defaults
        if res.provenance is not None:
            raw["provenance"] = res.provenance
        if res.reported is not None:
            raw.update(res.reported)
        if res.identifying is not None:
            raw["identifying_assumption"] = res.identifying
        if res.covariates is not None:
            raw["covariates"] = res.covariates
        if res.families is not None:
            raw["families"] = res.families
        if res.input_notes:
            raw["input_notes"] = list(res.input_notes)
        raw.update(res.tail_data())
        for key, value in raw.items():
            if isinstance(value, int | np.integer) and not isinstance(value, bool):
                rows.append((key, f"{int(value):,}"))
            elif isinstance(value, float | np.floating):
                rows.append((key, _fmt(float(value), 3 if abs(value) < 10 else 1)))
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
            "settings": _jsonable(res.settings),
        }
        for key, value in raw.items():
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
