"""Error responses: 422 naming the field, 413 for an oversized body, 503 when the service is not
ready, never a raw 500; a body FastAPI cannot parse (not UTF-8, nested too deeply, a broken
multipart upload) is a 422 on ``body`` like any other malformed input, not a bare 400."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from credit_scoring.api.body_limit import BodyTooLargeError
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


# FastAPI's detail when the body could not be read at all (it raises a 400 with it).
BODY_PARSE_DETAIL = "There was an error parsing the body"


def _body_problem(cause: BaseException | None) -> str:
    """Why a body could not be parsed, in words."""
    if isinstance(cause, UnicodeDecodeError):
        return (
            f"the body is not UTF-8 text (byte {cause.start}: 0x{cause.object[cause.start]:02x})"
        )
    if isinstance(cause, RecursionError):
        return "the JSON body is nested too deeply to parse"
    if cause is not None and "multipart" in type(cause).__module__:
        return f"broken multipart upload: {cause}"
    return f"malformed body ({type(cause).__name__ if cause else 'unreadable'})"


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """HTTP errors as ``{"detail": ...}``; an unparsable body becomes a 422 on ``body``."""
    if exc.status_code == status.HTTP_400_BAD_REQUEST and exc.detail == BODY_PARSE_DETAIL:
        if isinstance(exc.__cause__, BodyTooLargeError):  # streamed without Content-Length
            return JSONResponse(
                status_code=status.HTTP_413_CONTENT_TOO_LARGE,
                content={"detail": f"request body too large ({exc.__cause__})"},
            )
        problem = _body_problem(exc.__cause__)
        return JSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": [{"loc": ["body"], "msg": problem, "type": "body_unparsable"}]},
        )
    return JSONResponse(
        status_code=exc.status_code, content={"detail": exc.detail}, headers=exc.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register the API's exception handlers on ``app``."""
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(ServiceUnavailableError, _unavailable)
    app.add_exception_handler(DecisionLogError, _unavailable)
    app.add_exception_handler(Exception, _unexpected)
