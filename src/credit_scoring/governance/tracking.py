"""MLflow tracking: runs per candidate, logged and saved models with pinned requirements.

Aliases (challenger, champion) and their history: :mod:`credit_scoring.governance.registry`.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import asdict
from functools import cache
from pathlib import Path
from typing import Any

import mlflow
import mlflow.pyfunc
import mlflow.sklearn
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, Schema

from credit_scoring.config import CostConfig, FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features import history_feature_columns
from credit_scoring.governance.environment import installed_version
from credit_scoring.modeling.pyfunc import (
    APPLICATION_TABLE,
    application_columns,
    write_data_folder,
)
from credit_scoring.modeling.train import TrainedCandidate

logger = logging.getLogger(__name__)

# Our pipelines hold xgboost/lightgbm/imblearn objects that skops (MLflow's default) cannot load
# without listing every type as trusted; the models are the project's own artifacts.
SERIALIZATION = mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE
MODEL_ARTIFACT = "model"
# The distributions that loading a pipeline needs (the first installed of each group). Given to
# MLflow instead of letting it infer them: inference imports the model in a subprocess (8 s
# per log_model / save_model call) and listed pytest and rich, not xgboost, lightgbm, imblearn.
MODEL_DISTRIBUTIONS = (
    ("credit-scoring",),
    ("scikit-learn",),
    ("imbalanced-learn",),
    ("xgboost-cpu", "xgboost"),
    ("lightgbm",),
    ("numpy",),
    ("pandas",),
    ("scipy",),
    ("cloudpickle",),
)


@cache
def model_requirements() -> tuple[str, ...]:
    """Pinned pip requirements of a logged model, from the installed versions."""
    pins = []
    for group in MODEL_DISTRIBUTIONS:
        installed = [(name, installed_version(name)) for name in group]
        pins += [f"{name}=={version}" for name, version in installed if version][:1]
    return tuple(pins)


def configure(tracking_uri: str, experiment: str) -> str:
    """Point MLflow at ``tracking_uri`` and select (or create) ``experiment``; return its id."""
    mlflow.set_tracking_uri(tracking_uri)
    return mlflow.set_experiment(experiment).experiment_id


def log_candidate(
    candidate: TrainedCandidate, X: pd.DataFrame, costs: CostConfig, n_folds: int
) -> str:
    """Log a trained family to the active run: params, CV metrics, grid children, curve, model.

    Returns:
        The logged model's URI.
    """
    mlflow.set_tag("family", candidate.family)
    mlflow.log_params({"family": candidate.family, "cv_folds": n_folds, **asdict(costs)})
    mlflow.log_params({f"best.{key}": value for key, value in candidate.best_params.items()})
    mlflow.log_metrics(
        {
            "cv_auc": candidate.cv_auc,
            "cv_auc_std": candidate.cv_auc_std,
            "cv_business_score": candidate.cv_business_score,
            "cv_business_score_std": candidate.cv_business_score_std,
            "threshold": candidate.threshold,
        }
    )
    mlflow.log_table(candidate.threshold_curve, "cv_threshold_curve.json")
    mlflow.log_table(candidate.fold_scores, "cv_fold_scores.json")
    mlflow.log_table(candidate.search_results, "grid_search_results.json")
    log_search_children(candidate.search_results, candidate.family)
    metadata = {"family": candidate.family, "threshold": candidate.threshold}
    return log_model(candidate.pipeline, X.head(200), metadata)


def log_search_children(search_results: pd.DataFrame, family: str) -> None:
    """One nested run per grid point of the active run, with its params and fold metrics."""
    metric_columns = [c for c in search_results if c.startswith(("mean_", "std_"))]
    for index, row in search_results.iterrows():
        with mlflow.start_run(run_name=f"{family}-grid-{index}", nested=True):
            mlflow.set_tag("family", family)
            mlflow.log_params({c: row[c] for c in search_results if c not in metric_columns})
            mlflow.log_metrics({c: float(row[c]) for c in metric_columns})


def log_model(pipeline: Any, sample: pd.DataFrame, metadata: Mapping[str, Any]) -> str:
    """Log a candidate ``pipeline`` (sklearn flavor) to the active run; return its URI."""
    signature = infer_signature(sample, pipeline.predict_proba(sample)[:, 1])
    info = mlflow.sklearn.log_model(
        pipeline,
        name=MODEL_ARTIFACT,
        signature=signature,
        input_example=sample.head(3),
        pip_requirements=list(model_requirements()),
        serialization_format=SERIALIZATION,
        metadata=dict(metadata),
    )
    return info.model_uri


def served_signature(config: FeaturesConfig) -> ModelSignature:
    """The served model's signature: raw application columns (integers as ``long``, as pandas
    reads the Kaggle files) and history aggregates in, all optional; probability, decision and
    threshold out."""
    kinds = schema.column_kinds(APPLICATION_TABLE)
    types = {"category": "string", "int": "long", "float": "double"}
    inputs = [
        ColSpec(types[kinds[column]], column, required=False) for column in application_columns()
    ]
    inputs += [
        ColSpec("double", column, required=False) for column in history_feature_columns(config)
    ]
    outputs = [
        ColSpec("double", "probability"),
        ColSpec("string", "decision"),
        ColSpec("double", "threshold"),
    ]
    return ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))


def _served_model_arguments(
    folder: Path, example: pd.DataFrame, metadata: Mapping[str, Any]
) -> dict[str, Any]:
    """What ``mlflow.pyfunc.save_model`` / ``log_model`` need, the data folder in ``folder``."""
    config = FeaturesConfig(**metadata.get("features_config", {}))
    return {
        "loader_module": "credit_scoring.modeling.pyfunc",
        "data_path": str(folder),
        "signature": served_signature(config),
        "input_example": example.head(3),
        "pip_requirements": list(model_requirements()),
        "metadata": dict(metadata),
    }


def log_served_model(
    pipeline: Any,
    example: pd.DataFrame,
    metadata: Mapping[str, Any],
    population: Mapping[str, Any] | None = None,
    background: pd.DataFrame | None = None,
) -> str:
    """Log the served pyfunc (:mod:`credit_scoring.modeling.pyfunc`) to the active run.

    Args:
        example: raw application rows (the input example).
        metadata: threshold, features and features_config at least.
        population: the training population's summaries, served by the API.
        background: the SHAP background rows.

    Returns:
        The logged model's URI.
    """
    with tempfile.TemporaryDirectory() as folder:
        data = write_data_folder(Path(folder), pipeline, population, background)
        arguments = _served_model_arguments(data, example, metadata)
        return mlflow.pyfunc.log_model(name=MODEL_ARTIFACT, **arguments).model_uri


def save_served_model(
    pipeline: Any,
    path: Path,
    example: pd.DataFrame,
    metadata: Mapping[str, Any],
    population: Mapping[str, Any] | None = None,
    background: pd.DataFrame | None = None,
) -> None:
    """Save the served pyfunc as an MLflow model folder (servable without the tracking server)."""
    with tempfile.TemporaryDirectory() as folder:
        data = write_data_folder(Path(folder), pipeline, population, background)
        mlflow.pyfunc.save_model(str(path), **_served_model_arguments(data, example, metadata))


def dumps(value: Any) -> str:
    """Compact JSON for tag values."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def log_evaluation(run_id: str | None, metrics: Mapping[str, float], figures: list[Path]) -> None:
    """Add held-out metrics and figures to a family's training run (skipped when it is gone)."""
    if not run_id:
        return
    try:
        with mlflow.start_run(run_id=run_id):
            mlflow.log_metrics({k: v for k, v in metrics.items() if k.startswith("holdout_")})
            for figure in figures:
                mlflow.log_artifact(str(figure), "figures")
    except mlflow.exceptions.MlflowException as exc:
        logger.warning("MLflow run %s not found, held-out metrics not logged: %s", run_id, exc)
