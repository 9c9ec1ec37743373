"""GET /clients, /clients/{sk_id_curr}: the production applications of the client store."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status

from credit_scoring.api.deps import ClientsDep, require_api_key
from credit_scoring.api.responses import documented

router = APIRouter(
    tags=["clients"], dependencies=[Depends(require_api_key)], responses=documented(401, 503)
)


@router.get("/clients", response_model=list[int])
def list_clients(
    clients: ClientsDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[int]:
    """SK_ID_CURR of ``limit`` clients from ``offset`` (total in the ``X-Total-Count`` header)."""
    response.headers["X-Total-Count"] = str(len(clients))
    return clients.ids(limit, offset)


@router.get("/clients/{sk_id_curr}", responses=documented(404))
def get_client(sk_id_curr: int, clients: ClientsDep) -> dict[str, Any]:
    """The client's raw application (missing values as null), ready for ``POST /predict``."""
    application = clients.get(sk_id_curr)
    if application is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown client {sk_id_curr}")
    return application
