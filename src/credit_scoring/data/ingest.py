"""Read every raw table, validate it, and describe what was read (rows, file hashes)."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from credit_scoring.cli import write_json
from credit_scoring.config import EngineConfig
from credit_scoring.data import schema
from credit_scoring.data.io import (
    RawDataError,
    file_sha256,
    read_raw_table,
    write_table,
)
from credit_scoring.data.structure import check_structure
from credit_scoring.data.validate import (
    Finding,
    check_links,
    findings_table,
    raise_on_errors,
    validate_content,
)

logger = logging.getLogger(__name__)

# Reads one raw table: (path, table name) -> the raw frame (read_raw_table or an engine's).
TableReader = Callable[[Path, str], pd.DataFrame]


@dataclass
class IngestResult:
    """Validated tables, every finding, and a manifest of the raw files.

    Attributes:
        tables: typed frames keyed by table name (empty when they were written to parquet).
        findings: errors and warnings of every table.
        manifest: per table: file, sha256, rows, columns.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    manifest: dict[str, dict[str, str | int]] = field(default_factory=dict)

    @property
    def data_hash(self) -> str:
        """One SHA-256 over the raw files' hashes, in table order: the data's identity."""
        digest = hashlib.sha256()
        for table in sorted(self.manifest):
            digest.update(f"{table}:{self.manifest[table]['sha256']}\n".encode())
        return digest.hexdigest()


def _validated_tables(
    raw_dir: Path, result: IngestResult, reader: TableReader = read_raw_table
) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Read and validate the tables one by one: yield (table, file, typed frame).

    The structure of the whole folder is checked first (:func:`check_structure`: tables present,
    headers readable, columns expected and unique); any structural error stops there, before
    any content is read, so every missing table or column gets the same clear error. Then each
    table's findings and manifest entry go to ``result``; a file that does not parse is an
    error finding naming its lines and yields nothing.
    """
    files, structural = check_structure(raw_dir)
    result.findings.extend(structural)
    if any(f.severity == "error" for f in structural):
        return
    for table in schema.TABLES:
        path = files[table]
        try:
            raw = reader(path, table)
        except RawDataError as exc:
            result.findings.append(Finding("error", str(path), "", str(exc), 0))
            continue
        frame, table_findings = validate_content(raw, table, str(path))
        del raw
        result.findings.extend(table_findings)
        result.manifest[table] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "rows": len(frame),
            "columns": frame.shape[1],
        }
        logger.info("%s: %d rows, %d finding(s)", table, len(frame), len(table_findings))
        yield table, str(path), frame
        del frame  # not held while the next table is read


def _link_columns(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The columns of ``frame`` that :func:`check_links` reads (its keys)."""
    wanted = {schema.CLIENT_ID, schema.TABLE_KEYS[table][0]}
    if table == "bureau":
        wanted.add(schema.BUREAU_ID)
    return frame[[c for c in frame.columns if c in wanted]]


def ingest_tables(raw_dir: Path) -> IngestResult:
    """Read and validate all eight tables of ``raw_dir`` (missing files are error findings)."""
    result, files = IngestResult(), {}
    for table, file, frame in _validated_tables(raw_dir, result):
        result.tables[table], files[table] = frame, file
    if result.tables:
        result.findings += check_links(result.tables, files)
    return result


def ingest_to_parquet(
    raw_dir: Path,
    out_dir: Path,
    fail_on_warnings: bool = False,
    reader: TableReader = read_raw_table,
) -> IngestResult:
    """Validate the tables of ``raw_dir`` and write them to ``out_dir/<table>.parquet``.

    The same findings and manifest as :func:`ingest_tables`, with one table in memory at a time
    (plus the key columns the link check needs): each is written to a staging folder once
    validated, and the staging folder replaces ``out_dir`` only when no finding stops the
    stage (see :func:`stopping_findings`); otherwise ``out_dir`` is left as it was.

    Returns:
        The findings and manifest (``tables`` is empty).
    """
    out_dir = Path(out_dir)
    staging = out_dir.with_name(out_dir.name + ".incoming")
    shutil.rmtree(staging, ignore_errors=True)
    result, keys, files = IngestResult(), {}, {}
    for table, file, frame in _validated_tables(raw_dir, result, reader):
        write_table(frame, staging / f"{table}.parquet")
        keys[table], files[table] = _link_columns(table, frame), file
        del frame
    if keys:
        result.findings += check_links(keys, files)
    if any(f.severity == "error" for f in stopping_findings(result.findings, fail_on_warnings)):
        shutil.rmtree(staging, ignore_errors=True)
    else:
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.mkdir(parents=True, exist_ok=True)  # no table at all: an empty folder
        staging.rename(out_dir)
    return result


def run_ingest(
    raw_dir: Path,
    interim_dir: Path,
    reports_dir: Path,
    source: str,
    fail_on_warnings: bool,
    engine: EngineConfig | None = None,
) -> IngestResult:
    """The ingest stage: validate ``raw_dir``, write the tables and the reports, or nothing.

    On success the tables replace ``interim_dir`` and ``reports_dir`` gets data_findings.csv,
    data_manifest.json and data_quality.json. When a finding stops the stage, nothing there is
    replaced: every finding goes to ``reports_dir/rejected/data_findings.csv`` and
    :class:`~credit_scoring.data.validate.ValidationError` is raised. With a Spark ``engine``
    the CSVs are parsed by Spark tasks (:mod:`credit_scoring.spark.ingest`; the same tables).
    """
    reports_dir = Path(reports_dir)
    if engine is not None and engine.name == "spark":
        from credit_scoring.spark.ingest import spark_reader
        from credit_scoring.spark.session import engine_spark

        with engine_spark(engine, "credit-scoring-ingest") as spark:
            result = ingest_to_parquet(raw_dir, interim_dir, fail_on_warnings, spark_reader(spark))
    else:
        result = ingest_to_parquet(raw_dir, interim_dir, fail_on_warnings)
    stopping = stopping_findings(result.findings, fail_on_warnings)
    if any(f.severity == "error" for f in stopping):
        rejected = reports_dir / "rejected" / "data_findings.csv"
        rejected.parent.mkdir(parents=True, exist_ok=True)
        findings_table(result.findings).to_csv(rejected, index=False)
        logger.error(
            "ingest rejected %s: every finding in %s; nothing was replaced", raw_dir, rejected
        )
        raise_on_errors(stopping)
    reports_dir.mkdir(parents=True, exist_ok=True)
    findings_table(result.findings).to_csv(reports_dir / "data_findings.csv", index=False)
    n_errors = sum(f.severity == "error" for f in result.findings)
    manifest = {"source": source, "data_hash": result.data_hash}
    write_json(manifest | result.manifest, reports_dir / "data_manifest.json")
    quality = {"n_errors": n_errors, "n_warnings": len(result.findings) - n_errors}
    quality |= {f"rows.{table}": info["rows"] for table, info in result.manifest.items()}
    write_json(quality, reports_dir / "data_quality.json")
    return result


def stopping_findings(findings: list[Finding], fail_on_warnings: bool) -> list[Finding]:
    """``findings`` as the stage judges them: warnings count as errors with fail_on_warnings."""
    if fail_on_warnings:
        return [replace(f, severity="error") for f in findings]
    return findings
