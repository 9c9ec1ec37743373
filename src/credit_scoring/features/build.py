"""The feature builders the pipeline and the API share: the fixed set of history
aggregates per client, the full feature table of applications, and the feature kinds."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features.application import (
    ApplicationBlocks,
    application_columns,
    application_feature_columns,
    build_application_features,
)
from credit_scoring.features.bureau import bureau_balance_features, bureau_features
from credit_scoring.features.common import CLIENT_ID, COUNT_SUFFIX, TARGET, get_table
from credit_scoring.features.credit_card import credit_card_features
from credit_scoring.features.installments import installments_features
from credit_scoring.features.pos_cash import pos_cash_features
from credit_scoring.features.previous import previous_features

logger = logging.getLogger(__name__)


# The history aggregates, part by part: (the side tables a part reads, its function). Every
# part is a per-client aggregate: a client's values depend on its own rows (in file order)
# only, so any engine may compute a part on groups of clients (see credit_scoring.spark).
HISTORY_PARTS: tuple[tuple[tuple[str, ...], Callable[..., pd.DataFrame]], ...] = (
    (("bureau",), bureau_features),
    (("bureau", "bureau_balance"), bureau_balance_features),
    (("previous_application",), previous_features),
    (("POS_CASH_balance",), pos_cash_features),
    (("installments_payments",), installments_features),
    (("credit_card_balance",), credit_card_features),
)


def _aggregate_history(tables: Mapping[str, pd.DataFrame], config: FeaturesConfig) -> pd.DataFrame:
    """Run every part of :data:`HISTORY_PARTS` on ``tables`` and combine them.

    Args:
        tables: side tables by Kaggle name (missing or empty ones allowed).
        config: feature parameters.

    Returns:
        One float64 row per client seen in any side table, sorted by SK_ID_CURR.
    """
    return combine_history(
        [
            function(*(get_table(tables, table) for table in part_tables), config)
            for part_tables, function in HISTORY_PARTS
        ]
    )


def combine_history(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Outer-join the parts' per-client frames (in :data:`HISTORY_PARTS` order) on SK_ID_CURR,
    sort by it, fill the missing counts with 0; all columns float64."""
    history = pd.concat(parts, axis=1, join="outer").sort_index()
    history.index = history.index.astype("int64")
    history.index.name = CLIENT_ID
    return _fill_counts(history).astype("float64")


@cache
def part_columns(part: int, config: FeaturesConfig) -> tuple[str, ...]:
    """The columns of part ``part`` of :data:`HISTORY_PARTS` (its output on empty tables)."""
    part_tables, function = HISTORY_PARTS[part]
    return tuple(function(*(get_table({}, table) for table in part_tables), config).columns)


def _fill_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Set the missing values of the ``*_COUNT`` history columns to 0 (in place, returned)."""
    counts = frame.columns[_count_columns(tuple(frame.columns))]
    if len(counts):
        values = frame[counts].to_numpy(dtype="float64")
        if np.isnan(values).any():
            frame[counts] = _zero_missing(values)
    return frame


def _zero_missing(values: np.ndarray) -> np.ndarray:
    """``values`` with NaN as 0 (infinities kept, unlike ``np.nan_to_num``)."""
    return np.where(np.isnan(values), 0.0, values)


@cache
def _count_columns(columns: tuple[str, ...]) -> np.ndarray:
    """Positions of the ``*_COUNT`` columns among ``columns``."""
    return np.array([i for i, c in enumerate(columns) if c.endswith(COUNT_SUFFIX)], dtype=int)


@cache
def _history_columns(config: FeaturesConfig) -> tuple[str, ...]:
    """Cached history columns, obtained by aggregating empty tables."""
    return tuple(_aggregate_history({}, config).columns)


def history_feature_columns(config: FeaturesConfig) -> list[str]:
    """The fixed, ordered list of history feature names (independent of the data).

    Args:
        config: feature parameters.

    Returns:
        The column names of :func:`build_history_features`, in order.
    """
    return list(_history_columns(config))


def build_history_features(
    tables: Mapping[str, pd.DataFrame], config: FeaturesConfig
) -> pd.DataFrame:
    """Aggregates of every side table per SK_ID_CURR.

    Args:
        tables: side tables by Kaggle name (bureau, bureau_balance, previous_application,
            POS_CASH_balance, installments_payments, credit_card_balance); missing or empty
            tables give NaN aggregates and 0 counts.
        config: recent windows.

    Returns:
        Float64 frame indexed by SK_ID_CURR (clients with at least one side row), columns =
        ``history_feature_columns(config)``.
    """
    start = time.perf_counter()
    unknown = sorted(set(tables) - set(schema.HISTORY_TABLES))
    if unknown:
        logger.warning("ignoring unknown history tables: %s", unknown)
    history = _aggregate_history(tables, config)
    expected = history_feature_columns(config)
    if list(history.columns) != expected:
        raise RuntimeError("history features differ from history_feature_columns (bug)")
    logger.info(
        "history features: %d clients x %d features in %.1fs",
        len(history),
        history.shape[1],
        time.perf_counter() - start,
    )
    return history


def _conform_history(history: pd.DataFrame | None, config: FeaturesConfig) -> pd.DataFrame:
    """Return ``history`` indexed by SK_ID_CURR with exactly the expected columns.

    Args:
        history: output of :func:`build_history_features`, SK_ID_CURR as index or column
            (e.g. read back from parquet); None for no history at all.
        config: feature parameters.

    Raises:
        ValueError: when columns are missing or a client appears twice.
    """
    expected = history_feature_columns(config)
    if history is None:
        return pd.DataFrame(
            columns=expected, index=pd.Index([], dtype="int64", name=CLIENT_ID), dtype="float64"
        )
    if CLIENT_ID in history.columns:
        history = history.set_index(CLIENT_ID)
    missing = [c for c in expected if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks {len(missing)} feature columns, e.g. {missing[:5]}")
    if not history.index.is_unique:
        raise ValueError("history has duplicated SK_ID_CURR")
    return history if list(history.columns) == expected else history[expected]


def build_features(
    app: pd.DataFrame, history: pd.DataFrame | None, config: FeaturesConfig
) -> pd.DataFrame:
    """Left-join application features with history aggregates on SK_ID_CURR.

    Args:
        app: application rows (TARGET, if any, is dropped).
        history: output of :func:`build_history_features` (index or column SK_ID_CURR), or None
            when no history is known for anyone.
        config: feature parameters.

    Returns:
        SK_ID_CURR + application features + history features (in
        ``history_feature_columns`` order), one row per application row in the same order.
        Clients without history get NaN aggregates and 0 counts. TARGET is never included.
    """
    app_features = build_application_features(app)
    names, values = history_block(history, app_features[CLIENT_ID].to_numpy(), config)
    joined = pd.DataFrame(values, index=app_features.index, columns=names)
    features = pd.concat([app_features, joined], axis=1)
    return features.drop(columns=[TARGET], errors="ignore")


def history_block(
    history: pd.DataFrame | np.ndarray | None, ids: np.ndarray, config: FeaturesConfig
) -> tuple[list[str], np.ndarray]:
    """The history aggregates of the clients ``ids`` as one float64 block (a left join).

    Args:
        history: output of :func:`build_history_features` (index or column SK_ID_CURR); or the
            block already aligned with ``ids`` (rows x ``history_feature_columns``, NaN rows for
            clients without history); or None (nobody has any).
        ids: SK_ID_CURR of the rows, in order.
        config: feature parameters.

    Returns:
        (the history feature names, rows x names): NaN aggregates and 0 counts for a client
        without history.
    """
    names = history_feature_columns(config)
    if history is None:
        values = np.full((len(ids), len(names)), np.nan)
    elif isinstance(history, np.ndarray):
        if history.shape != (len(ids), len(names)):
            raise ValueError(f"history block {history.shape} is not {len(ids)} x {len(names)}")
        values = np.array(history, dtype="float64")
    else:
        history = _conform_history(history, config)
        positions = history.index.get_indexer(ids)
        found = positions >= 0
        values = np.full((len(ids), len(names)), np.nan)
        if found.any():
            values[found] = history.to_numpy(dtype="float64")[positions[found]]
    counts = _count_columns(tuple(names))
    values[:, counts] = _zero_missing(values[:, counts])
    return names, values


def build_feature_columns(
    blocks: ApplicationBlocks, history: pd.DataFrame | np.ndarray | None, config: FeaturesConfig
) -> dict[str, np.ndarray]:
    """:func:`build_features` as columns (name -> array), without a frame: the API's path for
    a few rows (``blocks`` from :func:`conform_records`), same features, same order
    (``history`` as in :func:`history_block`)."""
    columns = application_feature_columns(blocks)
    names, values = history_block(history, blocks.ids, config)
    columns.update(zip(names, values.T, strict=True))
    return columns


def split_feature_kinds(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split feature columns into numeric and categorical ones (SK_ID_CURR, TARGET excluded).

    Args:
        features: output of :func:`build_features` (or :func:`build_application_features`).

    Returns:
        (numeric feature columns, categorical feature columns), in frame order.
    """
    _, categorical_schema = application_columns()
    numeric: list[str] = []
    categorical: list[str] = []
    for column in features.columns:
        if column in (CLIENT_ID, TARGET):
            continue
        if column in categorical_schema or not pd.api.types.is_numeric_dtype(features[column]):
            categorical.append(column)
        else:
            numeric.append(column)
    return numeric, categorical
