"""Reading raw Home Credit CSVs and reading/writing the typed columnar (parquet) tables."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pandas as pd

from credit_scoring.data import schema

logger = logging.getLogger(__name__)

RAW_SUFFIXES = (".csv", ".csv.gz")


class RawDataError(ValueError):
    """A raw input file is missing, unreadable or malformed."""


def find_raw_file(raw_dir: Path, table: str) -> Path:
    """Return the CSV (plain or gzip) of ``table`` in ``raw_dir``.

    Raises:
        RawDataError: when no file of that table is there.
    """
    for suffix in RAW_SUFFIXES:
        candidate = Path(raw_dir) / f"{table}{suffix}"
        if candidate.is_file():
            return candidate
    raise RawDataError(
        f"{Path(raw_dir) / (table + '.csv')}: missing table {table!r} "
        f"(expected {table}.csv or {table}.csv.gz)"
    )


def read_raw_table(path: Path, table: str) -> pd.DataFrame:
    """Read one raw CSV with string dtype for the schema's categorical columns.

    Numeric columns are parsed by pandas and checked later by the validator, so that a wrong
    type is reported per column rather than as a parse failure.

    Raises:
        RawDataError: when the file cannot be parsed as CSV (with the parser's line number).
    """
    categorical = set(schema.categorical_columns(table))
    try:
        header = pd.read_csv(path, nrows=0).columns
        dtypes = {c: "string" for c in header if c in categorical}
        frame = pd.read_csv(path, dtype=dtypes, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError) as exc:
        raise RawDataError(f"{path}: cannot be read as CSV: {exc}") from exc
    logger.info("read %s: %d rows x %d columns", path, len(frame), frame.shape[1])
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to parquet, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def read_table(path: Path) -> pd.DataFrame:
    """Read a parquet table written by :func:`write_table`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the stage that writes it: `dvc repro`)")
    return pd.read_parquet(path)


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
