"""The decision log: one row per decision taken by the API, in a SQLAlchemy database.

Each row holds what an audit or the drift stage needs: when, for whom, on which input (its
SHA-256 and the raw application JSON), with which model and threshold, the outcome and how long
it took. SQLite (the default) runs in WAL mode with a busy timeout, so concurrent requests (and
several worker processes) queue for the write lock instead of losing rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import make_url

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000

metadata = MetaData()
decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("sk_id_curr", BigInteger, nullable=True, index=True),
    Column("input_hash", String(64), nullable=False, index=True),
    Column("probability", Float, nullable=False),
    Column("decision", String(8), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=True),
    Column("history_source", String(8), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("application", Text, nullable=False),
)


@dataclass(frozen=True)
class DecisionRecord:
    """One logged decision (a row of the ``decisions`` table, without its id)."""

    request_id: str
    created_at: datetime
    sk_id_curr: int | None
    input_hash: str
    probability: float
    decision: str
    threshold: float
    model_name: str
    model_version: str | None
    history_source: str
    latency_ms: float
    application: str


def canonical_json(value: Any) -> str:
    """Deterministic compact JSON (sorted keys, no NaN) of a request input."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def input_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL journal and a busy timeout on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(database_url: str) -> Engine:
    """An engine on ``database_url``; SQLite gets its folder created, WAL and a busy timeout."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class DecisionLog:
    """Writes decisions to the ``decisions`` table (created when missing)."""

    def __init__(self, database_url: str) -> None:
        """Connect to ``database_url`` and create the table if needed."""
        self.engine = make_engine(database_url)
        metadata.create_all(self.engine)
        logger.info("decision log at %s", self.engine.url.render_as_string(hide_password=True))

    def record(self, records: list[DecisionRecord]) -> None:
        """Insert ``records`` in one transaction (all or none)."""
        if records:
            with self.engine.begin() as connection:
                connection.execute(insert(decisions), [asdict(r) for r in records])

    def count(self) -> int:
        """Number of logged decisions."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(decisions)).scalar())

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def read_decisions(database_url: str) -> pd.DataFrame:
    """Every logged decision, oldest first (``application`` holds the raw JSON).

    Args:
        database_url: SQLAlchemy URL of the log.

    Returns:
        One row per decision, the columns of the ``decisions`` table.
    """
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(select(decisions).order_by(decisions.c.id)).all()
    finally:
        engine.dispose()
    return pd.DataFrame([tuple(row) for row in rows], columns=list(decisions.columns.keys()))


def read_applications(database_url: str) -> pd.DataFrame:
    """The raw applications of the logged decisions, one row each (input of the drift stage)."""
    logged = read_decisions(database_url)
    if logged.empty:
        return pd.DataFrame()
    return pd.DataFrame([json.loads(text) for text in logged["application"]])
