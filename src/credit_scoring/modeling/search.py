"""Hyper-parameter search of one model family on shared folds.

``GridSearchCV`` (or ``HalvingGridSearchCV``, successive halving, for big data) runs in threads:
the boosters, trees and BLAS release the GIL, and threads share the data instead of copying it
to worker processes. Its scorer, :class:`FoldRecorder`, is called once per (grid point, fold): it
scores the fold, logs progress (fits done, elapsed, time left) and keeps the fold's probabilities,
so the chosen grid point's out-of-fold predictions come without refitting it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from joblib import parallel_config
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, HalvingGridSearchCV, StratifiedKFold

from credit_scoring.config import CostConfig, ModelGrid, TrainConfig
from credit_scoring.modeling.cost import find_best_threshold
from credit_scoring.modeling.models import (
    build_pipeline,
    describe_params,
    grid_keys,
    grid_size,
    resolve_grid,
)

logger = logging.getLogger(__name__)

Folds = list[tuple[np.ndarray, np.ndarray]]
METRICS = ("roc_auc", "business")
PROGRESS_EVERY_SECONDS = 10.0


def point_key(params: dict[str, Any]) -> str:
    """A grid point as a stable string (the readable values, keys sorted)."""
    return json.dumps(describe_params(params), sort_keys=True)


def fold_scores(y_true: np.ndarray, proba: np.ndarray, costs: CostConfig) -> dict[str, float]:
    """ROC AUC and the business score at the fold's own best threshold (a ranking score)."""
    return {
        "roc_auc": float(roc_auc_score(y_true, proba)),
        "business": find_best_threshold(y_true, proba, costs)[1],
    }


class Progress:
    """Counts finished fits and logs them with the elapsed and estimated remaining time."""

    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self._last = time.perf_counter()
        self._lock = threading.Lock()

    def step(self, detail: str = "") -> None:
        """One more fit finished (thread-safe); logs at most every PROGRESS_EVERY_SECONDS."""
        with self._lock:
            self.done += 1
            now = time.perf_counter()
            if now - self._last < PROGRESS_EVERY_SECONDS and self.done != self.total:
                return
            self._last, elapsed = now, now - self.started
        if self.total:
            left = elapsed / self.done * (self.total - self.done)
            logger.info(
                "%s: %d/%d fits %s| %.0f s elapsed, ~%.0f s left",
                self.label, self.done, self.total, detail, elapsed, left,
            )  # fmt: skip
        else:
            logger.info("%s: %d fits %s| %.0f s elapsed", self.label, self.done, detail, elapsed)


class FoldRecorder:
    """GridSearchCV scorer: scores a validation fold, logs progress, keeps its probabilities.

    Args:
        grid_keys: the searched parameter names (what identifies a grid point).
        costs: business costs of the business score.
        progress: the fit counter of this search.
        metric: return this one score (successive halving takes a single metric) instead of
            the dict of :data:`METRICS`.
    """

    def __init__(
        self,
        grid_keys: list[str],
        costs: CostConfig,
        progress: Progress,
        metric: str | None = None,
    ) -> None:
        self.grid_keys, self.costs, self.progress, self.metric = grid_keys, costs, progress, metric
        self.predictions: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        self._lock = threading.Lock()

    def __call__(self, estimator: Any, X: pd.DataFrame, y: pd.Series) -> Any:
        proba = estimator.predict_proba(X)[:, 1]
        scores = fold_scores(np.asarray(y), proba, self.costs)
        params = estimator.get_params()
        key = point_key({name: params[name] for name in self.grid_keys})
        with self._lock:
            self.predictions.setdefault(key, []).append((np.asarray(X.index), proba))
        self.progress.step(f"(AUC {scores['roc_auc']:.4f}) ")
        return scores[self.metric] if self.metric else scores

    def out_of_fold(self, key: str, n_rows: int, n_folds: int) -> np.ndarray | None:
        """The grid point's probability for every row from its last ``n_folds`` scored folds, or
        None unless they cover each row once (successive halving may end on a subsample)."""
        parts = self.predictions.get(key, [])[-n_folds:]
        oof = np.full(n_rows, np.nan)
        for index, proba in parts:
            oof[index] = proba
        covered = sum(len(index) for index, _ in parts) == n_rows
        return oof if covered and not np.isnan(oof).any() else None


@dataclass
class SearchOutcome:
    """The chosen grid point of one family and what the search saw.

    Attributes:
        best_params: the chosen grid point (estimator objects, e.g. a seeded SMOTE).
        results: one row per grid point: readable params, mean/std fold scores, ``chosen``.
        oof: the chosen point's out-of-fold probabilities on the search folds, when its last
            round scored every row once (always after a grid search); otherwise None.
        fits: number of fits the search ran.
    """

    best_params: dict[str, Any]
    results: pd.DataFrame
    oof: np.ndarray | None
    fits: int


def search_family(
    grid: ModelGrid,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    costs: CostConfig,
    config: TrainConfig,
    *,
    numeric: list[str],
    categorical: list[str],
    rank_only: bool = False,
) -> SearchOutcome:
    """Search ``grid`` on ``folds`` (grid search) or on seeded stratified folds (halving).

    ``X`` must have the positions 0..n-1 as index (the recorded predictions are placed by it).
    With ``rank_only`` the search only ranks the grid points (its predictions are assessed
    elsewhere): the boosters keep the model they grew until early stopping instead of refitting
    on every row (``refit_full``), which halves their cost, and no out-of-fold predictions are
    returned, since they are not those of the served procedure.
    """
    pipeline = build_pipeline(grid.name, grid.params, numeric, categorical, config.seed)
    if rank_only and "model__refit_full" in pipeline.get_params():
        pipeline.set_params(model__refit_full=False)
    param_grid = resolve_grid(grid.grid, config.seed)
    n_points = grid_size(param_grid)
    halving = config.search == "halving" and n_points > 1
    total = None if halving else n_points * len(folds)
    progress = Progress(f"{grid.name} search", total)
    recorder = FoldRecorder(
        grid_keys(param_grid), costs, progress, metric=config.refit_metric if halving else None
    )
    if halving:
        cv = StratifiedKFold(len(folds), shuffle=True, random_state=config.seed)
        search = HalvingGridSearchCV(
            pipeline,
            param_grid,
            factor=config.halving_factor,
            min_resources=config.halving_min_resources,
            scoring=recorder,
            refit=False,
            cv=cv,
            random_state=config.seed,
            n_jobs=grid.n_jobs or config.n_jobs,
            return_train_score=False,
            error_score="raise",
        )
    else:
        search = GridSearchCV(
            pipeline,
            param_grid,
            scoring=recorder,
            refit=False,
            cv=folds,
            n_jobs=grid.n_jobs or config.n_jobs,
            error_score="raise",
        )
    logger.info(
        "%s: %s over %d grid point(s), %d folds",
        grid.name, "successive halving" if halving else "grid search", n_points, len(folds),
    )  # fmt: skip
    with parallel_config(backend="threading"):
        search.fit(X, y)
    cv_results = pd.DataFrame(search.cv_results_)
    if halving:  # the last round saw the most rows: choose among its grid points
        cv_results = cv_results[cv_results["iter"] == cv_results["iter"].max()]
        score_column = "mean_test_score"
    else:
        score_column = f"mean_test_{config.refit_metric}"
    best_index = int(cv_results[score_column].idxmax())
    best_params = search.cv_results_["params"][best_index]
    edges = warn_on_grid_edges(grid.name, best_params, param_grid)
    results = _summarise(pd.DataFrame(search.cv_results_), best_index, edges)
    oof = None if rank_only else recorder.out_of_fold(point_key(best_params), len(y), len(folds))
    return SearchOutcome(best_params, results, oof, progress.done)


def _summarise(cv_results: pd.DataFrame, best_index: int, edges: list[str]) -> pd.DataFrame:
    """Readable params, mean/std fold scores, the chosen point and, on its row, the parameters
    whose chosen value is on the edge of the grid."""
    params = pd.DataFrame([describe_params(p) for p in cv_results["params"]])
    extra = [c for c in ("iter", "n_resources") if c in cv_results]
    metrics = cv_results.filter(regex=r"^(mean|std)_test_").reset_index(drop=True)
    table = pd.concat([params, cv_results[extra].reset_index(drop=True), metrics], axis=1)
    table["chosen"] = np.arange(len(table)) == best_index
    table["on_grid_edge"] = np.where(table["chosen"], " ".join(edges), "")
    return table


def grid_edges(best_params: dict[str, Any], grid: dict[str, list] | list[dict]) -> list[str]:
    """Searched numeric parameters (3 values or more) whose chosen value is the lowest or the
    highest tried: the optimum may lie outside the grid."""
    values_of: dict[str, list[Any]] = {}
    for part in grid if isinstance(grid, list) else [grid]:
        for name, values in part.items():
            values_of.setdefault(name, []).extend(values)
    edges = []
    for name, values in values_of.items():
        numbers = {v for v in values if isinstance(v, int | float) and not isinstance(v, bool)}
        if len(numbers) >= 3 and best_params.get(name) in (min(numbers), max(numbers)):
            edges.append(name)
    return edges


def warn_on_grid_edges(family: str, best_params: dict[str, Any], grid: dict | list) -> list[str]:
    """Log a warning for every chosen value on the edge of its grid; return their names."""
    edges = grid_edges(best_params, grid)
    for name in edges:
        logger.warning(
            "%s: %s=%s is on the edge of its grid: widen the grid",
            family, name, best_params[name],
        )  # fmt: skip
    return edges
