"""Comparing an estimate with an officially reported figure.

For a reported count ``R`` and an estimated total ``N``,

.. math:: U = 1 - R/N \\qquad \\text{(the undercount: the share of deaths not in R)}, \\qquad
          \\rho = N/R.

Both are monotone in N, so an interval ``[N_L, N_U]`` for N maps exactly to
``[1 - R/N_L, 1 - R/N_U]`` for U and ``[N_L/R, N_U/R]`` for the ratio; equal-tailed posterior
or bootstrap intervals map to the equal-tailed intervals of the transformed draws. An
unbounded upper side gives an upper undercount of 1 (every death unreported, in the limit)
and an unbounded ratio.

A reported figure larger than the estimate gives a negative undercount (over-reporting
relative to the estimate); it is returned as such, with a note.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from undercount.core.result import Interval, json_number
from undercount.errors import ConfigError

__all__ = ["ReportedComparison", "compare_reported"]


@dataclass(frozen=True)
class ReportedComparison:
    reported: float
    undercount: float
    undercount_interval: Interval
    ratio: float
    ratio_interval: Interval
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "reported": self.reported,
            "undercount": {
                "estimate": json_number(self.undercount),
                "interval": self.undercount_interval.to_list(),
            },
            "ratio": {
                "estimate": json_number(self.ratio),
                "interval": self.ratio_interval.to_list(),
            },
        }
        if self.note:
            out["reported_note"] = self.note
        return out

    def sentence(self) -> str:
        lo, hi = self.undercount_interval.lower, self.undercount_interval.upper
        return (
            f"the reported figure {self.reported:,.0f} is {self.undercount:.0%} "
            f"({lo:.0%}–{hi:.0%}) below the estimate"
        )


def compare_reported(estimate: float, interval: Interval, reported: float) -> ReportedComparison:
    """Undercount ``1 - R/N`` and ratio ``N/R`` with intervals mapped from N's interval."""
    if not (isinstance(reported, int | float) and math.isfinite(reported) and reported > 0):
        raise ConfigError(f"reported={reported!r} must be a positive number")

    def under(n: float) -> float:
        return 1.0 - reported / n if math.isfinite(n) else 1.0

    def ratio(n: float) -> float:
        return n / reported

    note = ""
    if estimate < reported:
        note = (
            f"the reported figure {reported:,.0f} exceeds the estimate {estimate:,.0f}: the "
            "lists together suggest fewer deaths than reported (negative undercount)"
        )
    return ReportedComparison(
        reported=float(reported),
        undercount=under(estimate),
        undercount_interval=Interval(
            under(interval.lower), under(interval.upper), interval.level, interval.method
        ),
        ratio=ratio(estimate),
        ratio_interval=Interval(
            ratio(interval.lower), ratio(interval.upper), interval.level, interval.method
        ),
        note=note,
    )
