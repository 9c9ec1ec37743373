"""Stage featurize: business features + side-table aggregates; train/holdout/production split."""

from pathlib import Path

from credit_scoring.cli import run_stage, write_json
from credit_scoring.config import FeaturesConfig, load_params
from credit_scoring.data import schema
from credit_scoring.data.io import read_table, write_table
from credit_scoring.features import (
    attach_target,
    build_features,
    build_history_features,
    split_feature_kinds,
    split_holdout,
)


def main() -> None:
    params = load_params()
    config = FeaturesConfig(**params["features"])
    interim, processed = (
        Path(params["paths"]["interim_dir"]),
        Path(params["paths"]["processed_dir"]),
    )
    tables = {table: read_table(interim / f"{table}.parquet") for table in schema.TABLES}

    history = build_history_features({t: tables[t] for t in schema.HISTORY_TABLES}, config)
    application = tables["application_train"]
    labelled = attach_target(build_features(application, history, config), application)
    production = build_features(tables["application_test"], history, config)
    train, holdout = split_holdout(labelled, **params["split"])

    numeric, categorical = split_feature_kinds(production)
    write_json(
        {"numeric": numeric, "categorical": categorical}, processed / "feature_columns.json"
    )
    write_table(train, processed / "train.parquet")
    write_table(holdout, processed / "holdout.parquet")
    write_table(production, processed / "production.parquet")
    write_table(history.reset_index(), processed / "history.parquet")
    print(
        f"features: {len(numeric)} numeric + {len(categorical)} categorical; rows: "
        f"train {len(train)}, holdout {len(holdout)}, production {len(production)}"
    )


if __name__ == "__main__":
    run_stage(main)
