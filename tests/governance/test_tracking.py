"""The champion alias in a real MLflow registry (SQLite): moves are recorded and read back."""

import importlib.metadata

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression

from credit_scoring.governance import tracking


def log_tiny_model(seed: int) -> str:
    """Fit and log a two-feature model in its own run; return its model URI."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    y = (X["a"] + rng.normal(size=40) > 0).astype(int)
    with mlflow.start_run():
        return tracking.log_model(LogisticRegression().fit(X, y), X, {"threshold": 0.3})


def test_alias_moves_are_recorded_as_version_tags(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # artifacts land under tmp_path/mlruns
    tracking.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", "tests")
    first, second = (
        str(tracking.register_champion(log_tiny_model(seed), "m", "champion", {}))
        for seed in (0, 1)
    )

    client = MlflowClient()
    assert str(client.get_model_version_by_alias("m", "champion").version) == second
    assert client.get_model_version("m", second).tags["champion_replaced"] == first
    assert client.get_model_version("m", first).tags["champion_replaced_by"] == second
    history = tracking.alias_history("m", "champion")
    assert [str(move["version"]) for move in history] == [first, second]
    assert history[0]["until"] == history[1]["since"] and history[1]["until"] == ""


def test_logged_model_pins_what_loading_a_champion_needs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tracking.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", "tests")
    model_uri = log_tiny_model(0)

    path = mlflow.pyfunc.get_model_dependencies(model_uri)  # its requirements.txt
    pins = dict(line.split("==") for line in open(path).read().split() if "==" in line)
    for name in ("credit-scoring", "scikit-learn", "imbalanced-learn", "lightgbm", "pandas"):
        assert name in pins, (name, pins)
    assert "xgboost-cpu" in pins or "xgboost" in pins
    assert "pytest" not in pins  # what the test process imported is not a model requirement
    assert pins["scikit-learn"] == importlib.metadata.version("scikit-learn")
