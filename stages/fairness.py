"""Stage fairness: the champion's decisions per gender and age band on the held-out rows, and
(``fairness.compare_without_protected``) what training it without those attributes changes."""

from pathlib import Path

from credit_scoring.cli import read_json, run_stage, write_json
from credit_scoring.config import CostConfig, FairnessConfig, ModelGrid, TrainConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.data.schema import TARGET
from credit_scoring.features import feature_matrix, read_model_matrix
from credit_scoring.modeling.candidates import load_candidates
from credit_scoring.modeling.decision import refused
from credit_scoring.modeling.fairness import (
    disparities,
    group_table,
    plot_group_rates,
    retrain,
    sensitive_groups,
    without_protected,
    without_protected_metrics,
)
from credit_scoring.modeling.models import input_dtype
from credit_scoring.tabular import rounded_metrics


def main() -> None:
    params = load_params()
    config, costs = FairnessConfig(**params["fairness"]), CostConfig(**params["cost"])
    paths = params["paths"]
    processed, reports = Path(paths["processed_dir"]), Path(paths["reports_dir"])
    family = read_json(reports / "champion.json")["family"]
    champion = load_candidates(Path(paths["models_dir"]))[family]
    columns = read_json(processed / "feature_columns.json")
    holdout = read_table(processed / "holdout.parquet")
    y = holdout[TARGET].to_numpy()
    groups = sensitive_groups(holdout, config.age_band_edges)

    proba = champion.pipeline.predict_proba(feature_matrix(holdout, columns))[:, 1]
    refusals = refused(proba, champion.threshold)
    table = group_table(y, refusals, groups, costs, config.min_outcomes_per_group)
    metrics = disparities(y, refusals, groups, config.min_outcomes_per_group)
    if config.compare_without_protected:
        settings = dict(params["train"])
        grid = ModelGrid(name=family, **settings.pop("models")[family])
        reduced = without_protected(columns)
        X, y_train = read_model_matrix(processed / "train.parquet", reduced, input_dtype(family))
        other = retrain(champion, grid, X, y_train, reduced, costs, TrainConfig(**settings))
        del X
        other_proba = other.pipeline.predict_proba(feature_matrix(holdout, reduced))[:, 1]
        metrics |= without_protected_metrics(
            y,
            (proba, champion.threshold),
            (other_proba, other.threshold),
            groups,
            costs,
            config.min_outcomes_per_group,
        )

    out_dir = reports / "fairness"
    out_dir.mkdir(parents=True, exist_ok=True)
    table.round(6).to_csv(out_dir / "groups.csv", index=False)
    write_json(rounded_metrics(metrics), reports / "fairness.json")
    plot_group_rates(table, champion.threshold, out_dir / "fairness.png")
    print(table.to_string(index=False, float_format="{:.3f}".format))
    for name, value in rounded_metrics(metrics).items():
        print(f"{name:60s} {value}")


if __name__ == "__main__":
    run_stage(main)
