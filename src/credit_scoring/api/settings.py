"""Configuration of the scoring API, read from ``CREDIT_API_*`` environment variables."""

from __future__ import annotations

import tempfile
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
        monitoring_dir: where ``credit-scoring-monitor`` writes the drift report of the logged
            traffic that ``/monitoring/traffic`` serves.
        api_keys: comma-separated accepted ``X-API-Key`` values; empty disables authentication.
        admin_keys: comma-separated ``X-Admin-Key`` values of the admin routes (model reload);
            empty disables those routes.
        officer_keys: comma-separated ``X-Officer-Key`` values of credit officers, who may
            override a decision; empty disables overrides.
        watch_seconds: every so many seconds, check which version ``model_uri``'s alias points
            to and reload when it moved (0: only on ``POST /admin/reload``). With several
            workers this is how every worker follows a promotion.
        cache_dir: where the history and client stores are mapped from (copies of
            ``history_path`` and ``clients_path`` that every worker shares,
            :mod:`~credit_scoring.api.file_cache`); empty: each worker reads them into memory.
        top_k: reasons (SHAP contributions) returned per decision.
        max_batch: most applications accepted by one batch request.
        max_body_bytes: largest request body accepted (413 beyond).
        memory_budget_mb: resident memory (MiB) under which a worker keeps the heap pages a
            large request freed, for the next one (faster batches); over it, they are given
            back once the request is answered. 0: always given back.
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
    monitoring_dir: Path = Path("reports/monitoring")
    api_keys: str = ""
    admin_keys: str = ""
    officer_keys: str = ""
    watch_seconds: float = Field(default=0.0, ge=0.0)
    cache_dir: str = str(Path(tempfile.gettempdir()) / "credit-scoring-api")
    top_k: int = Field(default=10, ge=1, le=500)
    max_batch: int = Field(default=1000, ge=1)
    max_body_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    memory_budget_mb: int = Field(default=300, ge=0)
    log_level: str = "INFO"

    @cached_property
    def keys(self) -> frozenset[str]:
        """The accepted API keys (empty: authentication disabled)."""
        return _split(self.api_keys)

    @cached_property
    def admin(self) -> frozenset[str]:
        """The accepted admin keys (empty: admin routes disabled)."""
        return _split(self.admin_keys)

    @cached_property
    def officers(self) -> frozenset[str]:
        """The accepted officer keys (empty: overrides disabled)."""
        return _split(self.officer_keys)


def _split(keys: str) -> frozenset[str]:
    return frozenset(key.strip() for key in keys.split(",") if key.strip())
