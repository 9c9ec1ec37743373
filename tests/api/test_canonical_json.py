"""The decision log's canonical JSON: the text of ``json.dumps(sort_keys=True, compact)``,
whichever writer produced it (its SHA-256 is the logged ``input_hash``)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_scoring.api.decision_log import canonical_json


def reference(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.floats(min_value=1e-12, max_value=1e-3)
    | st.floats(min_value=1e14, max_value=1e17)
    | st.text(max_size=8)
    | st.text(alphabet="\x7f\x00\x1fe1.0é", max_size=6)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(VALUES)
def test_the_text_is_json_dumps_sorted_and_compact(value):
    assert canonical_json(value) == reference(value)


@pytest.mark.parametrize(
    "value",
    [
        {"AMT_CREDIT": 5e5, "EXT_SOURCE_1": 1.2e-5, "NAME": "Société", "FLAG": 1, "X": None},
        {"a": -0.0, "b": 1e16, "c": 9.999999999999998e15, "d": 1e-4, "e": 2**64},
        {"a": 1e-5},
        {"a": [1e-7]},
        {"a": "\x7f"},
        {"a": "1e5"},
        {"a": None},
        {"a": [np.float64(0.1)]},
        {1: "integer keys", 2: True},
    ],
)
def test_values_where_the_writers_differ_keep_the_reference_text(value):
    assert canonical_json(value) == reference(value)


@pytest.mark.parametrize("value", [{"a": math.nan}, {"a": [math.inf]}])
def test_nan_and_infinity_are_refused(value):
    with pytest.raises(ValueError):
        canonical_json(value)
