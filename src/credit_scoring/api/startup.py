"""Everything the API loads once at startup, assembled from the settings.

A failure to load the model (or its feature settings, or the decision log) leaves the API up but
unavailable (``/health`` says so, scoring answers 503) with the reason in the log; the client and
population stores fail independently.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import pandas as pd

from credit_scoring.api.decision_log import DecisionLog
from credit_scoring.api.file_cache import private_folder
from credit_scoring.api.history_store import HistoryStore
from credit_scoring.api.lean_worker import read_parquet
from credit_scoring.api.model_loader import LoadedModel, load_champion
from credit_scoring.api.service import ScoringService
from credit_scoring.api.settings import ApiSettings
from credit_scoring.api.stores import ClientStore
from credit_scoring.config import ExplainConfig, FeaturesConfig, load_params
from credit_scoring.data.schema import TARGET
from credit_scoring.features import feature_matrix, history_feature_columns
from credit_scoring.modeling.explain import PipelineExplainer
from credit_scoring.modeling.population import Population, background_sample

logger = logging.getLogger(__name__)

EXPLAIN_FIELDS = {f.name for f in fields(ExplainConfig)}


@dataclass
class ApiState:
    """What the routes serve from (None where loading failed).

    Attributes:
        settings: the API settings.
        service: the scoring service (model, history, explainer, decision log).
        clients: production applications.
        population: training population summaries.
        error: why the service is missing.
    """

    settings: ApiSettings
    service: ScoringService | None = None
    clients: ClientStore | None = None
    population: Population | None = None
    error: str | None = None

    def close(self) -> None:
        """Release the decision log's connections."""
        if self.service is not None:
            self.service.decision_log.close()


def load_state(settings: ApiSettings, previous: ApiState | None = None) -> ApiState:
    """Load the model, stores, explainer and decision log described by ``settings``.

    Args:
        previous: the state being served, on a reload: its client store and decision log are
            kept (the model, population and explainer are loaded anew).
    """
    state = ApiState(settings)
    cache_dir = _cache_dir(settings)
    if previous is not None and previous.clients is not None:
        state.clients = previous.clients
    else:
        try:
            state.clients = ClientStore.from_parquet(settings.clients_path, cache_dir)
        except Exception as exc:
            logger.error("client store %s unusable: %s", settings.clients_path, exc)
    try:
        params = load_params(settings.params_path)
        config = FeaturesConfig(**params.get("features", {}))
        explain = ExplainConfig(
            **{k: v for k, v in params.get("explain", {}).items() if k in EXPLAIN_FIELDS}
        )
        model = load_champion(
            settings.model_uri, settings.tracking_uri, settings.model_path, cache_dir
        )
    except Exception as exc:
        state.error = f"model not loaded: {exc}"
        logger.error("%s", state.error)
        return state
    training_rows = None
    if model.population is not None:
        state.population = Population(model.population)
    else:  # a version registered before the statistics travelled with the model
        try:
            population = read_population(settings.population_path, model)
            state.population = Population.from_frame(population, model.features)
            training_rows = feature_matrix(population, model.features)
        except Exception as exc:
            logger.error("population %s unusable: %s", settings.population_path, exc)
    try:
        service = ScoringService(
            model=model,
            config=config,
            history=HistoryStore.from_parquet(
                settings.history_path,
                history_feature_columns(config),
                cache_dir,
            ),
            explainer=make_explainer(model, training_rows, explain),
            decision_log=(
                previous.service.decision_log
                if previous is not None and previous.service is not None
                else DecisionLog(settings.database_url)
            ),
            top_k=settings.top_k,
        )
        service.warm_up()
    except Exception as exc:
        state.error = f"scoring service not ready: {exc}"
        logger.exception("%s", state.error)
        return state
    state.service = service
    logger.info(
        "serving %s v%s (%s, threshold %.4f) from %s",
        model.name,
        model.version,
        model.family,
        model.threshold,
        model.uri,
    )
    return state


def read_population(path: Path, model: LoadedModel) -> pd.DataFrame:
    """The model's feature columns and TARGET of the labelled training rows at ``path``."""
    return read_parquet(path, [TARGET, *model.features["numeric"], *model.features["categorical"]])


def make_explainer(
    model: LoadedModel, training_rows: pd.DataFrame | None, config: ExplainConfig
) -> Any | None:
    """SHAP explainer on the background stored with the model, or, for an older version, on
    ``config.n_background`` of ``training_rows`` (None when it cannot be built)."""
    sample = model.background
    if sample is None and training_rows is not None and not training_rows.empty:
        sample = background_sample(training_rows, model.features, config.n_background, config.seed)
    if sample is None or sample.empty:
        logger.warning("no SHAP background: decisions will come without reasons")
        return None
    try:
        return PipelineExplainer(model.pipeline, sample, config.seed)
    except Exception:
        logger.exception("SHAP explainer unavailable: decisions will come without reasons")
        return None


def _cache_dir(settings: ApiSettings) -> Path | None:
    """Where the stores' mapped copies live (None: the stores are read into memory)."""
    return private_folder(Path(settings.cache_dir)) if settings.cache_dir else None
