"""The calibrator of served probabilities (its own module: the served model refers to it, and
loading that must not import the training code: see :mod:`credit_scoring.modeling.served`)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

METHODS = ("platt", "isotonic")
EPSILON = 1e-6


def _log_odds(proba: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(proba, dtype=float), EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


class ProbabilityCalibrator:
    """Platt or isotonic map of probabilities of default, fitted on out-of-fold predictions."""

    def __init__(self, method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"calibration method must be one of {METHODS}, not {method!r}")
        self.method = method

    def fit(self, proba: np.ndarray, y: np.ndarray) -> ProbabilityCalibrator:
        if self.method == "platt":
            self.model_ = LogisticRegression(C=1e6).fit(_log_odds(proba)[:, None], y)
        else:
            self.model_ = IsotonicRegression(out_of_bounds="clip").fit(proba, y)
        return self

    def transform(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, kept inside [EPSILON, 1 - EPSILON]."""
        if self.method == "platt":  # LogisticRegression.predict_proba's own arithmetic,
            # without its per-call input checks (~0.7 ms a call)
            coef, intercept = self.model_.coef_[0, 0], self.model_.intercept_[0]
            calibrated = expit(_log_odds(proba) * coef + intercept)
        else:
            calibrated = self.model_.predict(np.asarray(proba, dtype=float))
        return np.clip(calibrated, EPSILON, 1 - EPSILON)
