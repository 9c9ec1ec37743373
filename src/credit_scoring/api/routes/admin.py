"""POST /admin/reload: serve the model the registry alias points to now (admin key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from credit_scoring.api.deps import require_admin_key
from credit_scoring.api.reload import ReloadFailedError, ReloadInProgressError
from credit_scoring.api.schemas import ErrorMessage, ReloadResponse

router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses={
        401: {"model": ErrorMessage, "description": "missing or wrong admin key"},
        403: {"model": ErrorMessage, "description": "admin routes disabled"},
    },
)


@router.post(
    "/admin/reload",
    response_model=ReloadResponse,
    responses={
        409: {"model": ErrorMessage, "description": "a reload is already running"},
        503: {"model": ErrorMessage, "description": "the new model failed; the old one serves"},
    },
)
async def reload_model(request: Request) -> dict[str, Any]:
    """Load the model ``CREDIT_API_MODEL_URI`` names now (e.g. after a promotion of
    ``@champion``) and serve it once warm; requests in flight finish on the old one."""
    from starlette.concurrency import run_in_threadpool

    try:
        return await run_in_threadpool(request.app.state.reloader.reload)
    except ReloadInProgressError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ReloadFailedError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
