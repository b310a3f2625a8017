"""Calibrate match probabilities against clerical-review labels.

Splink's probabilities rest on the conditional-independence assumption of Fellegi–Sunter
and are often over-confident. When some pairs carry clerical-review labels,
:class:`Calibrator` maps the raw probabilities to calibrated ones by isotonic regression
(monotone, non-parametric) or Platt scaling (logistic regression on the raw log-odds), with
scikit-learn, fitted on the labelled pairs and applied to all.

References
----------
Niculescu-Mizil, A. and Caruana, R. (2005). Predicting good probabilities with supervised
learning. ICML 2005, 625-632. doi:10.1145/1102351.1102430
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from undercount.errors import ConfigError, InputError

__all__ = ["Calibrator", "logit", "reviewed_probabilities"]


def logit(p: np.ndarray) -> np.ndarray:
    """:math:`\\log\\{p/(1-p)\\}`, with ``p`` clipped to :math:`[10^{-12}, 1 - 10^{-12}]`."""
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


@dataclass
class Calibrator:
    """Calibrate match probabilities against labelled pairs (scikit-learn).

    Parameters
    ----------
    method : {"isotonic", "platt"}
        Isotonic regression of the label on the raw probability, or logistic regression on
        the raw log-odds (Platt scaling).
    """

    method: Literal["isotonic", "platt"] = "isotonic"
    _model: Any = None

    def __post_init__(self) -> None:
        if self.method not in ("isotonic", "platt"):
            raise ConfigError(f"Calibrator: method={self.method!r}; choose isotonic or platt")

    def fit(
        self, probability: np.ndarray, labels: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> Calibrator:
        """Fit on the labelled pairs' raw probabilities and 0/1 labels.

        ``sample_weight``: the design weights (1/inclusion probability) of a clerical-review
        sample, so that the fit estimates the calibration curve of all the pairs, not of the
        sample's mix of bands (weighted least squares for isotonic regression, weighted
        likelihood for Platt scaling).
        """
        y = np.asarray(labels).astype(int)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if len(np.unique(y)) < 2:
            raise InputError("<labels>: calibration needs both matches and non-matches")
        # scikit-learn adds 0.2-0.5 s to an import and is only needed with labels.
        if self.method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            self._model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            self._model.fit(np.asarray(probability, dtype=float), y, sample_weight=w)
        else:
            from sklearn.linear_model import LogisticRegression

            self._model = LogisticRegression(C=1e6)
            self._model.fit(logit(probability)[:, None], y, sample_weight=w)
        return self

    def transform(self, probability: np.ndarray) -> np.ndarray:
        if self._model is None:
            raise ConfigError("Calibrator: call fit() first")
        if self.method == "isotonic":
            return np.asarray(self._model.predict(np.asarray(probability, dtype=float)))
        return self._model.predict_proba(logit(probability)[:, None])[:, 1]




def reviewed_probabilities(
    probability: np.ndarray,
    labelled: np.ndarray,
    label: np.ndarray,
    weight: np.ndarray,
    *,
    method: Literal["isotonic", "platt"] = "isotonic",
) -> np.ndarray:
    """The match probabilities after a clerical review.

    ``labelled`` indexes the reviewed pairs in ``probability``, ``label`` is 1 (match) or 0
    (non-match) for each, and ``weight`` its design weight :math:`N_h / m_h` (NaN for a pair
    reviewed outside the design sample: near the threshold, from a suspicious cluster). The
    design-sample labels calibrate every probability (:class:`Calibrator` with the design
    weights, so the bands' mix in the sample does not bias the fit); then each reviewed
    pair is fixed to its label (1 or 0), so that it is a must-link or a cannot-link in every
    linkage drawn from the probabilities. With fewer than two distinct design labels
    nothing is calibrated; the reviewed pairs are still fixed.
    """
    p = np.asarray(probability, dtype=float)
    idx = np.asarray(labelled, dtype=np.int64)
    y = np.asarray(label, dtype=float)
    w = np.asarray(weight, dtype=float)
    out = p.copy()
    design = ~np.isnan(w)
    if len(np.unique(y[design])) == 2:
        out = Calibrator(method).fit(p[idx[design]], y[design],
                                     sample_weight=w[design]).transform(p)
    out[idx] = y
    return out
