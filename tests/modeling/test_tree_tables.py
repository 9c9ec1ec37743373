"""Tabled SHAP values of small LightGBM trees equal LightGBM's own ``pred_contrib``, on rows that
sit on thresholds, are missing, zero or almost zero, for every kind of missing-value split."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from credit_scoring.modeling.contributions import BoosterContributions
from credit_scoring.modeling.tree_tables import ZERO_THRESHOLD, TreeTables, _preorder

TOLERANCE = 1e-12


def training_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 6))
    X[:, 1] = rng.integers(0, 2, 3000)  # a 0/1 flag (one-hot-like)
    X[:, 2] = np.where(rng.random(3000) < 0.4, 0.0, X[:, 2])  # many zeros
    X[rng.random(X.shape) < 0.15] = np.nan
    logit = X[:, 0] - np.nan_to_num(X[:, 2]) + X[:, 1] * np.nan_to_num(X[:, 3])
    y = (rng.random(3000) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def booster(**params) -> lgb.Booster:
    X, y = training_data()
    settings = {"objective": "binary", "verbose": -1, "deterministic": True, "seed": 1}
    return lgb.train(settings | params, lgb.Dataset(X, y), num_boost_round=40)


def edge_rows(model: lgb.Booster, n_features: int) -> np.ndarray:
    """Rows on every threshold, next to it, missing, zero and almost zero."""
    thresholds = [
        split["threshold"]
        for tree in model.dump_model()["tree_info"]
        for split in _preorder(tree["tree_structure"])
    ]
    values = np.array(
        [*thresholds, *np.nextafter(thresholds, np.inf), np.nan, 0.0, -0.0, ZERO_THRESHOLD]
        + [-ZERO_THRESHOLD, 1e-36, -1e-36, 2e-35, -2e-35, 1e300, -1e300]
    )
    rng = np.random.default_rng(3)
    return rng.choice(values, size=(4000, n_features))


@pytest.mark.parametrize(
    "params",
    [
        {"num_leaves": 4},
        {"num_leaves": 8, "min_data_in_leaf": 5},
        {"num_leaves": 4, "zero_as_missing": True},
        {"num_leaves": 4, "use_missing": False},
    ],
    ids=["4 leaves", "8 leaves", "zero as missing", "no missing"],
)
def test_tables_give_pred_contrib(params):
    model = booster(**params)
    tables = TreeTables.build(model)
    assert tables is not None
    X, _ = training_data(seed=9)
    for rows in (X, edge_rows(model, X.shape[1]), X[:1]):
        expected = model.predict(rows, pred_contrib=True)
        assert np.abs(tables.values(rows) - expected).max() <= TOLERANCE
    assert tables.values(X[:0]).shape == (0, X.shape[1] + 1)


def test_larger_trees_are_left_to_pred_contrib():
    assert TreeTables.build(booster(num_leaves=16, min_data_in_leaf=5)) is None


class Fitted:
    """What BoosterContributions reads of a LightGBM classifier."""

    def __init__(self, model: lgb.Booster) -> None:
        self.booster_ = model


def test_tables_that_differ_from_pred_contrib_are_not_used(monkeypatch):
    model = booster(num_leaves=4)
    X, _ = training_data(seed=5)
    engine = BoosterContributions(Fitted(model), "lightgbm", X[:50])
    assert engine.look_up(X[:200])
    assert np.abs(engine.values(X) - model.predict(X, pred_contrib=True)[:, :-1]).max() < 1e-12

    built = TreeTables.build

    def tampered(booster):
        tables = built(booster)
        tables._entries.data[0] += 1e-6
        return tables

    monkeypatch.setattr(TreeTables, "build", staticmethod(tampered))
    fresh = BoosterContributions(Fitted(model), "lightgbm", X[:50])
    assert not fresh.look_up(X[:200])
    assert np.array_equal(fresh.values(X), model.predict(X, pred_contrib=True)[:, :-1])
