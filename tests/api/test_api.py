"""The scoring API over real HTTP: uvicorn subprocesses serving the tiny pipeline run's champion.

The main server loads the champion from the MLflow registry of ``tiny_project``; its answers are
checked against the pipeline's own model and features, then every kind of bad input, the API key,
the decision log (also under concurrent requests) and the fallback to the local model folder.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import mlflow.models
import numpy as np
import pandas as pd
import pytest
import yaml

from credit_scoring.api.batch_decoder import decode_batch
from credit_scoring.api.decision_log import read_decisions
from credit_scoring.api.launch import ServerProcess, free_port, run_environment, start_api
from credit_scoring.api.model_loader import load_champion, load_from_path
from credit_scoring.api.startup import make_explainer, read_population
from credit_scoring.api.timing import server_time_ms
from credit_scoring.config import ExplainConfig
from credit_scoring.data import schema
from credit_scoring.features import feature_matrix
from credit_scoring.features.application import PROTECTED_FEATURES
from credit_scoring.modeling.pyfunc import load_pipeline
from credit_scoring.tabular import json_scalar

# The fixture runs the whole pipeline (`dvc repro`, ~2 min); the API tests themselves take ~30 s.
pytestmark = pytest.mark.slow

API_KEY = "test-key"
OFFICER_KEY = "officer-key"
OTHER_KEY = "second-key"
TOP_K = 5
MAX_BATCH = 50
REQUIRED = ("AMT_INCOME_TOTAL", "AMT_CREDIT", "DAYS_BIRTH", "DAYS_EMPLOYED")
STARTUP_SECONDS = 180
MINIMAL = {
    "AMT_INCOME_TOTAL": 1.5e5,
    "AMT_CREDIT": 5e5,
    "AMT_ANNUITY": 2.5e4,
    "DAYS_BIRTH": -15000,
    "DAYS_EMPLOYED": schema.DAYS_EMPLOYED_ANOMALY,
}


@dataclass
class Server:
    """A running API subprocess and its decision log."""

    running: ServerProcess
    database_url: str

    @property
    def url(self) -> str:
        return self.running.url

    def client(self, key: str | None = API_KEY) -> httpx.Client:
        """An HTTP client of the server (with ``X-API-Key`` unless ``key`` is None)."""
        headers = {"X-API-Key": key} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def start_server(env: dict[str, str], cwd: Path, log: Path) -> Server:
    """Start the API on 127.0.0.1 and wait until /health answers (even 503: no model)."""
    running = start_api(env, cwd, log, timeout=STARTUP_SECONDS, expect_status=None)
    return Server(running, env["CREDIT_API_DATABASE_URL"])


def stop_server(server: Server) -> None:
    """Terminate the server process (kill it if it does not stop)."""
    server.running.stop()


def api_env(project, folder: Path, **overrides: str) -> dict[str, str]:
    """Environment of an API on ``project``'s outputs, its decision log in ``folder``."""
    root = project.root
    params = yaml.safe_load((root / "params.yaml").read_text())
    register = params["register"]
    env = {k: v for k, v in project.env.items() if not k.startswith("CREDIT_API_")}
    database_url = f"sqlite:///{folder / 'decisions.db'}"
    env |= run_environment(root, database_url, f"{API_KEY}, {OTHER_KEY}", project.tracking_uri)
    env |= {
        "CREDIT_API_MODEL_URI": f"models:/{register['model_name']}@{register['alias']}",
        "CREDIT_API_TOP_K": str(TOP_K),
        "CREDIT_API_MAX_BATCH": str(MAX_BATCH),
        "CREDIT_API_OFFICER_KEYS": OFFICER_KEY,
    }
    return env | overrides


@pytest.fixture(scope="module")
def server(tiny_project, tmp_path_factory) -> Iterator[Server]:
    """The API on the tiny run's registry champion (working directory outside the project)."""
    folder = tmp_path_factory.mktemp("api")
    running = start_server(api_env(tiny_project, folder), folder, folder / "api.log")
    yield running
    stop_server(running)


@pytest.fixture(scope="module")
def http(server) -> Iterator[httpx.Client]:
    """An authenticated client of the main server."""
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def pipeline_run(tiny_project) -> dict[str, Any]:
    """What the pipeline itself says: its champion, feature columns, production features."""
    processed = tiny_project.root / "data" / "processed"
    champion = tiny_project.root / "models" / "champion"
    return {
        "model": load_pipeline(champion),
        "metadata": mlflow.models.Model.load(str(champion)).metadata,
        "columns": json.loads((processed / "feature_columns.json").read_text()),
        "production": pd.read_parquet(processed / "production.parquet").set_index(
            schema.CLIENT_ID, drop=False
        ),
        "history_ids": set(pd.read_parquet(processed / "history.parquet")[schema.CLIENT_ID]),
        "registry": json.loads((tiny_project.root / "reports" / "registry.json").read_text()),
    }


@pytest.fixture(scope="module")
def applications(tiny_project) -> pd.DataFrame:
    """Raw production applications whose required fields are all present."""
    frame = pd.read_parquet(tiny_project.root / "data" / "interim" / "application_test.parquet")
    return frame[frame[list(REQUIRED)].notna().all(axis=1)].reset_index(drop=True)


def raw_application(http: httpx.Client, sk_id_curr: int) -> dict[str, Any]:
    """The client's raw application as served by ``GET /clients/{id}``."""
    response = http.get(f"/clients/{sk_id_curr}")
    assert response.status_code == 200, response.text
    return response.json()


def valid_application(http: httpx.Client, applications: pd.DataFrame) -> dict[str, Any]:
    """A valid raw application of a production client."""
    return raw_application(http, int(applications[schema.CLIENT_ID].iloc[0]))


def client_history(root: Path, sk_id_curr: int) -> dict[str, list[dict[str, Any]]]:
    """The client's rows of every side table of the ingested data, as JSON rows."""
    interim = root / "data" / "interim"
    tables = {t: pd.read_parquet(interim / f"{t}.parquet") for t in schema.HISTORY_TABLES}
    bureau = tables["bureau"][tables["bureau"][schema.CLIENT_ID] == sk_id_curr]
    rows = {"bureau": bureau}
    balance = tables["bureau_balance"]
    rows["bureau_balance"] = balance[balance[schema.BUREAU_ID].isin(bureau[schema.BUREAU_ID])]
    for table in schema.HISTORY_TABLES[2:]:
        rows[table] = tables[table][tables[table][schema.CLIENT_ID] == sk_id_curr]
    return {t: json.loads(frame.to_json(orient="records")) for t, frame in rows.items()}


def pipeline_probability(pipeline_run: dict[str, Any], sk_ids: list[int]) -> np.ndarray:
    """The pipeline's own probability for production clients (its features, its model)."""
    X = feature_matrix(pipeline_run["production"].loc[sk_ids], pipeline_run["columns"])
    return pipeline_run["model"].predict_proba(X)[:, 1]


def assert_valid_prediction(result: dict[str, Any], threshold: float) -> None:
    """Probability in [0, 1], decision consistent with the threshold, sorted non-empty reasons."""
    assert 0.0 <= result["probability"] <= 1.0
    assert result["threshold"] == pytest.approx(threshold)
    expected = "refused" if result["probability"] >= result["threshold"] else "granted"
    assert result["decision"] == expected
    reasons = result["reasons"]
    assert 0 < len(reasons) <= TOP_K
    sizes = [abs(r["contribution"]) for r in reasons]
    assert sizes == sorted(sizes, reverse=True)
    for reason in reasons:
        assert set(reason) == {"feature", "value", "contribution", "direction"}
        raises = reason["contribution"] > 0
        assert reason["direction"] == ("raises risk" if raises else "lowers risk")
    assert result["units"] in ("log-odds", "probability")
    assert math.isfinite(result["base_value"])
    assert result["request_id"]


def post_json_text(http: httpx.Client, path: str, text: str) -> httpx.Response:
    """POST a raw JSON text (e.g. with NaN or Infinity, which strict encoders refuse)."""
    return http.post(path, content=text.encode(), headers={"content-type": "application/json"})


# --------------------------------------------------------------------------------------------
# Health, model, auth
# --------------------------------------------------------------------------------------------


def test_health_is_open_and_reports_the_registry_version(server, pipeline_run):
    with server.client(key=None) as anonymous:
        response = anonymous.get("/health")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "model_loaded": True,
        "model_version": str(pipeline_run["registry"]["version"]),
    }


def test_model_comes_from_the_registry_with_its_metadata(http, pipeline_run):
    response = http.get("/model")
    assert response.status_code == 200
    model = response.json()
    metadata = pipeline_run["metadata"]
    assert model["source"] == "registry"
    assert model["name"] == pipeline_run["registry"]["model_name"]
    assert model["version"] == str(pipeline_run["registry"]["version"])
    assert model["family"] == metadata["family"]
    assert model["threshold"] == pytest.approx(metadata["threshold"])
    assert model["features"] == pipeline_run["columns"]
    assert model["data_hash"] == metadata["data_hash"]
    assert model["metrics"]["holdout_auc"] == pytest.approx(metadata["metrics"]["holdout_auc"])


@pytest.mark.parametrize("path", ["/predict", "/predict/batch", "/clients", "/model"])
@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_missing_or_wrong_api_key_is_401(server, path, key):
    with server.client(key=key) as client:
        response = client.post(path, json={}) if path.startswith("/predict") else client.get(path)
    assert response.status_code == 401
    assert "X-API-Key" in response.json()["detail"]


def test_every_configured_key_is_accepted(server, applications):
    with server.client(key=OTHER_KEY) as client:
        application = valid_application(client, applications)
        assert client.post("/predict", json={"application": application}).status_code == 200


# --------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------


def test_predict_matches_the_pipeline_model(http, applications, pipeline_run):
    sk_ids = [int(i) for i in applications[schema.CLIENT_ID].iloc[:8]]
    expected = pipeline_probability(pipeline_run, sk_ids)
    threshold = pipeline_run["metadata"]["threshold"]
    for sk_id_curr, probability in zip(sk_ids, expected, strict=True):
        response = http.post("/predict", json={"application": raw_application(http, sk_id_curr)})
        assert response.status_code == 200, response.text
        result = response.json()
        assert_valid_prediction(result, threshold)
        assert result["sk_id_curr"] == sk_id_curr
        assert result["probability"] == pytest.approx(probability, abs=1e-9)
        assert result["decision"] == ("refused" if probability >= threshold else "granted")
        in_store = sk_id_curr in pipeline_run["history_ids"]
        assert result["history_source"] == ("store" if in_store else "none")
        assert result["model"]["source"] == "registry"
        assert result["model"]["family"] == pipeline_run["metadata"]["family"]


def test_every_production_client_scores_like_the_pipeline(http, applications, pipeline_run):
    """The API's path (its feature assembly, numpy preprocess, model) against the pipeline's own
    features and model, on every production client it accepts: same probability to 1e-9, same
    decision."""
    records = json.loads(applications.to_json(orient="records"))
    sk_ids = [int(record[schema.CLIENT_ID]) for record in records]
    expected = pipeline_probability(pipeline_run, sk_ids)
    threshold = pipeline_run["metadata"]["threshold"]
    got = []
    for start in range(0, len(records), MAX_BATCH):
        items = [{"application": record} for record in records[start : start + MAX_BATCH]]
        response = http.post("/predict/batch", json={"applications": items})
        assert response.status_code == 200, response.text
        got.extend(response.json()["results"])
    assert [r["sk_id_curr"] for r in got] == sk_ids
    probabilities = np.array([r["probability"] for r in got])
    np.testing.assert_allclose(probabilities, expected, rtol=0, atol=1e-9)
    decisions = ["refused" if p >= threshold else "granted" for p in expected]
    assert [r["decision"] for r in got] == decisions
    assert len(sk_ids) > 100


def test_explicit_history_gives_the_stored_aggregates(http, tiny_project, applications):
    counts = {
        int(i): sum(len(rows) for rows in client_history(tiny_project.root, int(i)).values())
        for i in applications[schema.CLIENT_ID].iloc[:30]
    }
    sk_id_curr = max(counts, key=counts.get)
    history = client_history(tiny_project.root, sk_id_curr)
    assert history["bureau"] or history["previous_application"]
    application = raw_application(http, sk_id_curr)
    stored = http.post("/predict", json={"application": application}).json()
    given = http.post("/predict", json={"application": application, "history": history}).json()
    assert (stored["history_source"], given["history_source"]) == ("store", "request")
    assert given["probability"] == pytest.approx(stored["probability"], abs=1e-12)


def test_empty_history_equals_no_history(http, applications):
    application = valid_application(http, applications)
    anonymous = {k: v for k, v in application.items() if k != schema.CLIENT_ID}
    none = http.post("/predict", json={"application": anonymous}).json()
    empty = {table: [] for table in schema.HISTORY_TABLES}
    for history in (empty, {}, {"bureau": [], "credit_card_balance": None}):
        result = http.post("/predict", json={"application": application, "history": history})
        assert result.status_code == 200, result.text
        assert result.json()["history_source"] == "request"
        assert result.json()["probability"] == pytest.approx(none["probability"], abs=1e-12)
    assert (none["history_source"], none["sk_id_curr"]) == ("none", None)


def test_minimal_application_with_only_required_fields(http, pipeline_run):
    response = http.post("/predict", json={"application": MINIMAL})
    assert response.status_code == 200, response.text
    assert_valid_prediction(response.json(), pipeline_run["metadata"]["threshold"])


def test_unknown_category_is_scored_with_a_warning(http, applications):
    application = valid_application(http, applications) | {"NAME_INCOME_TYPE": "Astronaut"}
    response = http.post("/predict", json={"application": application})
    assert response.status_code == 200, response.text
    warnings = response.json()["warnings"]
    assert any("NAME_INCOME_TYPE" in w and "Astronaut" in w for w in warnings)


def test_nan_in_an_optional_field_means_missing(http, applications):
    application = valid_application(http, applications)
    missing = http.post("/predict", json={"application": application | {"EXT_SOURCE_1": None}})
    text = json.dumps({"application": application | {"EXT_SOURCE_1": float("nan")}})
    nan = post_json_text(http, "/predict", text)
    assert nan.status_code == 200, nan.text
    assert nan.json()["probability"] == pytest.approx(missing.json()["probability"], abs=1e-12)


def test_batch_json_scores_each_item_like_predict(http, tiny_project, applications):
    sk_ids = [int(i) for i in applications[schema.CLIENT_ID].iloc[:3]]
    items = [{"application": raw_application(http, i)} for i in sk_ids]
    items.append({"application": items[0]["application"], "history": {}})
    history = client_history(tiny_project.root, sk_ids[1])
    items.append({"application": items[1]["application"], "history": history})
    response = http.post("/predict/batch", json={"applications": items})
    assert response.status_code == 200, response.text
    # the server's own time, from request head to answer head, within what the client waited
    server_ms = server_time_ms(response.headers["server-timing"])
    assert 0 < server_ms <= response.elapsed.total_seconds() * 1000
    batch = response.json()
    assert batch["n"] == len(items) == len(batch["results"])
    singles = [http.post("/predict", json=item).json() for item in items]
    for got, single in zip(batch["results"], singles, strict=True):
        assert got["probability"] == pytest.approx(single["probability"], abs=1e-12)
        assert got["history_source"] == single["history_source"]
        assert got["decision"] == single["decision"]
    assert len({r["request_id"] for r in batch["results"]}) == len(items)
    assert batch["results"][4]["probability"] == pytest.approx(
        batch["results"][1]["probability"], abs=1e-12
    )


def test_a_batch_decoded_by_msgspec_answers_and_logs_as_through_the_models(
    http, server, applications
):
    """The same applications in strict JSON (decoded by msgspec) and with a NaN for a missing
    field (which leaves the body to the request models): the same answers, the same logs."""
    sk_ids = [int(i) for i in applications[schema.CLIENT_ID].iloc[:20]]
    items = [{"application": raw_application(http, i)} for i in sk_ids]
    strict = json.dumps({"applications": items})
    missing = next(c for c, v in items[0]["application"].items() if v is None)
    nan = dict(items[0]["application"], **{missing: float("nan")})
    lenient = json.dumps({"applications": [{"application": nan}, *items[1:]]})
    assert decode_batch(strict.encode()) is not None
    assert decode_batch(lenient.encode()) is None
    answers = [post_json_text(http, "/predict/batch", text) for text in (strict, lenient)]
    assert [a.status_code for a in answers] == [200, 200], answers[1].text
    decoded, validated = (a.json()["results"] for a in answers)
    ids = [[r.pop("request_id") for r in results] for results in (decoded, validated)]
    assert decoded == validated
    logged = read_decisions(server.database_url).set_index("request_id")
    columns = ["input_hash", "application", "probability", "decision", "history_source"]
    assert (
        logged.loc[ids[0], columns].values.tolist() == logged.loc[ids[1], columns].values.tolist()
    )


def test_batch_csv_scores_the_rows(http, applications, pipeline_run):
    rows = applications.head(4)
    content = rows.to_csv(index=False).encode()
    files = {"file": ("applications.csv", content, "text/csv")}
    response = http.post("/predict/batch/csv", files=files)
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    sk_ids = [int(i) for i in rows[schema.CLIENT_ID]]
    assert [r["sk_id_curr"] for r in results] == sk_ids
    expected = pipeline_probability(pipeline_run, sk_ids)
    assert [r["probability"] for r in results] == pytest.approx(list(expected), abs=1e-9)


def test_reasons_never_name_a_protected_attribute(http, tiny_project, applications, pipeline_run):
    """The reasons are the top_k SHAP contributions among the non-protected features."""
    sk_ids = [int(i) for i in applications[schema.CLIENT_ID].iloc[:MAX_BATCH]]
    items = [{"application": raw_application(http, i)} for i in sk_ids]
    response = http.post("/predict/batch", json={"applications": items})
    assert response.status_code == 200, response.text
    served = [[r["feature"] for r in result["reasons"]] for result in response.json()["results"]]
    # The API's explainer, rebuilt as its startup builds it, on the pipeline's features.
    root = tiny_project.root
    model = load_from_path(root / "models" / "champion")
    population = read_population(root / "data" / "processed" / "train.parquet", model)
    config = ExplainConfig(**yaml.safe_load((root / "params.yaml").read_text())["explain"])
    explainer = make_explainer(model, feature_matrix(population, model.features), config)
    X = feature_matrix(pipeline_run["production"].loc[sk_ids], pipeline_run["columns"])
    unfiltered = [[r["feature"] for r in row] for row in explainer.reasons(X, TOP_K)]
    assert any(PROTECTED_FEATURES.intersection(row) for row in unfiltered), "nothing to filter"
    expected = explainer.reasons(X, TOP_K, exclude=PROTECTED_FEATURES)
    assert served == [[r["feature"] for r in row] for row in expected]
    assert not any(PROTECTED_FEATURES.intersection(row) for row in served)
    assert all(len(row) == TOP_K for row in served)


def test_batch_size_limits(http, applications):
    item = {"application": valid_application(http, applications)}
    empty = http.post("/predict/batch", json={"applications": []})
    assert empty.status_code == 422
    too_many = http.post("/predict/batch", json={"applications": [item] * (MAX_BATCH + 1)})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["body", "applications"]


# --------------------------------------------------------------------------------------------
# Bad inputs: 422 naming the field, never a 500
# --------------------------------------------------------------------------------------------

BAD_APPLICATIONS = {
    "unknown field": ({"NOT_A_COLUMN": 1}, "NOT_A_COLUMN", "extra_forbidden"),
    "missing required field": ({"AMT_CREDIT": ...}, "AMT_CREDIT", "missing"),
    "null required field": ({"DAYS_BIRTH": None}, "DAYS_BIRTH", "missing_value"),
    "text for a number": ({"AMT_CREDIT": "a lot"}, "AMT_CREDIT", "wrong_type"),
    "boolean for a number": ({"AMT_ANNUITY": True}, "AMT_ANNUITY", "wrong_type"),
    "number for a category": ({"CODE_GENDER": 1}, "CODE_GENDER", "string_type"),
    "fraction for an integer": ({"CNT_CHILDREN": 1.5}, "CNT_CHILDREN", "int_from_float"),
    "negative income": ({"AMT_INCOME_TOTAL": -1000.0}, "AMT_INCOME_TOTAL", "impossible_value"),
    "DAYS_BIRTH > 0": ({"DAYS_BIRTH": 12000}, "DAYS_BIRTH", "impossible_value"),
    "EXT_SOURCE_2 = 1.5": ({"EXT_SOURCE_2": 1.5}, "EXT_SOURCE_2", "impossible_value"),
    "FLAG_ not 0/1": ({"FLAG_MOBIL": 2}, "FLAG_MOBIL", "impossible_value"),
    "huge number": ({"AMT_CREDIT": 1e300}, "AMT_CREDIT", "out_of_range"),
    "huge integer": ({"CNT_CHILDREN": 10**400}, "CNT_CHILDREN", "out_of_range"),
    "array for a number": ({"AMT_CREDIT": [1, 2]}, "AMT_CREDIT", "wrong_type"),
}


@pytest.mark.parametrize("change, field, kind", BAD_APPLICATIONS.values(), ids=BAD_APPLICATIONS)
def test_bad_application_is_422_naming_the_field(http, applications, change, field, kind):
    application = valid_application(http, applications)
    for key, value in change.items():
        if value is ...:
            application.pop(key)
        else:
            application[key] = value
    response = http.post("/predict", json={"application": application})
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert {"loc": ["body", "application", field], "type": kind} in [
        {"loc": e["loc"], "type": e["type"]} for e in errors
    ]
    assert all(e["msg"] for e in errors)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_required_number_is_422(http, applications, literal):
    application = valid_application(http, applications) | {"AMT_CREDIT": 0}
    text = json.dumps({"application": application})
    text = text.replace('"AMT_CREDIT": 0', f'"AMT_CREDIT": {literal}')
    response = post_json_text(http, "/predict", text)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "application", "AMT_CREDIT"]


BAD_HISTORIES = {
    "unknown column": (
        {"bureau": [{"SK_ID_BUREAU": 1, "COLOUR": "red"}]},
        ["bureau", 0, "COLOUR"],
    ),
    "wrong type": (
        {"bureau": [{"SK_ID_BUREAU": 1, "AMT_CREDIT_SUM": "x"}]},
        ["bureau", 0, "AMT_CREDIT_SUM"],
    ),
    "impossible value": (
        {"POS_CASH_balance": [{"SK_ID_PREV": 1, "MONTHS_BALANCE": 3}]},
        ["POS_CASH_balance", 0, "MONTHS_BALANCE"],
    ),
    "missing link key": (
        {"bureau_balance": [{"MONTHS_BALANCE": -1}]},
        ["bureau_balance", 0, "SK_ID_BUREAU"],
    ),
    "unknown table": ({"loans": []}, ["loans"]),
    "table not a list": ({"bureau": {"SK_ID_BUREAU": 1}}, ["bureau"]),
    "row not an object": ({"bureau": [3]}, ["bureau", 0]),
}


@pytest.mark.parametrize("history, loc", BAD_HISTORIES.values(), ids=BAD_HISTORIES)
def test_bad_history_is_422_naming_the_row_and_column(http, applications, history, loc):
    application = valid_application(http, applications)
    response = http.post("/predict", json={"application": application, "history": history})
    assert response.status_code == 422, response.text
    assert ["body", "history", *loc] in [e["loc"] for e in response.json()["detail"]]


BAD_BODIES = {
    "empty body": b"",
    "not JSON": b"{application",
    "JSON array": b"[]",
    "JSON null": b"null",
    "empty object": b"{}",
    "null application": b'{"application": null}',
    "application not an object": b'{"application": "yes"}',
    "unknown top-level key": b'{"application": {}, "extra": 1}',
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES)
@pytest.mark.parametrize("path", ["/predict", "/predict/batch"])
def test_malformed_bodies_are_422_not_500(http, path, body):
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "words"),
    [
        (b'{"application": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json",
         "nested too deeply"),
        ('{"application": {"NAME": "Caf\xe9"}}'.encode("latin-1"), "application/json",
         "not UTF-8"),
        (b"--XX\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\nAMT",
         "multipart/form-data; boundary=XX", "body"),
    ],
    ids=["nested too deeply", "not UTF-8", "broken multipart"],
)  # fmt: skip
def test_unparsable_bodies_are_422_on_body_like_other_malformed_input(
    http, body, content_type, words
):
    path = "/predict/batch/csv" if content_type.startswith("multipart") else "/predict"
    response = http.post(path, content=body, headers={"content-type": content_type})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"][0] == "body" and words in str(error), error
    assert http.get("/health").status_code == 200


def test_an_oversized_body_is_413_before_it_is_read(server):
    with server.client() as client:
        big = b'{"application": {"AMT_CREDIT": 1' + b"0" * (40 * 1024 * 1024) + b"}}"
        response = client.post(
            "/predict", content=big, headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert "CREDIT_API_MAX_BODY_BYTES" in response.json()["detail"]
    assert server_time_ms(response.headers["server-timing"]) is not None


def test_an_oversized_streamed_body_is_413_too(server):
    def chunks():  # no Content-Length: counted as it arrives
        yield b'{"application": {"AMT_CREDIT": 1'
        for _ in range(40):
            yield b"0" * (1024 * 1024)
        yield b"}}"

    with server.client() as client:
        response = client.post(
            "/predict", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413, response.text
    assert "CREDIT_API_MAX_BODY_BYTES" in response.json()["detail"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"AMT_INCOME_TOTAL": 0}, "AMT_INCOME_TOTAL", "implausible income"),
        ({"AMT_CREDIT": 0}, "AMT_CREDIT", "implausible credit amount"),
        ({"DAYS_BIRTH": 0, "DAYS_EMPLOYED": 0}, "DAYS_BIRTH", "implausible age"),
        ({"DAYS_EMPLOYED": -20000}, "DAYS_EMPLOYED", "implausible employment"),
        ({"AMT_ANNUITY": 6e5}, "AMT_ANNUITY", "implausible annuity"),
    ],
)
def test_implausible_applications_are_422_naming_the_field(http, change, field, words):
    application = MINIMAL | {"DAYS_EMPLOYED": -2000} | change
    response = http.post("/predict", json={"application": application})
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert ["body", "application", field] in [e["loc"] for e in errors]
    assert any(words in e["msg"] for e in errors)
    # in a batch (whose rules run on all rows at once), the same error names the row
    items = [{"application": MINIMAL | {"DAYS_EMPLOYED": -2000}}, {"application": application}]
    batch = http.post("/predict/batch", json={"applications": items})
    assert batch.status_code == 422, batch.text
    expected = [({**e, "loc": ["body", "applications", 1, *e["loc"][1:]]}) for e in errors]
    assert batch.json()["detail"] == expected


def test_the_openapi_schema_documents_every_error_status(http):
    paths = http.get("/openapi.json").json()["paths"]
    statuses = {
        (path, method): set(operation["responses"])
        for path, methods in paths.items()
        for method, operation in methods.items()
    }
    assert {"401", "413", "422", "503"} <= statuses[("/predict", "post")]
    assert {"401", "404", "422", "503"} <= statuses[("/clients/{sk_id_curr}", "get")]
    assert {"401", "403", "404", "409", "422"} <= statuses[
        ("/decisions/{request_id}/override", "post")
    ]
    assert {"401", "403", "409", "503"} <= statuses[("/admin/reload", "post")]
    assert "503" in statuses[("/health", "get")]


def _csv(text: str) -> dict[str, tuple[str, bytes, str]]:
    return {"file": ("applications.csv", text.encode("latin-1"), "text/csv")}


BAD_CSVS = {
    "ragged rows": (
        _csv("SK_ID_CURR,AMT_CREDIT\n1,2,3\n4\n"),
        ["body", "file"],
    ),
    "unclosed quote": (_csv('AMT_CREDIT,"DAYS_BIRTH\n1,2\n'), ["body", "file"]),
    "empty file": (_csv(""), ["body", "file"]),
    "header only": (_csv(",".join(REQUIRED) + "\n"), ["body", "file"]),
    "duplicated column": (_csv("AMT_CREDIT,AMT_CREDIT\n1,2\n"), ["body", "file"]),
    "not UTF-8": (_csv("AMT_CREDIT\n\xe9\xff\n"), ["body", "file"]),
    "text in a number column": (
        _csv(",".join(REQUIRED) + "\n100000,abc,-12000,-100\n"),
        ["body", "file", 0, "AMT_CREDIT"],
    ),
    "impossible value": (
        _csv(",".join(REQUIRED) + "\n100000,200000,12000,-100\n"),
        ["body", "file", 0, "DAYS_BIRTH"],
    ),
    "unknown column": (
        _csv(",".join(REQUIRED) + ",COLOUR\n100000,200000,-12000,-100,red\n"),
        ["body", "file", 0, "COLOUR"],
    ),
}


@pytest.mark.parametrize("files, loc", BAD_CSVS.values(), ids=BAD_CSVS)
def test_malformed_csv_is_422(http, files, loc):
    response = http.post("/predict/batch/csv", files=files)
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["detail"]]


def test_csv_upload_without_file_is_422(http):
    response = http.post("/predict/batch/csv", data={"other": "x"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file"]


# --------------------------------------------------------------------------------------------
# Clients and population
# --------------------------------------------------------------------------------------------


def test_clients_are_listed_and_paged(http, tiny_project):
    production = pd.read_parquet(
        tiny_project.root / "data" / "interim" / "application_test.parquet"
    )
    first = http.get("/clients", params={"limit": 5})
    assert first.status_code == 200
    assert first.json() == [int(i) for i in production[schema.CLIENT_ID].iloc[:5]]
    assert int(first.headers["X-Total-Count"]) == len(production)
    second = http.get("/clients", params={"limit": 5, "offset": 5}).json()
    assert second == [int(i) for i in production[schema.CLIENT_ID].iloc[5:10]]
    assert http.get("/clients", params={"limit": 0}).status_code == 422


def test_client_application_is_strict_json(http, tiny_project):
    production = pd.read_parquet(
        tiny_project.root / "data" / "interim" / "application_test.parquet"
    )
    with_missing = production[production.isna().any(axis=1)].iloc[0]
    response = http.get(f"/clients/{int(with_missing[schema.CLIENT_ID])}")
    assert response.status_code == 200
    application = json.loads(response.text, parse_constant=pytest.fail)
    assert set(application) == set(production.columns)
    assert None in application.values()
    assert http.get("/clients/1").status_code == 404
    assert http.get("/clients/abc").status_code == 422


def test_client_applications_are_served_with_the_values_of_the_file(http, tiny_project):
    production = pd.read_parquet(
        tiny_project.root / "data" / "interim" / "application_test.parquet"
    )
    for record in production.iloc[:25].to_dict("records"):
        served = http.get(f"/clients/{record[schema.CLIENT_ID]}").json()
        assert served == {column: json_scalar(value) for column, value in record.items()}


@pytest.mark.skipif(not Path("/proc/self/maps").is_file(), reason="reads /proc (Linux)")
def test_the_server_process_runs_without_arrow(server, http):
    """Served as `credit_scoring.api.asgi:app`, the worker maps no Arrow library, though it
    serves the pipeline's parquet outputs (the client store, the history, the background)."""
    assert http.get("/clients", params={"limit": 1}).status_code == 200
    maps = Path(f"/proc/{server.running.process.pid}/maps").read_text()
    assert "site-packages/pandas" in maps
    assert "pyarrow" not in maps and "libarrow" not in maps


def test_population_places_a_client(http, pipeline_run):
    numeric, categorical = pipeline_run["columns"]["numeric"][:2], "NAME_INCOME_TYPE"
    response = http.get("/population", params={"features": ",".join([*numeric, categorical])})
    assert response.status_code == 200
    summaries = response.json()
    assert list(summaries) == [*numeric, categorical]
    for feature in numeric:
        summary = summaries[feature]
        assert set(summary["quantiles"]) == {"0.05", "0.25", "0.5", "0.75", "0.95"}
        edges, counts = summary["histogram"]["edges"], summary["histogram"]["counts"]
        assert len(edges) == len(counts) + 1 and edges == sorted(edges)
        assert len(summary["default_rate_by_bin"]) == len(counts)
        assert sum(counts) == summary["count"]
    assert summaries[categorical]["kind"] == "categorical"
    assert http.get("/population", params={"features": "NOT_A_FEATURE"}).json() == {}


# --------------------------------------------------------------------------------------------
# What would change the decision
# --------------------------------------------------------------------------------------------


def test_a_suggested_change_grants_the_credit_when_scored_again(http, server, applications):
    """For refused clients, every option applied to the application is granted by /predict."""
    refused, granted = [], None
    for sk_id_curr in applications[schema.CLIENT_ID].iloc[:80]:
        application = raw_application(http, int(sk_id_curr))
        body = {"application": application}
        response = http.post("/predict", params={"counterfactual": "true"}, json=body)
        assert response.status_code == 200, response.text
        result = response.json()
        if result["decision"] == "granted":
            granted = result
        elif result["counterfactual"]["found"]:
            refused.append((application, result))
        if len(refused) >= 3 and granted is not None:
            break
    assert granted is not None and granted["counterfactual"] is None
    assert refused, "no refused client with a counterfactual among the first 80"
    logged = read_decisions(server.database_url)
    for application, result in refused:
        options = result["counterfactual"]["options"]
        assert result["counterfactual"]["message"].startswith(options[0]["description"])
        for option in options:
            assert set(option["changes"]) <= {"AMT_CREDIT", "AMT_ANNUITY", "AMT_GOODS_PRICE"}
            changed = application | option["changes"]
            again = http.post("/predict", json={"application": changed}).json()
            assert again["decision"] == "granted"
            assert again["probability"] == pytest.approx(option["probability"], abs=1e-9)
    # The candidates scored by the search are not decisions: one row per /predict call.
    assert logged["request_id"].isin([r["request_id"] for _, r in refused]).sum() == len(refused)


def test_without_the_flag_no_counterfactual_is_computed(http, applications):
    application = valid_application(http, applications)
    result = http.post("/predict", json={"application": application}).json()
    assert result["counterfactual"] is None


# --------------------------------------------------------------------------------------------
# Decision log
# --------------------------------------------------------------------------------------------


def test_each_decision_is_logged_with_its_input(http, server, applications):
    application = valid_application(http, applications)
    body = {"application": application}
    result = http.post("/predict", json=body).json()
    logged = read_decisions(server.database_url).set_index("request_id").loc[result["request_id"]]
    present = {k: v for k, v in application.items() if v is not None}
    canonical = json.dumps({"application": present}, sort_keys=True, separators=(",", ":"))
    assert logged["input_hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert json.loads(logged["application"]) == present
    assert logged["sk_id_curr"] == application[schema.CLIENT_ID]
    assert logged["probability"] == pytest.approx(result["probability"])
    assert (logged["decision"], logged["threshold"]) == (result["decision"], result["threshold"])
    assert logged["model_version"] == result["model"]["version"]
    assert logged["history_source"] == result["history_source"]
    assert logged["latency_ms"] > 0
    now = datetime.now(UTC).replace(tzinfo=None)
    assert abs(pd.Timestamp(logged["created_at"]).tz_localize(None) - now) < timedelta(minutes=5)


def override(http: httpx.Client, request_id: str, key: str | None = OFFICER_KEY, **body: Any):
    headers = {"X-Officer-Key": key} if key else {}
    body = {"officer_id": "officer.1", "reason": "income_verified", "comment": ""} | body
    return http.post(f"/decisions/{request_id}/override", json=body, headers=headers)


def test_an_override_is_appended_beside_the_decision(http, server, applications):
    result = http.post("/predict", json={"application": valid_application(http, applications)})
    request_id, original = result.json()["request_id"], result.json()["decision"]
    opposite = "refused" if original == "granted" else "granted"

    assert override(http, request_id, decision=original).status_code == 409  # already in force
    first = override(http, request_id, decision=opposite, comment="  payslips  ")
    assert first.status_code == 201, first.text
    record = first.json()
    assert (record["decision_before"], record["decision"]) == (original, opposite)
    assert record["comment"] == "payslips" and record["model_version"] == "1"
    back = override(http, request_id, decision=original, reason="fraud_suspicion")
    assert back.status_code == 201 and back.json()["decision_before"] == opposite

    history = http.get(f"/decisions/{request_id}").json()
    assert history["decision"] == original  # never edited
    assert [o["decision"] for o in history["overrides"]] == [opposite, original]
    assert history["decision_in_force"] == original
    logged = read_decisions(server.database_url).set_index("request_id").loc[request_id]
    assert logged["decision"] == original


@pytest.mark.parametrize(
    ("key", "body", "status", "words"),
    [
        (None, {}, 401, "X-Officer-Key"),
        ("wrong", {}, 401, "X-Officer-Key"),
        (OFFICER_KEY, {"reason": "gut feeling"}, 422, "reason"),
        (OFFICER_KEY, {"reason": "other", "comment": "no"}, 422, "comment"),
        (OFFICER_KEY, {"officer_id": "a b"}, 422, "officer_id"),
        (OFFICER_KEY, {"decision": "maybe"}, 422, "decision"),
    ],
)
def test_bad_overrides_are_refused_and_not_recorded(
    http, server, applications, key, body, status, words
):
    request_id = http.post(
        "/predict", json={"application": valid_application(http, applications)}
    ).json()["request_id"]
    answer = override(http, request_id, key, **({"decision": "refused"} | body))
    assert answer.status_code == status, answer.text
    assert words in answer.text
    assert http.get(f"/decisions/{request_id}").json()["overrides"] == []


def test_unknown_decision_is_404(http, server):
    assert override(http, "no-such-id", decision="granted").status_code == 404
    assert http.get("/decisions/no-such-id").status_code == 404
    assert httpx.get(f"{server.url}/decisions/no-such-id").status_code == 401  # no API key


def test_concurrent_requests_are_all_logged(server, applications):
    sk_ids = [int(i) for i in applications[schema.CLIENT_ID].iloc[:20]]
    with server.client() as client:
        bodies = [{"application": raw_application(client, i)} for i in sk_ids]
        sequential = [client.post("/predict", json=b).json()["probability"] for b in bodies]
    before = len(read_decisions(server.database_url))

    def post(body: dict[str, Any]) -> httpx.Response:
        with server.client() as client:
            return client.post("/predict", json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        responses = list(pool.map(post, bodies))
    assert [r.status_code for r in responses] == [200] * len(bodies)
    assert [r.json()["probability"] for r in responses] == pytest.approx(sequential, abs=1e-12)
    logged = read_decisions(server.database_url)
    assert len(logged) == before + len(bodies)
    assert set(logged["request_id"]) >= {r.json()["request_id"] for r in responses}


def test_rejected_requests_are_not_logged(http, server):
    before = len(read_decisions(server.database_url))
    assert http.post("/predict", json={"application": {"FOO": 1}}).status_code == 422
    assert len(read_decisions(server.database_url)) == before


# --------------------------------------------------------------------------------------------
# Model loading
# --------------------------------------------------------------------------------------------


def test_unreachable_registry_falls_back_to_the_model_folder(
    tiny_project, tmp_path, http, applications
):
    dead = f"http://127.0.0.1:{free_port()}"  # a port nobody listens on
    env = api_env(tiny_project, tmp_path, CREDIT_API_TRACKING_URI=dead)
    fallback = start_server(env, tmp_path, tmp_path / "api.log")
    try:
        with fallback.client() as client:
            health = client.get("/health").json()
            model = client.get("/model").json()
            application = valid_application(client, applications)
            local = client.post("/predict", json={"application": application}).json()
    finally:
        stop_server(fallback)
    registry = http.post("/predict", json={"application": application}).json()
    assert health == {"status": "ok", "model_loaded": True, "model_version": None}
    assert model["source"] == "local"
    assert model["uri"] == str((tiny_project.root / "models" / "champion").resolve())
    assert local["model"] == {**registry["model"], "version": None, "source": "local"}
    assert local["probability"] == pytest.approx(registry["probability"], abs=1e-12)
    assert "falling back" in (tmp_path / "api.log").read_text()


def test_missing_registry_database_falls_back_without_creating_it(tiny_project, tmp_path):
    database = tmp_path / "nowhere" / "mlflow.db"
    loaded = load_champion(
        "models:/credit-scoring@champion",
        f"sqlite:///{database}",
        tiny_project.root / "models" / "champion",
    )
    assert (loaded.source, loaded.version) == ("local", None)
    assert not database.exists()


def test_no_model_at_all_is_unavailable_not_a_crash(tiny_project, tmp_path):
    env = api_env(
        tiny_project,
        tmp_path,
        CREDIT_API_TRACKING_URI=f"sqlite:///{tmp_path / 'missing.db'}",
        CREDIT_API_MODEL_PATH=str(tmp_path / "no-model"),
    )
    broken = start_server(env, tmp_path, tmp_path / "api.log")
    try:
        with broken.client() as client:
            health = client.get("/health")
            predict = client.post("/predict", json={"application": MINIMAL})
            clients = client.get("/clients", params={"limit": 1})
    finally:
        stop_server(broken)
    assert health.status_code == 503
    assert health.json() == {"status": "unavailable", "model_loaded": False, "model_version": None}
    assert predict.status_code == 503
    assert "model not loaded" in predict.json()["detail"]
    assert clients.status_code == 200
