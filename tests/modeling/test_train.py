"""Model pipelines, grid search and threshold tuning on a small data set with a known signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from imblearn.over_sampling import SMOTE

from credit_scoring.config import CostConfig, ModelGrid, TrainConfig
from credit_scoring.modeling.calibration import CalibratedPipeline
from credit_scoring.modeling.models import build_pipeline, input_dtype, resolve_grid
from credit_scoring.modeling.search import grid_edges, search_family
from credit_scoring.modeling.train import make_folds, make_repeated_folds, train_family

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


@pytest.mark.parametrize("family", ["logreg", "random_forest", "xgboost", "lightgbm"])
def test_models_see_one_float_type_and_leave_the_input_untouched(data, family):
    """float32 (float64 for LightGBM) whatever the input's type; a float32 input gives the
    same values; the in-place imputation and scaling never write into the caller's frame."""
    X, y = data
    X32 = X.astype(dict.fromkeys(NUMERIC, "float32"))
    before, before32 = X.copy(), X32.copy()
    pipeline = build_pipeline(family, {}, NUMERIC, CATEGORICAL, seed=0).fit(X32, y)
    preprocess = pipeline.named_steps["preprocess"]
    assert preprocess.transform(X).dtype == input_dtype(family)
    assert input_dtype(family) == (np.float64 if family == "lightgbm" else np.float32)
    if family != "lightgbm":
        np.testing.assert_array_equal(preprocess.transform(X), preprocess.transform(X32))
        np.testing.assert_array_equal(pipeline.predict_proba(X), pipeline.predict_proba(X32))
    pd.testing.assert_frame_equal(X, before)
    pd.testing.assert_frame_equal(X32, before32)


def test_train_family_finds_signal_and_a_business_threshold(data):
    X, y = data
    grid = ModelGrid(
        name="logreg",
        params={"max_iter": 500},
        grid={"model__C": [0.01, 1.0], "sampler": ["passthrough"]},
    )
    folds = make_folds(y, 3, seed=0)
    config = TrainConfig(seed=0, cv_folds=3, threshold_grid=49)
    kwargs = {"numeric": NUMERIC, "categorical": CATEGORICAL}
    candidate = train_family(grid, X, y, folds, COSTS, config, **kwargs)
    assert candidate.cv_auc > 0.75
    assert len(candidate.search_results) == 2 and candidate.search_results["chosen"].sum() == 1
    # Misses cost 10x false alarms: an unweighted model's best threshold sits far below 0.5.
    assert 0.0 < candidate.threshold < 0.3
    best = candidate.threshold_curve["business_score"].max()
    assert candidate.threshold_curve.set_index("threshold")["business_score"][
        candidate.threshold
    ] == pytest.approx(best)
    # Cross-fitted: each fold is scored at a threshold tuned on the other folds, never above
    # the in-sample optimum of the pooled out-of-fold predictions.
    assert len(candidate.fold_scores) == 3
    assert candidate.cv_business_score <= best + 1e-12
    # Calibrated probabilities: the cost-optimal cut for FN 10 / FP 1 lies near 1/11.
    assert candidate.calibration_method in ("platt", "isotonic")
    assert list(candidate.calibration["method"]) == ["none", "platt", "isotonic"]
    assert isinstance(candidate.pipeline, CalibratedPipeline)
    assert 0.04 < candidate.threshold < 0.2
    # The out-of-fold predictions come from the search itself (cv_repeats 0): one per row.
    assert candidate.oof.shape == (1, len(y)) and np.isfinite(candidate.oof).all()
    again = train_family(grid, X, y, folds, COSTS, config, **kwargs)
    assert again.threshold == candidate.threshold and again.cv_auc == candidate.cv_auc
    assert np.array_equal(again.oof, candidate.oof)


def test_search_oof_equals_a_refit_of_the_chosen_point(data):
    """The predictions kept from the grid search are those of the chosen point, fold by fold."""
    X, y = data
    grid = ModelGrid(name="logreg", params={"max_iter": 500}, grid={"model__C": [0.01, 1.0]})
    folds = make_folds(y, 3, seed=0)
    config = TrainConfig(seed=0, cv_folds=3, threshold_grid=49, calibration="none")
    kwargs = {"numeric": NUMERIC, "categorical": CATEGORICAL}
    candidate = train_family(grid, X, y, folds, COSTS, config, **kwargs)
    chosen = build_pipeline("logreg", {"max_iter": 500}, NUMERIC, CATEGORICAL, seed=0)
    chosen.set_params(model__C=float(candidate.best_params["model__C"]))
    for train, valid in folds:
        refit = chosen.fit(X.iloc[train], y.iloc[train]).predict_proba(X.iloc[valid])[:, 1]
        np.testing.assert_allclose(candidate.oof[0, valid], refit, rtol=1e-9)


def test_repeated_assessment_and_halving(data):
    X, y = data
    grid = ModelGrid(
        name="xgboost",
        params={
            "n_estimators": 300,
            "learning_rate": 0.1,
            "early_stopping_rounds": 10,
            "validation_fraction": 0.25,
        },
        grid={"model__max_depth": [2, 3, 4]},
    )
    folds = make_folds(y, 3, seed=0)
    repeats = make_repeated_folds(y, 3, 2, seed=0)
    assert len(repeats) == 2 and not np.array_equal(repeats[0][0][1], folds[0][1])
    config = TrainConfig(seed=0, cv_folds=3, cv_repeats=2, search="halving", threshold_grid=49)
    kwargs = {"numeric": NUMERIC, "categorical": CATEGORICAL}
    candidate = train_family(grid, X, y, folds, COSTS, config, repeats=repeats, **kwargs)
    assert "iter" in candidate.search_results and candidate.search_results["chosen"].sum() == 1
    assert candidate.oof.shape == (2, len(y))
    assert len(candidate.fold_scores) == 6 and candidate.cv_auc > 0.7
    # Early stopping: far fewer trees than the ceiling.
    assert candidate.pipeline.named_steps["model"].n_rounds < 300


def test_halving_keeps_the_winners_out_of_fold_predictions(data):
    """Successive halving ends with the winner on every row: its predictions are reused."""
    X, y = data
    grid = ModelGrid(
        name="logreg", params={"max_iter": 500}, grid={"model__C": [0.01, 0.1, 1, 10]}
    )
    folds = make_folds(y, 3, seed=0)
    config = TrainConfig(seed=0, cv_folds=3, search="halving", halving_factor=2)
    outcome = search_family(
        grid, X, y, folds, COSTS, config, numeric=NUMERIC, categorical=CATEGORICAL
    )
    assert outcome.fits == 3 * (4 + 2 + 1)  # validation folds only, no train scores
    assert list(outcome.results["iter"].value_counts().sort_index()) == [4, 2, 1]
    assert outcome.oof is not None and np.isfinite(outcome.oof).all()


def test_a_winner_on_the_edge_of_a_long_grid_is_flagged():
    grid = {"model__C": [0.001, 0.01, 0.1], "model__max_iter": [100, 200], "sampler": ["smote"]}
    assert grid_edges({"model__C": 0.001, "model__max_iter": 100}, grid) == ["model__C"]
    assert grid_edges({"model__C": 0.01, "model__max_iter": 200}, grid) == []
    parts = [{"model__C": [0.001, 0.01]}, {"model__C": [0.1]}]  # a list of grids counts as one
    assert grid_edges({"model__C": 0.1}, parts) == ["model__C"]


def test_a_family_can_trade_parallel_fits_for_threads_per_fit(data):
    """``n_jobs`` of a family (fits side by side) and its estimator's threads: one fit at a time
    with 2 threads (half the memory) gives the same LightGBM candidate as 2 fits of 1 thread."""
    X, y = data
    assert build_pipeline("lightgbm", {}, NUMERIC, CATEGORICAL, 0).named_steps["model"].n_jobs == 1
    params = {"n_estimators": 30, "min_child_samples": 5}
    config = TrainConfig(seed=0, cv_folds=3, n_jobs=2, cv_repeats=0, threshold_grid=49)
    common = {"folds": make_folds(y, 3, seed=0), "costs": COSTS, "config": config}
    side_by_side = train_family(
        ModelGrid(name="lightgbm", params=params, grid={"model__num_leaves": [4, 8]}),
        X, y, numeric=NUMERIC, categorical=CATEGORICAL, **common,
    )  # fmt: skip
    threaded = ModelGrid(
        name="lightgbm",
        params=params | {"n_jobs": 2},
        grid={"model__num_leaves": [4, 8]},
        n_jobs=1,
    )
    one_at_a_time = train_family(
        threaded, X, y, numeric=NUMERIC, categorical=CATEGORICAL, **common
    )
    assert one_at_a_time.pipeline.named_steps["model"].n_jobs == 2
    np.testing.assert_allclose(one_at_a_time.oof, side_by_side.oof, rtol=1e-12)
    assert one_at_a_time.threshold == side_by_side.threshold


def test_a_ranking_search_skips_the_booster_refit_and_keeps_no_predictions(data):
    """With assessment repeats the search only ranks: boosters keep their early-stopped model."""
    X, y = data
    grid = ModelGrid(
        name="lightgbm",
        params={"n_estimators": 200, "early_stopping_rounds": 10, "verbose": -1},
        grid={"model__num_leaves": [4, 8]},
    )
    folds = make_folds(y, 3, seed=0)
    config = TrainConfig(seed=0, cv_folds=3)
    kwargs = {"numeric": NUMERIC, "categorical": CATEGORICAL}
    ranking = search_family(grid, X, y, folds, COSTS, config, rank_only=True, **kwargs)
    full = search_family(grid, X, y, folds, COSTS, config, **kwargs)
    assert ranking.oof is None and full.oof is not None and full.oof.shape == (len(y),)
    # Different fitted models (without / with the refit on every row) score the folds apart.
    assert not np.allclose(ranking.results["mean_test_roc_auc"], full.results["mean_test_roc_auc"])
