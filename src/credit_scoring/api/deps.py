"""Dependencies of the routes, as ``Annotated[..., Depends()]`` aliases.

They are ``async``: they only read the loaded state and compare keys, so FastAPI runs them on the
event loop instead of handing each to the thread pool (six thread hops per request before).
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security, status
from fastapi.security import APIKeyHeader

from credit_scoring.api.errors import ServiceUnavailableError
from credit_scoring.api.service import ScoringService
from credit_scoring.api.settings import ApiSettings
from credit_scoring.api.startup import ApiState
from credit_scoring.api.stores import ClientStore
from credit_scoring.modeling.population import Population

API_KEY_HEADER = "X-API-Key"
ADMIN_KEY_HEADER = "X-Admin-Key"
OFFICER_KEY_HEADER = "X-Officer-Key"
_api_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
_admin_key_header = APIKeyHeader(name=ADMIN_KEY_HEADER, auto_error=False, scheme_name="AdminKey")
_officer_key_header = APIKeyHeader(
    name=OFFICER_KEY_HEADER, auto_error=False, scheme_name="OfficerKey"
)


async def get_state(request: Request) -> ApiState:
    """The state loaded at startup.

    Raises:
        ServiceUnavailableError: before startup has completed.
    """
    state = getattr(request.app.state, "api", None)
    if state is None:
        raise ServiceUnavailableError("the API is starting")
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_settings(state: StateDep) -> ApiSettings:
    """The API settings."""
    return state.settings


SettingsDep = Annotated[ApiSettings, Depends(get_settings)]


def check_key(
    accepted: frozenset[str], key: str | None, header: str, disabled: str | None = None
) -> None:
    """Check ``key`` (the value of ``header``) against ``accepted`` in constant time.

    Args:
        disabled: when no key is configured: None lets every request in, else the 403 message.

    Raises:
        HTTPException: 401 when the key is missing or not accepted; 403 for a disabled route.
    """
    if not accepted:
        if disabled is None:
            return
        raise HTTPException(status.HTTP_403_FORBIDDEN, disabled)
    given = (key or "").encode("utf-8")
    if not key or not any(secrets.compare_digest(given, k.encode("utf-8")) for k in accepted):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail=f"missing or invalid {header} header",
            headers={"WWW-Authenticate": "ApiKey"},
        )


async def require_api_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_api_key_header)]
) -> None:
    """Check ``X-API-Key`` against the configured keys (no keys: authentication disabled)."""
    check_key(settings.keys, key, API_KEY_HEADER)


ApiKeyDep = Annotated[None, Depends(require_api_key)]


async def require_admin_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_admin_key_header)]
) -> None:
    """Check ``X-Admin-Key`` (no admin key configured: the admin routes answer 403)."""
    check_key(
        settings.admin,
        key,
        ADMIN_KEY_HEADER,
        "admin routes are disabled: set CREDIT_API_ADMIN_KEYS",
    )


async def require_officer_key(
    settings: SettingsDep, key: Annotated[str | None, Security(_officer_key_header)]
) -> None:
    """Check ``X-Officer-Key`` (none configured: overrides answer 403)."""
    check_key(
        settings.officers,
        key,
        OFFICER_KEY_HEADER,
        "overrides are disabled: set CREDIT_API_OFFICER_KEYS",
    )


async def get_service(state: StateDep) -> ScoringService:
    """The scoring service.

    Raises:
        ServiceUnavailableError: when the model is not loaded.
    """
    if state.service is None:
        raise ServiceUnavailableError(state.error or "model not loaded")
    return state.service


ServiceDep = Annotated[ScoringService, Depends(get_service)]


async def get_population(state: StateDep) -> Population:
    """The training population summaries.

    Raises:
        ServiceUnavailableError: when they could not be loaded.
    """
    if state.population is None:
        raise ServiceUnavailableError("population statistics not loaded")
    return state.population


PopulationDep = Annotated[Population, Depends(get_population)]


async def get_clients(state: StateDep) -> ClientStore:
    """The production applications.

    Raises:
        ServiceUnavailableError: when they could not be loaded.
    """
    if state.clients is None:
        raise ServiceUnavailableError("client store not loaded")
    return state.clients


ClientsDep = Annotated[ClientStore, Depends(get_clients)]
