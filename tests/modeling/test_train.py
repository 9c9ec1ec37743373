"""Model pipelines, grid search and threshold tuning on a small data set with a known signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE

from credit_scoring.config import CostConfig, ModelGrid
from credit_scoring.modeling.models import build_pipeline, resolve_grid
from credit_scoring.modeling.train import make_folds, train_family

NUMERIC = ["signal", "noise", "gappy"]
CATEGORICAL = ["segment"]
COSTS = CostConfig(fn_cost=10, fp_cost=1)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    n = 600
    signal = rng.normal(size=n)
    segment = rng.choice(["a_b", "c", "d"], size=n)
    logit = -2.5 + 1.5 * signal + 0.8 * (segment == "c")
    y = pd.Series(rng.binomial(1, 1 / (1 + np.exp(-logit))), name="TARGET")
    gappy = np.where(rng.random(n) < 0.4, np.nan, rng.normal(size=n))
    frame = pd.DataFrame(
        {"signal": signal, "noise": rng.normal(size=n), "gappy": gappy, "segment": segment}
    )
    frame.loc[:5, "segment"] = np.nan
    return frame, y


def test_folds_are_stratified_and_reproducible(data):
    _, y = data
    folds = make_folds(y, 3, seed=1)
    again = make_folds(y, 3, seed=1)
    assert all((a[1] == b[1]).all() for a, b in zip(folds, again, strict=True))
    rates = [y.iloc[valid].mean() for _, valid in folds]
    assert max(rates) - min(rates) < 0.02


def test_smote_only_resolves_in_the_sampler_step():
    grid = resolve_grid({"sampler": ["smote", "passthrough"], "model__C": [1.0]}, seed=3)
    assert isinstance(grid["sampler"][0], SMOTE) and grid["sampler"][1] == "passthrough"
    assert grid["model__C"] == [1.0]


@pytest.mark.parametrize("family", ["logreg", "random_forest", "xgboost", "lightgbm"])
def test_pipeline_handles_missing_values_and_unseen_categories(data, family):
    X, y = data
    pipeline = build_pipeline(family, {}, NUMERIC, CATEGORICAL, seed=0).fit(X, y)
    unseen = X.head(3).assign(segment=["zzz", None, "c"])
    proba = pipeline.predict_proba(unseen)[:, 1]
    assert proba.shape == (3,) and np.all((proba >= 0) & (proba <= 1))


def test_train_family_finds_signal_and_a_business_threshold(data):
    X, y = data
    grid = ModelGrid(
        name="logreg",
        params={"max_iter": 500},
        grid={"model__C": [0.01, 1.0], "sampler": ["passthrough"]},
    )
    folds = make_folds(y, 3, seed=0)
    kwargs = {"numeric": NUMERIC, "categorical": CATEGORICAL, "seed": 0, "n_thresholds": 49}
    candidate = train_family(grid, X, y, folds, COSTS, **kwargs)
    assert candidate.cv_auc > 0.75
    assert len(candidate.search_results) == 2
    # Misses cost 10x false alarms: an unweighted model's best threshold sits far below 0.5.
    assert 0.0 < candidate.threshold < 0.3
    assert candidate.cv_business_score == pytest.approx(
        candidate.threshold_curve["business_score"].max()
    )
    again = train_family(grid, X, y, folds, COSTS, **kwargs)
    assert again.threshold == candidate.threshold and again.cv_auc == candidate.cv_auc
