"""Held-out metrics, curves for `dvc plots`, and the choice of the champion."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)

from credit_scoring.config import CostConfig
from credit_scoring.modeling.calibration import calibration_scores
from credit_scoring.modeling.cost import business_score, business_score_curve
from credit_scoring.modeling.decision import refused


def decision_metrics(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, costs: CostConfig
) -> dict[str, float]:
    """AUC, average precision, and F1/precision/recall/business score at ``threshold``."""
    refused_rows = refused(proba, threshold).astype(int)
    return {
        "auc": float(roc_auc_score(y_true, proba)),
        "average_precision": float(average_precision_score(y_true, proba)),
        "business_score": business_score(y_true, refused_rows, costs.fn_cost, costs.fp_cost),
        "f1": float(f1_score(y_true, refused_rows, zero_division=0)),
        "precision": float(precision_score(y_true, refused_rows, zero_division=0)),
        "recall": float(recall_score(y_true, refused_rows, zero_division=0)),
        "refusal_rate": float(refused_rows.mean()),
    } | calibration_scores(y_true, proba)


def cost_curve(
    y_true: np.ndarray, proba: np.ndarray, costs: CostConfig, n_points: int
) -> pd.DataFrame:
    """Business score (and the cost it comes from) on an even threshold grid over [0, 1]."""
    thresholds = np.linspace(0.0, 1.0, n_points)
    scores = business_score_curve(y_true, proba, thresholds, costs)
    return pd.DataFrame({"threshold": thresholds.round(4), "business_score": scores.round(6)})


def _thin(frame: pd.DataFrame, n_points: int) -> pd.DataFrame:
    """Keep at most ``n_points`` evenly spaced rows (first and last kept), for small plot files."""
    if len(frame) <= n_points:
        return frame.reset_index(drop=True)
    keep = np.unique(np.linspace(0, len(frame) - 1, n_points).round().astype(int))
    return frame.iloc[keep].reset_index(drop=True)


def roc_points(y_true: np.ndarray, proba: np.ndarray, n_points: int) -> pd.DataFrame:
    """ROC curve thinned to ``n_points`` rows: fpr, tpr."""
    fpr, tpr, _ = roc_curve(y_true, proba)
    return _thin(pd.DataFrame({"fpr": fpr.round(5), "tpr": tpr.round(5)}), n_points)


def pr_points(y_true: np.ndarray, proba: np.ndarray, n_points: int) -> pd.DataFrame:
    """Precision-recall curve thinned to ``n_points`` rows: recall, precision."""
    precision, recall, _ = precision_recall_curve(y_true, proba)
    frame = pd.DataFrame({"recall": recall.round(5), "precision": precision.round(5)})
    return _thin(frame.iloc[::-1], n_points)
