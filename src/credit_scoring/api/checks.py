"""Non-blocking findings on a valid application: unknown categories and unusual values.

The rules are the warning rules of :func:`credit_scoring.validate.check_profile`, applied to one
application: a category never profiled on the Kaggle data (the model's encoder scores it as an
infrequent category), a number far outside the profiled range.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from credit_scoring.data import schema
from credit_scoring.data.validate import PROFILE_RANGE_MARGIN


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


def application_warnings(application: dict[str, Any]) -> list[str]:
    """Warnings on one application (field values, None = missing), in column order.

    Args:
        application: ``{column: value}`` of a validated application.

    Returns:
        One message per unknown category or unusual number.
    """
    categories, ranges = _profile()
    warnings = []
    for column, value in application.items():
        if value is None or column == schema.CLIENT_ID:
            continue
        if column in categories and value not in categories[column]:
            warnings.append(
                f"{column}: unknown category {value!r} (scored as an infrequent category)"
            )
        elif column in ranges:
            low, high = ranges[column]
            margin = PROFILE_RANGE_MARGIN * (high - low)
            if not low - margin <= value <= high + margin:
                warnings.append(
                    f"{column}: unusual value {value:g}, outside the profiled range "
                    f"[{low:g}, {high:g}] +/- {PROFILE_RANGE_MARGIN:.0%}"
                )
    return warnings
