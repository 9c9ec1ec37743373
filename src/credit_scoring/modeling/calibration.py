"""Calibrated probabilities: a monotone map from a model's scores to observed default rates.

Each family is calibrated on its out-of-fold probabilities (never on rows its fitted model saw):
Platt scaling (a logistic regression on the score's log-odds) or isotonic regression, whichever
has the lower cross-fitted log loss (each fold mapped by a calibrator fitted on the other folds).
The served model is a :class:`CalibratedPipeline`: the same fitted steps, whose
``predict_proba`` passes the raw probability through the calibrator, so the business threshold
lives on the calibrated scale. SHAP still explains the raw score, of which the calibrated
probability is an increasing function.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from sklearn.metrics import brier_score_loss, log_loss

from credit_scoring.modeling.calibrator import (  # noqa: F401 (pickles refer to this module)
    EPSILON,
    METHODS,
    ProbabilityCalibrator,
    _log_odds,
)
from credit_scoring.modeling.served import default_probability  # noqa: F401 (its old home)

ECE_BINS = 10


class CalibratedPipeline(Pipeline):
    """A fitted pipeline whose ``predict_proba`` is calibrated (``calibrator_``).

    Its steps, ``named_steps`` and SHAP explanation are those of the raw pipeline;
    :meth:`predict_raw_proba` gives the uncalibrated probabilities.
    """

    @classmethod
    def wrap(cls, pipeline: Pipeline, calibrator: ProbabilityCalibrator) -> CalibratedPipeline:
        """The fitted ``pipeline``'s steps with ``calibrator`` applied to its probabilities."""
        wrapped = cls(pipeline.steps, memory=pipeline.memory, verbose=pipeline.verbose)
        wrapped.calibrator_ = calibrator
        return wrapped

    def predict_raw_proba(self, X: Any) -> np.ndarray:
        """The pipeline's uncalibrated class probabilities."""
        return super().predict_proba(X)

    def predict_proba(self, X: Any, **params: Any) -> np.ndarray:
        default = self.calibrator_.transform(super().predict_proba(X, **params)[:, 1])
        return np.column_stack([1 - default, default])


def expected_calibration_error(y: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Mean |predicted - observed default rate| over equal-count bins, weighted by bin size."""
    order = np.argsort(proba, kind="stable")
    bins = np.array_split(order, n_bins)
    y, proba = np.asarray(y, dtype=float), np.asarray(proba, dtype=float)
    return float(sum(len(b) * abs(proba[b].mean() - y[b].mean()) for b in bins if len(b)) / len(y))


def calibration_scores(y: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    """Brier score, log loss and expected calibration error of probabilities of default."""
    proba = np.clip(np.asarray(proba, dtype=float), EPSILON, 1 - EPSILON)
    return {
        "brier": float(brier_score_loss(y, proba)),
        "log_loss": float(log_loss(y, proba, labels=[0, 1])),
        "ece": expected_calibration_error(y, proba),
    }


def reliability_table(y: np.ndarray, proba: np.ndarray, n_bins: int = ECE_BINS) -> pd.DataFrame:
    """Per equal-count bin: mean predicted probability and observed default rate (a DVC plot)."""
    order = np.argsort(proba, kind="stable")
    y, proba = np.asarray(y, dtype=float), np.asarray(proba, dtype=float)
    rows = [
        {
            "mean_predicted": round(float(proba[b].mean()), 6),
            "observed_default_rate": round(float(y[b].mean()), 6),
            "rows": len(b),
        }
        for b in np.array_split(order, n_bins)
        if len(b)
    ]
    return pd.DataFrame(rows)


def cross_fitted(
    method: str, y: np.ndarray, oof: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Each fold's probabilities mapped by a calibrator fitted on the other folds' rows."""
    calibrated = np.empty(len(y))
    for _, valid in folds:
        others = np.setdiff1d(np.arange(len(y)), valid, assume_unique=True)
        calibrator = ProbabilityCalibrator(method).fit(oof[others], y[others])
        calibrated[valid] = calibrator.transform(oof[valid])
    return calibrated


def choose_calibration(
    y: np.ndarray, oof: np.ndarray, repeats: list[list[tuple[np.ndarray, np.ndarray]]]
) -> tuple[str, pd.DataFrame]:
    """The method with the lowest cross-fitted log loss, and every method's scores.

    Args:
        y: labels of the training rows.
        oof: out-of-fold probabilities, one row per repeat of ``repeats``.
        repeats: the folds of each repeat.

    Returns:
        The chosen method and a table (method: none and each of METHODS; brier, log_loss, ece,
        the mean over repeats of the cross-fitted scores).
    """
    rows = [{"method": "none"} | _mean_scores(y, list(oof))]
    for method in METHODS:
        mapped = [
            cross_fitted(method, y, row, folds) for row, folds in zip(oof, repeats, strict=True)
        ]
        rows.append({"method": method} | _mean_scores(y, mapped))
    table = pd.DataFrame(rows)
    fitted = table[table["method"] != "none"]
    return str(fitted.loc[fitted["log_loss"].idxmin(), "method"]), table


def _mean_scores(y: np.ndarray, probas: list[np.ndarray]) -> dict[str, float]:
    scores = pd.DataFrame([calibration_scores(y, proba) for proba in probas])
    return {name: float(value) for name, value in scores.mean().items()}
