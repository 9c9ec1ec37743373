"""The engines that compute the history aggregates of the featurize stage (params ``engine``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from credit_scoring.config import EngineConfig, FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.data.io import ParquetTables
from credit_scoring.features.build import build_history_features


def history_by_engine(engine: EngineConfig, interim: Path, config: FeaturesConfig) -> pd.DataFrame:
    """:func:`~credit_scoring.features.build.build_history_features` of the side tables in the
    folder ``interim`` (parquet), computed by ``engine``: pandas reading one table at a time, or
    Spark (:mod:`credit_scoring.spark.features`; the same frame)."""
    if engine.name == "spark":
        from credit_scoring.spark.features import spark_history_features
        from credit_scoring.spark.session import engine_spark

        with engine_spark(engine, "credit-scoring-featurize") as spark:
            uri = str(Path(interim).resolve())
            return spark_history_features(spark, uri, config, engine.spark_buckets)
    # One side table in memory at a time: each is read, aggregated and dropped.
    return build_history_features(ParquetTables(interim, schema.HISTORY_TABLES), config)
