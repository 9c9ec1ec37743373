"""The Spark featurize engine (local[2]) gives the single-machine engine's features."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.data.ingest import ingest_to_parquet
from credit_scoring.data.io import ParquetTables
from credit_scoring.features import build_history_features
from credit_scoring.params import compose_params, write_params
from tests.conftest import Project

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java: no java on PATH"),
]
pytest.importorskip("pyspark", reason="pyspark not installed (make test installs it)")

from credit_scoring.spark.features import (  # noqa: E402 (after the skip: needs pyspark)
    spark_history_features,
    write_history,
)

CONFIG = FeaturesConfig()


def local_history(interim) -> pd.DataFrame:
    return build_history_features(ParquetTables(interim, schema.HISTORY_TABLES), CONFIG)


def test_spark_history_is_the_local_history_bit_for_bit(spark, tiny_project, tmp_path):
    interim = tiny_project.root / "data" / "interim"
    expected = local_history(interim)
    collected = spark_history_features(spark, str(interim), CONFIG, buckets=4)
    pd.testing.assert_frame_equal(collected, expected, check_exact=True)

    # The cluster path: joined in Spark and written by it, read back.
    clients = write_history(spark, str(interim), str(tmp_path / "history"), CONFIG, buckets=4)
    written = pd.read_parquet(tmp_path / "history").set_index(schema.CLIENT_ID)
    assert clients == len(expected)
    pd.testing.assert_frame_equal(written, expected, check_exact=True)


def test_spark_history_on_the_real_sample(spark, sample_dir, tmp_path):
    """Parity on real data: counts exact, every other aggregate within 1e-9 (relative)."""
    result = ingest_to_parquet(sample_dir, tmp_path / "interim")
    assert not [f for f in result.findings if f.severity == "error"]
    expected = local_history(tmp_path / "interim")
    actual = spark_history_features(spark, str(tmp_path / "interim"), CONFIG, buckets=4)
    assert actual.index.equals(expected.index) and list(actual) == list(expected)
    counts = [c for c in expected if c.endswith("_COUNT")]
    assert (actual[counts] == expected[counts]).all().all()
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=1e-9, atol=0)
    identical = (actual == expected) | (actual.isna() & expected.isna())
    print(f"{identical.to_numpy().mean():.6%} of {actual.size} values bit-identical")


def test_dvc_repro_with_the_spark_engine_changes_no_output(tiny_project, tmp_path):
    """``engine=spark`` on a copy of the tiny run: DVC reruns ingest and featurize (their params
    changed), their outputs hash the same, so no later stage reruns and the metrics are
    unchanged."""
    root = tmp_path / "project"
    shutil.copytree(tiny_project.root, root, symlinks=True)
    project = Project(root, tiny_project.env | {"PYTHONPATH": str(root / "src")})
    metrics = (root / "reports" / "metrics.json").read_bytes()
    write_params(compose_params(root / "conf", ["experiment=tiny", "engine=spark"]),
                 root / "params.yaml")  # fmt: skip
    status = project.run("dvc", "status", "ingest", "featurize").stdout
    assert len(re.findall(r"modified:\s+engine", status)) == 2, status

    result = project.run("dvc", "repro")
    assert "with Spark" in result.stderr + result.stdout  # the ingest's Spark reader
    assert "spark history part 6/6" in result.stderr + result.stdout
    ran = [line for line in result.stdout.splitlines() if line.startswith("Running stage")]
    assert ran == ["Running stage 'ingest':", "Running stage 'featurize':"], ran
    assert (root / "reports" / "metrics.json").read_bytes() == metrics
    assert json.loads(project.run("dvc", "status", "--json").stdout) == {}
