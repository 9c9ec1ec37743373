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
class EngineConfig:
    """Where ingest parses the raw CSVs and featurize computes the history aggregates (the
    same tables and features either way).

    Attributes:
        name: ``local`` (pandas and Arrow, in the stage's process) or ``spark`` (Spark tasks, see
            :mod:`credit_scoring.spark.ingest` and :mod:`credit_scoring.spark.features`; needs
            the ``spark`` extra and Java 17+).
        spark_master: the Spark master URL (``local[2]``, ``spark://host:7077``, ``yarn``,
            ``k8s://...``).
        spark_buckets: client groups per side table; a group's rows meet in one Python call
            (and shuffle partitions are set to this number).
        spark_conf: extra Spark settings, e.g. ``{spark.driver.memory: 4g}``.
    """

    name: str = "local"
    spark_master: str = "local[2]"
    spark_buckets: int = 16
    spark_conf: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.name not in ("local", "spark"):
            raise ValueError(f"engine.name must be local or spark, not {self.name!r}")
        if self.spark_buckets < 1:
            raise ValueError(f"engine.spark_buckets must be at least 1, not {self.spark_buckets}")


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
        grid: GridSearchCV grid, keys as pipeline parameters (e.g. ``model__C``); a list of
            such dicts searches their union (to leave out combinations).
        n_jobs: fits run side by side for this family (None: ``train.n_jobs``). One fit at a
            time holds half the memory; give the estimator the threads instead (its
            ``params.n_jobs``), as ``experiment=full_size`` does for LightGBM.
    """

    name: str
    enabled: bool = True
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] | list[dict[str, list[Any]]] = field(default_factory=dict)
    n_jobs: int | None = None


@dataclass(frozen=True)
class TrainConfig:
    """How each model family is searched, assessed and refitted (section ``train`` of params).

    Attributes:
        seed: seed of the folds and of every estimator.
        cv_folds: folds of the search (shared by every family) and of each assessment repeat.
        cv_repeats: repeats of stratified ``cv_folds``-fold CV (other seeds than the search) on
            which each family's chosen configuration is assessed: its out-of-fold predictions
            give the threshold and the reported CV scores. 0: reuse the search's out-of-fold
            predictions of the chosen configuration (no extra fit after a grid search).
        search: ``grid`` (GridSearchCV) or ``halving`` (HalvingGridSearchCV, for big data).
        halving_factor: successive halving keeps 1/factor of the grid points per round.
        halving_min_resources: rows of the first halving round (``exhaust``, ``smallest`` or a
            number).
        refit_metric: score that chooses the grid point: ``roc_auc`` or ``business``.
        threshold_grid: thresholds tried (evenly spaced in (0, 1)) for the business threshold.
        calibration: ``auto`` (Platt or isotonic, the lower cross-fitted log loss), ``platt``,
            ``isotonic`` or ``none``.
        n_jobs: fits run in parallel (threads).
    """

    seed: int = 42
    cv_folds: int = 5
    cv_repeats: int = 0
    search: str = "grid"
    halving_factor: int = 3
    halving_min_resources: int | str = "exhaust"
    refit_metric: str = "roc_auc"
    threshold_grid: int = 199
    calibration: str = "auto"
    n_jobs: int = 1

    def __post_init__(self) -> None:
        if self.search not in ("grid", "halving"):
            raise ValueError(f"train.search must be grid or halving, not {self.search!r}")
        if self.refit_metric not in ("roc_auc", "business"):
            raise ValueError(
                f"train.refit_metric must be roc_auc or business, not {self.refit_metric!r}"
            )
        if self.calibration not in ("auto", "platt", "isotonic", "none"):
            raise ValueError(
                f"train.calibration must be auto, platt, isotonic or none: {self.calibration!r}"
            )
        if self.cv_folds < 2 or self.cv_repeats < 0:
            raise ValueError("train.cv_folds must be >= 2 and train.cv_repeats >= 0")


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
class FairnessConfig:
    """Fairness analysis of the champion on the held-out rows (section ``fairness``).

    Attributes:
        age_band_edges: ages (years, increasing) splitting applicants into bands: ``[25, 35]``
            gives ``<25``, ``25-35``, ``35+`` (a band holds its lower edge).
        min_outcomes_per_group: groups with fewer defaulters, or fewer reliable clients, on the
            held-out rows are listed per group but left out of the differences and the ratio
            (a false-negative rate over a couple of defaulters is noise).
        compare_without_protected: also train the champion's configuration without the
            protected attributes and report what dropping them costs and changes.
    """

    age_band_edges: tuple[float, ...] = (25, 35, 50, 65)
    min_outcomes_per_group: int = 10
    compare_without_protected: bool = True

    def __post_init__(self) -> None:
        edges = list(self.age_band_edges)
        if not edges or edges != sorted(set(edges)):
            raise ValueError("fairness.age_band_edges must be strictly increasing ages")
        object.__setattr__(self, "age_band_edges", tuple(edges))


@dataclass(frozen=True)
class DriftConfig:
    """Evidently data-drift settings.

    Attributes:
        stattest_threshold: per-column drift threshold (None: Evidently's defaults).
        drift_share: share of drifted columns that flags the whole data set as drifted.
        alert_share: share of drifted columns that raises the monitoring alert (``alert``).
        sample_size: rows sampled from each side (None: all rows).
        seed: sampling seed.
    """

    stattest_threshold: float | None = None
    drift_share: float = 0.5
    alert_share: float = 0.2
    sample_size: int | None = None
    seed: int = 42
