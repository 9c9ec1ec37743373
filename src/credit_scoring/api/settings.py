"""Configuration of the scoring API, read from ``CREDIT_API_*`` environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Where the API finds its model, data and decision log; relative paths are from the cwd.

    Attributes:
        model_uri: MLflow model URI of the champion (``models:/<name>@<alias>`` or
            ``models:/<name>/<version>``); empty to use ``model_path`` only.
        tracking_uri: MLflow tracking/registry URI holding ``model_uri``.
        model_path: MLflow model folder used when the registry is unreachable.
        history_path: per-client history aggregates (``SK_ID_CURR`` + history features).
        clients_path: raw production applications served by ``/clients``.
        population_path: labelled training features (population statistics, SHAP background).
        params_path: params.yaml of the pipeline run (feature and SHAP settings).
        database_url: SQLAlchemy URL of the decision log.
        api_keys: comma-separated accepted ``X-API-Key`` values; empty disables authentication.
        top_k: reasons (SHAP contributions) returned per decision.
        max_batch: most applications accepted by one batch request.
        log_level: level of the API's log lines on stderr.
    """

    model_config = SettingsConfigDict(
        env_prefix="CREDIT_API_", extra="ignore", protected_namespaces=()
    )

    model_uri: str = "models:/credit-scoring@champion"
    tracking_uri: str = "sqlite:///mlflow.db"
    model_path: Path = Path("models/champion")
    history_path: Path = Path("data/processed/history.parquet")
    clients_path: Path = Path("data/interim/application_test.parquet")
    population_path: Path = Path("data/processed/train.parquet")
    params_path: Path = Path("params.yaml")
    database_url: str = "sqlite:///decisions.db"
    api_keys: str = ""
    top_k: int = Field(default=10, ge=1, le=500)
    max_batch: int = Field(default=1000, ge=1)
    log_level: str = "INFO"

    @cached_property
    def keys(self) -> frozenset[str]:
        """The accepted API keys (empty: authentication disabled)."""
        return frozenset(key.strip() for key in self.api_keys.split(",") if key.strip())
