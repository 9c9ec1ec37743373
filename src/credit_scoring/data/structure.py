"""Structural checks of a raw folder, made before any content is read: every table is there,
not cut mid-line, with a readable header holding the expected columns once each."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from credit_scoring.data import schema
from credit_scoring.data.csv_lines import RawDataError, cut_line, read_header
from credit_scoring.data.io import find_raw_file
from credit_scoring.data.validate import Finding, check_columns


def check_structure(raw_dir: Path) -> tuple[dict[str, Path], list[Finding]]:
    """The raw file of each table, and every structural error of the folder.

    Missing tables, unreadable or empty headers, duplicated column names and missing columns
    are error findings; unexpected columns are warnings (as in :func:`check_columns`).
    """
    files: dict[str, Path] = {}
    findings: list[Finding] = []
    for table in schema.TABLES:
        try:
            path = find_raw_file(raw_dir, table)
        except RawDataError as exc:
            findings.append(Finding("error", str(Path(raw_dir) / f"{table}.csv"), "", str(exc), 0))
            continue
        try:
            header = read_header(path)
        except RawDataError as exc:
            findings.append(Finding("error", str(path), "", str(exc), 0))
            continue
        last_line = cut_line(path)
        if last_line:
            problem = f"line {last_line}: the file ends in the middle of this line (cut?)"
            findings.append(Finding("error", str(path), "", problem, 0))
        expected = [c for c in schema.table_columns(table) if c in header]
        if [c for c in header if c in expected] != expected:
            findings.append(
                Finding(
                    "warning", str(path), "", "columns not in the Kaggle order (read by name)", 0
                )
            )
        duplicated = sorted({name for name in header if header.count(name) > 1})
        findings += [
            Finding("error", str(path), name, "duplicated column name", 0) for name in duplicated
        ]
        findings += check_columns(
            pd.DataFrame(columns=list(dict.fromkeys(header))), table, str(path)
        )
        files[table] = path
    return files, findings
