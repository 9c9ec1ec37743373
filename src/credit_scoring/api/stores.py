"""Read-only data the API serves from: client history aggregates and production applications."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.data.io import release_arrow_memory
from credit_scoring.features import history_feature_columns
from credit_scoring.tabular import json_scalar

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID


class HistoryStore:
    """History aggregates of known clients (output of the featurize stage), by SK_ID_CURR, as
    one float64 block (a row lookup is a numpy take, not a pandas ``loc``)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        """Index ``frame`` (SK_ID_CURR as column or index) by client.

        Raises:
            ValueError: when a client appears twice.
        """
        if CLIENT_ID in frame.columns:
            frame = frame.set_index(CLIENT_ID)
        index = frame.index.astype("int64")
        if not index.is_unique:
            raise ValueError("history store: duplicated SK_ID_CURR")
        self.columns = list(frame.columns)
        self.values = np.ascontiguousarray(frame.to_numpy(dtype="float64"))
        self._positions = dict(zip(index.tolist(), range(len(index)), strict=True))

    @classmethod
    def from_parquet(cls, path: Path, config: FeaturesConfig) -> HistoryStore:
        """Read the store; a missing file gives an empty store (every client without history).

        Raises:
            ValueError: when the file lacks history feature columns of ``config``.
        """
        columns = history_feature_columns(config)
        path = Path(path)
        if not path.is_file():
            logger.warning("history store %s not found: no client has stored history", path)
            return cls(pd.DataFrame(columns=[CLIENT_ID, *columns], dtype="float64"))
        available = set(pq.read_schema(path).names)
        missing = [c for c in columns if c not in available]
        if missing:
            raise ValueError(f"{path}: lacks {len(missing)} history features, e.g. {missing[:5]}")
        store = cls(pd.read_parquet(path, columns=[CLIENT_ID, *columns]))
        release_arrow_memory()  # the read's pages, freed but kept by Arrow's pool
        logger.info("history store %s: %d clients", path, len(store))
        return store

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, sk_id_curr: object) -> bool:
        return sk_id_curr in self._positions

    def rows(self, sk_ids: list[int]) -> np.ndarray:
        """The aggregates of ``sk_ids`` (all known), one row each, in order (``columns``)."""
        return self.values[[self._positions[sk_id] for sk_id in sk_ids]]


class ClientStore:
    """Raw production applications (e.g. application_test), by SK_ID_CURR."""

    def __init__(self, frame: pd.DataFrame) -> None:
        """Keep the application columns of ``frame`` (TARGET dropped), indexed by client."""
        columns = [c for c in schema.table_columns("application_test") if c in frame.columns]
        frame = frame[columns].drop_duplicates(CLIENT_ID).set_index(CLIENT_ID, drop=False)
        frame.index = frame.index.astype("int64")
        self.frame = frame

    @classmethod
    def from_parquet(cls, path: Path) -> ClientStore:
        """Read the production applications; a missing file gives an empty store."""
        path = Path(path)
        if not path.is_file():
            logger.warning("client store %s not found: /clients will be empty", path)
            return cls(pd.DataFrame({CLIENT_ID: pd.Series(dtype="int64")}))
        store = cls(pd.read_parquet(path))
        release_arrow_memory()
        logger.info("client store %s: %d applications", path, len(store))
        return store

    def __len__(self) -> int:
        return len(self.frame)

    def ids(self, limit: int, offset: int) -> list[int]:
        """``limit`` client ids from position ``offset``, in file order."""
        return [int(i) for i in self.frame.index[offset : offset + limit]]

    def get(self, sk_id_curr: int) -> dict[str, Any] | None:
        """The raw application of a client as JSON-safe values (None when unknown)."""
        if sk_id_curr not in self.frame.index:
            return None
        row = self.frame.loc[sk_id_curr]
        return {column: json_scalar(value) for column, value in row.items()}
