"""Read every raw table, validate it, and describe what was read (rows, file hashes)."""

from __future__ import annotations

import hashlib
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from credit_scoring.data import schema
from credit_scoring.data.io import (
    RawDataError,
    file_sha256,
    find_raw_file,
    read_raw_table,
    write_table,
)
from credit_scoring.data.validate import Finding, check_links, validate_table

logger = logging.getLogger(__name__)


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
    raw_dir: Path, result: IngestResult
) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Read and validate the tables one by one: yield (table, file, typed frame).

    Each table's findings and manifest entry go to ``result``; a missing or unreadable file is
    an error finding (so all problems show at once) and yields nothing.
    """
    for table in schema.TABLES:
        try:
            path = find_raw_file(raw_dir, table)
            raw = read_raw_table(path, table)
        except RawDataError as exc:
            result.findings.append(Finding("error", str(Path(raw_dir) / table), "", str(exc), 0))
            continue
        frame, table_findings = validate_table(raw, table, str(path))
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
    if all(t in result.tables for t in schema.APPLICATION_TABLES):
        result.findings += check_links(result.tables, files)
    return result


def ingest_to_parquet(
    raw_dir: Path, out_dir: Path, fail_on_warnings: bool = False
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
    for table, file, frame in _validated_tables(raw_dir, result):
        write_table(frame, staging / f"{table}.parquet")
        keys[table], files[table] = _link_columns(table, frame), file
        del frame
    if all(t in keys for t in schema.APPLICATION_TABLES):
        result.findings += check_links(keys, files)
    if any(f.severity == "error" for f in stopping_findings(result.findings, fail_on_warnings)):
        shutil.rmtree(staging, ignore_errors=True)
    else:
        shutil.rmtree(out_dir, ignore_errors=True)
        staging.mkdir(parents=True, exist_ok=True)  # no table at all: an empty folder
        staging.rename(out_dir)
    return result


def stopping_findings(findings: list[Finding], fail_on_warnings: bool) -> list[Finding]:
    """``findings`` as the stage judges them: warnings count as errors with fail_on_warnings."""
    if fail_on_warnings:
        return [replace(f, severity="error") for f in findings]
    return findings
