"""Small helpers on tables and values that several domains share."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

# Decimals of every value in a `dvc metrics` file: machine noise (other BLAS kernels or thread
# counts move the 6th decimal or beyond) does not show as a change in `dvc metrics diff`.
METRIC_DECIMALS = 4


def rounded_metrics(
    metrics: Mapping[str, float | None], digits: int = METRIC_DECIMALS
) -> dict[str, float | None]:
    """Metrics rounded to ``digits`` decimals (integers stay integers, None stays None)."""
    return {
        key: value if value is None or isinstance(value, int) else round(float(value), digits)
        for key, value in metrics.items()
    }


def sample_rows(frame: pd.DataFrame, n_rows: int | None, seed: int) -> pd.DataFrame:
    """At most ``n_rows`` rows of ``frame`` drawn with ``seed``; every row, in its order, when
    ``n_rows`` is None or not smaller than the table."""
    if n_rows is None or len(frame) <= n_rows:
        return frame
    return frame.sample(n=n_rows, random_state=seed)


def json_scalar(value: Any) -> Any:
    """A scalar as plain JSON: numpy numbers as bool/int/float, NaN/NA/inf as None, anything
    else as str."""
    kind = type(value)
    if kind is float or kind is np.float64:  # the common cases first (a reason per feature)
        return float(value) if math.isfinite(value) else None
    if kind is str:
        return value
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        return value if np.isfinite(value) else None
    return str(value)
