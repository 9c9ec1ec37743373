"""The decision rule: a credit is refused when its probability of default is at or above the
business threshold, granted otherwise. Every stage, the API and the metrics use this rule."""

from __future__ import annotations

import numpy as np

REFUSED, GRANTED = "refused", "granted"


def refused(proba: np.ndarray | float, threshold: np.ndarray | float) -> np.ndarray:
    """True where the probability of default is at or above the threshold (broadcasts)."""
    return np.asarray(proba) >= np.asarray(threshold)


def decide(probability: float, threshold: float) -> str:
    """``"refused"`` or ``"granted"`` for one probability of default."""
    return REFUSED if bool(refused(probability, threshold)) else GRANTED
