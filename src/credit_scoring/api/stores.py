"""Read-only data the API serves from: production applications (history aggregates:
:mod:`credit_scoring.api.history_store`)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from credit_scoring.api.file_cache import cache_file, remove_earlier, write_atomically
from credit_scoring.data import schema
from credit_scoring.data.io import release_arrow_memory
from credit_scoring.tabular import json_scalar

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID


class ClientStore:
    """Raw production applications (e.g. application_test), by SK_ID_CURR, as an Arrow table:
    mapped from an Arrow IPC copy in the cache folder (:mod:`credit_scoring.api.file_cache`), or
    read into memory."""

    def __init__(self, table: pa.Table) -> None:
        """Keep the application columns of ``table`` (TARGET dropped), first row per client."""
        columns = [c for c in schema.table_columns("application_test") if c in table.column_names]
        table = table.select(columns)
        ids = table.column(CLIENT_ID).to_numpy().astype("int64")
        _, first = np.unique(ids, return_index=True)
        if len(first) < len(ids):
            keep = np.sort(first)
            table, ids = table.take(keep), ids[keep]
        self.table = table
        self._ids = ids
        self._positions = dict(zip(ids.tolist(), range(len(ids)), strict=True))

    @classmethod
    def from_parquet(cls, path: Path, cache_dir: Path | None = None) -> ClientStore:
        """Read the production applications; a missing file gives an empty store.

        Args:
            cache_dir: where the mapped copy lives (None: read into memory).
        """
        path = Path(path)
        if not path.is_file():
            logger.warning("client store %s not found: /clients will be empty", path)
            return cls(pa.table({CLIENT_ID: pa.array([], pa.int64())}))
        table = None
        if cache_dir is not None:
            try:
                table = _mapped_table(path, Path(cache_dir))
            except OSError as exc:
                logger.warning(
                    "client cache in %s unusable (%s): read into memory", cache_dir, exc
                )
        store = cls(pq.ParquetFile(path).read() if table is None else table)
        logger.info("client store %s: %d applications", path, len(store))
        return store

    def __len__(self) -> int:
        return len(self._ids)

    def ids(self, limit: int, offset: int) -> list[int]:
        """``limit`` client ids from position ``offset``, in file order."""
        return self._ids[offset : offset + limit].tolist()

    def get(self, sk_id_curr: int) -> dict[str, Any] | None:
        """The raw application of a client as JSON-safe values (None when unknown)."""
        position = self._positions.get(sk_id_curr)
        if position is None:
            return None
        row = self.table.slice(position, 1).to_pylist()[0]
        return {column: json_scalar(value) for column, value in row.items()}


def _mapped_table(path: Path, cache_dir: Path) -> pa.Table:
    """The table of the parquet file ``path``, mapped from its Arrow IPC copy (written first
    when missing): zero-copy, its pages shared by the workers."""
    copy = cache_file(path, cache_dir, "clients.arrow", [])
    if not copy.is_file():

        def write(target: Path) -> None:
            table = pq.ParquetFile(path).read()
            with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
                out.write_table(table)

        write_atomically(copy, write)
        release_arrow_memory()
        remove_earlier(copy, "clients.arrow")
    return pa.ipc.open_file(pa.memory_map(str(copy))).read_all()
