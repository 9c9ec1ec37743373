"""The business cost of credit decisions and the threshold that minimises it.

A decision is "refuse" (predicted default, label 1) when the probability of default is at or above
the threshold. A refused reliable client (FP) costs ``fp_cost``; a granted defaulter (FN) costs
``fn_cost``. ``business_score = 1 - cost / max_cost`` where ``max_cost`` is the cost of getting
every client wrong, so 1 is perfect and 0 is the worst possible.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import make_scorer

from credit_scoring.config import CostConfig
from credit_scoring.modeling.decision import refused


def max_cost(y_true: np.ndarray, costs: CostConfig) -> float:
    """Cost when every prediction is wrong: ``fn_cost * positives + fp_cost * negatives``."""
    y_true = np.asarray(y_true)
    positives = float(np.sum(y_true == 1))
    return costs.fn_cost * positives + costs.fp_cost * (len(y_true) - positives)


def business_cost(y_true: np.ndarray, y_pred: np.ndarray, costs: CostConfig) -> float:
    """Total cost of the decisions ``y_pred`` (1 = refuse) against the outcomes ``y_true``."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    false_negatives = np.sum((y_true == 1) & (y_pred == 0))
    false_positives = np.sum((y_true == 0) & (y_pred == 1))
    return float(costs.fn_cost * false_negatives + costs.fp_cost * false_positives)


def business_score(
    y_true: np.ndarray, y_pred: np.ndarray, fn_cost: float = 10.0, fp_cost: float = 1.0
) -> float:
    """Return ``1 - cost / max_cost`` of the decisions ``y_pred`` (higher is better).

    Args:
        y_true: observed defaults (1) and repayments (0).
        y_pred: decisions, 1 = refused (predicted default).
        fn_cost: cost of a granted defaulter.
        fp_cost: cost of a refused reliable client.
    """
    costs = CostConfig(fn_cost=fn_cost, fp_cost=fp_cost)
    worst = max_cost(y_true, costs)
    return 1.0 - business_cost(y_true, y_pred, costs) / worst if worst else 1.0


def business_scorer(costs: CostConfig):
    """A scikit-learn scorer of hard decisions (for ``TunedThresholdClassifierCV``)."""
    return make_scorer(business_score, fn_cost=costs.fn_cost, fp_cost=costs.fp_cost)


def business_score_curve(
    y_true: np.ndarray, proba: np.ndarray, thresholds: np.ndarray, costs: CostConfig
) -> np.ndarray:
    """Business score at each threshold (vectorised over thresholds)."""
    y_true = np.asarray(y_true) == 1
    proba = np.asarray(proba, dtype=float)
    refused_rows = refused(proba[None, :], np.asarray(thresholds, dtype=float)[:, None])
    false_negatives = np.sum(~refused_rows & y_true[None, :], axis=1)
    false_positives = np.sum(refused_rows & ~y_true[None, :], axis=1)
    worst = max_cost(y_true.astype(int), costs)
    cost = costs.fn_cost * false_negatives + costs.fp_cost * false_positives
    return 1.0 - cost / worst if worst else np.ones(len(thresholds))


def find_best_threshold(
    y_true: np.ndarray, proba: np.ndarray, costs: CostConfig, n_thresholds: int = 199
) -> tuple[float, float]:
    """Threshold on an even grid in (0, 1) that maximises the business score, and that score."""
    thresholds = np.linspace(0, 1, n_thresholds + 2)[1:-1]
    scores = business_score_curve(y_true, proba, thresholds, costs)
    best = int(np.argmax(scores))
    return float(thresholds[best]), float(scores[best])


def best_business_score(
    y_true: np.ndarray, proba: np.ndarray, fn_cost: float = 10.0, fp_cost: float = 1.0
) -> float:
    """Business score at the best threshold of ``proba`` (a threshold-free model ranking)."""
    return find_best_threshold(y_true, proba, CostConfig(fn_cost, fp_cost))[1]


def best_business_scorer(costs: CostConfig):
    """A scorer of probabilities: the business score at their best threshold on the fold."""
    return make_scorer(
        best_business_score,
        response_method="predict_proba",
        fn_cost=costs.fn_cost,
        fp_cost=costs.fp_cost,
    )
