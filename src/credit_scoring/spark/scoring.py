"""Batch scoring on Apache Spark: the registered champion over a parquet of applications.

The model is the registered pyfunc (:mod:`credit_scoring.modeling.pyfunc`), loaded once per
executor by ``mlflow.pyfunc.spark_udf``: it builds the features from the raw application columns
and the client's history aggregates (a left join on SK_ID_CURR with the pipeline's
``history.parquet``; a client without history is scored as the API scores one), so each client
gets the probability, decision and threshold the API would give. Output: one row per client
(SK_ID_CURR, probability, decision, threshold, model_name, model_version, scored_at), a parquet
partitioned by ``score_date`` and ``decision``, and a run record (rows in and out, model version,
duration) as JSON beside it.

``credit-scoring-batch-score --applications data/interim/application_test.parquet
--history data/processed/history.parquet --model-uri models:/credit-scoring@champion
--output data/scored`` (local mode ``local[2]`` by default; ``--master`` for a cluster, and
any URI Spark reads: ``s3a://``, ``abfss://``, ``hdfs://``).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from credit_scoring.data import schema
from credit_scoring.modeling.pyfunc import OUTPUT
from credit_scoring.spark.session import spark_session

RESULT_TYPE = "probability double, decision string, threshold double"
PARTITIONS = ("score_date", "decision")


@dataclass(frozen=True)
class ScoringRun:
    """The record of one batch scoring run."""

    model_uri: str
    model_name: str | None
    model_version: str | None
    applications: str
    history: str | None
    output: str
    master: str
    rows_in: int
    rows_out: int
    refused: int
    started_at: str
    duration_seconds: float


def registered_version(model_uri: str, tracking_uri: str | None) -> tuple[str | None, str | None]:
    """``(name, version)`` of a ``models:/name@alias`` or ``models:/name/N`` URI (None, None
    for a model folder)."""
    if not model_uri.startswith("models:/"):
        return None, None
    from mlflow import MlflowClient

    name, _, ref = model_uri.removeprefix("models:/").partition("@")
    if ref:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        return name, str(client.get_model_version_by_alias(name, ref).version)
    name, _, version = model_uri.removeprefix("models:/").partition("/")
    return name, version or None


def score_applications(
    spark: Any,
    applications: str,
    model_uri: str,
    history: str | None = None,
    tracking_uri: str | None = None,
    scored_at: datetime | None = None,
) -> tuple[Any, tuple[str | None, str | None]]:
    """The scored clients as a Spark DataFrame (lazy), and the model's ``(name, version)``.

    Args:
        spark: the session.
        applications: parquet of raw applications (Kaggle application columns, SK_ID_CURR).
        model_uri: the pyfunc to score with (``models:/...`` or a model folder).
        history: parquet of history aggregates by SK_ID_CURR (``history.parquet``); None:
            every client is scored without history.
        tracking_uri: MLflow registry of ``models:/`` URIs.
        scored_at: the run's time, stamped on every row (default: now, UTC).
    """
    import mlflow.pyfunc
    from pyspark.sql import functions as F

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    name, version = registered_version(model_uri, tracking_uri)
    frame = spark.read.parquet(applications)
    if schema.CLIENT_ID not in frame.columns:
        raise ValueError(f"{applications}: no {schema.CLIENT_ID} column")
    frame = frame.drop(schema.TARGET) if schema.TARGET in frame.columns else frame
    if history is not None:
        aggregates = spark.read.parquet(history)
        frame = frame.join(aggregates, on=schema.CLIENT_ID, how="left")
    udf = mlflow.pyfunc.spark_udf(spark, model_uri, result_type=RESULT_TYPE, env_manager="local")
    scored = frame.select(
        schema.CLIENT_ID, udf(F.struct(*[F.col(c) for c in frame.columns])).alias("score")
    )
    return (
        scored.select(schema.CLIENT_ID, *[f"score.{column}" for column in OUTPUT])
        .withColumn("model_name", F.lit(name))
        .withColumn("model_version", F.lit(version))
        .withColumn("scored_at", F.lit(scored_at or datetime.now(UTC)))
        .withColumn("score_date", F.to_date("scored_at"))
    ), (name, version)


def run(
    spark: Any,
    applications: str,
    model_uri: str,
    output: str,
    history: str | None = None,
    tracking_uri: str | None = None,
) -> ScoringRun:
    """Score ``applications`` and write them to ``output`` partitioned by :data:`PARTITIONS`
    (a rerun the same day replaces that day's partitions, other days stay); return the run
    record."""
    started, clock = datetime.now(UTC), time.perf_counter()
    scored, (name, version) = score_applications(
        spark, applications, model_uri, history, tracking_uri, started
    )
    scored = scored.persist()  # written, then counted: the model runs once
    try:
        scored.write.mode("overwrite").partitionBy(*PARTITIONS).parquet(output)
        per_decision = scored.groupBy("decision").count().collect()
    finally:
        scored.unpersist()
    counts = {row["decision"]: row["count"] for row in per_decision}
    drop_stale_partitions(spark, output, started.date().isoformat(), set(counts))
    return ScoringRun(
        model_uri=model_uri,
        model_name=name,
        model_version=version,
        applications=applications,
        history=history,
        output=output,
        master=spark.sparkContext.master,
        rows_in=spark.read.parquet(applications).count(),
        rows_out=sum(counts.values()),
        refused=counts.get("refused", 0),
        started_at=started.isoformat(),
        duration_seconds=round(time.perf_counter() - clock, 3),
    )


def drop_stale_partitions(spark: Any, output: str, day: str, decisions: set[str]) -> list[str]:
    """Delete the ``decision=`` partitions of ``score_date=day`` that this run did not write.

    The dynamic overwrite replaces only the partitions a run writes: without this, a rerun the
    same day that refuses nobody would leave the earlier run's refusals beside its answers.
    Works on any file system Spark writes (Hadoop FileSystem API). Returns the deleted names.
    """
    context = spark.sparkContext
    hadoop = context._jvm.org.apache.hadoop.fs
    day_path = hadoop.Path(f"{output.rstrip('/')}/score_date={day}")
    system = day_path.getFileSystem(context._jsc.hadoopConfiguration())
    if not system.exists(day_path):
        return []
    dropped = []
    for status in system.listStatus(day_path):
        partition = status.getPath().getName()
        if partition.startswith("decision=") and partition[len("decision=") :] not in decisions:
            system.delete(status.getPath(), True)
            dropped.append(partition)
    return dropped


def main(argv: list[str] | None = None) -> None:
    """CLI: score a parquet of applications with Spark; print and write the run record."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applications", default="data/interim/application_test.parquet")
    parser.add_argument("--history", default="data/processed/history.parquet")
    parser.add_argument("--no-history", action="store_true", help="score without history")
    parser.add_argument("--model-uri", default="models:/credit-scoring@champion")
    parser.add_argument("--tracking-uri", default="sqlite:///mlflow.db")
    parser.add_argument("--output", default="data/scored")
    parser.add_argument("--record", type=Path, default=Path("reports/batch_scoring.json"))
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    spark = spark_session(args.master)
    try:
        history = None if args.no_history else args.history
        record = run(spark, args.applications, args.model_uri, args.output, history,
                     args.tracking_uri)  # fmt: skip
    finally:
        spark.stop()
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(json.dumps(asdict(record), indent=2) + "\n")
    print(
        f"scored {record.rows_out} of {record.rows_in} applications with {record.model_uri} "
        f"(version {record.model_version}): {record.refused} refused, "
        f"{record.duration_seconds:.1f} s -> {record.output}"
    )


if __name__ == "__main__":
    main()
