"""Read-only data the API serves from: production applications (history aggregates:
:mod:`credit_scoring.api.history_store`).

The applications (e.g. application_test) are copied once into the cache folder as JSON lines,
one client's application per line with its values as ``/clients/{id}`` answers them, and an
index (client id, start and end of its line) that workers map read-only
(:mod:`credit_scoring.api.file_cache`). The copy is written in a child process when the worker
keeps Arrow out (:mod:`credit_scoring.api.lean_worker`).
"""

from __future__ import annotations

import logging
import mmap
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from credit_scoring.api.file_cache import load_copies, write_atomically
from credit_scoring.api.lean_worker import call_in_child
from credit_scoring.data import schema
from credit_scoring.tabular import json_scalar

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID
INDEX, ROWS = "clients.index.npy", "clients.rows.jsonl"
BATCH_ROWS = 8192


class ClientStore:
    """Raw production applications by SK_ID_CURR (TARGET dropped, first row per client): an
    index of (id, start, end) in file order and the JSON lines it points into."""

    def __init__(self, index: np.ndarray, rows: bytes | mmap.mmap) -> None:
        self._index = np.asarray(index, dtype="int64").reshape(-1, 3)
        self._rows = rows
        ids = self._index[:, 0].tolist()
        self._positions = dict(zip(ids, range(len(ids)), strict=True))

    @classmethod
    def from_parquet(cls, path: Path, cache_dir: Path | None = None) -> ClientStore:
        """Read the production applications; a missing file gives an empty store.

        Args:
            cache_dir: where the mapped copy lives (None: read into memory).
        """
        path = Path(path)
        if not path.is_file():
            logger.warning("client store %s not found: /clients will be empty", path)
            return cls(np.empty((0, 3), "int64"), b"")
        store = load_copies(
            path,
            cache_dir,
            (INDEX, ROWS),
            [],
            lambda *files: call_in_child(write_copy, path, *files),
            cls._load,
            retired=("clients.arrow",),  # the Arrow copies of earlier versions
        )
        logger.info("client store %s: %d applications", path, len(store))
        return store

    @classmethod
    def _load(cls, files: list[Path], mapped: bool) -> ClientStore:
        """The store of its index and rows files (the rows mapped, or read)."""
        index_file, rows_file = files
        index = np.load(index_file)
        if not mapped:
            return cls(index, rows_file.read_bytes())
        if not rows_file.stat().st_size:
            return cls(index, b"")
        with open(rows_file, "rb") as handle:
            return cls(index, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))

    def __len__(self) -> int:
        return len(self._index)

    def ids(self, limit: int, offset: int) -> list[int]:
        """``limit`` client ids from position ``offset``, in file order."""
        return self._index[offset : offset + limit, 0].tolist()

    def get(self, sk_id_curr: int) -> dict[str, Any] | None:
        """The raw application of a client as JSON-safe values (None when unknown)."""
        position = self._positions.get(sk_id_curr)
        if position is None:
            return None
        _, start, end = self._index[position].tolist()
        return orjson.loads(self._rows[start:end])


def write_copy(path: Path, index_file: Path, rows_file: Path) -> None:
    """Copy the applications of the parquet file ``path`` into ``rows_file`` (JSON lines, the
    application columns in schema order, first row per client) and ``index_file``, a batch of
    rows at a time."""
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    available = set(parquet.schema_arrow.names)
    columns = [c for c in schema.table_columns("application_test") if c in available]
    index: list[tuple[int, int, int]] = []

    def write_rows(target: Path) -> None:
        seen: set[int] = set()
        with open(target, "wb") as output:
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
                for row in batch.to_pylist():
                    sk_id = int(row[CLIENT_ID])
                    if sk_id in seen:
                        continue
                    seen.add(sk_id)
                    line = orjson.dumps({k: json_scalar(v) for k, v in row.items()})
                    start = output.tell()
                    output.write(line + b"\n")
                    index.append((sk_id, start, start + len(line)))

    def write_index(target: Path) -> None:
        with open(target, "wb") as output:  # np.save(path) would append ".npy" to the name
            np.save(output, np.array(index, dtype="int64").reshape(-1, 3))

    write_atomically(rows_file, write_rows)
    write_atomically(index_file, write_index)  # last: a reader sees both files or neither
