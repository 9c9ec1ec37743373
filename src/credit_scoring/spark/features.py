"""The featurize stage's Spark engine: the history aggregates of every client, computed by Spark
executors with the pipeline's own feature functions (:data:`~credit_scoring.features.build.
HISTORY_PARTS`), so both engines give the same features.

Spark reads each side table (any URI it reads: a local folder, ``s3a://``, ``abfss://``,
``hdfs://``), numbers its rows in file order and hashes them by client into buckets (a
bureau_balance row goes with its bureau credit's client). Each bucket's rows of a part's tables
are handed, in file order, to that part's function in a Python worker (grouped and cogrouped
Arrow UDFs). A part's aggregates of a client depend on that client's rows only, so every client
gets the values the single-machine engine gives it, bit for bit.

Two ways out: :func:`spark_history_features` collects the parts (one row per client each) to the
driver and combines them as the single-machine engine does (the DVC stage, whose outputs must be
the same files); :func:`write_history` joins them in Spark and writes a parquet to any URI (a
cluster run, ``credit-scoring-spark-history``).
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from credit_scoring.config import EngineConfig, FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.data.io import arrow_to_frame
from credit_scoring.features.build import (
    HISTORY_PARTS,
    combine_history,
    history_feature_columns,
    part_columns,
)
from credit_scoring.features.common import CLIENT_ID, COUNT_SUFFIX, get_table
from credit_scoring.spark.session import engine_spark

logger = logging.getLogger(__name__)

FILE, ROW, BUCKET = "_file", "_row", "_bucket"  # file-order and bucket columns Spark adds


def read_side_table(spark: Any, tables_uri: str, table: str) -> Any:
    """``<tables_uri>/<table>.parquet`` as a Spark DataFrame, each row numbered in file order
    (``_file``: a hash of its file's path, ``_row``: its position in that file)."""
    from pyspark.sql import functions as F

    frame = spark.read.parquet(f"{tables_uri.rstrip('/')}/{table}.parquet")
    return frame.select(
        "*",
        F.xxhash64(F.col("_metadata.file_path")).alias(FILE),
        F.col("_metadata.row_index").alias(ROW),
    )


def _bucketed(
    frames: list[Any], tables: tuple[str, ...], parent: Any | None, buckets: int
) -> list[Any]:
    """Add the bucket of each row: its client's hash, or for a table without SK_ID_CURR
    (bureau_balance) its parent row's client, through its link key to ``parent`` (the part's
    first table, read again: a self-join would be ambiguous); rows without a parent are
    dropped, as the feature function drops them."""
    from pyspark.sql import functions as F

    def bucket_of(column: str) -> Any:
        return F.pmod(F.xxhash64(F.col(column)), F.lit(buckets)).alias(BUCKET)

    first = frames[0].select("*", bucket_of(CLIENT_ID))
    out = [first]
    for frame, table in zip(frames[1:], tables[1:], strict=True):
        if CLIENT_ID in frame.columns:
            out.append(frame.select("*", bucket_of(CLIENT_ID)))
            continue
        link = schema.TABLE_KEYS[table][0]
        parents = parent.select(link, bucket_of(CLIENT_ID)).dropDuplicates([link])
        out.append(frame.join(parents, on=link, how="inner"))
    return out


def _file_order_frame(arrow: pa.Table, table: str) -> pd.DataFrame:
    """A bucket's rows of ``table`` in file order, as the single-machine engine reads them."""
    order = pc.sort_indices(arrow, sort_keys=[(FILE, "ascending"), (ROW, "ascending")])
    arrow = arrow.take(order).drop_columns([FILE, ROW, BUCKET])
    return get_table({table: arrow_to_frame(arrow)}, table)


def _part_udf(
    function: Callable[..., pd.DataFrame],
    tables: tuple[str, ...],
    names: tuple[str, ...],
    config: FeaturesConfig,
) -> Callable[..., pa.Table]:
    """The Arrow UDF of one part: a bucket's rows of its one or two tables in, SK_ID_CURR and
    the part's columns out (Spark reads the UDF's arity: one table, or a cogroup of two)."""

    def run(arrows: tuple[pa.Table, ...]) -> pa.Table:
        frames = [_file_order_frame(a, t) for a, t in zip(arrows, tables, strict=True)]
        result = function(*frames, config)
        columns = [pa.array(result.index.to_numpy(dtype=np.int64))]
        columns += [pa.array(result[name].to_numpy(dtype=np.float64)) for name in names]
        return pa.Table.from_arrays(columns, names=[CLIENT_ID, *names])

    def one(table: pa.Table) -> pa.Table:
        return run((table,))

    def two(left: pa.Table, right: pa.Table) -> pa.Table:
        return run((left, right))

    return one if len(tables) == 1 else two


def history_parts(
    spark: Any, tables_uri: str, config: FeaturesConfig, buckets: int
) -> list[tuple[str, Any]]:
    """Every part of :data:`HISTORY_PARTS` as a lazy Spark DataFrame (SK_ID_CURR + its
    float64 columns, one row per client with rows in the part's tables), with its name."""
    parts = []
    for index, (tables, function) in enumerate(HISTORY_PARTS):
        names = part_columns(index, config)
        result_schema = ", ".join([f"`{CLIENT_ID}` long", *(f"`{n}` double" for n in names)])
        read = [read_side_table(spark, tables_uri, table) for table in tables]
        parent = read_side_table(spark, tables_uri, tables[0]) if len(tables) > 1 else None
        frames = _bucketed(read, tables, parent, buckets)
        udf = _part_udf(function, tables, names, config)
        grouped = [frame.groupBy(BUCKET) for frame in frames]
        if len(grouped) == 1:
            part = grouped[0].applyInArrow(udf, result_schema)
        else:
            part = grouped[0].cogroup(grouped[1]).applyInArrow(udf, result_schema)
        parts.append(("+".join(tables), part))
    return parts


def spark_history_features(
    spark: Any, tables_uri: str, config: FeaturesConfig, buckets: int
) -> pd.DataFrame:
    """:func:`~credit_scoring.features.build.build_history_features` computed by Spark: the
    same frame (float64, indexed by SK_ID_CURR, sorted), the parts collected to the driver."""
    start, collected = time.perf_counter(), []
    parts = history_parts(spark, tables_uri, config, buckets)
    for done, (name, part) in enumerate(parts, start=1):
        collected.append(part.toPandas().set_index(CLIENT_ID))
        elapsed = time.perf_counter() - start
        logger.info(
            "spark history part %d/%d (%s): %d clients; %.0f s elapsed, about %.0f s left",
            done, len(parts), name, len(collected[-1]), elapsed,
            elapsed / done * (len(parts) - done),
        )  # fmt: skip
    history = combine_history(collected)
    if list(history.columns) != history_feature_columns(config):
        raise RuntimeError("spark history features differ from history_feature_columns (bug)")
    return history


def joined_history(spark: Any, tables_uri: str, config: FeaturesConfig, buckets: int) -> Any:
    """The parts outer-joined on SK_ID_CURR in Spark, missing counts as 0 (a lazy DataFrame
    with the columns of ``history.parquet``), for outputs too big for the driver."""
    from pyspark.sql import functions as F

    joined = None
    for _, part in history_parts(spark, tables_uri, config, buckets):
        joined = part if joined is None else joined.join(part, on=CLIENT_ID, how="full_outer")

    def filled(name: str) -> Any:
        column = F.col(name)
        if name.endswith(COUNT_SUFFIX):
            column = F.when(column.isNull() | F.isnan(column), F.lit(0.0)).otherwise(column)
        return column.alias(name)

    return joined.select(CLIENT_ID, *(filled(n) for n in history_feature_columns(config)))


def write_history(
    spark: Any, tables_uri: str, output_uri: str, config: FeaturesConfig, buckets: int
) -> int:
    """Write the history aggregates of ``tables_uri``'s side tables to ``output_uri`` (a parquet
    folder, sorted by SK_ID_CURR, overwritten); return the number of clients."""
    history = joined_history(spark, tables_uri, config, buckets).orderBy(CLIENT_ID)
    history.write.mode("overwrite").parquet(output_uri)
    return spark.read.parquet(output_uri).count()


def main(argv: list[str] | None = None) -> None:
    """CLI: the history aggregates of a folder of side tables, computed and written by Spark."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", required=True, help="folder (URI) of <table>.parquet files")
    parser.add_argument("--output", required=True, help="parquet folder (URI) to write")
    parser.add_argument("--master", default="", help="default: spark-submit's, else local")
    parser.add_argument("--buckets", type=int, default=EngineConfig.spark_buckets)
    parser.add_argument("--recent-months", type=int, default=FeaturesConfig.recent_months)
    parser.add_argument("--recent-days", type=int, default=FeaturesConfig.recent_days)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    config = FeaturesConfig(recent_months=args.recent_months, recent_days=args.recent_days)
    engine = EngineConfig(name="spark", spark_master=args.master, spark_buckets=args.buckets)
    start = time.perf_counter()
    with engine_spark(engine) as spark:
        clients = write_history(spark, args.tables, args.output, config, args.buckets)
    print(
        f"history aggregates of {clients} clients from {args.tables} -> {args.output} "
        f"in {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
