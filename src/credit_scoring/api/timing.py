"""An ASGI middleware telling each answer's server time in a ``Server-Timing`` header.

``Server-Timing: app;dur=12.3`` is the time in ms from the request's head reaching the
application to the answer's head being sent: reading the body, validating, scoring, logging
(the commit included) and encoding the answer, without the network on either side. Browsers'
developer tools show it; ``benchmarks/bench_api.py`` reports its percentiles beside the
latency the client sees.
"""

from __future__ import annotations

import time
from typing import Any

METRIC = "app"


class ServerTiming:
    """Add ``Server-Timing: app;dur=<ms>`` to every HTTP answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                elapsed_ms = (time.perf_counter() - start) * 1000.0
                header = (b"server-timing", f"{METRIC};dur={elapsed_ms:.1f}".encode())
                message = message | {"headers": [*message.get("headers", ()), header]}
            await send(message)

        await self.app(scope, receive, timed_send)


def server_time_ms(header: str | bytes) -> float | None:
    """The ``app`` duration (ms) of a ``Server-Timing`` header's value, or None."""
    text = header.decode() if isinstance(header, bytes) else header
    for metric in text.split(","):
        name, *params = (part.strip() for part in metric.split(";"))
        if name == METRIC:
            for param in params:
                key, _, value = param.partition("=")
                if key == "dur":
                    return float(value)
    return None
