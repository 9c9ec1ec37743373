"""GET /decisions/{request_id}, POST /decisions/{request_id}/override: a logged decision, its
overrides, and an officer overruling it (appended, never edited)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status

from credit_scoring.api.decision_log import SameDecisionError, UnknownDecisionError
from credit_scoring.api.deps import ServiceDep, require_api_key, require_officer_key
from credit_scoring.api.responses import documented
from credit_scoring.api.schemas import (
    DecisionHistory,
    OverrideRecord,
    OverrideRequest,
)

router = APIRouter(
    tags=["decisions"],
    dependencies=[Depends(require_api_key)],
    responses=documented(401, 404, 503),
)


@router.get("/decisions/{request_id}", response_model=DecisionHistory)
def get_decision(request_id: str, service: ServiceDep) -> dict[str, Any]:
    """The logged decision ``request_id``, its overrides (oldest first) and the one in force."""
    log = service.decision_log
    decision = log.decision(request_id)
    if decision is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no decision with request id {request_id}")
    overrides = log.overrides_of(request_id)
    in_force = overrides[-1]["decision"] if overrides else decision["decision"]
    return decision | {"overrides": overrides, "decision_in_force": in_force}


@router.post(
    "/decisions/{request_id}/override",
    response_model=OverrideRecord,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(require_officer_key)],
    responses=documented(403, 409, 413),
)
def override_decision(request_id: str, body: OverrideRequest, service: ServiceDep) -> dict:
    """Record an officer's override of decision ``request_id`` (header ``X-Officer-Key``)."""
    try:
        return service.decision_log.add_override(
            request_id, body.officer_id, body.decision, body.reason, body.comment.strip()
        )
    except UnknownDecisionError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except SameDecisionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
