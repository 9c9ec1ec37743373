"""Loading the champion: from the MLflow registry, or from a local MLflow model folder.

The threshold, feature columns and metrics come from the model's ``metadata`` (written by stage
register), completed by the registry version's tags when the metadata lacks them.
"""

from __future__ import annotations

import json
import logging
import re
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

import pandas as pd

from credit_scoring.data import schema
from credit_scoring.modeling.pyfunc import load_pipeline, load_serving_stats, read_mlmodel

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

logger = logging.getLogger(__name__)

MODEL_URI_PATTERN = re.compile(
    r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$"
)
PROBE_TIMEOUT_SECONDS = 3.0
DEFAULT_NAME = "credit-scoring"


class ModelLoadError(RuntimeError):
    """The model could be loaded neither from the registry nor from the local folder."""


@dataclass(frozen=True)
class LoadedModel:
    """A fitted pipeline and what the API needs to know about it.

    Attributes:
        pipeline: the fitted ``preprocess -> sampler -> model`` pipeline (``predict_proba``).
        name: registered model name.
        version: registry version (None when loaded from the local folder).
        family: model family (logreg, random_forest, xgboost, lightgbm).
        threshold: probability of default at or above which the credit is refused.
        features: ``{"numeric": [...], "categorical": [...]}`` model input columns.
        metrics: the champion's evaluation metrics.
        data_hash: hash of the training data.
        data_source: data the model was trained on (synthetic, home_credit).
        source: ``"registry"`` or ``"local"``.
        uri: the location actually loaded (pinned registry URI or folder).
        population: the training population's summaries stored with the model (None: an older
            version; the API then computes them from ``CREDIT_API_POPULATION_PATH``).
        background: the SHAP background rows stored with the model (None: likewise).
    """

    pipeline: Any
    name: str
    version: str | None
    family: str
    threshold: float
    features: dict[str, list[str]]
    metrics: dict[str, float] = field(default_factory=dict)
    data_hash: str | None = None
    data_source: str | None = None
    source: Literal["registry", "local"] = "local"
    uri: str = ""
    population: dict[str, dict[str, Any]] | None = None
    background: pd.DataFrame | None = None


def load_champion(model_uri: str, tracking_uri: str, model_path: Path) -> LoadedModel:
    """Load ``model_uri`` from the registry at ``tracking_uri``, else the folder ``model_path``.

    Args:
        model_uri: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``; empty skips the
            registry.
        tracking_uri: MLflow tracking/registry URI.
        model_path: MLflow model folder used when the registry cannot serve the model.

    Returns:
        The loaded model.

    Raises:
        ModelLoadError: when neither source works.
    """
    name = _parse(model_uri)[0] if MODEL_URI_PATTERN.match(model_uri or "") else DEFAULT_NAME
    registry_error: Exception | None = None
    if model_uri:
        try:
            return load_from_registry(model_uri, tracking_uri)
        except Exception as exc:  # any registry failure means: use the local copy
            registry_error = exc
            logger.warning(
                "registry model %s at %s unavailable (%s); falling back to %s",
                model_uri,
                tracking_uri,
                exc,
                model_path,
            )
    try:
        return load_from_path(model_path, name)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load the model: registry {model_uri!r} at {tracking_uri!r}: "
            f"{registry_error}; local folder {str(model_path)!r}: {exc}"
        ) from exc


def load_from_registry(model_uri: str, tracking_uri: str) -> LoadedModel:
    """Resolve ``model_uri`` to a version of the registry and load it.

    Raises:
        ConnectionError: when the tracking server or database is not there.
        mlflow.exceptions.MlflowException: unknown model, alias or version.
    """
    import mlflow  # only for the registry: a local folder is read without it

    name = _parse(model_uri)[0]
    model_version = resolve_version(model_uri, tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    pinned = f"models:/{name}/{model_version.version}"
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=pinned, tracking_uri=tracking_uri, registry_uri=tracking_uri
    )
    loaded = _load_folder(Path(local), name, str(model_version.version), model_version.tags)
    logger.info("loaded %s (%s) from the registry at %s", pinned, model_uri, tracking_uri)
    return replace(loaded, source="registry", uri=pinned)


def resolve_version(model_uri: str, tracking_uri: str) -> ModelVersion:
    """The registry version ``model_uri`` (alias or number) points to now.

    Raises:
        ConnectionError: when the tracking server or database is not there.
        mlflow.exceptions.MlflowException: unknown model, alias or version.
    """
    from mlflow import MlflowClient

    name, alias, version = _parse(model_uri)
    _probe(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if alias:
        return client.get_model_version_by_alias(name, alias)
    return client.get_model_version(name, version)


def load_from_path(path: Path, name: str = DEFAULT_NAME) -> LoadedModel:
    """Load the MLflow model folder ``path`` (no registry involved)."""
    path = Path(path)
    if not (path / "MLmodel").is_file():
        raise FileNotFoundError(f"{path}: not an MLflow model folder (no MLmodel file)")
    loaded = _load_folder(path, name, None, {})
    logger.info("loaded %s from the local folder %s", name, path)
    return replace(loaded, source="local", uri=str(path.resolve()))


def _load_folder(path: Path, name: str, version: str | None, tags: dict[str, str]) -> LoadedModel:
    """Pipeline + metadata (completed by registry ``tags``) of an MLflow model folder."""
    mlmodel = read_mlmodel(path)
    metadata = mlmodel.get("metadata") or {}
    pipeline = load_pipeline(path, mlmodel)
    population, background = load_serving_stats(path, mlmodel)
    threshold = metadata.get("threshold", tags.get("threshold"))
    if threshold is None:
        raise ValueError(f"{path}: no decision threshold in the model metadata or version tags")
    threshold = float(threshold)
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"{path}: decision threshold {threshold} outside (0, 1)")
    metrics = metadata.get("metrics") or {
        key.removeprefix("metric."): float(value)
        for key, value in tags.items()
        if key.startswith("metric.")
    }
    return LoadedModel(
        pipeline=pipeline,
        name=name,
        version=version,
        family=str(metadata.get("family") or tags.get("family") or type(pipeline[-1]).__name__),
        threshold=threshold,
        features=_features(metadata, tags, pipeline),
        metrics={key: float(value) for key, value in metrics.items()},
        data_hash=metadata.get("data_hash") or tags.get("data_hash"),
        data_source=metadata.get("data_source") or tags.get("data_source"),
        population=population,
        background=background,
    )


def _features(metadata: dict[str, Any], tags: dict[str, str], pipeline: Any) -> dict[str, list]:
    """The model's input columns split numeric/categorical (metadata, tags, then the pipeline)."""
    features = metadata.get("features")
    if isinstance(features, dict) and {"numeric", "categorical"} <= set(features):
        return {"numeric": list(features["numeric"]), "categorical": list(features["categorical"])}
    if "features" in tags:
        names = json.loads(tags["features"])
    else:
        names = [str(name) for name in pipeline.named_steps["preprocess"].feature_names_in_]
    categorical = set(schema.categorical_columns("application_train"))
    return {
        "numeric": [n for n in names if n not in categorical],
        "categorical": [n for n in names if n in categorical],
    }


def _parse(model_uri: str) -> tuple[str, str | None, str | None]:
    """``(name, alias, version)`` of a ``models:/`` URI.

    Raises:
        ValueError: for any other URI.
    """
    match = MODEL_URI_PATTERN.match(model_uri)
    if match is None:
        raise ValueError(
            f"unsupported model URI {model_uri!r}: use models:/<name>@<alias> "
            "or models:/<name>/<version>"
        )
    return match["name"], match["alias"], match["version"]


def _probe(tracking_uri: str) -> None:
    """Fail fast when the registry is clearly not there (no MLflow retries, no new database).

    Raises:
        ConnectionError: a SQLite file that does not exist, or a server refusing connections.
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        database = tracking_uri.removeprefix("sqlite:///")
        if database and database != ":memory:" and not Path(database).is_file():
            raise ConnectionError(f"registry database {database} does not exist")
    elif parsed.scheme in ("http", "https"):
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), PROBE_TIMEOUT_SECONDS).close()
        except OSError as exc:
            raise ConnectionError(f"tracking server {tracking_uri} unreachable: {exc}") from exc
