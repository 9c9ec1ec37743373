"""The decision log's group commit: every answered decision is committed, a bad batch fails only
its own caller, and a server killed under load has logged every decision it answered."""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import os
import signal
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, insert
from sqlalchemy.exc import IntegrityError

from credit_scoring.api.decision_log import (
    DecisionLog,
    DecisionRecord,
    _Batch,
    decisions,
    metadata,
    read_decisions,
)
from credit_scoring.api.wal_checkpoint import CHECKPOINT_ROWS, WalCheckpointer
from tests.conftest import serve

API_KEY = "crash-key"


def record(request_id: str | None = None) -> DecisionRecord:
    """A decision-log row (a fresh request id unless given)."""
    return DecisionRecord(
        request_id=request_id or str(uuid.uuid4()),
        created_at=datetime.now(UTC),
        sk_id_curr=1,
        input_hash="0" * 64,
        probability=0.1,
        decision="granted",
        threshold=0.2,
        model_name="m",
        model_version="1",
        history_source="none",
        latency_ms=1.0,
        application="{}",
    )


def test_concurrent_callers_are_all_committed(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'decisions.db'}")
    ids = [[str(uuid.uuid4()) for _ in range(3)] for _ in range(40)]
    threads = [
        threading.Thread(target=log.record, args=([record(i) for i in batch],)) for batch in ids
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logged = read_decisions(log.engine.url.render_as_string(hide_password=False))
    assert sorted(logged["request_id"]) == sorted(i for batch in ids for i in batch)
    log.close()


def test_the_log_indexes_only_what_is_looked_up(tmp_path):
    """Each index is rewritten at every commit: request ids (unique, the override and audit
    look-up), times (the traffic window) and client ids (audits by client); not the input
    hash, whose random keys cost a commit about a third of its time at 60,000 rows."""
    path = tmp_path / "decisions.db"
    DecisionLog(f"sqlite:///{path}").close()
    with sqlite3.connect(path) as connection:
        columns = {
            (
                tuple(col[2] for col in connection.execute(f"PRAGMA index_info({name})")),
                bool(unique),
            )
            for _, name, unique, *_ in connection.execute("PRAGMA index_list(decisions)")
        }
    assert columns == {(("request_id",), True), (("created_at",), False), (("sk_id_curr",), False)}


def test_a_bad_batch_fails_alone_in_a_shared_commit(tmp_path):
    path = tmp_path / "decisions.db"
    log = DecisionLog(f"sqlite:///{path}")
    taken = str(uuid.uuid4())
    log.record([record(taken)])
    # Hold the write lock: the writer blocks on the first batch while the next ones queue up
    # and then go into one commit together.
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    first = log.submit([record()])
    duplicate = log.submit([record(), record(taken)])  # request_id is unique: fails
    last = log.submit([record()])
    blocker.execute("COMMIT")
    blocker.close()
    first.result(timeout=60)
    last.result(timeout=60)
    with pytest.raises(IntegrityError):
        duplicate.result(timeout=60)
    assert log.count() == 3  # taken, first, last: none of the duplicate's batch
    log.close()


def test_a_caller_that_gives_up_does_not_stop_its_commit_or_the_writer(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'decisions.db'}")
    abandoned = log.submit([record()])
    assert not abandoned.cancel()  # e.g. the request's task cancelled while awaiting it

    async def give_up() -> None:
        task = asyncio.ensure_future(log.record_async([record()]))
        await asyncio.sleep(0)
        task.cancel()

    asyncio.run(give_up())
    log.submit([record()]).result(timeout=30)  # the writer still commits
    assert abandoned.result(timeout=60) is None
    assert log.count() == 3
    log.close()


def test_close_commits_what_is_queued_then_refuses(tmp_path):
    log = DecisionLog(f"sqlite:///{tmp_path / 'decisions.db'}")
    pending = [log.submit([record()]) for _ in range(20)]
    log.close()
    assert all(future.done() and future.exception() is None for future in pending)
    with pytest.raises(RuntimeError, match="closed"):
        log.record([record()])


def test_the_writer_keeps_no_committed_rows_alive(tmp_path):
    """Between commits the writer holds nothing of the last one (a batch of 1,000 decisions is
    3 MB of rows, which would stay resident until the next request)."""
    log = DecisionLog(f"sqlite:///{tmp_path / 'decisions.db'}")
    request_id = str(uuid.uuid4())
    log.record([record(request_id)])

    def alive() -> list[_Batch]:
        gc.collect()
        return [
            o
            for o in gc.get_objects()
            if isinstance(o, _Batch)
            and any(request_id in (r.values() if isinstance(r, dict) else r) for r in o.rows)
        ]

    deadline = time.monotonic() + 10
    while alive() and time.monotonic() < deadline:  # the writer drops them once committed
        time.sleep(0.05)
    assert not alive()
    log.close()


async def _load(url: str, body: dict, answered: list[str], stop: asyncio.Event) -> None:
    """One client posting ``body`` until ``stop`` or the server is gone; keeps answered ids."""
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": API_KEY}) as client:
        while not stop.is_set():
            try:
                response = await client.post("/predict", json=body)
            except httpx.TransportError:
                return
            assert response.status_code == 200, response.text
            answered.append(response.json()["request_id"])


async def _kill_under_load(url: str, pid: int, body: dict, clients: int) -> list[str]:
    """``clients`` concurrent clients; the server is killed (SIGKILL) once 150 are answered."""
    answered: list[str] = []
    stop = asyncio.Event()
    tasks = [asyncio.create_task(_load(url, body, answered, stop)) for _ in range(clients)]
    deadline = asyncio.get_running_loop().time() + 120
    while len(answered) < 150 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    stop.set()
    return answered


@pytest.mark.slow
def test_sqlite_rows_are_stored_as_sqlalchemy_stores_them(tmp_path):
    """The log's own SQLite rows hold, byte for byte, what SQLAlchemy's insert stores."""
    moments = [datetime(2026, 12, 4, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 1, 2, 3, 4)]
    records = [
        dataclasses.replace(
            record(),
            created_at=moments[i % 2],
            sk_id_curr=None if i == 1 else 10**14 + i,
            model_version=None if i == 2 else str(i),
            probability=[0.0, -0.0, 1.0, 1e-300, 0.123456789012345678][i],
            latency_ms=float(i) / 3,
            application='{"NAME":"Prêt \u00e0"}',
        )
        for i in range(5)
    ]
    log = DecisionLog(f"sqlite:///{tmp_path / 'log.db'}")
    log.record(records)
    log.close()
    core = create_engine(f"sqlite:///{tmp_path / 'core.db'}")
    metadata.create_all(core)
    with core.begin() as connection:
        connection.execute(insert(decisions), [dataclasses.asdict(r) for r in records])
    core.dispose()

    def stored(name: str) -> list[tuple]:
        with sqlite3.connect(tmp_path / name) as connection:
            query = "SELECT *, typeof(created_at), typeof(probability) FROM decisions ORDER BY id"
            return connection.execute(query).fetchall()

    assert stored("log.db") == stored("core.db")
    assert len(stored("log.db")) == 5
    logged = read_decisions(f"sqlite:///{tmp_path / 'log.db'}")
    assert list(logged["created_at"]) == [m.replace(tzinfo=None) for m in moments * 3][:5]


def test_commits_leave_the_wal_checkpoint_to_a_thread_of_its_own(tmp_path):
    """No commit checkpoints (SQLite's wal_autocheckpoint is off on the log's connections); the
    log's thread does, once CHECKPOINT_ROWS decisions are committed: their pages then reach
    the database file, which only a checkpoint writes in WAL mode."""
    path = tmp_path / "decisions.db"
    log = DecisionLog(f"sqlite:///{path}")
    with log.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
    empty = path.stat().st_size
    bulky = dataclasses.replace(record(), application="x" * 4000)
    for _ in range(CHECKPOINT_ROWS - 2):  # singles: one row short of a checkpoint
        log.submit([dataclasses.replace(bulky, request_id=str(uuid.uuid4()))])
    log.record([dataclasses.replace(bulky, request_id=str(uuid.uuid4()))])
    assert path.stat().st_size == empty  # committed, in the WAL only
    more = [dataclasses.replace(bulky, request_id=str(uuid.uuid4())) for _ in range(300)]
    log.record(more)  # the last commit counted may be the one to ask for it
    deadline = time.monotonic() + 30
    while path.stat().st_size < empty + CHECKPOINT_ROWS * 4000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size >= empty + CHECKPOINT_ROWS * 4000
    log.close()
    with sqlite3.connect(path) as connection:
        count = connection.execute("SELECT count(*) FROM decisions").fetchone()
    assert count == (CHECKPOINT_ROWS - 1 + 300,)


def test_a_failed_checkpoint_is_logged_and_the_thread_goes_on(tmp_path, caplog):
    engine = create_engine(f"sqlite:///{tmp_path / 'missing folder' / 'log.db'}")
    checkpoints = WalCheckpointer(engine)
    with caplog.at_level(logging.WARNING, logger="credit_scoring.api.wal_checkpoint"):
        assert checkpoints.checkpoint() is None
        checkpoints.committed(CHECKPOINT_ROWS)  # the thread's own attempt fails as well
        deadline = time.monotonic() + 30
        while caplog.text.count("WAL checkpoint failed") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert caplog.text.count("WAL checkpoint failed") == 2
    assert checkpoints._thread.is_alive()
    checkpoints.close()
    assert not checkpoints._thread.is_alive()
    engine.dispose()


def test_a_server_killed_under_load_has_logged_every_answered_decision(tiny_project, tmp_path):
    server = serve(tiny_project, tmp_path, API_KEY)
    try:
        with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}) as client:
            sk_id = client.get("/clients", params={"limit": 1}).json()[0]
            application = client.get(f"/clients/{sk_id}").json()
        answered = asyncio.run(
            _kill_under_load(server.url, server.process.pid, {"application": application}, 16)
        )
    finally:
        server.stop()
    logged = set(read_decisions(f"sqlite:///{Path(tmp_path) / 'decisions.db'}")["request_id"])
    assert len(answered) >= 150
    assert set(answered) <= logged  # nothing answered is lost; unanswered rows may be logged
