"""The FastAPI application: settings, startup loading (lifespan), error handlers, routers.

Start it with ``uvicorn credit_scoring.api.asgi:app --host 127.0.0.1 --port 8000`` from the
pipeline's project folder (relative paths of the settings are from the working directory), or
with the ``credit-scoring-api`` console script (:func:`run`).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from credit_scoring import __version__
from credit_scoring.api.body_limit import BodySizeLimit
from credit_scoring.api.errors import install_error_handlers
from credit_scoring.api.memory import (
    TrimAfterLargeBodies,
    give_back_free_memory,
    keep_freed_blocks,
    share_one_heap_arena,
)
from credit_scoring.api.reload import ModelReloader
from credit_scoring.api.routes import (
    admin,
    clients,
    decisions,
    health,
    model,
    monitoring,
    population,
    predict,
)
from credit_scoring.api.settings import ApiSettings
from credit_scoring.api.startup import load_state
from credit_scoring.api.timing import ServerTiming
from credit_scoring.cli import setup_logging

logger = logging.getLogger(__name__)


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API; the model and data are loaded when the app starts (lifespan).

    Args:
        settings: configuration (default: from ``CREDIT_API_*`` environment variables).

    Returns:
        The FastAPI application.
    """
    settings = settings or ApiSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_logging(getattr(logging, settings.log_level.upper(), logging.INFO))
        logging.getLogger("credit_scoring.features").setLevel(logging.WARNING)
        share_one_heap_arena()
        app.state.api = await run_in_threadpool(load_state, settings)
        # What startup loaded lives as long as the process: out of the garbage collector's
        # sight, a request's collection no longer walks the millions of objects of the
        # libraries and the model (the p99 of a request).
        gc.collect()
        gc.freeze()
        give_back_free_memory()
        keep_freed_blocks()
        app.state.reloader = ModelReloader(app)
        watch = None
        if settings.watch_seconds > 0:
            watch = asyncio.create_task(app.state.reloader.watch(settings.watch_seconds))
        yield
        if watch is not None:
            watch.cancel()
        app.state.api.close()

    app = FastAPI(
        title="Credit scoring API",
        version=__version__,
        description="Probability of default, credit decision and SHAP reasons of the champion.",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServerTiming)  # a 413 of the limit above is timed too
    # outermost: runs once the answer is sent
    app.add_middleware(TrimAfterLargeBodies, budget_bytes=settings.memory_budget_mb << 20)
    routers = (health, model, predict, decisions, clients, population, monitoring, admin)
    for router in (module.router for module in routers):
        app.include_router(router)
    return app


app = create_app()


def run() -> None:
    """Console script ``credit-scoring-api``: serve :data:`app` with uvicorn."""
    parser = argparse.ArgumentParser(description="Serve the credit scoring API.")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    args = parser.parse_args()
    uvicorn.run(
        "credit_scoring.api.asgi:app", host=args.host, port=args.port, workers=args.workers
    )
