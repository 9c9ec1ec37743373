"""An ASGI middleware answering 413 to a request body larger than the configured limit, before
the application reads it (declared Content-Length) or as soon as the streamed bytes pass it."""

from __future__ import annotations

import json
from typing import Any

Scope = dict[str, Any]


class BodyTooLargeError(Exception):
    """The streamed body passed the limit."""


class BodySizeLimit:
    """Refuse bodies larger than ``max_bytes`` with 413 ``{"detail": "..."}``."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, int(declared))
            return
        received, started = 0, False

        async def counting_receive() -> dict[str, Any]:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError(
                        f"more than {self.max_bytes} bytes, CREDIT_API_MAX_BODY_BYTES"
                    )
            return message

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            started |= message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLargeError:
            if not started:
                await self._refuse(send, received)

    async def _refuse(self, send: Any, size: int) -> None:
        detail = (
            f"request body too large: {size} bytes > {self.max_bytes} (CREDIT_API_MAX_BODY_BYTES)"
        )
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
