"""The Spark ingest engine (local[2]) writes the single-machine engine's tables and findings."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from credit_scoring.data import io
from credit_scoring.data.ingest import ingest_to_parquet
from credit_scoring.data.validate import ValidationError, raise_on_errors

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java: no java on PATH"),
]
pytest.importorskip("pyspark", reason="pyspark not installed (make test installs it)")

from credit_scoring.spark.ingest import byte_ranges, range_lines, spark_reader  # noqa: E402

RANGE_BYTES = 64 << 10  # small ranges, so every table of the tiny run is cut in several


def both_engines(spark, raw: Path, out: Path):
    """(local result, Spark result) of ingesting ``raw``, written under ``out``."""
    local = ingest_to_parquet(raw, out / "local")
    by_spark = ingest_to_parquet(raw, out / "spark", reader=spark_reader(spark, RANGE_BYTES))
    return local, by_spark


def assert_same_ingest(local, by_spark, out: Path) -> None:
    assert by_spark.findings == local.findings
    assert by_spark.manifest == local.manifest
    written = sorted(p.name for p in (out / "local").glob("*.parquet"))
    assert written == sorted(p.name for p in (out / "spark").glob("*.parquet"))
    for name in written:
        assert (out / "spark" / name).read_bytes() == (out / "local" / name).read_bytes(), name


def test_ranges_cover_every_line_once(tiny_project):
    path = tiny_project.root / "data" / "synthetic" / "installments_payments.csv"
    ranges = byte_ranges(path, 10_000)
    assert len(ranges) > 10
    lines = b"".join(range_lines(path, r) for r in ranges)
    with open(path, "rb") as handle:
        handle.readline()
        assert lines == handle.read()


def test_spark_ingest_of_the_tiny_run_is_the_local_ingest(spark, tiny_project, tmp_path):
    raw = tiny_project.root / "data" / "synthetic"
    local, by_spark = both_engines(spark, raw, tmp_path)
    assert len(local.manifest) == 8 and not local.findings
    assert_same_ingest(local, by_spark, tmp_path)


def test_spark_ingest_of_the_real_sample(spark, sample_dir, tmp_path):
    """Gzip files: one range each; tables and findings equal to the local engine's."""
    local, by_spark = both_engines(spark, sample_dir, tmp_path)
    assert_same_ingest(local, by_spark, tmp_path)


def set_field(position: int, value: bytes):
    """An edit of a CSV line that replaces its field ``position`` with ``value``."""

    def edit(row: bytes) -> bytes:
        fields = row.split(b",")
        fields[position] = value
        return b",".join(fields)

    return edit


# One break per file, each on a line past the first block: (table, edit, expected error).
BREAKS = (
    ("installments_payments", lambda row: row + b",1", "ragged row"),
    ("bureau", set_field(2, b"Activ\xe9"), "not UTF-8"),
    ("bureau_balance", set_field(1, b"-1.5"), "fraction in an integer"),
)


def test_broken_files_get_the_local_findings(spark, tiny_project, tmp_path, monkeypatch, caplog):
    """Arrow infers the types from a 64 KB first block here, so each break is in a later
    Spark range: that range fails, the file goes to the single-machine reader, and the
    findings are the local engine's."""
    monkeypatch.setattr(io, "ARROW_BLOCK_BYTES", 64 << 10)
    folder = tmp_path / "raw"
    shutil.copytree(tiny_project.root / "data" / "synthetic", folder)
    for table, edit, _ in BREAKS:
        path = folder / f"{table}.csv"
        lines = path.read_bytes().split(b"\n")
        lines[-6] = edit(lines[-6])
        path.write_bytes(b"\n".join(lines))
    with caplog.at_level(logging.INFO, logger="credit_scoring.spark.ingest"):
        local, by_spark = both_engines(spark, folder, tmp_path)
    errors = [str(f) for f in local.findings if f.severity == "error"]
    for table, _, problem in BREAKS:
        assert f"{table}.csv: not clean" in caplog.text  # a Spark range failed
        assert any(table in error and problem in error for error in errors), (table, errors)
    assert by_spark.findings == local.findings
    with pytest.raises(ValidationError):
        raise_on_errors(by_spark.findings)
