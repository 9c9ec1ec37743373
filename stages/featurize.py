"""Stage featurize: business features + side-table aggregates; train/holdout/production split.

The history aggregates come from the engine of params ``engine`` (local pandas or Spark): the
same features, so every later stage is the same either way.
"""

from pathlib import Path

from credit_scoring.cli import run_stage, write_json
from credit_scoring.config import EngineConfig, FeaturesConfig, load_params
from credit_scoring.data.io import read_table, release_arrow_memory, write_table
from credit_scoring.features import (
    attach_target,
    build_features,
    split_feature_kinds,
    split_holdout,
)
from credit_scoring.features.engines import history_by_engine


def main() -> None:
    params = load_params()
    config = FeaturesConfig(**params["features"])
    interim, processed = (
        Path(params["paths"]["interim_dir"]),
        Path(params["paths"]["processed_dir"]),
    )
    history = history_by_engine(EngineConfig(**params["engine"]), interim, config)
    release_arrow_memory()
    application = read_table(interim / "application_train.parquet")
    labelled = attach_target(build_features(application, history, config), application)
    del application
    production = build_features(read_table(interim / "application_test.parquet"), history, config)
    train, holdout = split_holdout(labelled, **params["split"])
    del labelled
    release_arrow_memory()

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
