"""POST /admin/reload: serve the model the registry alias points to now (admin key)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from credit_scoring.api.deps import require_admin_key
from credit_scoring.api.reload import ReloadFailedError, ReloadInProgressError
from credit_scoring.api.responses import documented
from credit_scoring.api.schemas import ReloadResponse

router = APIRouter(
    tags=["admin"],
    dependencies=[Depends(require_admin_key)],
    responses=documented(401, 403),
)


@router.post(
    "/admin/reload",
    response_model=ReloadResponse,
    responses=documented(409, 503),
)
async def reload_model(request: Request) -> dict[str, Any]:
    """Load the model ``CREDIT_API_MODEL_URI`` names now (e.g. after a promotion of
    ``@champion``) and serve it once warm; requests in flight finish on the old one."""
    try:
        return await run_in_threadpool(request.app.state.reloader.reload)
    except ReloadInProgressError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except ReloadFailedError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
