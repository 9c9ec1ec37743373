"""Variants of a family's chosen configuration on the train stage's assessment folds (a script).

Reads a pipeline run (``--project-root``): its training split, feature columns, params and the
family's candidate (chosen configuration and out-of-fold probabilities). Each variant is the
chosen configuration with some parameters changed (``set_params`` keys, as in the grids), or the
chosen configuration after an in-fold feature selection (``--select K``: inside each training
fold the configuration is fitted, the K input columns with the highest total gain kept, one-hot
and polynomial columns counted to their source columns, and the model fitted again on them; the
scored fold is never seen). Every variant is fitted on the same ``train.cv_repeats`` x
``cv_folds`` folds as the train stage, and compared with the candidate's stored out-of-fold
probabilities: out-of-fold AUC (mean ± std over the folds) and the paired per-fold difference
(mean, Nadeau-Bengio corrected t, folds where the variant is higher).

Usage::

    python benchmarks/bench_variants.py --project-root /tmp/realrun
    python benchmarks/bench_variants.py --project-root . --family lightgbm \\
        --variant '{"model__learning_rate": 0.02}' --select 80 --select 150
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from imblearn.pipeline import Pipeline
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from credit_scoring.features import feature_matrix
from credit_scoring.modeling.explain import source_matrix
from credit_scoring.modeling.selection import corrected_standard_error
from credit_scoring.modeling.train import make_repeated_folds

# LightGBM variants tried on the real sample (README, On the real Kaggle data).
DEFAULT_VARIANTS = {
    "learning rate 0.02": {"model__learning_rate": 0.02, "model__early_stopping_rounds": 100},
    "colsample 0.3": {"model__colsample_bytree": 0.3},
    "extra trees": {"model__extra_trees": True},
    "min child samples 300": {"model__min_child_samples": 300},
    "lr 0.02, colsample 0.2, 8 leaves, 100 per leaf": {
        "model__learning_rate": 0.02,
        "model__early_stopping_rounds": 100,
        "model__colsample_bytree": 0.2,
        "model__num_leaves": 8,
        "model__min_child_samples": 100,
    },
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True, help="a `dvc repro` output")
    parser.add_argument("--family", default="lightgbm", help="candidate to vary")
    parser.add_argument(
        "--variant", action="append", type=json.loads, default=[], help="JSON set_params dict"
    )
    parser.add_argument("--select", action="append", type=int, default=[], help="keep K columns")
    parser.add_argument("--n-jobs", type=int, default=2, help="fits in parallel (threads)")
    return parser.parse_args()


def selected_fit(pipeline: Any, X: pd.DataFrame, y: pd.Series, keep: int) -> Any:
    """``pipeline`` fitted on the ``keep`` input columns of highest total gain in a first fit."""
    first = clone(pipeline).fit(X, y)
    model = first.named_steps["model"]
    booster = getattr(model, "booster_", None)
    if booster is not None:  # LightGBM
        gains = booster.feature_importance("gain")
    else:  # the other trees: their own importances
        gains = model.feature_importances_
    per_input = gains @ source_matrix(first.named_steps["preprocess"])
    features = first.named_steps["preprocess"].feature_names_in_
    kept = set(features[np.argsort(-per_input, kind="stable")[:keep]])
    second = clone(pipeline)
    preprocess = second.named_steps["preprocess"]
    preprocess.set_params(
        transformers=[
            (name, step, columns if name == "poly" else [c for c in columns if c in kept])
            for name, step, columns in preprocess.transformers
        ]
    )
    return second.fit(X, y)


def fold_aucs(
    pipeline: Any, X: pd.DataFrame, y: pd.Series, folds: list, select: int, n_jobs: int
) -> np.ndarray:
    """Per fold, the AUC of ``pipeline`` (after selection when ``select``) fitted on the rest."""

    def fit_score(train: np.ndarray, valid: np.ndarray) -> float:
        if select:
            model = selected_fit(pipeline, X.iloc[train], y.iloc[train], select)
        else:
            model = clone(pipeline).fit(X.iloc[train], y.iloc[train])
        return roc_auc_score(y.iloc[valid], model.predict_proba(X.iloc[valid])[:, 1])

    jobs = (delayed(fit_score)(train, valid) for train, valid in folds)
    return np.array(Parallel(n_jobs=n_jobs, prefer="threads")(jobs))


def row(name: str, aucs: np.ndarray, reference: np.ndarray, test_share: float, secs: float) -> str:
    """One markdown row: AUC, paired difference to the reference, corrected t, wins."""
    diff = aucs - reference
    n = len(diff)
    se = corrected_standard_error(diff, test_share / (1 - test_share))
    t = diff.mean() / se if se > 0 else float("nan")
    return (
        f"| {name} | {aucs.mean():.4f} ± {aucs.std(ddof=1):.4f} | {diff.mean():+.4f} "
        f"(t {t:+.1f}, {int((diff > 0).sum())}/{n}) | {secs:.0f} s |"
    )


def main() -> None:
    args = parse_args()
    root = args.project_root.resolve()
    params = yaml.safe_load((root / "params.yaml").read_text())["train"]
    columns = json.loads((root / "data" / "processed" / "feature_columns.json").read_text())
    train = pd.read_parquet(root / "data" / "processed" / "train.parquet")
    X = feature_matrix(train, columns).reset_index(drop=True)
    y = train["TARGET"].reset_index(drop=True)
    with open(root / "models" / "candidates" / f"{args.family}.pkl", "rb") as handle:
        candidate = pickle.load(handle)
    repeats = make_repeated_folds(y, params["cv_folds"], params["cv_repeats"], params["seed"])
    if not repeats:
        sys.exit("train.cv_repeats is 0: the candidate's out-of-fold rows are the search's")
    folds = [fold for repeat in repeats for fold in repeat]
    oof = np.asarray(candidate.oof)
    reference = np.array(
        [roc_auc_score(y.iloc[v], oof[i // len(repeats[0]), v]) for i, (_, v) in enumerate(folds)]
    )
    chosen = Pipeline(list(candidate.pipeline.steps))  # without the calibration (same ranks)
    test_share = 1 / params["cv_folds"]
    print(f"{args.family} on {root}: {len(y)} rows, {len(folds)} folds, {candidate.best_params}")
    print("| variant | AUC | ΔAUC vs chosen | time |\n|---|---:|---:|---:|")
    print(
        f"| chosen configuration (stored) | {reference.mean():.4f} ± {reference.std(ddof=1):.4f} "
        "| - | - |"
    )
    variants = {json.dumps(v): v for v in args.variant} or DEFAULT_VARIANTS
    runs = [(name, changes, 0) for name, changes in variants.items()]
    runs += [(f"selection of {k} columns", {}, k) for k in args.select]
    for name, changes, select in runs:
        started = time.perf_counter()
        pipeline = clone(chosen).set_params(**changes)
        aucs = fold_aucs(pipeline, X, y, folds, select, args.n_jobs)
        print(row(name, aucs, reference, test_share, time.perf_counter() - started), flush=True)


if __name__ == "__main__":
    main()
