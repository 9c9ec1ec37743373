"""Following promotions without dropping a request.

The new champion is loaded beside the served one (model, population, explainer, warm-up); only
then is the application's state swapped, in one attribute assignment, so a request in flight
finishes on the model it started with and the next one gets the new model. If loading fails,
the served model stays. The decision log and the client store are kept across the swap.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from credit_scoring.api.registry import MODEL_URI_PATTERN, current_version
from credit_scoring.api.startup import ApiState, load_state

logger = logging.getLogger(__name__)


class ReloadInProgressError(RuntimeError):
    """Another reload is running."""


class ReloadFailedError(RuntimeError):
    """The new model could not be loaded; the served one stays."""


def served(state: ApiState) -> dict[str, Any] | None:
    """Name, version, family, source and URI of the model ``state`` serves (None: none)."""
    if state.service is None:
        return None
    return state.service.model_info() | {"uri": state.service.model.uri}


class ModelReloader:
    """Reloads the model of one application (one worker process), one reload at a time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._lock = threading.Lock()

    def reload(self) -> dict[str, Any]:
        """Load the model the settings name now and serve it once it is warm.

        Returns:
            ``{"previous", "serving", "changed"}``: the models before and after.

        Raises:
            ReloadInProgressError: another reload is running.
            ReloadFailedError: the new model did not load or warm up (the old one is served).
        """
        if not self._lock.acquire(blocking=False):
            raise ReloadInProgressError("a model reload is already running")
        try:
            current: ApiState = self.app.state.api
            fresh = load_state(current.settings, previous=current)
            before = served(current)
            if fresh.service is None:
                version = before["version"] if before else None
                raise ReloadFailedError(
                    f"reload failed, still serving version {version}: {fresh.error}"
                )
            self.app.state.api = fresh
            after = served(fresh)
            logger.info("model reloaded: %s -> %s", before, after)
            return {
                "previous": before,
                "serving": after,
                "changed": before is None
                or (before["uri"], before["version"]) != (after["uri"], after["version"]),
            }
        finally:
            self._lock.release()

    def alias_moved(self) -> bool:
        """Whether the registry alias of ``model_uri`` points to another version than served."""
        state: ApiState = self.app.state.api
        settings = state.settings
        match = MODEL_URI_PATTERN.match(settings.model_uri or "")
        if match is None or not match["alias"]:
            return False
        try:
            version = current_version(settings.model_uri, settings.tracking_uri)
        except Exception as exc:
            logger.warning("cannot check %s: %s", settings.model_uri, exc)
            return False
        now = served(state)
        return now is None or now["source"] != "registry" or now["version"] != version

    async def watch(self, seconds: float) -> None:
        """Every ``seconds``, reload when the alias moved (runs until cancelled)."""
        while True:
            await asyncio.sleep(seconds)
            try:
                if await run_in_threadpool(self.alias_moved):
                    await run_in_threadpool(self.reload)
            except (ReloadInProgressError, ReloadFailedError) as exc:
                logger.warning("%s", exc)
            except Exception:
                logger.exception("model watch failed")
