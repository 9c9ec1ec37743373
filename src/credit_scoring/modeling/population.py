"""Distribution of each training feature and its default rate, to place a client in the
population; and the SHAP background sample.

Computed by stage register from the labelled training features and stored with the served model
(``population.json``, ``background.parquet``), so the API needs no labelled row. Numeric features
get quantiles, a histogram and the default rate per histogram bin; categorical ones the count and
default rate per category. Values below/above the 1st/99th percentiles fall into the first/last
bin.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.data.schema import TARGET

logger = logging.getLogger(__name__)

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
N_BINS = 20
TAIL_QUANTILE = 0.01
MAX_CATEGORIES = 30


def _rate(target: np.ndarray) -> float | None:
    """Mean of the 0/1 ``target`` (None when empty)."""
    return float(target.mean()) if len(target) else None


def _edges(values: np.ndarray) -> np.ndarray:
    """Bin edges: one bin per value for low-cardinality features, else even bins on the bulk."""
    unique = np.unique(values)
    if len(unique) <= N_BINS:
        if len(unique) == 1:
            return np.array([unique[0] - 0.5, unique[0] + 0.5])
        middles = (unique[:-1] + unique[1:]) / 2
        first, last = unique[0] - (middles[0] - unique[0]), unique[-1] + (unique[-1] - middles[-1])
        return np.concatenate([[first], middles, [last]])
    low, high = np.quantile(values, [TAIL_QUANTILE, 1 - TAIL_QUANTILE])
    if low == high:
        low, high = unique[0], unique[-1]
    return np.linspace(low, high, N_BINS + 1)


def numeric_summary(values: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """Quantiles, histogram and default rate per bin of one numeric feature.

    Args:
        values: the feature over the training rows (NaN = missing).
        target: TARGET of the same rows.

    Returns:
        ``{"kind", "count", "missing", "default_rate", "missing_default_rate", "quantiles",
        "histogram": {"edges", "counts"}, "default_rate_by_bin"}``.
    """
    present = np.isfinite(values)
    observed, labels = values[present], target[present]
    summary: dict[str, Any] = {
        "kind": "numeric",
        "count": int(present.sum()),
        "missing": int((~present).sum()),
        "default_rate": _rate(labels),
        "missing_default_rate": _rate(target[~present]),
    }
    if not len(observed):
        return summary | {
            "quantiles": {str(q): None for q in QUANTILES},
            "histogram": {"edges": [], "counts": []},
            "default_rate_by_bin": [],
        }
    edges = _edges(observed)
    bins = np.clip(np.searchsorted(edges, observed, side="right") - 1, 0, len(edges) - 2)
    counts = np.bincount(bins, minlength=len(edges) - 1)
    defaults = np.bincount(bins, weights=labels, minlength=len(edges) - 1)
    quantiles = np.quantile(observed, QUANTILES)
    return summary | {
        "quantiles": {str(q): float(v) for q, v in zip(QUANTILES, quantiles, strict=True)},
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
        "default_rate_by_bin": [
            float(d / c) if c else None for d, c in zip(defaults, counts, strict=True)
        ],
    }


def categorical_summary(values: pd.Series, target: np.ndarray) -> dict[str, Any]:
    """Count and default rate of the most frequent categories of one categorical feature."""
    frame = pd.DataFrame({"value": values.astype(object).to_numpy(), "target": target})
    missing = frame["value"].isna()
    groups = frame[~missing].groupby("value")["target"].agg(["size", "mean"])
    groups = groups.sort_values("size", ascending=False).head(MAX_CATEGORIES)
    return {
        "kind": "categorical",
        "count": int((~missing).sum()),
        "missing": int(missing.sum()),
        "default_rate": _rate(frame.loc[~missing, "target"].to_numpy()),
        "missing_default_rate": _rate(frame.loc[missing, "target"].to_numpy()),
        "categories": {str(k): int(v) for k, v in groups["size"].items()},
        "default_rate_by_category": {str(k): float(v) for k, v in groups["mean"].items()},
    }


def summarise(frame: pd.DataFrame, features: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """Summaries of the model ``features`` present in the labelled ``frame`` (with TARGET)."""
    target = frame[TARGET].to_numpy(dtype="float64")
    summaries: dict[str, dict[str, Any]] = {}
    for column in features["numeric"]:
        if column in frame.columns:
            values = frame[column].to_numpy(dtype="float64", na_value=np.nan)
            summaries[column] = numeric_summary(values, target)
    for column in features["categorical"]:
        if column in frame.columns:
            summaries[column] = categorical_summary(frame[column], target)
    logger.info("population: %d rows, %d features summarised", len(frame), len(summaries))
    return summaries


def background_sample(
    frame: pd.DataFrame, features: dict[str, list[str]], n_rows: int, seed: int
) -> pd.DataFrame:
    """The SHAP background: ``n_rows`` training rows of the model's input columns."""
    from credit_scoring.features import feature_matrix

    matrix = feature_matrix(frame, features)
    return matrix.sample(n=min(n_rows, len(matrix)), random_state=seed)


class Population:
    """Per-feature population summaries of the training rows.

    Attributes:
        summaries: ``{feature: summary}`` for every model feature present in the training data.
    """

    def __init__(self, summaries: dict[str, dict[str, Any]]) -> None:
        self.summaries = dict(summaries)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, features: dict[str, list[str]]) -> Population:
        """Summarise the model ``features`` of the labelled ``frame`` (with TARGET)."""
        return cls(summarise(frame, features))

    def get(self, features: list[str] | None) -> dict[str, dict[str, Any]]:
        """Summaries of ``features`` (None: all) in the order asked; unknown names are left out."""
        if features is None:
            return dict(self.summaries)
        return {
            feature: self.summaries[feature] for feature in features if feature in self.summaries
        }
