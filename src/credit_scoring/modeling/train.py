"""Train one model family: search its grid, assess the chosen configuration out of fold, tune
the business threshold on those predictions, refit on every training row.

The steps, for each family on the same folds:

1. **search** (:mod:`credit_scoring.modeling.search`): GridSearchCV or successive halving chooses
   the grid point by ``refit_metric`` (with ``cv_repeats`` > 0 it only ranks: the boosters skip
   their refit on all rows there);
2. **assess**: the chosen configuration's out-of-fold probabilities, on ``cv_repeats`` repeats
   of stratified folds seeded apart from the search (or, with ``cv_repeats: 0``, the search's
   own out-of-fold predictions, at no extra fit);
3. **calibrate** (:mod:`credit_scoring.modeling.calibration`): Platt or isotonic, chosen by
   cross-fitted log loss on those probabilities;
4. **threshold**: the business-optimal cut of the calibrated probabilities (mean curve over
   repeats); the reported CV business score is cross-fitted, each fold calibrated and scored at
   the threshold tuned on the other folds of its repeat, so it is not the optimum of the rows it
   is measured on;
5. **refit** on all training rows; the served pipeline applies the calibrator.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import RepeatedStratifiedKFold, StratifiedKFold

from credit_scoring.config import CostConfig, ModelGrid, TrainConfig
from credit_scoring.modeling.calibration import (
    CalibratedPipeline,
    ProbabilityCalibrator,
    choose_calibration,
    cross_fitted,
)
from credit_scoring.modeling.cost import business_score_curve
from credit_scoring.modeling.models import build_pipeline, describe_params
from credit_scoring.modeling.search import Folds, Progress, search_family

logger = logging.getLogger(__name__)


@dataclass
class TrainedCandidate:
    """The chosen pipeline of one family, refitted on all training rows, with its threshold.

    Attributes:
        family: model family key.
        pipeline: fitted ``preprocess -> sampler -> model`` pipeline.
        threshold: business-optimal probability threshold on the out-of-fold predictions.
        best_params: the chosen grid point (readable strings).
        cv_auc: mean ROC AUC over the assessment folds.
        cv_business_score: mean cross-fitted business score over the assessment folds.
        search_results: one row per grid point with its mean/std fold scores.
        threshold_curve: business score per threshold on the out-of-fold predictions.
        fold_scores: per assessment fold: repeat, fold, rows, auc, threshold, business_score.
        oof: out-of-fold probabilities of the chosen configuration, one row per repeat (raw,
            before calibration).
        calibration_method: ``platt``, ``isotonic`` or ``none``.
        calibration: cross-fitted Brier score, log loss and ECE of each method (``none`` too).

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
    fold_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    oof: np.ndarray | None = None
    calibration_method: str = "none"
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def cv_auc_std(self) -> float:
        """Standard deviation of the fold AUCs."""
        return float(self.fold_scores["auc"].std(ddof=1)) if len(self.fold_scores) > 1 else 0.0

    @property
    def cv_business_score_std(self) -> float:
        """Standard deviation of the fold business scores."""
        scores = self.fold_scores.get("business_score", pd.Series(dtype=float))
        return float(scores.std(ddof=1)) if len(scores) > 1 else 0.0


def make_folds(y: pd.Series, n_splits: int, seed: int) -> Folds:
    """Stratified folds, materialised so that every family sees exactly the same splits."""
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(y)), y))


def make_repeated_folds(y: pd.Series, n_splits: int, n_repeats: int, seed: int) -> list[Folds]:
    """``n_repeats`` sets of stratified folds (seeded apart from the search folds' ``seed``)."""
    if n_repeats == 0:
        return []
    splitter = RepeatedStratifiedKFold(
        n_splits=n_splits, n_repeats=n_repeats, random_state=seed + 1
    )
    splits = list(splitter.split(np.zeros(len(y)), y))
    return [splits[r * n_splits : (r + 1) * n_splits] for r in range(n_repeats)]


def out_of_fold(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, folds: Folds, n_jobs: int, progress: Progress
) -> np.ndarray:
    """Probability of every row from the pipeline fitted on the other folds (threads)."""

    def fit_predict(train: np.ndarray, valid: np.ndarray) -> np.ndarray:
        model = clone(pipeline).fit(X.iloc[train], y.iloc[train])
        proba = model.predict_proba(X.iloc[valid])[:, 1]
        progress.step()
        return proba

    with parallel_config(backend="threading"):
        parts = Parallel(n_jobs=n_jobs)(delayed(fit_predict)(t, v) for t, v in folds)
    oof = np.empty(len(y))
    for (_, valid), proba in zip(folds, parts, strict=True):
        oof[valid] = proba
    return oof


def threshold_grid(n_thresholds: int) -> np.ndarray:
    """Evenly spaced thresholds strictly inside (0, 1)."""
    return np.linspace(0, 1, n_thresholds + 2)[1:-1]


def assessment_scores(
    y: np.ndarray, oof: np.ndarray, repeats: list[Folds], costs: CostConfig, n_thresholds: int
) -> pd.DataFrame:
    """Per fold: AUC, and the business score at the threshold tuned on the other folds."""
    thresholds, rows = threshold_grid(n_thresholds), []
    for r, folds in enumerate(repeats):
        for k, (_, valid) in enumerate(folds):
            others = np.setdiff1d(np.arange(len(y)), valid, assume_unique=True)
            tuned = thresholds[
                np.argmax(business_score_curve(y[others], oof[r, others], thresholds, costs))
            ]
            score = business_score_curve(y[valid], oof[r, valid], np.array([tuned]), costs)[0]
            rows.append(
                {
                    "repeat": r,
                    "fold": k,
                    "rows": len(valid),
                    "auc": float(roc_auc_score(y[valid], oof[r, valid])),
                    "threshold": float(tuned),
                    "business_score": float(score),
                }
            )
    return pd.DataFrame(rows)


def train_family(
    grid: ModelGrid,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    costs: CostConfig,
    config: TrainConfig,
    *,
    numeric: list[str],
    categorical: list[str],
    repeats: list[Folds] | None = None,
) -> TrainedCandidate:
    """Search, assess, tune the threshold and refit one family (see the module docstring).

    Args:
        folds: the search folds (shared by every family).
        repeats: the assessment folds (shared by every family); empty or None: the search
            folds, reusing the search's out-of-fold predictions when it kept them.
    """
    started = time.perf_counter()
    X = X.reset_index(drop=True)
    y = y.reset_index(drop=True)
    repeats, n_jobs = list(repeats or []), grid.n_jobs or config.n_jobs
    search = search_family(
        grid,
        X,
        y,
        folds,
        costs,
        config,
        numeric=numeric,
        categorical=categorical,
        rank_only=bool(repeats),
    )
    pipeline = build_pipeline(grid.name, grid.params, numeric, categorical, config.seed)
    pipeline.set_params(**search.best_params)

    if repeats:
        progress = Progress(f"{grid.name} assessment", sum(len(f) for f in repeats) + 1)
        oof = np.vstack([out_of_fold(pipeline, X, y, f, n_jobs, progress) for f in repeats])
    else:
        progress = Progress(
            f"{grid.name} assessment", (0 if search.oof is not None else len(folds)) + 1
        )
        repeats = [folds]
        single = search.oof
        if single is None:  # successive halving ended on a subsample of the rows
            single = out_of_fold(pipeline, X, y, folds, n_jobs, progress)
        oof = single[None, :]

    y_array = y.to_numpy()
    method, calibration = choose_calibration(y_array, oof, repeats)
    if config.calibration != "auto":
        method = config.calibration
    calibrated = oof
    calibrator = None
    if method != "none":
        calibrator = ProbabilityCalibrator(method).fit(oof.ravel(), np.tile(y_array, len(oof)))
        calibrated = np.vstack([calibrator.transform(row) for row in oof])
    thresholds = threshold_grid(config.threshold_grid)
    curve = np.mean(
        [business_score_curve(y_array, row, thresholds, costs) for row in calibrated], axis=0
    )
    best = int(np.argmax(curve))
    honest = oof
    if method != "none":  # each fold mapped by a calibrator fitted on the other folds
        honest = np.vstack(
            [cross_fitted(method, y_array, row, f) for row, f in zip(oof, repeats, strict=True)]
        )
    scores = assessment_scores(y_array, honest, repeats, costs, config.threshold_grid)
    pipeline.fit(X, y)
    progress.step("(refit on all rows) ")
    if calibrator is not None:
        pipeline = CalibratedPipeline.wrap(pipeline, calibrator)

    candidate = TrainedCandidate(
        family=grid.name,
        pipeline=pipeline,
        threshold=float(thresholds[best]),
        best_params=describe_params(search.best_params),
        cv_auc=float(scores["auc"].mean()),
        cv_business_score=float(scores["business_score"].mean()),
        search_results=search.results,
        threshold_curve=pd.DataFrame({"threshold": thresholds, "business_score": curve}),
        fold_scores=scores,
        oof=oof,
        calibration_method=method,
        calibration=calibration,
    )
    logger.info(
        "%s: cv AUC %.4f ± %.4f, cv business score %.4f ± %.4f at threshold %.3f (%s, %s "
        "calibration) in %.0f s",
        grid.name,
        candidate.cv_auc,
        candidate.cv_auc_std,
        candidate.cv_business_score,
        candidate.cv_business_score_std,
        candidate.threshold,
        candidate.best_params,
        method,
        time.perf_counter() - started,
    )
    return candidate
