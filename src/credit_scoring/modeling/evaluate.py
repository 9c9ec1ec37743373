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
from credit_scoring.tabular import METRIC_DECIMALS, rounded_metrics


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


def bootstrap_intervals(
    y_true: np.ndarray,
    proba: np.ndarray,
    threshold: float,
    costs: CostConfig,
    *,
    n_resamples: int = 500,
    level: float = 0.9,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Percentile bootstrap intervals of the held-out AUC and business score (rows resampled)."""
    rng = np.random.default_rng(seed)
    y_true, proba = np.asarray(y_true), np.asarray(proba)
    decisions = refused(proba, threshold).astype(int)
    draws = {"holdout_auc": [], "holdout_business_score": []}
    for _ in range(n_resamples):
        rows = rng.integers(0, len(y_true), len(y_true))
        if y_true[rows].min() == y_true[rows].max():
            continue
        draws["holdout_auc"].append(roc_auc_score(y_true[rows], proba[rows]))
        draws["holdout_business_score"].append(
            business_score(y_true[rows], decisions[rows], costs.fn_cost, costs.fp_cost)
        )
    tail = (1 - level) / 2 * 100
    return {
        name: [
            round(float(np.percentile(values, tail)), 6),
            round(float(np.percentile(values, 100 - tail)), 6),
        ]
        for name, values in draws.items()
    }


# The champion's figures in `dvc metrics` (the rest of its scores: reports/champion.json).
CHAMPION_METRICS = (
    "cv_auc", "cv_auc_std", "cv_business_score", "cv_business_score_std", "threshold",
    "holdout_auc", "holdout_business_score", "holdout_f1", "holdout_ece", "holdout_refusal_rate",
)  # fmt: skip
# Each family's figures in `dvc metrics` (all of them: the plot file of :func:`family_table`).
FAMILY_METRICS = ("cv_auc", "cv_business_score", "holdout_auc", "holdout_business_score")


def headline_metrics(scores: dict[str, dict[str, float]], champion: str) -> dict[str, float]:
    """The flat ``dvc metrics`` of the evaluate stage, few enough to read in a diff:
    ``champion.<name>`` for :data:`CHAMPION_METRICS`, ``<family>.<name>`` for
    :data:`FAMILY_METRICS`, rounded to :data:`~credit_scoring.tabular.METRIC_DECIMALS`."""
    metrics = {f"champion.{name}": scores[champion][name] for name in CHAMPION_METRICS}
    metrics |= {
        f"{family}.{name}": family_scores[name]
        for family, family_scores in scores.items()
        for name in FAMILY_METRICS
    }
    return rounded_metrics(metrics)


def family_table(scores: dict[str, dict[str, float]], champion: str) -> pd.DataFrame:
    """One row per family with every score (rounded like the metrics), the champion flagged."""
    table = pd.DataFrame([{"family": family, **s} for family, s in scores.items()])
    numeric = table.columns.drop("family")
    table[numeric] = table[numeric].round(METRIC_DECIMALS)
    table.insert(1, "champion", table["family"] == champion)
    return table
