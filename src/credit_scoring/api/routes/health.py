"""GET /health: liveness and model status (no API key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from credit_scoring.api.deps import StateDep
from credit_scoring.api.schemas import HealthResponse

router = APIRouter(tags=["health"])


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "no model loaded"}},
)
def health(state: StateDep, response: Response) -> HealthResponse:
    """``ok`` with the model version, or 503 ``unavailable`` when no model is loaded."""
    if state.service is None:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return HealthResponse(status="unavailable", model_loaded=False, model_version=None)
    version = state.service.model.version
    return HealthResponse(status="ok", model_loaded=True, model_version=version)
