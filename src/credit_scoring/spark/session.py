"""The Spark session of the Spark commands (batch scoring, the Spark featurize engine)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from credit_scoring.config import EngineConfig


def spark_session(master: str = "local[2]", app_name: str = "credit-scoring", **conf: str) -> Any:
    """A Spark session whose Python workers run this interpreter (so they import this package
    and its pinned libraries); no web UI or console progress bar, Arrow transfers on, loopback
    driver in local mode. ``master`` "" keeps the one ``spark-submit`` gives. ``conf``: extra
    Spark settings (e.g. ``spark.driver.memory``)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master) if master else SparkSession.builder
    builder = (
        builder.appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
    )
    if master.startswith("local"):
        builder = builder.config("spark.driver.host", "127.0.0.1")
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def engine_session(engine: EngineConfig, app_name: str = "credit-scoring") -> Any:
    """The Spark session an engine config asks for (shuffle partitions = its buckets)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "engine=spark needs pyspark (the `spark` extra): run `make spark`, or "
            "`pip install -r requirements-spark.lock`; Java 17+ must be on PATH"
        ) from exc
    conf = {"spark.sql.shuffle.partitions": str(engine.spark_buckets)} | engine.spark_conf
    return spark_session(engine.spark_master, app_name, **conf)


@contextmanager
def engine_spark(engine: EngineConfig, app_name: str = "credit-scoring") -> Iterator[Any]:
    """:func:`engine_session` for the time of a ``with`` block, stopped after it."""
    spark = engine_session(engine, app_name)
    try:
        yield spark
    finally:
        spark.stop()
