"""Logged models in a real MLflow tracking store (SQLite)."""

import importlib.metadata

import mlflow
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from credit_scoring.governance import tracking


def log_tiny_model(seed: int) -> str:
    """Fit and log a two-feature model in its own run; return its model URI."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})
    y = (X["a"] + rng.normal(size=40) > 0).astype(int)
    with mlflow.start_run():
        return tracking.log_model(LogisticRegression().fit(X, y), X, {"threshold": 0.3})


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
