"""Stage train: per family, search, out-of-fold assessment and threshold, refit; MLflow runs."""

import logging
import time
from pathlib import Path

import mlflow
from threadpoolctl import threadpool_limits

from credit_scoring.cli import mlflow_tracking_uri, read_json, run_stage, write_json
from credit_scoring.config import CostConfig, ModelGrid, TrainConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.data.schema import TARGET
from credit_scoring.features import read_model_matrix
from credit_scoring.governance import tracking
from credit_scoring.modeling.candidates import save_candidate
from credit_scoring.modeling.models import input_dtype
from credit_scoring.modeling.train import make_folds, make_repeated_folds, train_family

logger = logging.getLogger("stages.train")


def main() -> None:
    params = load_params()
    settings, paths = dict(params["train"]), params["paths"]
    grids = [ModelGrid(name=name, **spec) for name, spec in settings.pop("models").items()]
    grids = [grid for grid in grids if grid.enabled]
    config = TrainConfig(**settings)
    processed, reports = Path(paths["processed_dir"]), Path(paths["reports_dir"])
    columns = read_json(processed / "feature_columns.json")
    y = read_table(processed / "train.parquet", columns=[TARGET])[TARGET]
    folds = make_folds(y, config.cv_folds, config.seed)
    repeats = make_repeated_folds(y, config.cv_folds, config.cv_repeats, config.seed)
    costs = CostConfig(**params["cost"])
    tracking.configure(mlflow_tracking_uri(params), params["mlflow"]["experiment"])
    (reports / "search").mkdir(parents=True, exist_ok=True)

    runs, started = {}, time.perf_counter()
    for number, grid in enumerate(grids, start=1):
        logger.info(
            "family %d/%d: %s (%d rows, %.0f s elapsed)",
            number, len(grids), grid.name, len(y), time.perf_counter() - started,
        )  # fmt: skip
        # Each family's matrix in the float type its pipeline casts to (float32: half the
        # memory at Kaggle size), read afresh so that only one matrix is held at a time.
        X, _ = read_model_matrix(processed / "train.parquet", columns, input_dtype(grid.name))
        with mlflow.start_run(run_name=f"train-{grid.name}") as run:
            family_started = time.perf_counter()
            # One BLAS/OpenMP thread per fit: fits run side by side, results do not depend on
            # the machine's core count.
            with threadpool_limits(limits=1):
                candidate = train_family(
                    grid,
                    X,
                    y,
                    folds,
                    costs,
                    config,
                    numeric=columns["numeric"],
                    categorical=columns["categorical"],
                    repeats=repeats,
                )
            mlflow.log_metric("fit_seconds", time.perf_counter() - family_started)
            tracking.log_candidate(candidate, X, costs, n_folds=len(folds))
            save_candidate(candidate, Path(paths["models_dir"]))
            candidate.search_results.to_csv(reports / "search" / f"{grid.name}.csv", index=False)
            runs[grid.name] = run.info.run_id
        del X, candidate
    write_json(runs, reports / "mlflow_runs.json")


if __name__ == "__main__":
    run_stage(main)
