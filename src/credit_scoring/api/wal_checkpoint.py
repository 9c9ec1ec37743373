"""The decision log's SQLite WAL checkpointed in a thread of its own, not in a caller's commit.

SQLite checkpoints a WAL (copies its pages into the database file, with an fsync) in the commit
that takes it past ``wal_autocheckpoint`` pages (1,000: 4 MB): with batches of 1,000
decisions (3 MB of WAL each), one commit in two did it and took 74-88 ms instead of 35-52
(measured). The decision log turns that off on its connections and asks this thread for a
passive checkpoint once :data:`CHECKPOINT_ROWS` decisions are committed: it copies what the
commits added while the requests go on (the ``sqlite3`` module lets go of the GIL meanwhile),
and never waits for a reader or a writer. A checkpoint that fails is logged and left to the
next one; whatever a checkpoint has not copied stays in the WAL, as durable as before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine, event

logger = logging.getLogger(__name__)

# Decisions committed between two checkpoints: about 3 MB of WAL (SQLite's own threshold is 4
# MB). A checkpoint per commit cost single requests 0.5-1 ms of CPU each (an fsync among it).
CHECKPOINT_ROWS = 1000


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    """No checkpoint in this connection's commits (:class:`WalCheckpointer` does them)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class WalCheckpointer:
    """Passive checkpoints of ``engine``'s SQLite WAL, one at a time, when asked for.

    Args:
        engine: an SQLite engine on a database file in WAL mode; its connections made from
            now on no longer checkpoint at commit.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        event.listen(engine, "connect", _no_autocheckpoint)
        self._due = threading.Event()
        self._rows = 0  # committed since the last checkpoint asked for
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def committed(self, rows: int) -> None:
        """Count ``rows`` just committed (by one thread: the log's writer) and ask for a
        checkpoint once :data:`CHECKPOINT_ROWS` are (asked while one runs: the next one)."""
        self._rows += rows
        if self._rows >= CHECKPOINT_ROWS:
            self._rows = 0
            self._due.set()

    def checkpoint(self) -> tuple[int, int, int] | None:
        """One passive checkpoint now: SQLite's (busy, WAL frames, frames checkpointed), or
        None when it failed (logged)."""
        try:
            with self._engine.connect() as connection:
                row = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").first()
        except Exception:
            logger.warning("decision log: WAL checkpoint failed (the next one comes later)")
            return None
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def _run(self) -> None:
        while True:
            self._due.wait()
            self._due.clear()
            if self._stopping:
                return
            self.checkpoint()

    def close(self) -> None:
        """Stop the thread (a checkpoint under way ends first)."""
        self._stopping = True
        self._due.set()
        self._thread.join()
