"""The registered model as an MLflow pyfunc that answers like the API: per application row, the
probability of default, the decision at the business threshold and the threshold.

A pyfunc with a loader module (this one): the fitted pipeline is ``model.pkl`` (cloudpickle) in
the model folder, its threshold, feature columns and feature parameters are the MLmodel's
metadata. ``mlflow.pyfunc.load_model(...).predict`` (and ``mlflow models serve``, ``spark_udf``,
any platform serving a registered model) takes raw application rows (Kaggle columns, missing
ones as null) and, optionally, the client's history aggregates as extra columns (the columns of
``data/processed/history.parquet``); without them the client is scored with no history, as the
API does for an unknown client (NaN aggregates, 0 counts).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features import build_features, feature_matrix, history_feature_columns
from credit_scoring.modeling.decision import GRANTED, REFUSED, refused

PICKLE = "model.pkl"
OUTPUT = ("probability", "decision", "threshold")
APPLICATION_TABLE = "application_test"


def application_columns() -> list[str]:
    """The raw application columns the model takes (Kaggle application_test order)."""
    return [c for c in schema.table_columns(APPLICATION_TABLE) if c != schema.TARGET]


class CreditScoringModel:
    """Raw applications (+ optional history aggregates) in, decisions out.

    Attributes:
        pipeline: fitted ``preprocess -> sampler -> model`` pipeline (``predict_proba``).
        threshold: probability of default at or above which the credit is refused.
        features: ``{"numeric": [...], "categorical": [...]}`` model input columns.
        config: the feature parameters of the pipeline run.
    """

    def __init__(
        self,
        pipeline: Any,
        threshold: float,
        features: Mapping[str, list[str]],
        config: FeaturesConfig,
    ) -> None:
        self.pipeline = pipeline
        self.threshold = float(threshold)
        self.features = {k: list(v) for k, v in features.items()}
        self.config = config

    def model_input(self, data: pd.DataFrame) -> pd.DataFrame:
        """The pipeline's input for raw application rows (history aggregates when given)."""
        data = pd.DataFrame(data).reset_index(drop=True)
        applications = data.reindex(columns=application_columns())
        applications[schema.CLIENT_ID] = np.arange(len(data), dtype="int64")  # row keys
        aggregates = history_feature_columns(self.config)
        history = None
        if any(column in data.columns for column in aggregates):
            history = data.reindex(columns=aggregates).astype("float64")
            history.index = pd.Index(applications[schema.CLIENT_ID], name=schema.CLIENT_ID)
        return feature_matrix(build_features(applications, history, self.config), self.features)

    def predict(self, data: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """``probability``, ``decision`` (granted / refused) and ``threshold`` per row."""
        probability = self.pipeline.predict_proba(self.model_input(data))[:, 1]
        decision = np.where(refused(probability, self.threshold), REFUSED, GRANTED)
        return pd.DataFrame(
            {"probability": probability, "decision": decision, "threshold": self.threshold}
        )


def input_example(rows: pd.DataFrame) -> pd.DataFrame:
    """Raw application rows typed as the signature wants (integer columns as int64)."""
    kinds = schema.column_kinds(APPLICATION_TABLE)
    example = rows[[c for c in application_columns() if c in rows.columns]].copy()
    for column in example.columns:
        if kinds[column] == "int" and example[column].notna().all():
            example[column] = example[column].astype("int64")
        elif kinds[column] == "int":
            example = example.drop(columns=column)  # optional: left out rather than mistyped
    return example


def write_pipeline(pipeline: Any, path: Path) -> Path:
    """Pickle ``pipeline`` to ``path`` (cloudpickle, as MLflow's sklearn flavor did)."""
    with open(path, "wb") as handle:
        cloudpickle.dump(pipeline, handle)
    return path


def load_pipeline(model_dir: Path) -> Any:
    """The fitted pipeline of an MLflow model folder: this pyfunc's pickle, or an older
    version's sklearn flavor (registered before the pyfunc existed)."""
    from mlflow.models import Model

    flavors = Model.load(str(model_dir)).flavors
    if "sklearn" in flavors:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(model_dir))
    data = flavors["python_function"]["data"]
    with open(Path(model_dir) / data, "rb") as handle:
        return cloudpickle.load(handle)


def _load_pyfunc(data_path: str) -> CreditScoringModel:
    """MLflow's entry point: the model of the folder holding ``data_path``."""
    from mlflow.models import Model

    folder = Path(data_path).parent
    if not (folder / "MLmodel").is_file():  # MLflow keeps data_path under <model>/data/
        folder = folder.parent
    metadata = Model.load(str(folder)).metadata or {}
    with open(data_path, "rb") as handle:
        pipeline = cloudpickle.load(handle)
    return CreditScoringModel(
        pipeline,
        metadata["threshold"],
        metadata["features"],
        FeaturesConfig(**metadata.get("features_config", {})),
    )
