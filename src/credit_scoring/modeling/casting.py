"""The float cast at the head of every preprocess branch (its own module: fitted pipelines
refer to it, and loading them must not import the training code)."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_float(X: Any, dtype: type = np.float32) -> np.ndarray:
    """``X`` as a ``dtype`` array, without a copy when it has that type already.

    The ColumnTransformer hands each branch its own copy of the branch's columns, so the next
    steps work in place without touching the caller's frame (tested).
    """
    return np.asarray(X, dtype=dtype)
