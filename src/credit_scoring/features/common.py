"""Shared pieces of the feature builders: column constants, safe ratios, category
indicators and per-client group aggregations."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.data import schema

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID
TARGET = schema.TARGET
COUNT_SUFFIX = "_COUNT"

APPLICATION_TABLE = "application_train"
EXT_SOURCES = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")
# Heuristic weights of the EXT_SOURCE weighted mean (as in public Kaggle solutions).
EXT_SOURCE_WEIGHTS = (2.0, 1.0, 3.0)
CONTACT_FLAGS = (
    "FLAG_MOBIL",
    "FLAG_EMP_PHONE",
    "FLAG_WORK_PHONE",
    "FLAG_CONT_MOBILE",
    "FLAG_PHONE",
    "FLAG_EMAIL",
)
ADDRESS_FLAGS = (
    "REG_REGION_NOT_LIVE_REGION",
    "REG_REGION_NOT_WORK_REGION",
    "LIVE_REGION_NOT_WORK_REGION",
    "REG_CITY_NOT_LIVE_CITY",
    "REG_CITY_NOT_WORK_CITY",
    "LIVE_CITY_NOT_WORK_CITY",
)
# previous_application day columns aggregated here that use the 365243 placeholder ("never").
PREV_PLACEHOLDER_DAYS = (
    "DAYS_FIRST_DRAWING",
    "DAYS_FIRST_DUE",
    "DAYS_LAST_DUE_1ST_VERSION",
    "DAYS_LAST_DUE",
    "DAYS_TERMINATION",
)
BUREAU_TOP_CREDIT_TYPES = 5

# One aggregation: (output column, source column or None for the group size, function).
Agg = tuple[str, str | None, str]
# Per category value: (column, aggregation functions) of the rows of that value only.
SplitStats = Mapping[str, Sequence[tuple[str, Sequence[str]]]]


def safe_ratio(
    numerator: pd.Series | np.ndarray, denominator: pd.Series | np.ndarray
) -> pd.Series:
    """:func:`ratio` as a float64 Series, indexed like ``numerator`` when it is a Series."""
    index = numerator.index if isinstance(numerator, pd.Series) else None
    return pd.Series(ratio(numerator, denominator), index=index, dtype="float64")


def ratio(numerator: Any, denominator: Any) -> np.ndarray:
    """Divide element-wise (aligned by position), giving NaN (never inf) for a zero or missing
    denominator; a float64 array."""
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        values = num / np.where(den == 0, np.nan, den)
    values[~np.isfinite(values)] = np.nan
    return values


def missing_as_nan(labels: np.ndarray) -> np.ndarray:
    """``labels`` (an object array) with every missing value (None, NaN, pd.NA) as NaN, in
    place: one spelling of "missing" for the categorical imputer, in training and in serving."""
    labels[pd.isna(labels)] = np.nan
    return labels


def slug(value: str) -> str:
    """Turn a category label into an UPPER_SNAKE column fragment ("Cash X-Sell: low" -> ...)."""
    return re.sub(r"[^0-9A-Z]+", "_", value.upper()).strip("_")


def category_codes(series: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Return the position of each value in ``levels`` (-1 for missing or unknown values)."""
    return pd.Categorical(series, categories=list(levels)).codes


def category_indicators(
    series: pd.Series,
    levels: Sequence[str],
    names: Sequence[str],
    other: str | None = None,
) -> dict[str, np.ndarray]:
    """One 0/1 indicator column per fixed category level (plus an optional "other" bucket).

    Args:
        series: the categorical column (string dtype, NA for missing).
        levels: the fixed category list, from :func:`schema.known_categories`.
        names: the indicator column name of each level.
        other: name of the indicator of non-missing values outside ``levels`` (None: no bucket).

    Returns:
        ``{name: uint8 array}`` aligned with ``series``.
    """
    codes = category_codes(series, levels)
    indicators = {name: (codes == i).astype(np.uint8) for i, name in enumerate(names)}
    if other is not None:
        indicators[other] = ((codes == -1) & series.notna().to_numpy()).astype(np.uint8)
    return indicators


def group_agg(
    columns: Mapping[str, pd.Series | np.ndarray], keys: pd.Series, specs: Sequence[Agg]
) -> pd.DataFrame:
    """Aggregate columns per key with a list of named aggregations (cythonised groupby).

    Columns are aggregated one at a time (no 2-D copy of the work columns); ``sum`` uses
    ``min_count=1`` (a group whose values are all NaN sums to NaN, not 0).

    Args:
        columns: the values to aggregate by name, each aligned with ``keys`` (positionally).
        keys: the group key of each row (e.g. SK_ID_CURR); its name names the output index.
        specs: ``(output name, source column or None for the group size, function)``.

    Returns:
        One row per key, one float64 column per spec, in spec order.
    """
    work = pd.DataFrame({name: np.asarray(values) for name, values in columns.items()}, copy=False)
    grouped = work.groupby(np.asarray(keys), sort=False)
    results: dict[str, pd.Series] = {}
    for out, column, func in specs:
        if func == "size":
            results[out] = grouped.size()
            continue
        selected = grouped[column]
        results[out] = selected.sum(min_count=1) if func == "sum" else getattr(selected, func)()
    frame = pd.DataFrame(results, dtype="float64")
    frame.index = frame.index.astype("int64")
    frame.index.name = keys.name
    return frame


def empty_table(table: str) -> pd.DataFrame:
    """Return a zero-row frame of ``table`` with the schema columns and dtypes."""
    dtypes = {"int": "int64", "float": "float64", "category": "string"}
    return pd.DataFrame(
        {c: pd.Series(dtype=dtypes[kind]) for c, kind in schema.column_kinds(table).items()}
    )


def get_table(tables: Mapping[str, pd.DataFrame], table: str) -> pd.DataFrame:
    """Return ``tables[table]``, an empty schema frame when missing/empty, NaN for absent columns.

    Args:
        tables: the side tables by Kaggle name.
        table: the table wanted.

    Returns:
        A frame holding at least every schema column of ``table``.
    """
    frame = tables.get(table)
    if frame is None or len(frame) == 0:
        return empty_table(table)
    missing = [c for c in schema.table_columns(table) if c not in frame.columns]
    if missing:
        logger.warning(
            "%s: %d schema columns missing, taken as NaN: %s", table, len(missing), missing[:10]
        )
        frame = frame.assign(**dict.fromkeys(missing, np.nan))
    return frame


def numeric_values(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``frame[column]`` as float64."""
    return frame[column].astype("float64")


def equals(series: pd.Series, value: str) -> np.ndarray:
    """Return a bool array: ``series == value`` (missing values give False)."""
    return series.eq(value).fillna(False).to_numpy(dtype=bool)


def split_aggregations(
    work: dict[str, pd.Series | np.ndarray], category: pd.Series, stats: SplitStats, prefix: str
) -> list[Agg]:
    """Add each column of ``stats`` masked to the rows of its category value to ``work``.

    Args:
        work: the columns to aggregate (``stats`` columns among them), updated in place.
        category: the category of each row (e.g. CREDIT_ACTIVE).
        stats: per value, the columns and functions to aggregate over its rows only.
        prefix: table prefix of the output names.

    Returns:
        The aggregations, named ``<prefix>_<VALUE>_<column>_<FUNCTION>``.
    """
    specs: list[Agg] = []
    for value, columns in stats.items():
        mask = equals(category, value)
        for column, functions in columns:
            source = f"{slug(value)}_{column}"
            work[source] = work[column].where(mask)
            specs += [(f"{prefix}_{source}_{f.upper()}", source, f) for f in functions]
    return specs
