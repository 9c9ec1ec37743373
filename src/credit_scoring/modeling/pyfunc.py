"""The registered model as an MLflow pyfunc that answers like the API: per application row, the
probability of default, the decision at the business threshold and the threshold.

A pyfunc with a loader module (this one): its data folder ``data/model/`` holds the fitted
pipeline (``model.pkl``, cloudpickle), the training population's summaries
(``population.json``) and the SHAP background rows (``background.parquet``), so whoever serves
it needs no labelled row; its threshold, feature columns and feature parameters are the
MLmodel's metadata. ``mlflow.pyfunc.load_model(...).predict`` (and ``mlflow models serve``,
``spark_udf``, any platform serving a registered model) takes raw application rows (Kaggle
columns, missing ones as null) and, optionally, the client's history aggregates as extra
columns (those of ``data/processed/history.parquet``); without them the client is scored with
no history, as the API does for an unknown client (NaN aggregates, 0 counts).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pandas as pd
import yaml

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features import build_features, feature_matrix, history_feature_columns
from credit_scoring.modeling.decision import GRANTED, REFUSED, refused
from credit_scoring.modeling.served import ServedPipeline

DATA_DIR = "model"
PICKLE = "model.pkl"
POPULATION = "population.json"
BACKGROUND = "background.parquet"
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


def write_data_folder(
    folder: Path,
    pipeline: Any,
    population: Mapping[str, Any] | None = None,
    background: pd.DataFrame | None = None,
) -> Path:
    """Write the pyfunc's data folder ``folder/model`` (pipeline, population, background)."""
    data = Path(folder) / DATA_DIR
    data.mkdir(parents=True, exist_ok=True)
    with open(data / PICKLE, "wb") as handle:  # served steps only: loads without imblearn
        cloudpickle.dump(ServedPipeline.from_trained(pipeline), handle)
    if population is not None:
        text = json.dumps(population, sort_keys=True, separators=(",", ":"), allow_nan=False)
        (data / POPULATION).write_text(text, encoding="utf-8")
    if background is not None:
        background.to_parquet(data / BACKGROUND, index=False)
    return data


def read_mlmodel(model_dir: Path) -> dict[str, Any]:
    """The MLmodel file of an MLflow model folder as a dict (``flavors``, ``metadata``, ...).

    Plain YAML: reading a local model needs no ``import mlflow`` (some 100 MB in the API).
    """
    with open(Path(model_dir) / "MLmodel", encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _data_folder(model_dir: Path, mlmodel: Mapping[str, Any] | None = None) -> Path | None:
    """The pyfunc's data folder in an MLflow model folder (None: an older sklearn flavor).

    Args:
        mlmodel: the folder's :func:`read_mlmodel` when the caller has read it already.
    """
    flavors = (mlmodel or read_mlmodel(model_dir))["flavors"]
    if "sklearn" in flavors:
        return None
    data = Path(model_dir) / flavors["python_function"]["data"]
    return data if data.is_dir() else data.parent


def load_pipeline(model_dir: Path, mlmodel: Mapping[str, Any] | None = None) -> Any:
    """The fitted pipeline of an MLflow model folder: this pyfunc's pickle, or an older
    version's sklearn flavor (registered before the pyfunc existed)."""
    data = _data_folder(model_dir, mlmodel)
    if data is None:
        import mlflow.sklearn

        return mlflow.sklearn.load_model(str(model_dir))
    with open(data / PICKLE, "rb") as handle:
        return cloudpickle.load(handle)


def load_serving_stats(
    model_dir: Path,
    mlmodel: Mapping[str, Any] | None = None,
    read_parquet: Callable[[Path], pd.DataFrame] = pd.read_parquet,
) -> tuple[dict[str, dict[str, Any]] | None, pd.DataFrame | None]:
    """The population summaries and SHAP background stored with the model (None if absent).

    Args:
        read_parquet: reads the background's parquet file (the API's reads it without Arrow).
    """
    data = _data_folder(model_dir, mlmodel)
    if data is None:
        return None, None
    population = background = None
    if (data / POPULATION).is_file():
        population = json.loads((data / POPULATION).read_text(encoding="utf-8"))
    if (data / BACKGROUND).is_file():
        background = read_parquet(data / BACKGROUND)
    return population, background


def _load_pyfunc(data_path: str) -> CreditScoringModel:
    """MLflow's entry point: the model whose data folder (or, for a file, its folder) is
    ``data_path``."""
    data = Path(data_path)
    data = data if data.is_dir() else data.parent
    folder = next(p for p in (data, data.parent, data.parent.parent) if (p / "MLmodel").is_file())
    metadata = read_mlmodel(folder).get("metadata") or {}
    with open(data / PICKLE, "rb") as handle:
        pipeline = cloudpickle.load(handle)
    return CreditScoringModel(
        pipeline,
        metadata["threshold"],
        metadata["features"],
        FeaturesConfig(**metadata.get("features_config", {})),
    )
