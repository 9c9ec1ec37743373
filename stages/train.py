"""Stage train: grid search and out-of-fold business threshold per family; MLflow runs."""

import time
from pathlib import Path

import mlflow

from credit_scoring.cli import mlflow_tracking_uri, read_json, run_stage, write_json
from credit_scoring.config import CostConfig, ModelGrid, load_params
from credit_scoring.data.io import read_table
from credit_scoring.data.schema import TARGET
from credit_scoring.features import feature_matrix
from credit_scoring.governance import tracking
from credit_scoring.modeling.candidates import save_candidate
from credit_scoring.modeling.train import make_folds, train_family


def main() -> None:
    params = load_params()
    settings, paths = params["train"], params["paths"]
    processed, reports = Path(paths["processed_dir"]), Path(paths["reports_dir"])
    columns = read_json(processed / "feature_columns.json")
    train = read_table(processed / "train.parquet")
    X, y = feature_matrix(train, columns), train[TARGET]
    folds = make_folds(y, settings["cv_folds"], settings["seed"])
    costs = CostConfig(**params["cost"])
    tracking.configure(mlflow_tracking_uri(params), params["mlflow"]["experiment"])
    (reports / "search").mkdir(parents=True, exist_ok=True)

    runs = {}
    for name, spec in settings["models"].items():
        grid = ModelGrid(name=name, **spec)
        if not grid.enabled:
            continue
        with mlflow.start_run(run_name=f"train-{name}") as run:
            started = time.perf_counter()
            candidate = train_family(
                grid,
                X,
                y,
                folds,
                costs,
                numeric=columns["numeric"],
                categorical=columns["categorical"],
                seed=settings["seed"],
                n_thresholds=settings["threshold_grid"],
                refit_metric=settings["refit_metric"],
                n_jobs=settings["n_jobs"],
            )
            mlflow.log_metric("fit_seconds", time.perf_counter() - started)
            tracking.log_candidate(candidate, X, costs, n_folds=len(folds))
            save_candidate(candidate, Path(paths["models_dir"]))
            candidate.search_results.to_csv(reports / "search" / f"{name}.csv", index=False)
            runs[name] = run.info.run_id
    write_json(runs, reports / "mlflow_runs.json")


if __name__ == "__main__":
    run_stage(main)
