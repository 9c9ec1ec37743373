"""The decision log: one row per decision taken by the API, in a SQLAlchemy database.

Each row holds what an audit or the drift stage needs: when, for whom, on which input (its
SHA-256 and the raw application JSON), with which model and threshold, the outcome and how long
it took. An officer's override is appended to the ``overrides`` table, linked to the decision by
its request id; a decision row is never edited. Decisions are written by group commit
(:class:`DecisionLog`): a caller is answered once its rows are committed. SQLite (the default)
runs in WAL mode with a busy timeout, so several worker processes queue for the write lock
instead of losing rows.

Indexes cost every commit: request ids are time-ordered (UUIDv7), so their unique index and the
time index grow at their end; the client id's index (audits by client) is the one of random
keys. The input hash is not indexed (a log created before keeps that index until
``DROP INDEX ix_decisions_input_hash``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
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
from sqlalchemy.engine import URL, make_url

from credit_scoring.api.wal_checkpoint import WalCheckpointer
from credit_scoring.data import schema

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Page cache per connection (SQLite's default: 2 MiB). A larger cache does not hold an index of
# random keys either: 1,000 rows committed as fast with 512 KiB at 60,000 rows logged (measured
# with random request ids), and a connection holds 1.5 MiB less.
SQLITE_CACHE_KIB = 512
# Most request batches one commit carries (bounds a transaction's size and a caller's wait).
MAX_GROUP_BATCHES = 256
# Marks of where orjson's or msgspec's text may differ from json.dumps's (then json writes it):
# a negative exponent (1e-7, json 1e-07), a float under 1e-4 (0.00001, json 1e-05), DEL (json
# escapes it), null (orjson writes NaN as null, json refuses it). Non-ASCII text (json escapes
# it) is checked apart. A string holding one costs only time. Both write json's text for every
# other number below 1e16 (msgspec writes 1e16 where json writes 1e+16; orjson as json).
MAY_DIFFER = (b"e-", b"0.0000", b"\x7f", b"null")
# The same for a text without NaN (null comes only from None, written as json does).
MAY_DIFFER_WITHOUT_NAN = MAY_DIFFER[:-1]

metadata = MetaData()
decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("sk_id_curr", BigInteger, nullable=True, index=True),
    # not indexed: nothing looks a decision up by its input, and an index of random hashes
    # rewrites pages all over it at every commit
    Column("input_hash", String(64), nullable=False),
    Column("probability", Float, nullable=False),
    Column("decision", String(8), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=True),
    Column("history_source", String(8), nullable=False),
    Column("latency_ms", Float, nullable=False),
    Column("application", Text, nullable=False),
)


overrides = Table(
    "overrides",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False, index=True),
    Column("officer_id", String(64), nullable=False),
    Column("decision_before", String(8), nullable=False),
    Column("decision", String(8), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("comment", Text, nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(50), nullable=True),
)


class UnknownDecisionError(LookupError):
    """No logged decision has this request id."""


class SameDecisionError(ValueError):
    """The override asks for the decision already in force."""


@dataclass(slots=True)  # not frozen: a frozen one takes 3 times longer to make (5 ms a batch)
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


@dataclass(frozen=True)
class _Batch:
    """Rows submitted together and the future of their commit."""

    rows: list[Any]
    done: Future[None]


def _row(record: DecisionRecord) -> dict[str, Any]:
    """A record as the ``decisions`` row to insert (``dataclasses.asdict`` deep-copies)."""
    return {name: getattr(record, name) for name in RECORD_FIELDS}


RECORD_FIELDS = tuple(f.name for f in fields(DecisionRecord))
_RECORD_VALUES = attrgetter(*RECORD_FIELDS)


class _SqliteRows:
    """Records as the SQLite driver's rows, each value converted by SQLAlchemy's own bind
    processor of its column (the DATETIME text among them: the log reads them back as
    before), without the rest of SQLAlchemy's work per row (5-12 ms of Python for 1,000, which
    the commit held the GIL for beside the reasons), each distinct time converted once."""

    def __init__(self, dialect: Any) -> None:
        self.statement = (
            f"INSERT INTO decisions ({', '.join(RECORD_FIELDS)}) "
            f"VALUES ({', '.join('?' * len(RECORD_FIELDS))})"
        )
        processors = [
            decisions.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in RECORD_FIELDS
        ]
        self._processors = [(i, p) for i, p in enumerate(processors) if p is not None]

    def __call__(self, records: list[DecisionRecord]) -> list[tuple[Any, ...]]:
        rows = [list(_RECORD_VALUES(record)) for record in records]
        for index, process in self._processors:
            last: Any = rows  # nothing a row holds
            bound = None
            for row in rows:
                value = row[index]
                if value is not last:  # the same object (a batch's time): the same text
                    last, bound = value, process(value)
                row[index] = bound
        return [tuple(row) for row in rows]


def canonical_json(value: Any) -> str:
    """Deterministic compact JSON (sorted keys, no NaN) of a request input: ``json.dumps(value,
    sort_keys=True, separators=(",", ":"), allow_nan=False)``, written by orjson (10 times
    faster) when its text cannot differ from that (:func:`canonical_text`)."""
    try:
        text = canonical_text(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    except TypeError:  # a type orjson does not write, or an integer beyond 64 bits
        text = None
    if text is not None:
        return text
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_text(text: bytes, marks: tuple[bytes, ...] = MAY_DIFFER) -> str | None:
    """orjson's or msgspec's compact JSON with sorted keys (numbers below 1e16) as
    :func:`canonical_json`'s text, or None where it may differ from that (``marks``,
    non-ASCII text)."""
    if text.isascii() and not any(mark in text for mark in marks):
        return text.decode()
    return None


def text_hash(text: str) -> str:
    """SHA-256 (hex) of ``text`` (UTF-8): the ``input_hash`` of a canonical JSON request."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL journal, a busy timeout and a small page cache on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _database_file(url: URL) -> bool:
    """Whether an SQLite URL names a database file (not an in-memory database)."""
    return bool(url.database) and url.database != ":memory:"


def make_engine(database_url: str) -> Engine:
    """An engine on ``database_url``; SQLite gets its folder created, WAL and a busy timeout."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if _database_file(url):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


class DecisionLog:
    """Writes decisions to the ``decisions`` table (created when missing) by group commit.

    One writer thread takes every batch of records submitted since its last commit and inserts
    them in one transaction: under concurrent requests one commit carries many decisions, and
    a caller is answered only once its own rows are committed (a decision is never answered
    before it is logged). A transaction that fails is retried batch by batch, so a bad batch
    fails only its own caller. An SQLite file's WAL is checkpointed after the commits, in a
    thread of its own (:class:`~credit_scoring.api.wal_checkpoint.WalCheckpointer`).
    """

    def __init__(self, database_url: str) -> None:
        """Connect to ``database_url``, create the table if needed, start the writer."""
        self.engine = make_engine(database_url)
        self._sqlite_rows = self._checkpoints = None
        if self.engine.dialect.name == "sqlite":
            self._sqlite_rows = _SqliteRows(self.engine.dialect)
            if _database_file(self.engine.url):  # before the first connection
                self._checkpoints = WalCheckpointer(self.engine)
        metadata.create_all(self.engine)
        self._pending: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._closing = threading.Lock()  # nothing is queued after the writer's stop mark
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="decision-log", daemon=True)
        self._writer.start()
        logger.info("decision log at %s", self.engine.url.render_as_string(hide_password=True))

    def submit(self, records: list[DecisionRecord]) -> Future[None]:
        """Queue ``records`` for the next commit; the future is done once they are committed
        (all or none) and fails with the database's error otherwise."""
        done: Future[None] = Future()
        done.set_running_or_notify_cancel()  # queued rows are committed: no cancelling them
        if self._sqlite_rows is not None:
            rows = self._sqlite_rows(records)
        else:
            rows = [_row(record) for record in records]
        with self._closing:
            if not rows:
                done.set_result(None)
            elif self._closed:
                done.set_exception(RuntimeError("decision log closed"))
            else:
                self._pending.put(_Batch(rows, done))
        return done

    def record(self, records: list[DecisionRecord]) -> None:
        """Insert ``records`` in one transaction (all or none); return once committed."""
        self.submit(records).result()

    async def record_async(self, records: list[DecisionRecord]) -> None:
        """:meth:`record` without blocking the event loop while the commit is pending."""
        await asyncio.wrap_future(self.submit(records))

    def _write_loop(self) -> None:
        """Commit what is queued, batch after batch, until :meth:`close`."""
        while True:
            first = self._pending.get()
            if first is None:
                return
            batches = [first]
            while len(batches) < MAX_GROUP_BATCHES:
                try:
                    batch = self._pending.get_nowait()
                except queue.Empty:
                    break
                if batch is None:
                    self._commit(batches)
                    return
                batches.append(batch)
            self._commit(batches)
            # the committed rows are not kept alive while the writer waits for the next ones
            first = batch = batches = None

    def _commit(self, batches: list[_Batch]) -> None:
        """Insert ``batches`` in one transaction; when it fails, each in its own."""
        try:
            self._insert([row for batch in batches for row in batch.rows])
        except Exception as exc:
            if len(batches) == 1:
                batches[0].done.set_exception(exc)
                return
            for batch in batches:
                self._commit([batch])
            return
        if self._checkpoints is not None:
            self._checkpoints.committed(sum(len(batch.rows) for batch in batches))
        for batch in batches:
            batch.done.set_result(None)

    def _insert(self, rows: list[Any]) -> None:
        with self.engine.begin() as connection:
            if self._sqlite_rows is not None:
                connection.exec_driver_sql(self._sqlite_rows.statement, rows)
            else:
                connection.execute(insert(decisions), rows)

    def decision(self, request_id: str) -> dict[str, Any] | None:
        """The logged decision ``request_id`` (without its application JSON), or None."""
        columns = [c for c in decisions.columns if c.name != "application"]
        with self.engine.connect() as connection:
            row = connection.execute(
                select(*columns).where(decisions.c.request_id == request_id)
            ).first()
        return None if row is None else dict(row._mapping)

    def overrides_of(self, request_id: str) -> list[dict[str, Any]]:
        """The overrides of decision ``request_id``, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(overrides)
                .where(overrides.c.request_id == request_id)
                .order_by(overrides.c.id)
            ).all()
        return [dict(row._mapping) for row in rows]

    def add_override(
        self, request_id: str, officer_id: str, decision: str, reason: str, comment: str
    ) -> dict[str, Any]:
        """Append an officer's override of decision ``request_id`` (one transaction).

        Raises:
            UnknownDecisionError: no such decision.
            SameDecisionError: ``decision`` is the one in force (original or last override).
        """
        with self.engine.begin() as connection:
            original = connection.execute(
                select(
                    decisions.c.decision, decisions.c.model_name, decisions.c.model_version
                ).where(decisions.c.request_id == request_id)
            ).first()
            if original is None:
                raise UnknownDecisionError(f"no decision with request id {request_id}")
            last = connection.execute(
                select(overrides.c.decision)
                .where(overrides.c.request_id == request_id)
                .order_by(overrides.c.id.desc())
                .limit(1)
            ).scalar()
            before = last or original.decision
            if decision == before:
                raise SameDecisionError(f"decision {request_id} already is {decision}")
            record = {
                "request_id": request_id,
                "created_at": datetime.now(UTC),
                "officer_id": officer_id,
                "decision_before": before,
                "decision": decision,
                "reason": reason,
                "comment": comment,
                "model_name": original.model_name,
                "model_version": original.model_version,
            }
            record["id"] = connection.execute(insert(overrides), record).inserted_primary_key[0]
        return record

    def count(self) -> int:
        """Number of logged decisions."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(decisions)).scalar())

    def close(self) -> None:
        """Commit what is queued, stop the writer and release the connections."""
        with self._closing:
            if not self._closed:
                self._closed = True
                self._pending.put(None)
        self._writer.join()
        if self._checkpoints is not None:
            self._checkpoints.close()
        self.engine.dispose()


def read_decisions(
    database_url: str, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The logged decisions, oldest first (``application`` holds the raw JSON).

    Args:
        database_url: SQLAlchemy URL of the log.
        since, until: keep decisions taken at or after ``since`` and before ``until`` (UTC when
            naive; None: no bound).

    Returns:
        One row per decision, the columns of the ``decisions`` table.
    """
    engine = make_engine(database_url)
    naive = engine.dialect.name == "sqlite"
    query = select(decisions).order_by(decisions.c.id)
    if since is not None:
        query = query.where(decisions.c.created_at >= _as_stored(since, naive))
    if until is not None:
        query = query.where(decisions.c.created_at < _as_stored(until, naive))
    try:
        with engine.connect() as connection:
            rows = connection.execute(query).all()
    finally:
        engine.dispose()
    return pd.DataFrame([tuple(row) for row in rows], columns=list(decisions.columns.keys()))


def _as_stored(moment: datetime, naive: bool) -> datetime:
    """``moment`` in UTC (naive: taken as UTC); zone dropped for SQLite, which keeps none."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.replace(tzinfo=None) if naive else moment


def read_overrides(database_url: str) -> pd.DataFrame:
    """Every logged override, oldest first (the columns of the ``overrides`` table)."""
    engine = make_engine(database_url)
    try:
        metadata.create_all(engine, tables=[overrides])
        with engine.connect() as connection:
            rows = connection.execute(select(overrides).order_by(overrides.c.id)).all()
    finally:
        engine.dispose()
    return pd.DataFrame([tuple(row) for row in rows], columns=list(overrides.columns.keys()))


def read_applications(
    database_url: str, since: datetime | None = None, until: datetime | None = None
) -> pd.DataFrame:
    """The raw applications of the decisions logged in ``[since, until)``, typed like the
    ingested application table (every column; those a request left out are missing), with the
    decision's ``created_at`` and ``model_version`` beside them: the current data of a drift
    report on real traffic."""
    logged = read_decisions(database_url, since, until)
    frame = schema.typed_rows(
        "application_test", [json.loads(text) for text in logged["application"]]
    )
    return frame.assign(
        created_at=pd.to_datetime(logged["created_at"].to_numpy()),
        model_version=logged["model_version"].to_numpy(),
    )
