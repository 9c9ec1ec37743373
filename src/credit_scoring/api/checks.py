"""Non-blocking findings on a valid application: unknown categories and unusual values.

The rules are the warning rules of :func:`credit_scoring.validate.check_profile`, applied to one
application: a category never profiled on the Kaggle data (the model's encoder scores it as an
infrequent category), a number far outside the profiled range.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from credit_scoring.data import schema
from credit_scoring.data.validate import PROFILE_RANGE_MARGIN
from credit_scoring.features.application import ApplicationBlocks, application_column_kinds


@cache
def _profile() -> tuple[dict[str, frozenset[str]], dict[str, tuple[float, float]]]:
    """Known categories and profiled [min, max] of the application columns (train + test)."""
    categories: dict[str, set[str]] = {}
    ranges: dict[str, tuple[float, float]] = {}
    for table in schema.APPLICATION_TABLES:
        for column, facts in schema.table_profile(table)["profile"].items():
            if facts["dtype"] == "category":
                categories.setdefault(column, set()).update(facts.get("frequencies", {}))
            elif "quantiles" in facts:
                low, high = facts["quantiles"]["0"], facts["quantiles"]["1"]
                if column in ranges:
                    low, high = min(low, ranges[column][0]), max(high, ranges[column][1])
                ranges[column] = (low, high)
    return {c: frozenset(v) for c, v in categories.items()}, ranges


@cache
def _numeric_bounds() -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest usual value of each numeric application column (in the order of
    ``application_column_kinds``): the profiled range widened by the margin (+-inf: none)."""
    _, ranges = _profile()
    numeric, _ = application_column_kinds()
    low, high = np.full(len(numeric), -np.inf), np.full(len(numeric), np.inf)
    for j, column in enumerate(numeric):
        if column in ranges and column != schema.CLIENT_ID:
            lowest, highest = ranges[column]
            margin = PROFILE_RANGE_MARGIN * (highest - lowest)
            low[j], high[j] = lowest - margin, highest + margin
    return low, high


def application_warnings(blocks: ApplicationBlocks) -> list[list[str]]:
    """Warnings on validated applications, per application in column order.

    Args:
        blocks: the applications as conformed for the features (:func:`~credit_scoring.
            features.application.conform_records`; NaN = missing).

    Returns:
        Per application, one message per unknown category or unusual number.
    """
    categories, ranges = _profile()
    numeric, labelled = application_column_kinds()
    order = {column: k for k, column in enumerate(schema.table_columns("application_test"))}
    found: list[list[tuple[int, str]]] = [[] for _ in range(len(blocks.ids))]
    for j, column in enumerate(labelled):
        known = categories.get(column)
        if known is None:
            continue
        values = blocks.labels[:, j].tolist()
        # the column's distinct values first: most often every one is known
        if not {v for v in set(values) if isinstance(v, str)} - known:
            continue
        for i, value in enumerate(values):
            if isinstance(value, str) and value not in known:
                message = (
                    f"{column}: unknown category {value!r} (scored as an infrequent category)"
                )
                found[i].append((order[column], message))
    low, high = _numeric_bounds()
    with np.errstate(invalid="ignore"):
        rows, positions = np.nonzero((blocks.numbers < low) | (blocks.numbers > high))
    for i, j in zip(rows.tolist(), positions.tolist(), strict=True):
        column = numeric[j]
        lowest, highest = ranges[column]
        message = (
            f"{column}: unusual value {blocks.numbers[i, j]:g}, outside the profiled range "
            f"[{lowest:g}, {highest:g}] +/- {PROFILE_RANGE_MARGIN:.0%}"
        )
        found[i].append((order[column], message))
    return [[message for _, message in sorted(row)] for row in found]
