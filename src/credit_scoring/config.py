"""Typed, frozen views of the sections of params.yaml that stages hand to the package.

Stages read ``params.yaml`` (composed from ``conf/`` by Hydra, tracked by DVC) and build these
objects; package code receives them and never reads YAML or the environment itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def load_params(path: Path | str = "params.yaml") -> dict[str, Any]:
    """Read params.yaml into a plain dict."""
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@dataclass(frozen=True)
class GenerateConfig:
    """Size and seed of the synthetic Home Credit data set.

    Attributes:
        seed: seed of every random draw.
        n_train: rows of application_train (labelled clients).
        n_test: rows of application_test (unlabelled, plays production).
        target_rate: share of defaulters (TARGET = 1) in application_train.
        history_scale: multiplier on the number of side-table rows per client (1.0 = as profiled).
        history_scales: per-table multipliers on top of ``history_scale`` (a missing table: 1.0),
            to match each table's row count to a target (e.g. Kaggle's). For
            installments_payments it is the mean number of payments per instalment instead
            (above 1, some instalments are paid in parts; below 1, a share is left out).
    """

    seed: int = 42
    n_train: int = 8000
    n_test: int = 2000
    target_rate: float = 0.08
    history_scale: float = 1.0
    history_scales: dict[str, float] = field(default_factory=dict)

    def table_scale(self, table: str) -> float:
        """Row multiplier of one side table: ``history_scale`` times its own scale."""
        return self.history_scale * self.history_scales.get(table, 1.0)


@dataclass(frozen=True)
class FeaturesConfig:
    """Parameters of the feature builder.

    Attributes:
        recent_months: window (in months back from the application) of the "recent" history stats.
        recent_days: same window in days, for tables dated in days (installments, bureau).
    """

    recent_months: int = 12
    recent_days: int = 365


@dataclass(frozen=True)
class CostConfig:
    """Business cost of errors: a missed defaulter (FN) and a refused good client (FP)."""

    fn_cost: float = 10.0
    fp_cost: float = 1.0


@dataclass(frozen=True)
class ModelGrid:
    """One model family and its hyper-parameter grid.

    Attributes:
        name: family key (logreg, random_forest, xgboost, lightgbm).
        enabled: whether the family is trained at all.
        params: fixed estimator arguments.
        grid: GridSearchCV grid, keys as pipeline parameters (e.g. ``model__C``).
    """

    name: str
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class ExplainConfig:
    """SHAP settings.

    Attributes:
        n_background: rows of the background sample (interventional SHAP, linear models).
        n_explained: held-out rows explained for the global importance.
        n_local: clients whose local explanation is written to reports/.
        top_k: contributions kept per local explanation.
        seed: sampling seed.
    """

    n_background: int = 200
    n_explained: int = 500
    n_local: int = 10
    top_k: int = 10
    seed: int = 42


@dataclass(frozen=True)
class DriftConfig:
    """Evidently data-drift settings.

    Attributes:
        stattest_threshold: per-column drift threshold (None: Evidently's defaults).
        drift_share: share of drifted columns that flags the whole data set as drifted.
        sample_size: rows sampled from each side (None: all rows).
        seed: sampling seed.
    """

    stattest_threshold: float | None = None
    drift_share: float = 0.5
    sample_size: int | None = None
    seed: int = 42
