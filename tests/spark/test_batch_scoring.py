"""Spark batch scoring (local[2]) gives the API's answers on every production client."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import numpy as np
import pandas as pd
import pytest

from credit_scoring.data import schema
from tests.conftest import serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java: no java on PATH"),
]
pytest.importorskip("pyspark", reason="pyspark not installed (make test installs it)")

API_KEY = "spark-key"
MODEL_URI = "models:/credit-scoring@challenger"  # what stage register of the tiny run made


@pytest.fixture(scope="module")
def batch(tiny_project, tmp_path_factory):
    """The command run once on the tiny project: (output folder, run record, stdout)."""
    folder = tmp_path_factory.mktemp("spark")
    root = tiny_project.root
    # An earlier run today gave a decision this run does not give: its partition must go.
    stale = folder / "scored" / f"score_date={datetime.now(UTC).date()}" / "decision=review"
    stale.mkdir(parents=True)
    pd.DataFrame({schema.CLIENT_ID: [1]}).to_parquet(stale / "part-00000.parquet")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "credit_scoring.spark.scoring",
            "--applications",
            str(root / "data" / "interim" / "application_test.parquet"),
            "--history",
            str(root / "data" / "processed" / "history.parquet"),
            "--model-uri",
            MODEL_URI,
            "--tracking-uri",
            tiny_project.tracking_uri,
            "--output",
            str(folder / "scored"),
            "--record",
            str(folder / "record.json"),
        ],  # fmt: skip
        cwd=folder,
        env=tiny_project.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((folder / "record.json").read_text())
    return folder / "scored", record, result.stdout


def api_answers(tiny_project, folder, clients: pd.DataFrame) -> pd.DataFrame:
    """The API's answers for the clients (history from its store), one CSV batch."""
    server = serve(tiny_project, folder, API_KEY, CREDIT_API_MODEL_URI=MODEL_URI)
    try:
        response = httpx.post(
            f"{server.url}/predict/batch/csv",
            headers={"X-API-Key": API_KEY},
            files={"file": ("clients.csv", clients.to_csv(index=False).encode(), "text/csv")},
            timeout=300,
        )
    finally:
        server.stop()
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    keys = ("sk_id_curr", "probability", "decision", "threshold")
    rows = [{k: r[k] for k in keys} | {"model_version": r["model"]["version"]} for r in results]
    return pd.DataFrame(rows)


def test_spark_scores_equal_the_api_on_every_production_client(tiny_project, batch, tmp_path):
    output, record, stdout = batch
    clients = pd.read_parquet(tiny_project.root / "data" / "interim" / "application_test.parquet")
    scored = pd.read_parquet(output).sort_values(schema.CLIENT_ID, ignore_index=True)
    assert scored[schema.CLIENT_ID].tolist() == sorted(clients[schema.CLIENT_ID])
    expected = api_answers(tiny_project, tmp_path / "api", clients)
    expected = expected.sort_values("sk_id_curr", ignore_index=True)
    np.testing.assert_allclose(scored["probability"], expected["probability"], rtol=0, atol=1e-9)
    assert scored["decision"].astype(str).tolist() == expected["decision"].tolist()
    assert (scored["threshold"] == expected["threshold"]).all()
    assert set(scored["model_version"]) == set(expected["model_version"]) == {"1"}
    assert set(scored["model_name"]) == {"credit-scoring"}

    refused = int((expected["decision"] == "refused").sum())
    assert 0 < refused < len(clients)  # both decisions occur, so the partitions are tested
    assert record["rows_in"] == record["rows_out"] == len(clients)
    assert record["refused"] == refused
    assert (record["model_name"], record["model_version"]) == ("credit-scoring", "1")
    assert record["master"] == "local[2]" and record["duration_seconds"] > 0
    day = f"score_date={record['started_at'][:10]}"
    assert sorted(p.name for p in (output / day).iterdir() if p.is_dir()) == [
        "decision=granted", "decision=refused",
    ]  # fmt: skip
    assert f"scored {len(clients)} of {len(clients)} applications" in stdout
