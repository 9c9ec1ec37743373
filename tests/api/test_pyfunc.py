"""The registered model as an MLflow pyfunc answers like the API: probability, decision at the
business threshold and threshold, from raw application rows; tested in process and through
``mlflow models serve`` over HTTP against the API's own answers on the same clients."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from credit_scoring.api.launch import ServerProcess, free_port, start_server
from credit_scoring.data import schema
from credit_scoring.modeling.pyfunc import application_columns
from tests.conftest import serve

pytestmark = pytest.mark.slow

API_KEY = "pyfunc-key"
CLIENTS = 40


@pytest.fixture(scope="module")
def api(tiny_project, tmp_path_factory) -> Iterator[ServerProcess]:
    server = serve(
        tiny_project, tmp_path_factory.mktemp("pyfunc-api"), API_KEY, CREDIT_API_MODEL_URI=""
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients(tiny_project) -> pd.DataFrame:
    """Production applications (raw) with their history aggregates as extra columns."""
    root = tiny_project.root
    applications = pd.read_parquet(root / "data" / "interim" / "application_test.parquet")
    applications = applications.head(CLIENTS)
    history = pd.read_parquet(root / "data" / "processed" / "history.parquet")
    return applications.merge(history, on=schema.CLIENT_ID, how="left")


def api_answers(
    api: ServerProcess, rows: pd.DataFrame, history: dict | None = None
) -> pd.DataFrame:
    """The API's probability, decision and threshold for each client (history from its store,
    or ``history`` for all)."""
    answers = []
    with httpx.Client(base_url=api.url, headers={"X-API-Key": API_KEY}, timeout=60) as http:
        for sk_id_curr in rows[schema.CLIENT_ID]:
            application = http.get(f"/clients/{int(sk_id_curr)}").json()
            body = {"application": application, "history": history}
            answer = http.post("/predict", json=body).json()
            answers.append({k: answer[k] for k in ("probability", "decision", "threshold")})
    return pd.DataFrame(answers)


def assert_same_answers(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    np.testing.assert_allclose(got["probability"], expected["probability"], rtol=0, atol=1e-9)
    assert list(got["decision"]) == list(expected["decision"])
    np.testing.assert_allclose(got["threshold"], expected["threshold"], rtol=0, atol=0)


def test_the_loaded_pyfunc_answers_like_the_api(tiny_project, api, clients):
    model = mlflow.pyfunc.load_model(str(tiny_project.root / "models" / "champion"))
    expected = api_answers(api, clients)
    assert_same_answers(model.predict(clients), expected)
    assert set(expected["decision"]) <= {"granted", "refused"}
    # without history columns: scored with no history, as the API scores empty history rows
    no_history = model.predict(clients[application_columns()])
    assert_same_answers(no_history, api_answers(api, clients, history={}))
    assert not np.allclose(no_history["probability"], expected["probability"])


def test_mlflow_models_serve_answers_like_the_api(tiny_project, api, clients, tmp_path):
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "mlflow"), "models", "serve",
        "-m", str(tiny_project.root / "models" / "champion"),
        "-h", "127.0.0.1", "-p", str(port), "--env-manager", "local",
    ]  # fmt: skip
    server = start_server(
        command, port, tiny_project.env, tmp_path, tmp_path / "serve.log", "/ping", 180
    )
    try:
        body = json.loads(clients.to_json(orient="split", index=False))
        response = httpx.post(
            f"{server.url}/invocations", json={"dataframe_split": body}, timeout=120
        )
        assert response.status_code == 200, response.text[:2000]
        served = pd.DataFrame(response.json()["predictions"])
    finally:
        server.stop()
    assert list(served.columns) == ["probability", "decision", "threshold"]
    assert_same_answers(served, api_answers(api, clients))


def test_serving_loads_without_the_training_and_explaining_libraries(tiny_project):
    """The API and the served model of a local folder load without imbalanced-learn (and the
    pytest it imports), shap, numba, matplotlib or mlflow, nor the libraries of the other model
    families (XGBoost, scikit-learn's ensembles): the memory and startup they cost."""
    champion = tiny_project.root / "models" / "champion"
    script = (
        "import json, sys\n"
        "import credit_scoring.api.main\n"
        "from credit_scoring.api.model_loader import load_from_path\n"
        f"model = load_from_path({str(champion)!r})\n"
        "print(json.dumps({'family': model.family, 'pipeline': type(model.pipeline).__name__,"
        " 'loaded': sorted(m for m in ('imblearn', 'pytest', 'shap', 'numba', 'matplotlib',"
        " 'mlflow', 'xgboost', 'sklearn.ensemble') if m in sys.modules)}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=300
    )
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["pipeline"] == "ServedPipeline"
    own = {"random_forest": ["numba", "shap", "sklearn.ensemble"], "xgboost": ["xgboost"]}
    assert answer["loaded"] == own.get(answer["family"], [])
