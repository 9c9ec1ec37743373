"""Loading the champion: from the MLflow registry, or from a local MLflow model folder.

The threshold, feature columns and metrics come from the model's ``metadata`` (written by stage
register), completed by the registry version's tags when the metadata lacks them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from credit_scoring.api.lean_worker import cached_frame
from credit_scoring.api.registry import MODEL_URI_PATTERN, fetch, parse_model_uri
from credit_scoring.data import schema
from credit_scoring.modeling.pyfunc import load_pipeline, load_serving_stats, read_mlmodel

logger = logging.getLogger(__name__)

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


def load_champion(
    model_uri: str, tracking_uri: str, model_path: Path, cache_dir: Path | None = None
) -> LoadedModel:
    """Load ``model_uri`` from the registry at ``tracking_uri``, else the folder ``model_path``.

    Args:
        model_uri: ``models:/<name>@<alias>`` or ``models:/<name>/<version>``; empty skips the
            registry.
        tracking_uri: MLflow tracking/registry URI.
        model_path: MLflow model folder used when the registry cannot serve the model.
        cache_dir: where the SHAP background's copy lives (:func:`lean_worker.cached_frame`).

    Returns:
        The loaded model.

    Raises:
        ModelLoadError: when neither source works.
    """
    is_registry_uri = MODEL_URI_PATTERN.match(model_uri or "") is not None
    name = parse_model_uri(model_uri)[0] if is_registry_uri else DEFAULT_NAME
    registry_error: Exception | None = None
    if model_uri:
        try:
            return load_from_registry(model_uri, tracking_uri, cache_dir)
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
        return load_from_path(model_path, name, cache_dir)
    except Exception as exc:
        raise ModelLoadError(
            f"cannot load the model: registry {model_uri!r} at {tracking_uri!r}: "
            f"{registry_error}; local folder {str(model_path)!r}: {exc}"
        ) from exc


def load_from_registry(
    model_uri: str, tracking_uri: str, cache_dir: Path | None = None
) -> LoadedModel:
    """Resolve ``model_uri`` to a version of the registry and load it (MLflow itself is used
    in a child process when this one is lean: :func:`credit_scoring.api.registry.fetch`).

    Raises:
        ConnectionError: when the tracking server or database is not there.
        mlflow.exceptions.MlflowException: unknown model, alias or version.
        credit_scoring.api.registry.RegistryError: either, in a lean process.
    """
    name = parse_model_uri(model_uri)[0]
    local, version, tags = fetch(model_uri, tracking_uri)
    loaded = _load_folder(Path(local), name, version, tags, cache_dir)
    pinned = f"models:/{name}/{version}"
    logger.info("loaded %s (%s) from the registry at %s", pinned, model_uri, tracking_uri)
    return replace(loaded, source="registry", uri=pinned)


def load_from_path(
    path: Path, name: str = DEFAULT_NAME, cache_dir: Path | None = None
) -> LoadedModel:
    """Load the MLflow model folder ``path`` (no registry involved)."""
    path = Path(path)
    if not (path / "MLmodel").is_file():
        raise FileNotFoundError(f"{path}: not an MLflow model folder (no MLmodel file)")
    loaded = _load_folder(path, name, None, {}, cache_dir)
    logger.info("loaded %s from the local folder %s", name, path)
    return replace(loaded, source="local", uri=str(path.resolve()))


def _load_folder(
    path: Path,
    name: str,
    version: str | None,
    tags: dict[str, str],
    cache_dir: Path | None = None,
) -> LoadedModel:
    """Pipeline + metadata (completed by registry ``tags``) of an MLflow model folder."""
    mlmodel = read_mlmodel(path)
    metadata = mlmodel.get("metadata") or {}
    pipeline = load_pipeline(path, mlmodel)
    population, background = load_serving_stats(
        path, mlmodel, lambda background: cached_frame(background, cache_dir)
    )
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
