"""The error statuses each route documents in the OpenAPI schema (422 is FastAPI's own), and the
response class of the scoring answers."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from credit_scoring.api.schemas import ErrorMessage

DESCRIPTIONS = {
    401: "missing or wrong key header (X-API-Key, or the route's own key)",
    403: "route disabled: no key of its role is configured",
    404: "unknown resource",
    409: "conflicts with the current state",
    413: "request body larger than CREDIT_API_MAX_BODY_BYTES",
    503: "not ready: the model, a store or the decision log is unavailable (reason in detail)",
}


def documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries (JSON ``{"detail": "..."}``) for the given statuses."""
    return {code: {"model": ErrorMessage, "description": DESCRIPTIONS[code]} for code in codes}


class AnswerResponse(JSONResponse):
    """Answers built with every field of their response model, sent as they are: written by
    orjson, not validated and converted again by FastAPI (a third of a batch's time)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
