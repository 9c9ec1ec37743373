"""The history aggregates of known clients, as the API looks them up: one float64 block.

The featurize stage writes them as parquet. Read into the heap, the block would be memory of its
own in every worker (21 MB on the real sample, some 600 MB at Kaggle size). At startup the API
copies it once into a cache folder as two ``.npy`` files (client ids sorted, and their rows) and
maps those read-only: the pages are the kernel's page cache, shared by every worker, and a
worker holds resident only the rows it has looked up (:mod:`credit_scoring.api.file_cache`). The
copy is written in a child process when the worker keeps Arrow out
(:mod:`credit_scoring.api.lean_worker`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.api.file_cache import load_copies, write_atomically
from credit_scoring.api.lean_worker import call_in_child
from credit_scoring.data import schema

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID
IDS, VALUES = "history.ids.npy", "history.values.npy"


class HistoryStore:
    """History aggregates by SK_ID_CURR: ``ids`` (sorted) and ``values`` (a row per id, in the
    order of ``columns``), in memory or mapped from the cache."""

    def __init__(self, ids: np.ndarray, values: np.ndarray, columns: list[str]) -> None:
        """Keep ``values`` (rows of ``ids``), sorted by client.

        Raises:
            ValueError: when a client appears twice.
        """
        ids = np.asarray(ids, dtype="int64")
        if len(ids) and not np.all(ids[1:] > ids[:-1]):
            order = np.argsort(ids, kind="stable")
            ids, values = ids[order], np.asarray(values)[order]
            if np.any(ids[1:] == ids[:-1]):
                raise ValueError("history store: duplicated SK_ID_CURR")
        self.ids, self.values, self.columns = ids, values, list(columns)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> HistoryStore:
        """The store of ``frame`` (SK_ID_CURR as column or index, the rest the aggregates)."""
        if CLIENT_ID in frame.columns:
            frame = frame.set_index(CLIENT_ID)
        return cls(frame.index.to_numpy(), frame.to_numpy(dtype="float64"), list(frame.columns))

    @classmethod
    def from_parquet(
        cls, path: Path, columns: list[str], cache_dir: Path | None = None
    ) -> HistoryStore:
        """The store of the featurize output at ``path`` (a missing file: an empty store, every
        client without history).

        Args:
            columns: the history feature columns to serve, in order.
            cache_dir: where the mapped copy lives (None: read into memory).

        Raises:
            ValueError: when the file lacks some of ``columns`` or has a client twice.
        """
        path = Path(path)
        if not path.is_file():
            logger.warning("history store %s not found: no client has stored history", path)
            return cls(np.empty(0, "int64"), np.empty((0, len(columns))), columns)
        store = load_copies(
            path,
            cache_dir,
            (IDS, VALUES),
            columns,
            lambda *files: call_in_child(write_copy, path, columns, *files),
            lambda files, mapped: cls(
                np.load(files[0]), np.load(files[1], mmap_mode="r" if mapped else None), columns
            ),
        )
        logger.info("history store %s: %d clients", path, len(store))
        return store

    def __len__(self) -> int:
        return len(self.ids)

    def positions(self, sk_ids: list[Any]) -> np.ndarray:
        """Each client's row in the store (:meth:`rows`' order), -1 for those it does not hold
        (None among them)."""
        found = np.full(len(sk_ids), -1, dtype=np.int64)
        given = [key for key, sk_id in enumerate(sk_ids) if sk_id is not None]
        if not given or not len(self.ids):
            return found
        wanted = np.asarray([sk_ids[key] for key in given])  # validated numbers
        at = np.minimum(np.searchsorted(self.ids, wanted), len(self.ids) - 1)
        held = self.ids[at] == wanted
        found[np.asarray(given)[held]] = at[held]
        return found

    def rows(self, sk_ids: list[int]) -> np.ndarray:
        """The aggregates of ``sk_ids`` (all known), one row each, in order (``columns``)."""
        return np.asarray(self.values[np.searchsorted(self.ids, sk_ids)], dtype="float64")


def write_copy(path: Path, columns: list[str], ids_file: Path, values_file: Path) -> None:
    """Copy the parquet file into the two cache files (rows sorted by client), one column at a
    time: the process never holds more than a column of the table.

    Raises:
        ValueError: when the file lacks some of ``columns`` or has a client twice.
    """
    import pyarrow.parquet as pq

    from credit_scoring.data.io import release_arrow_memory

    parquet = pq.ParquetFile(path)
    available = set(parquet.schema_arrow.names)
    missing = [c for c in columns if c not in available]
    if missing:
        raise ValueError(f"{path}: lacks {len(missing)} history features, e.g. {missing[:5]}")

    def column(name: str) -> np.ndarray:
        return parquet.read(columns=[name]).column(0).to_numpy()

    ids = column(CLIENT_ID).astype("int64")
    order = np.argsort(ids, kind="stable")
    if np.any(ids[order][1:] == ids[order][:-1]):
        raise ValueError(f"{path}: duplicated SK_ID_CURR")

    def write_values(target: Path) -> None:
        values = np.lib.format.open_memmap(target, "w+", "float64", (len(ids), len(columns)))
        for j, name in enumerate(columns):
            values[:, j] = column(name)[order]
        values.flush()

    def write_ids(target: Path) -> None:
        with open(target, "wb") as output:  # np.save(path) would append ".npy" to the name
            np.save(output, ids[order])

    write_atomically(values_file, write_values)
    write_atomically(ids_file, write_ids)
    release_arrow_memory()
