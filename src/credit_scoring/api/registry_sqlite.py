"""The registry read straight from MLflow's SQLite database: what a worker needs of a registered
version (its number, tags and local folder) without importing MLflow.

Importing MLflow and opening its store take some 3.5 s of CPU for three rows. In the default
setup (an SQLite registry whose artifacts are local folders) the rows are read here with the
standard library, read-only and in one transaction, as MLflow 3's ``SqlAlchemyStore`` reads
them: the default workspace, internally deleted versions left out, the artifacts at the
version's storage location, else its source. Only a database at a schema revision these queries
were checked on is read (:data:`SCHEMA_REVISIONS`; a test checks that the installed MLflow's
is one of them). Anything else (another backend or revision, the ``latest`` alias, an unknown
name, alias or version, remote artifacts, workspaces) gives None, and MLflow answers.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlparse

logger = logging.getLogger(__name__)

# Alembic revisions of MLflow's schema whose tables the queries below were checked on.
SCHEMA_REVISIONS = frozenset({"dc11669786a5"})  # MLflow 3.17
DEFAULT_WORKSPACE = "default"
DELETED_STAGE = "Deleted_Internal"  # MLflow's stage of a version deleted internally
TIMEOUT_SECONDS = 5.0

Version = tuple[str, str, dict[str, str]]  # local folder, version number, tags


def read_version(
    tracking_uri: str, name: str, alias: str | None, version: str | None
) -> Version | None:
    """The local folder, number and tags of the version ``alias`` (or ``version``) of the
    registered model ``name``, read from the SQLite registry ``tracking_uri``; None when this
    reading cannot answer as MLflow would (see the module's docstring)."""
    database = sqlite_database(tracking_uri)
    if database is None or _workspaces_configured():
        return None
    if alias is not None and alias.lower() == "latest":  # MLflow's own rule, not a stored alias
        return None
    try:
        connection = sqlite3.connect(
            f"{database.as_uri()}?mode=ro", uri=True, timeout=TIMEOUT_SECONDS
        )
        with closing(connection):
            connection.execute("BEGIN")  # one snapshot for all the reads
            return _read(connection, name, alias, version)
    except sqlite3.Error as exc:
        logger.info("registry %s not read directly (%s): MLflow reads it", database, exc)
        return None


def sqlite_database(tracking_uri: str) -> Path | None:
    """The database file of an ``sqlite:///`` URI (None for any other URI or no such file)."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    path = tracking_uri.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path == ":memory:" or not Path(path).is_file():
        return None
    return Path(path).resolve()


def _workspaces_configured() -> bool:
    """Whether MLflow's workspaces are configured (its registry is then scoped to one)."""
    prefixes = ("MLFLOW_WORKSPACE", "MLFLOW_ENABLE_WORKSPACES")
    return any(key.startswith(prefixes) for key in os.environ)


def _read(
    connection: sqlite3.Connection, name: str, alias: str | None, version: str | None
) -> Version | None:
    revisions = {row[0] for row in connection.execute("SELECT version_num FROM alembic_version")}
    if not revisions <= SCHEMA_REVISIONS or not revisions:
        logger.info("registry schema %s not known here: MLflow reads it", sorted(revisions))
        return None
    outside = connection.execute(
        "SELECT 1 FROM registered_models WHERE workspace IS NOT NULL AND workspace != ? LIMIT 1",
        (DEFAULT_WORKSPACE,),
    ).fetchone()
    if outside is not None:  # MLflow refuses such a registry without workspaces
        return None
    if alias is not None:
        row = connection.execute(
            "SELECT version FROM registered_model_aliases"
            " WHERE workspace = ? AND name = ? AND alias = ?",
            (DEFAULT_WORKSPACE, name, alias),
        ).fetchone()
        if row is None:
            return None
        version = str(row[0])
    rows = connection.execute(
        "SELECT version, storage_location, source FROM model_versions"
        " WHERE workspace = ? AND name = ? AND version = ? AND current_stage != ?",
        (DEFAULT_WORKSPACE, name, int(version), DELETED_STAGE),
    ).fetchall()
    if len(rows) != 1:
        return None
    number, storage_location, source = rows[0]
    folder = local_folder(storage_location or source or "")
    if folder is None:
        return None
    tags = connection.execute(
        "SELECT key, value FROM model_version_tags"
        " WHERE workspace = ? AND name = ? AND version = ?",
        (DEFAULT_WORKSPACE, name, number),
    ).fetchall()
    return folder, str(number), dict(tags)


def local_folder(location: str) -> str | None:
    """The folder of a plain path or ``file:`` URI that exists here (None: remote artifacts,
    or ``runs:/``, ``models:/`` and other URIs that MLflow resolves)."""
    parsed = urlparse(location)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        path = unquote(parsed.path)
    elif parsed.scheme == "" and location:
        path = location
    else:
        return None
    return path if Path(path).is_dir() else None
