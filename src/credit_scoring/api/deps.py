"""Dependencies of the routes, as ``Annotated[..., Depends()]`` aliases."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from credit_scoring.api.errors import ServiceUnavailableError
from credit_scoring.api.population import Population
from credit_scoring.api.service import ScoringService
from credit_scoring.api.settings import ApiSettings
from credit_scoring.api.startup import ApiState
from credit_scoring.api.stores import ClientStore

API_KEY_HEADER = "X-API-Key"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def get_state(request: Request) -> ApiState:
    """The state loaded at startup.

    Raises:
        ServiceUnavailableError: before startup has completed.
    """
    state = getattr(request.app.state, "api", None)
    if state is None:
        raise ServiceUnavailableError("the API is starting")
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


def get_settings(state: StateDep) -> ApiSettings:
    """The API settings."""
    return state.settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def require_api_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """Check ``X-API-Key`` against the configured keys (no keys: authentication disabled).

    Raises:
        HTTPException: 401 when the key is missing or not accepted.
    """
    if not settings.keys:
        return
    given = (key or "").encode("utf-8")
    if not key or not any(secrets.compare_digest(given, k.encode("utf-8")) for k in settings.keys):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or invalid {API_KEY_HEADER} header",
            headers={"WWW-Authenticate": "ApiKey"},
        )


ApiKeyDep = Annotated[None, Depends(require_api_key)]


def get_service(state: StateDep) -> ScoringService:
    """The scoring service.

    Raises:
        ServiceUnavailableError: when the model is not loaded.
    """
    if state.service is None:
        raise ServiceUnavailableError(state.error or "model not loaded")
    return state.service


ServiceDep = Annotated[ScoringService, Depends(get_service)]


def get_population(state: StateDep) -> Population:
    """The training population summaries.

    Raises:
        ServiceUnavailableError: when they could not be loaded.
    """
    if state.population is None:
        raise ServiceUnavailableError("population statistics not loaded")
    return state.population


PopulationDep = Annotated[Population, Depends(get_population)]


def get_clients(state: StateDep) -> ClientStore:
    """The production applications.

    Raises:
        ServiceUnavailableError: when they could not be loaded.
    """
    if state.clients is None:
        raise ServiceUnavailableError("client store not loaded")
    return state.clients


ClientsDep = Annotated[ClientStore, Depends(get_clients)]
