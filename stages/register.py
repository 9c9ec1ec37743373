"""Stage register: save the chosen model, register it as the ``@challenger`` version (with its
lineage: git commit, DVC experiment), write its model card. ``@champion`` moves only by
``credit-scoring-promote``."""

import shutil
from pathlib import Path

import mlflow
import pandas as pd

from credit_scoring.cli import mlflow_tracking_uri, read_json, run_stage, write_json
from credit_scoring.config import ExplainConfig, load_params
from credit_scoring.data.io import read_table, require_output
from credit_scoring.data.schema import TARGET
from credit_scoring.governance import registry as model_registry
from credit_scoring.governance import tracking
from credit_scoring.governance.model_card import render_model_card
from credit_scoring.modeling.candidates import load_candidates
from credit_scoring.modeling.population import background_sample, summarise
from credit_scoring.modeling.pyfunc import input_example

# The params that shape the model, kept as a tag of the registered version.
PARAM_SECTIONS = ("data", "features", "split", "cost", "train")


def main() -> None:
    params = load_params()
    paths, settings = params["paths"], params["register"]
    processed, reports = Path(paths["processed_dir"]), Path(paths["reports_dir"])
    champion = read_json(reports / "champion.json")
    candidate = load_candidates(Path(paths["models_dir"]))[champion["family"]]
    columns = read_json(processed / "feature_columns.json")
    manifest = read_json(reports / "data_manifest.json")
    example = input_example(read_table(processed / "holdout.parquet").head(3))
    metadata = {
        "family": candidate.family,
        "threshold": candidate.threshold,
        "features": columns,
        "features_config": params["features"],
        "data_hash": manifest["data_hash"],
        "data_source": manifest["source"],
        "best_params": candidate.best_params,
        "metrics": {k: v for k, v in champion.items() if isinstance(v, int | float)},
        "costs": params["cost"],
    }
    population, background = _serving_stats(processed, columns, params)
    champion_dir = Path(paths["models_dir"]) / "champion"
    shutil.rmtree(champion_dir, ignore_errors=True)
    tracking.save_served_model(
        candidate.pipeline, champion_dir, example, metadata, population, background
    )

    tracking.configure(mlflow_tracking_uri(params), params["mlflow"]["experiment"])
    with mlflow.start_run(run_name=f"champion-{candidate.family}") as run:
        mlflow.log_params({"family": candidate.family, "threshold": candidate.threshold})
        mlflow.log_metrics(metadata["metrics"])
        model_uri = tracking.log_served_model(
            candidate.pipeline, example, metadata, population, background
        )
    tags = {
        "family": candidate.family,
        "threshold": repr(candidate.threshold),
        "features": tracking.dumps(columns["numeric"] + columns["categorical"]),
        "data_hash": manifest["data_hash"],
        "data_source": manifest["source"],
        "source_train_run": read_json(reports / "mlflow_runs.json").get(candidate.family, ""),
        "params": tracking.dumps({key: params[key] for key in PARAM_SECTIONS if key in params}),
    }
    tags |= {f"metric.{k}": repr(v) for k, v in metadata["metrics"].items()}
    tags |= model_registry.lineage_tags()
    version = model_registry.register_challenger(
        model_uri, settings["model_name"], tags, settings["alias"]
    )

    registry = {
        "model_name": settings["model_name"],
        "version": version,
        "alias": settings["alias"],
        "run_id": run.info.run_id,
        "model_uri": model_uri,
    }
    write_json(registry, reports / "registry.json")
    card = (
        registry
        | metadata
        | {
            "champion_metrics": metadata["metrics"],
            "metrics": _family_scores(reports),
            "n_features": len(columns["numeric"]) + len(columns["categorical"]),
            "release": None,
            "population": _population(processed),
            "fairness": _fairness(reports),
        }
        | {
            key: champion[key]
            for key in ("intervals", "selection", "calibration")
            if key in champion
        }
    )
    (reports / "model_card.md").write_text(render_model_card(card), encoding="utf-8")
    print(
        f"registered {settings['model_name']} v{version} as @{settings['alias']}: "
        f"{candidate.family}, threshold {candidate.threshold:.3f}"
    )


def _serving_stats(
    processed: Path, columns: dict[str, list[str]], params: dict
) -> tuple[dict, pd.DataFrame]:
    """The training population's summaries and the SHAP background, stored with the model."""
    explain = ExplainConfig(**params["explain"])
    wanted = [TARGET, *columns["numeric"], *columns["categorical"]]
    train = pd.read_parquet(processed / "train.parquet", columns=wanted)
    background = background_sample(train, columns, explain.n_background, explain.seed)
    return summarise(train, columns), background


def _population(processed: Path) -> dict[str, float]:
    """Rows and default rates of the training and held-out applications."""
    figures = {}
    for part in ("train", "holdout"):
        target = pd.read_parquet(processed / f"{part}.parquet", columns=[TARGET])[TARGET]
        figures |= {f"{part}_rows": len(target), f"{part}_default_rate": float(target.mean())}
    return figures


def _family_scores(reports: Path) -> dict[str, dict[str, float]]:
    """Every score of every family (stage evaluate's reports/plots/families.csv)."""
    path = require_output(reports / "plots" / "families.csv")
    table = pd.read_csv(path).drop(columns="champion").set_index("family")
    return {family: row.dropna().to_dict() for family, row in table.iterrows()}


def _fairness(reports: Path) -> dict[str, float | None] | None:
    """reports/fairness.json (stage fairness) when it exists."""
    path = reports / "fairness.json"
    return read_json(path) if path.is_file() else None


if __name__ == "__main__":
    run_stage(main)
