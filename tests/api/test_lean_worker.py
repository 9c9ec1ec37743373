"""The API worker without Arrow: its stores and the model's background are read through a child
process, with the same values as in a process that has Arrow."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_scoring.api import lean_worker, registry
from credit_scoring.api.history_store import HistoryStore
from credit_scoring.api.stores import ClientStore

COLUMNS = ["B_COUNT", "B_MEAN"]

# Run in a fresh interpreter, as `credit_scoring.api.asgi` starts a worker.
WORKER = """
import json, sys
from pathlib import Path
from credit_scoring.api.lean_worker import cached_frame, keep_arrow_out

assert keep_arrow_out()
import pandas as pd
from credit_scoring.api.history_store import HistoryStore
from credit_scoring.api.stores import ClientStore

folder, columns = Path(sys.argv[1]), json.loads(sys.argv[2])
try:
    import pyarrow  # noqa: F401
    refused = False
except ModuleNotFoundError:
    refused = True
answer = {"pyarrow refused": refused}
for name, cache in (("mapped", folder / "cache"), ("memory", None)):
    history = HistoryStore.from_parquet(folder / "history.parquet", columns, cache)
    clients = ClientStore.from_parquet(folder / "application_test.parquet", cache)
    ids = clients.ids(100, 0)
    answer[name] = {
        "history": history.rows(history.ids.tolist()).tolist(),
        "clients": [clients.get(i) for i in ids],
    }
try:
    HistoryStore.from_parquet(folder / "history.parquet", ["NOT_THERE"], None)
except ValueError as exc:
    answer["error"] = str(exc)
cached_frame(folder / "background.parquet", folder / "cache")  # read in a child, copied
background = cached_frame(folder / "background.parquet", folder / "cache")  # from the copy
answer["background"] = background.to_dict("split")
answer["background dtypes"] = [str(dtype) for dtype in background.dtypes]
answer["arrow modules"] = sorted(m for m in sys.modules if m.split(".")[0] == "pyarrow")
print(json.dumps(answer))
"""


@pytest.fixture
def outputs(tmp_path):
    """History, applications and a background as the pipeline writes them."""
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(100_001, 100_051))
    history = pd.DataFrame(
        {
            "SK_ID_CURR": ids,
            "B_COUNT": rng.integers(0, 9, len(ids)),
            "B_MEAN": np.where(rng.random(len(ids)) < 0.3, np.nan, rng.normal(size=len(ids))),
        }
    )
    history.to_parquet(tmp_path / "history.parquet", index=False)
    applications = pd.DataFrame(
        {
            "SK_ID_CURR": ids[:20],
            "NAME_CONTRACT_TYPE": rng.choice(["Cash loans", "Revolving loans", None], 20),
            "AMT_CREDIT": np.where(rng.random(20) < 0.2, np.nan, rng.normal(size=20) * 1e5),
            "CNT_CHILDREN": rng.integers(0, 4, 20),
        }
    )
    applications.to_parquet(tmp_path / "application_test.parquet", index=False)
    background = applications.drop(columns="SK_ID_CURR").assign(
        EXTREME=np.tile([np.inf, -np.inf, np.nan, 1e-300, -0.0], 4),
        FLAG=rng.random(20) < 0.5,
    )
    background.to_parquet(tmp_path / "background.parquet", index=False)
    return tmp_path


def test_a_worker_without_arrow_reads_what_a_process_with_arrow_reads(outputs):
    run = subprocess.run(
        [sys.executable, "-c", WORKER, str(outputs), json.dumps(COLUMNS)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["pyarrow refused"] and answer["arrow modules"] == []
    history = HistoryStore.from_parquet(outputs / "history.parquet", COLUMNS)
    clients = ClientStore.from_parquet(outputs / "application_test.parquet")
    expected_history = history.rows(history.ids.tolist())
    expected_clients = [clients.get(i) for i in clients.ids(100, 0)]
    for kind in ("mapped", "memory"):
        np.testing.assert_array_equal(np.array(answer[kind]["history"]), expected_history)
        assert answer[kind]["clients"] == expected_clients
    assert "lacks 1 history features" in answer["error"]
    background = pd.read_parquet(outputs / "background.parquet")
    assert json.dumps(answer["background"]) == json.dumps(background.to_dict("split"))
    assert answer["background dtypes"] == [str(dtype) for dtype in background.dtypes]


def test_in_a_process_with_arrow_nothing_is_kept_out_or_spawned(outputs, monkeypatch):
    assert not lean_worker.keep_arrow_out()  # pandas is loaded: too late, and not wanted here
    assert not lean_worker.arrow_kept_out()
    monkeypatch.setattr(lean_worker, "ProcessPoolExecutor", None)  # a child would fail
    frame = lean_worker.read_parquet(outputs / "background.parquet", ["CNT_CHILDREN", "NONE"])
    assert list(frame.columns) == ["CNT_CHILDREN"]


def test_the_background_is_read_once_then_from_its_copy(outputs, monkeypatch):
    path, cache = outputs / "background.parquet", outputs / "cache"
    first = lean_worker.cached_frame(path, cache)
    assert len(list(cache.glob("*.frame.json"))) == 1

    def no_second_read(*args, **kwargs):
        raise AssertionError("read again")

    monkeypatch.setattr(lean_worker, "read_parquet", no_second_read)
    pd.testing.assert_frame_equal(lean_worker.cached_frame(path, cache), first)
    pd.testing.assert_frame_equal(first, pd.read_parquet(path))


def test_an_unusable_cache_folder_still_gives_the_background(outputs):
    blocked = outputs / "file"
    blocked.write_text("not a folder")
    frame = lean_worker.cached_frame(outputs / "background.parquet", blocked / "cache")
    pd.testing.assert_frame_equal(frame, pd.read_parquet(outputs / "background.parquet"))


REGISTRY = """
import json, sys
from credit_scoring.api.lean_worker import keep_arrow_out

assert keep_arrow_out()
from credit_scoring.api import registry, registry_sqlite

model_uri, tracking_uri, through = sys.argv[1:4]
if through == "mlflow":  # a registry this code does not read: MLflow answers, in a child
    registry_sqlite.SCHEMA_REVISIONS = frozenset()
answers = {"prefetched": registry.prefetch(model_uri, tracking_uri)}
answers["first"] = registry.fetch(model_uri, tracking_uri)  # the prefetched answer, if any
answers["second"] = registry.fetch(model_uri, tracking_uri)  # read or fetched again
try:
    registry.fetch(model_uri + "-unknown", tracking_uri)
except Exception as exc:
    answers["unknown"] = f"{type(exc).__name__}: {exc}"
answers["modules"] = sorted({m.split(".")[0] for m in sys.modules} & {"mlflow", "pyarrow"})
# MLflow itself, in this process, where the database is not read directly (the model watch)
answers["version"] = registry.current_version(model_uri, tracking_uri)
print(json.dumps(answers))
"""


# fetch_registered sets MLflow's process-wide URIs: run apart, not to leak into later tests.
IN_PROCESS = """
import json, sys
from credit_scoring.api.registry import fetch_registered

print(json.dumps(fetch_registered(*sys.argv[1:3])))
"""


def run_python(script: str, *args: str) -> subprocess.CompletedProcess:
    run = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr
    return run


@pytest.mark.parametrize("through", ["sqlite", "mlflow"])
def test_a_lean_worker_fetches_the_registered_model_without_mlflow(tiny_project, through):
    register = yaml.safe_load((tiny_project.root / "params.yaml").read_text())["register"]
    model_uri = f"models:/{register['model_name']}@{register['alias']}"
    run = run_python(REGISTRY, model_uri, tiny_project.tracking_uri, through)
    answers = json.loads(run.stdout)
    expected = json.loads(run_python(IN_PROCESS, model_uri, tiny_project.tracking_uri).stdout)
    # Read from the database, no child is started; else MLflow's answer comes from a child.
    assert answers["prefetched"] == (through == "mlflow")
    assert answers["first"] == answers["second"] == expected
    assert answers["version"] == expected[1]
    assert answers["unknown"].startswith("RegistryError: MlflowException")
    assert "unknown" in answers["unknown"]
    assert answers["modules"] == []


def test_outside_a_lean_worker_nothing_is_prefetched():
    assert not registry.prefetch("models:/credit-scoring@champion", "sqlite:///none.db")
