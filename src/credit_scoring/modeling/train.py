"""Hyper-parameter search and business-threshold tuning of each model family on shared folds."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, StratifiedKFold, TunedThresholdClassifierCV

from credit_scoring.config import CostConfig, ModelGrid
from credit_scoring.modeling.cost import best_business_scorer, business_scorer
from credit_scoring.modeling.models import build_pipeline, describe_params, resolve_grid

logger = logging.getLogger(__name__)

Folds = list[tuple[np.ndarray, np.ndarray]]


@dataclass
class TrainedCandidate:
    """The best pipeline of one family, refitted on all training rows, with its tuned threshold.

    Attributes:
        family: model family key.
        pipeline: fitted ``preprocess -> sampler -> model`` pipeline.
        threshold: out-of-fold business-optimal probability threshold.
        best_params: the winning grid point (readable strings).
        cv_auc: mean validation-fold ROC AUC of the winning grid point.
        cv_business_score: mean validation-fold business score at ``threshold``.
        search_results: one row per grid point with its mean/std fold metrics.
        threshold_curve: mean validation-fold business score per threshold.

    No timing is stored: the same data, params and seed give a byte-identical candidate file.
    """

    family: str
    pipeline: Any
    threshold: float
    best_params: dict[str, str]
    cv_auc: float
    cv_business_score: float
    search_results: pd.DataFrame
    threshold_curve: pd.DataFrame


def make_folds(y: pd.Series, n_splits: int, seed: int) -> Folds:
    """Stratified folds, materialised so that every family sees exactly the same splits."""
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def search_family(
    grid: ModelGrid,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    costs: CostConfig,
    *,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    refit_metric: str = "roc_auc",
    n_jobs: int = 1,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """GridSearchCV over ``grid`` on ``folds``; returns the best grid point and all results."""
    pipeline = build_pipeline(grid.name, grid.params, numeric, categorical, seed)
    scoring = {"roc_auc": "roc_auc", "business": best_business_scorer(costs)}
    search = GridSearchCV(
        pipeline,
        resolve_grid(grid.grid, seed),
        scoring=scoring,
        refit=False,
        cv=folds,
        n_jobs=n_jobs,
        error_score="raise",
    )
    search.fit(X, y)
    results = pd.DataFrame(search.cv_results_)
    best_index = int(results[f"rank_test_{refit_metric}"].idxmin())
    return search.cv_results_["params"][best_index], _summarise_search(results)


def _summarise_search(results: pd.DataFrame) -> pd.DataFrame:
    """Keep readable params and the mean/std fold metrics of each grid point."""
    params = pd.DataFrame([describe_params(p) for p in results["params"]])
    metrics = results.filter(regex=r"^(mean|std)_test_").reset_index(drop=True)
    return pd.concat([params, metrics], axis=1)


def tune_threshold(
    pipeline: Any,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    costs: CostConfig,
    *,
    n_thresholds: int,
    seed: int,
    n_jobs: int = 1,
) -> TunedThresholdClassifierCV:
    """Find the business-optimal threshold out of fold, then refit the pipeline on all rows."""
    tuner = TunedThresholdClassifierCV(
        pipeline,
        scoring=business_scorer(costs),
        response_method="predict_proba",
        thresholds=n_thresholds,
        cv=folds,
        refit=True,
        n_jobs=n_jobs,
        random_state=seed,
        store_cv_results=True,
    )
    return tuner.fit(X, y)


def train_family(
    grid: ModelGrid,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    costs: CostConfig,
    *,
    numeric: list[str],
    categorical: list[str],
    seed: int,
    n_thresholds: int,
    refit_metric: str = "roc_auc",
    n_jobs: int = 1,
) -> TrainedCandidate:
    """Search the grid of one family, tune its threshold and refit it on all training rows."""
    started = time.perf_counter()
    best_params, search_results = search_family(
        grid,
        X,
        y,
        folds,
        costs,
        numeric=numeric,
        categorical=categorical,
        seed=seed,
        refit_metric=refit_metric,
        n_jobs=n_jobs,
    )
    pipeline = build_pipeline(grid.name, grid.params, numeric, categorical, seed)
    pipeline.set_params(**best_params)
    tuner = tune_threshold(
        pipeline, X, y, folds, costs, n_thresholds=n_thresholds, seed=seed, n_jobs=n_jobs
    )
    readable = describe_params(best_params)
    best_row = _matching_row(search_results, readable)
    curve = pd.DataFrame(
        {
            "threshold": tuner.cv_results_["thresholds"],
            "business_score": tuner.cv_results_["scores"],
        }
    )
    candidate = TrainedCandidate(
        family=grid.name,
        pipeline=tuner.estimator_,
        threshold=float(tuner.best_threshold_),
        best_params=readable,
        cv_auc=float(best_row["mean_test_roc_auc"]),
        cv_business_score=float(tuner.best_score_),
        search_results=search_results,
        threshold_curve=curve,
    )
    logger.info(
        "%s: cv AUC %.4f, cv business score %.4f at threshold %.3f (%s) in %.0f s",
        grid.name,
        candidate.cv_auc,
        candidate.cv_business_score,
        candidate.threshold,
        readable,
        time.perf_counter() - started,
    )
    return candidate


def _matching_row(results: pd.DataFrame, params: dict[str, str]) -> pd.Series:
    """The search-results row of a grid point."""
    mask = np.ones(len(results), dtype=bool)
    for key, value in params.items():
        mask &= results[key].astype(str).to_numpy() == value
    return results[mask].iloc[0]
