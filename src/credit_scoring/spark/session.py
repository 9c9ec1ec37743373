"""The Spark session of the Spark commands (batch scoring, the Spark featurize engine)."""

from __future__ import annotations

import os
import sys
from typing import Any


def spark_session(master: str = "local[2]", app_name: str = "credit-scoring", **conf: str) -> Any:
    """A Spark session whose Python workers run this interpreter (so they import this package
    and its pinned libraries); no web UI or console progress bar, Arrow transfers on, loopback
    driver in local mode. ``conf``: extra Spark settings (e.g. ``spark.driver.memory``)."""
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
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
