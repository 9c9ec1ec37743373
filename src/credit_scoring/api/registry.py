"""The MLflow registry as the API reads it: which version a ``models:/`` URI points to, and the
local folder of that version.

An SQLite registry with local artifacts (the default) is read without MLflow
(:mod:`credit_scoring.api.registry_sqlite`). Otherwise MLflow answers; it is imported only
here, inside the functions: some 80 MB and 3.5 s of a worker's startup. In a lean worker
(:mod:`credit_scoring.api.lean_worker`) it runs in a child process, and :func:`prefetch` starts
that child as the server process starts, so that MLflow's import and the registry's answer
overlap the worker's own imports.
"""

from __future__ import annotations

import logging
import re
import socket
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from credit_scoring.api import registry_sqlite
from credit_scoring.api.lean_worker import arrow_kept_out, call_in_child, start_in_child

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

MODEL_URI_PATTERN = re.compile(
    r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$"
)
PROBE_TIMEOUT_SECONDS = 3.0

logger = logging.getLogger(__name__)

Fetched = tuple[str, str, dict[str, str]]


class RegistryError(RuntimeError):
    """The registry's refusal as a child process reports it ("MlflowException: ..."), so that
    the worker need not import MLflow to read it."""


_prefetched: dict[tuple[str, str], tuple[ProcessPoolExecutor, Future[Fetched]]] = {}


def prefetch(model_uri: str, tracking_uri: str) -> bool:
    """Start :func:`fetch_registered` in a child process now, when this process is lean,
    ``model_uri`` a registry URI and the registry not one :func:`read_directly` reads;
    :func:`fetch` takes its answer. True when started."""
    if not arrow_kept_out() or not MODEL_URI_PATTERN.match(model_uri or ""):
        return False
    if read_directly(model_uri, tracking_uri) is not None:
        return False
    _prefetched[(model_uri, tracking_uri)] = start_in_child(
        _fetch_reporting_errors, model_uri, tracking_uri
    )
    return True


def fetch(model_uri: str, tracking_uri: str) -> Fetched:
    """:func:`fetch_registered`'s answer: the one prefetched for these URIs (taken once), else
    the registry's database read directly (:func:`read_directly`), else fetched now through
    MLflow (in a child process when this one is lean).

    Raises:
        RegistryError: in a lean process, whatever the registry raised.
    """
    prefetched = _prefetched.pop((model_uri, tracking_uri), None)
    if prefetched is not None:
        child, future = prefetched
        with child:
            return future.result()
    if (direct := read_directly(model_uri, tracking_uri)) is not None:
        return direct
    if arrow_kept_out():
        return call_in_child(_fetch_reporting_errors, model_uri, tracking_uri)
    return fetch_registered(model_uri, tracking_uri)  # MLflow's own exceptions, unwrapped


def read_directly(model_uri: str, tracking_uri: str) -> Fetched | None:
    """:func:`fetch_registered`'s answer read from an SQLite registry without MLflow (None when
    :func:`registry_sqlite.read_version` cannot answer as MLflow would)."""
    answer = registry_sqlite.read_version(tracking_uri, *parse_model_uri(model_uri))
    if answer is not None:
        logger.info("%s read from the registry's database %s", model_uri, tracking_uri)
    return answer


def current_version(model_uri: str, tracking_uri: str) -> str:
    """The number of the version ``model_uri`` points to now (read directly when possible).

    Raises:
        As :func:`resolve_version`.
    """
    direct = read_directly(model_uri, tracking_uri)
    if direct is not None:
        return direct[1]
    return str(resolve_version(model_uri, tracking_uri).version)


def _fetch_reporting_errors(model_uri: str, tracking_uri: str) -> Fetched:
    try:
        return fetch_registered(model_uri, tracking_uri)
    except Exception as exc:
        raise RegistryError(f"{type(exc).__name__}: {exc}") from None


def fetch_registered(model_uri: str, tracking_uri: str) -> Fetched:
    """The local folder (downloaded when the artifacts are remote), version number and tags of
    the registry version ``model_uri`` points to now."""
    import mlflow.artifacts  # only for the registry: a local folder is read without it

    name = parse_model_uri(model_uri)[0]
    model_version = resolve_version(model_uri, tracking_uri)
    # MLflow finds the version's logged model through its process-wide URIs (the arguments
    # below are not enough): they are set, as they were before this ran in a child.
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{name}/{model_version.version}",
        tracking_uri=tracking_uri,
        registry_uri=tracking_uri,
    )
    return local, str(model_version.version), dict(model_version.tags)


def resolve_version(model_uri: str, tracking_uri: str) -> ModelVersion:
    """The registry version ``model_uri`` (alias or number) points to now.

    Raises:
        ConnectionError: when the tracking server or database is not there.
        mlflow.exceptions.MlflowException: unknown model, alias or version.
    """
    from mlflow import MlflowClient

    name, alias, version = parse_model_uri(model_uri)
    probe(tracking_uri)
    client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    if alias:
        return client.get_model_version_by_alias(name, alias)
    return client.get_model_version(name, version)


def parse_model_uri(model_uri: str) -> tuple[str, str | None, str | None]:
    """``(name, alias, version)`` of a ``models:/`` URI.

    Raises:
        ValueError: for any other URI.
    """
    match = MODEL_URI_PATTERN.match(model_uri)
    if match is None:
        raise ValueError(
            f"unsupported model URI {model_uri!r}: use models:/<name>@<alias> "
            "or models:/<name>/<version>"
        )
    return match["name"], match["alias"], match["version"]


def probe(tracking_uri: str) -> None:
    """Fail fast when the registry is clearly not there (no MLflow retries, no new database).

    Raises:
        ConnectionError: a SQLite file that does not exist, or a server refusing connections.
    """
    parsed = urlparse(tracking_uri)
    if parsed.scheme == "sqlite":
        database = tracking_uri.removeprefix("sqlite:///")
        if database and database != ":memory:" and not Path(database).is_file():
            raise ConnectionError(f"registry database {database} does not exist")
    elif parsed.scheme in ("http", "https"):
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        try:
            socket.create_connection((parsed.hostname, port), PROBE_TIMEOUT_SECONDS).close()
        except OSError as exc:
            raise ConnectionError(f"tracking server {tracking_uri} unreachable: {exc}") from exc
