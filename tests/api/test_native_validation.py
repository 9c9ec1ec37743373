"""Row models validate by their native twin first (pydantic's Rust checks only), then by their
own validators when the twin refuses: the outcome must be the same as the validators' alone,
values or errors, on any input. A batch applies its rows' plausibility rules to all rows at once,
with the same outcome as its rows validated one by one."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from credit_scoring.api import schemas
from credit_scoring.data import schema
from credit_scoring.data.plausibility import RULES, any_broken
from credit_scoring.data.validate import domain_bounds

APPLICATION = {
    "SK_ID_CURR": 100001,
    "AMT_INCOME_TOTAL": 1.5e5,
    "AMT_CREDIT": 5e5,
    "AMT_ANNUITY": 2.5e4,
    "AMT_GOODS_PRICE": 4.5e5,
    "DAYS_BIRTH": -15000,
    "DAYS_EMPLOYED": -2000,
    "CNT_CHILDREN": 1,
    "EXT_SOURCE_2": 0.5,
    "FLAG_OWN_CAR": "N",
    "NAME_CONTRACT_TYPE": "Cash loans",
}
BUREAU = {"SK_ID_CURR": 100001, "SK_ID_BUREAU": 5, "DAYS_CREDIT": -400, "CREDIT_ACTIVE": "Active"}


def outcome(model: type[BaseModel], data: dict) -> tuple[str, object]:
    """The dumped values, or the errors (type, location, message) of a validation."""
    try:
        return "valid", model.model_validate(data).model_dump()
    except ValidationError as exc:
        return "invalid", [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]


def odd_values(column: str) -> st.SearchStrategy:
    """Values around what a column accepts: its bounds, integers as floats, NaN, wrong types."""
    low, high = domain_bounds(column)
    edges = [v for v in (low, high) if v is not None]
    return st.one_of(
        st.sampled_from([None, math.nan, math.inf, True, "12", 1e15, 1e15 + 2, -1e16, 2**70]),
        st.sampled_from(edges + [e + d for e in edges for d in (-1, -0.5, 0.5, 1)] or [0]),
        st.integers(-(10**6), 10**6),
        st.integers(-(10**6), 10**6).map(float),
        st.floats(-1e6, 1e6),
        st.text(max_size=3),
    )


def perturbed(table: str, base: dict, exclude: tuple[str, ...] = ()) -> st.SearchStrategy:
    columns = [c for c in schema.column_kinds(table) if c not in exclude]
    change = st.sampled_from([*columns, "NOT_A_COLUMN"]).flatmap(
        lambda c: st.tuples(st.just(c), odd_values(c))
    )
    return st.lists(change, max_size=4).map(lambda pairs: base | dict(pairs))


def own_validators_only(model: type[BaseModel], data: dict) -> tuple[str, object]:
    """The outcome of the model without its native twin (the reference)."""
    native = schemas._NATIVE.pop(model)
    try:
        return outcome(model, data)
    finally:
        schemas._NATIVE[model] = native


@settings(max_examples=300, deadline=None)
@given(perturbed(schemas.APPLICATION_TABLE, APPLICATION, (schema.TARGET,)))
def test_an_application_validates_as_its_validators_alone_say(data):
    assert outcome(schemas.ApplicationIn, data) == own_validators_only(schemas.ApplicationIn, data)


@settings(max_examples=150, deadline=None)
@given(perturbed("bureau", BUREAU))
def test_a_history_row_validates_as_its_validators_alone_say(data):
    model = schemas.HISTORY_ROW_MODELS["bureau"]
    assert outcome(model, data) == own_validators_only(model, data)


EDGES = [None, math.nan, math.inf, -math.inf, True, "12", 0.5, 1.0, -1.0, 1e15, -1e15, 1e15 + 2]
EDGES += [-1e16, 2**70, -(2**70), 23, 23.5, 24, 0, -0.0]


@pytest.mark.parametrize(
    "column",
    [
        "REGION_POPULATION_RELATIVE",  # float, unbounded
        "DAYS_REGISTRATION",  # float, <= 0
        "EXT_SOURCE_1",  # float in [0, 1]
        "CNT_CHILDREN",  # integer, >= 0
        "HOUR_APPR_PROCESS_START",  # integer in [0, 23]
        "AMT_CREDIT",  # required, plausibility rule
        "NAME_CONTRACT_TYPE",  # text
    ],
)
def test_edge_values_validate_as_the_validators_alone_say(column):
    for value in EDGES:
        data = APPLICATION | {column: value}
        expected = own_validators_only(schemas.ApplicationIn, data)
        assert outcome(schemas.ApplicationIn, data) == expected, value


def test_valid_rows_take_the_native_route_and_odd_ones_the_validators():
    native = schemas._NATIVE[schemas.ApplicationIn]
    assert type(schemas.ApplicationIn.model_validate(APPLICATION)) is native
    for odd in ({"CNT_CHILDREN": 1.0}, {"EXT_SOURCE_1": math.nan}):
        row = schemas.ApplicationIn.model_validate(APPLICATION | odd)
        assert type(row) is schemas.ApplicationIn


def test_a_row_models_fields_are_its_dump():
    """The service reads a validated row's ``vars`` as its dump (flat fields, no serializer)."""
    for data in (APPLICATION, APPLICATION | {"CNT_CHILDREN": 1.0}):
        row = schemas.ApplicationIn.model_validate(data)
        assert vars(row) == row.model_dump()


def row_by_row(items: list[dict]) -> tuple[str, object]:
    """The reference: each item validated alone (its plausibility rules applied with it)."""
    values, errors = [], []
    for i, item in enumerate(items):
        kind, result = outcome(schemas.PredictRequest, item)
        if kind == "valid":
            values.append(result)
        else:
            errors += [(type_, ("applications", i, *loc), msg) for type_, loc, msg in result]
    return ("invalid", errors) if errors else ("valid", {"applications": values})


@settings(max_examples=200, deadline=None)
@given(st.lists(perturbed(schemas.APPLICATION_TABLE, APPLICATION, (schema.TARGET,)), max_size=3))
def test_a_batch_validates_as_its_rows_alone_say(rows):
    """A batch applies its rows' plausibility rules to all rows at once: same values, same
    errors as its rows validated one by one."""
    items = [{"application": APPLICATION}, *({"application": row} for row in rows)]
    assert outcome(schemas.BatchRequest, {"applications": items}) == row_by_row(items)


IMPLAUSIBLE = [
    {"DAYS_BIRTH": -100},
    {"AMT_INCOME_TOTAL": 0},
    {"AMT_CREDIT": 0},
    {"AMT_ANNUITY": 6e5},
    {"AMT_GOODS_PRICE": 0},
    {"DAYS_EMPLOYED": -20000},
]


@pytest.mark.parametrize("change", IMPLAUSIBLE)
def test_a_batch_names_the_row_and_field_breaking_a_rule(change):
    items = [{"application": APPLICATION}, {"application": APPLICATION | change}]
    kind, errors = outcome(schemas.BatchRequest, {"applications": items})
    assert kind == "invalid"
    blamed = ("implausible_value", ("applications", 1, "application", next(iter(change))))
    assert blamed in [(type_, loc) for type_, loc, _ in errors]
    assert {loc[:2] for _, loc, _ in errors} == {("applications", 1)}


@given(
    st.lists(
        st.fixed_dictionaries(
            {
                c: st.one_of(st.none(), st.integers(-40000, 400000), st.floats(-1e6, 1e6))
                for c in {c for rule in RULES for c in rule.reads}
            }
        ),
        min_size=1,
        max_size=5,
    )
)
def test_a_rule_broken_on_many_rows_is_violated_row_by_row(rows):
    """The API's rules on a batch (``broken``), on one application (``violated``) and the
    ingest's on a table (``violations``) say the same, a missing value breaking none."""
    frame = pd.DataFrame(rows, dtype=object)
    for rule in RULES:
        expected = [rule.violated(row) for row in rows]
        columns = {c: np.array([row[c] for row in rows], float) for c in rule.reads}
        assert rule.broken(columns).tolist() == expected, rule
        assert rule.violations(frame).tolist() == expected, rule
    objects = [SimpleNamespace(**row) for row in rows]
    assert any_broken(objects) == any(rule.violated(row) for rule in RULES for row in rows)
