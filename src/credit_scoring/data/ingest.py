"""Read every raw table, validate it, and describe what was read (rows, file hashes)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from credit_scoring.data import schema
from credit_scoring.data.io import RawDataError, file_sha256, find_raw_file, read_raw_table
from credit_scoring.data.validate import Finding, check_links, validate_table

logger = logging.getLogger(__name__)


@dataclass
class IngestResult:
    """Validated tables, every finding, and a manifest of the raw files.

    Attributes:
        tables: typed frames keyed by table name.
        findings: errors and warnings of every table.
        manifest: per table: file, sha256, rows, columns.
    """

    tables: dict[str, pd.DataFrame]
    findings: list[Finding]
    manifest: dict[str, dict[str, str | int]]

    @property
    def data_hash(self) -> str:
        """One SHA-256 over the raw files' hashes, in table order: the data's identity."""
        digest = hashlib.sha256()
        for table in sorted(self.manifest):
            digest.update(f"{table}:{self.manifest[table]['sha256']}\n".encode())
        return digest.hexdigest()


def ingest_tables(raw_dir: Path) -> IngestResult:
    """Read and validate all eight tables of ``raw_dir`` (missing files are error findings)."""
    tables, findings, manifest = {}, [], {}
    for table in schema.TABLES:
        try:
            path = find_raw_file(raw_dir, table)
            raw = read_raw_table(path, table)
        except RawDataError as exc:  # reported with the other findings, so all show at once
            findings.append(Finding("error", str(Path(raw_dir) / table), "", str(exc), 0))
            continue
        frame, table_findings = validate_table(raw, table, str(path))
        tables[table], findings = frame, findings + table_findings
        manifest[table] = {
            "file": path.name,
            "sha256": file_sha256(path),
            "rows": len(frame),
            "columns": frame.shape[1],
        }
        logger.info("%s: %d rows, %d finding(s)", table, len(frame), len(table_findings))
    if all(t in tables for t in schema.APPLICATION_TABLES):
        files = {t: str(find_raw_file(raw_dir, t)) for t in tables}
        findings += check_links(tables, files)
    return IngestResult(tables, findings, manifest)
