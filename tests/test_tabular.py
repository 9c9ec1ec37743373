"""Shared table helpers: row sampling and JSON scalars."""

import math

import numpy as np
import pandas as pd
import pytest

from credit_scoring.tabular import json_scalar, sample_rows


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float32(1.5), 1.5),
        (np.float64(2.5), 2.5),
        (np.float64(-np.inf), None),
        (2.5, 2.5),
        (math.nan, None),
        (np.int64(3), 3),
        (np.bool_(True), True),
        (np.nan, None),
        (math.inf, None),
        (pd.NA, None),
        (None, None),
        ("Spouse_partner", "Spouse_partner"),
    ],
)
def test_json_scalar(value, expected):
    result = json_scalar(value)
    assert result == expected and type(result) is type(expected)


def test_sample_rows_keeps_a_small_table_whole_and_in_order():
    frame = pd.DataFrame({"a": range(10)})
    assert sample_rows(frame, 10, seed=1) is frame
    assert sample_rows(frame, None, seed=1) is frame
    drawn = sample_rows(frame, 4, seed=1)
    assert len(drawn) == 4 and drawn.index.is_unique
    assert drawn.equals(sample_rows(frame, 4, seed=1))  # same seed, same rows
    assert not drawn.equals(sample_rows(frame, 4, seed=2))
