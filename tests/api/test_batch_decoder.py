"""A batch body decoded by msgspec must mean what the request models make of it: whenever the
decoder accepts a body, ``BatchRequest`` accepts it with the same values (types included); what
it leaves to the models (None) they validate as before."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from credit_scoring.api.batch_decoder import decode_batch
from credit_scoring.api.json_body import BatchRoute, parse_json
from credit_scoring.api.routes import predict
from credit_scoring.api.schemas import (
    APPLICATION_TABLE,
    MAX_TEXT_LENGTH,
    BatchRequest,
    DecodedBatch,
)
from credit_scoring.data import schema

from .test_native_validation import APPLICATION, BUREAU, perturbed


def encoded(applications: list[dict], **item) -> bytes:
    """A batch body (lenient JSON: NaN and infinities written as such)."""
    return json.dumps(
        {"applications": [{"application": a, **item} for a in applications]}
    ).encode()


def by_the_models(body: bytes) -> list[dict] | None:
    """Each application's fields as ``BatchRequest`` validates them, or None when it refuses."""
    try:
        batch = BatchRequest.model_validate(parse_json(body))
    except ValidationError:
        return None
    return [dict(vars(item.application)) for item in batch.applications]


def typed(rows: list[dict]) -> list[dict]:
    """The rows with each value's type beside it (1 and 1.0 differ)."""
    return [{k: (type(v).__name__, v) for k, v in row.items()} for row in rows]


@settings(max_examples=300, deadline=None)
@given(st.lists(perturbed(APPLICATION_TABLE, APPLICATION, (schema.TARGET,)), max_size=3))
def test_what_the_decoder_accepts_the_models_accept_with_the_same_values(applications):
    body = encoded(applications)
    decoded = decode_batch(body)
    if decoded is not None:
        expected = by_the_models(body)
        assert expected is not None, "the decoder accepted a body the models refuse"
        assert typed(decoded) == typed(expected)


def canonical_reference(fields: dict) -> str:
    """The decision log's canonical JSON of an application's given fields (json.dumps)."""
    given = {k: v for k, v in fields.items() if v is not None}
    return json.dumps(given, sort_keys=True, separators=(",", ":"), allow_nan=False)


# Values where msgspec's text may differ from json's: small floats, DEL, non-ASCII, exponents.
ODD_TEXT = st.text(alphabet="\x7fé e-0.1nul", max_size=8)
SMALL_OR_LARGE = st.floats(1e-12, 1e-3) | st.floats(-1e15, 1e15) | st.sampled_from([-0.0, 1e-5])
WRITER_EDGES = st.fixed_dictionaries(
    {},
    optional={
        "NAME_CONTRACT_TYPE": ODD_TEXT,
        "OCCUPATION_TYPE": ODD_TEXT,
        "REGION_POPULATION_RELATIVE": SMALL_OR_LARGE,
        "EXT_SOURCE_1": st.floats(0, 1e-3),
        "AMT_CREDIT": st.floats(1e3, 1e15),
    },
).map(lambda change: APPLICATION | change)


ANY_APPLICATION = perturbed(APPLICATION_TABLE, APPLICATION, (schema.TARGET,)) | WRITER_EDGES


@settings(max_examples=300, deadline=None)
@given(st.lists(ANY_APPLICATION, max_size=3))
def test_the_decoders_canonical_json_is_the_decision_logs(applications):
    """msgspec's text of a decoded application is json.dumps's, or None (the log writes it)."""
    decoded = decode_batch(encoded(applications))
    for fields in decoded or ():
        assert fields.canonical in (None, canonical_reference(fields))


def test_the_canonical_json_is_left_to_the_log_only_where_msgspec_may_differ():
    plain, small, accented = (
        APPLICATION,
        APPLICATION | {"EXT_SOURCE_1": 1e-5},  # msgspec 0.00001, json 1e-05
        APPLICATION | {"NAME_CONTRACT_TYPE": "Prêt"},  # json escapes it
    )
    decoded = decode_batch(encoded([plain, small, accented]))
    assert decoded is not None
    assert decoded[0].canonical == canonical_reference(decoded[0])
    assert [fields.canonical for fields in decoded[1:]] == [None, None]


def test_a_plain_batch_is_decoded_with_every_field():
    decoded = decode_batch(encoded([APPLICATION, APPLICATION | {"SK_ID_CURR": 100002}]))
    assert decoded is not None and len(decoded) == 2
    expected = by_the_models(encoded([APPLICATION, APPLICATION | {"SK_ID_CURR": 100002}]))
    assert typed(decoded) == typed(expected)
    assert set(decoded[0]) == set(schema.column_kinds(APPLICATION_TABLE)) - {schema.TARGET}
    assert decoded[0]["EXT_SOURCE_1"] is None  # not given: missing
    assert decoded[1]["SK_ID_CURR"] == 100002


@pytest.mark.parametrize(
    "change",
    [
        {"CNT_CHILDREN": 1.0},  # an integer written as a float: the models read it as 1
        {"EXT_SOURCE_1": math.nan},  # NaN: missing, for the models
        {"AMT_CREDIT": None},  # a required field null
        {"AMT_CREDIT": math.inf},
        {"AMT_CREDIT": "500000"},
        {"FLAG_MOBIL": True},
        {"CNT_CHILDREN": 2**70},
        {"AMT_ANNUITY": 1e16},
        {"NOT_A_COLUMN": 1},
        {"TARGET": 1},
        {"NAME_CONTRACT_TYPE": "x" * (MAX_TEXT_LENGTH + 1)},
    ],
)
def test_what_the_decoder_leaves_to_the_models(change):
    assert decode_batch(encoded([APPLICATION, APPLICATION | change])) is None


def test_a_row_breaking_a_plausibility_rule_is_left_to_the_models():
    body = encoded([APPLICATION, APPLICATION | {"AMT_ANNUITY": 6e5}])  # above the credit
    assert decode_batch(body) is None
    with pytest.raises(ValidationError, match="implausible annuity"):
        BatchRequest.model_validate(parse_json(body))


def test_history_rows_and_odd_bodies_are_left_to_the_models():
    assert decode_batch(encoded([APPLICATION], history={"bureau": [BUREAU]})) is None
    assert decode_batch(encoded([APPLICATION], history={})) is None
    assert decode_batch(json.dumps({"applications": []}).encode()) is None
    assert decode_batch(json.dumps({"applications": [], "x": 1}).encode()) is None
    assert decode_batch(b'{"applications": [') is None
    assert decode_batch(b"[]") is None
    # a null history is no history
    assert decode_batch(encoded([APPLICATION], history=None)) is not None


def test_text_lengths_count_characters_as_the_models_do():
    accepted = APPLICATION | {"NAME_CONTRACT_TYPE": "é" * MAX_TEXT_LENGTH}
    decoded = decode_batch(encoded([accepted]))
    assert decoded is not None and typed(decoded) == typed(by_the_models(encoded([accepted])))
    too_long = APPLICATION | {"NAME_CONTRACT_TYPE": "é" * (MAX_TEXT_LENGTH + 1)}
    assert decode_batch(encoded([too_long])) is None


def test_a_repeated_key_keeps_its_last_value_as_the_models_do():
    text = json.dumps({"applications": [{"application": APPLICATION}]})
    body = text.replace('"AMT_CREDIT": 500000.0', '"AMT_CREDIT": 1.0, "AMT_CREDIT": 500000.0')
    assert body != text
    decoded = decode_batch(body.encode())
    assert decoded is not None and typed(decoded) == typed(by_the_models(body.encode()))
    assert decoded[0]["AMT_CREDIT"] == 500000.0


def test_a_decoded_batch_is_valid_as_it_is():
    decoded = DecodedBatch([dict(APPLICATION)])
    assert BatchRequest.model_validate(decoded) is decoded


def read_body(body: bytes) -> object:
    """What the batch route's request gives FastAPI as the JSON of ``body``."""
    route = next(r for r in predict.router.routes if r.path == "/predict/batch")
    assert isinstance(route, BatchRoute)

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/predict/batch", "headers": []}
    return asyncio.run(route.request_class(scope, receive).json())


def test_the_batch_route_reads_its_body_with_the_decoder():
    decoded = read_body(encoded([APPLICATION]))
    assert isinstance(decoded, DecodedBatch)
    assert decoded.applications == decode_batch(encoded([APPLICATION]))
    lenient = encoded([APPLICATION | {"EXT_SOURCE_1": math.nan}])
    assert read_body(lenient) == parse_json(lenient)  # for the request models
