"""Error responses: 422 naming the field, 503 when the service is not ready, never a raw 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from credit_scoring.api.service import DecisionLogError

logger = logging.getLogger(__name__)


class ServiceUnavailableError(RuntimeError):
    """The model (or another startup resource a route needs) is not loaded."""


def invalid(loc: tuple[Any, ...], msg: str, kind: str = "value_error") -> RequestValidationError:
    """A 422 error on one input location, in FastAPI's ``detail`` format."""
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


def _clean(error: dict[str, Any]) -> dict[str, Any]:
    """``{"loc", "msg", "type"}`` of a validation error (the input echo may be huge or NaN)."""
    loc = [part if isinstance(part, int | str) else str(part) for part in error.get("loc", ())]
    return {"loc": loc, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 listing each invalid field as ``loc`` (path to the field), ``msg`` and ``type``."""
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": [_clean(error) for error in exc.errors()]},
    )


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    """503 with the reason (model not loaded, decision log down)."""
    return JSONResponse(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE, content={"detail": str(exc)}
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """500 without internals; the traceback goes to the log."""
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        status_code=status.HTTP_500_INTERNAL_SERVER_ERROR, content={"detail": "internal error"}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the API's exception handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ServiceUnavailableError, _unavailable)
    app.add_exception_handler(DecisionLogError, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
