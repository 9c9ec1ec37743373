"""One Spark session (local[2]) for the in-process Spark tests."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def spark():
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java: no java on PATH")
    pytest.importorskip("pyspark", reason="pyspark not installed (make test installs it)")
    from credit_scoring.config import EngineConfig
    from credit_scoring.spark.session import engine_session

    session = engine_session(EngineConfig(name="spark", spark_buckets=4), "credit-scoring-tests")
    yield session
    session.stop()
