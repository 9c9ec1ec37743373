"""Reading raw Home Credit CSVs and reading/writing the typed columnar (parquet) tables."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from credit_scoring.data import schema
from credit_scoring.data.csv_lines import RawDataError, bad_lines, read_header

logger = logging.getLogger(__name__)

RAW_SUFFIXES = (".csv", ".csv.gz")
# CSV bytes Arrow parses at a time; column types are inferred from the first block.
ARROW_BLOCK_BYTES = 1 << 24
# The cells pandas' read_csv reads as missing (its default na_values), for the Arrow reader.
PANDAS_NA_VALUES = [
    *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN"),
    *("<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
]


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

    Numeric columns are parsed as numbers when every value is one, and checked later by the
    validator, so that a wrong type is reported per column rather than as a parse failure.
    Arrow's multi-threaded reader parses a well-formed file, text columns kept as Arrow strings
    (no Python object per cell); a file with text where numbers are expected goes to pandas'
    parser. A row with too few or too many fields (a cut or ragged line) or bytes that are not
    UTF-8 are an error naming the lines (pandas would pad a short row with missing values).

    Raises:
        RawDataError: when the file cannot be parsed as CSV (with the line numbers).
    """
    categorical = set(schema.categorical_columns(table))
    errors = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError)
    header: list[str] = []
    try:
        header = read_header(path)
        frame, ragged = _read_with_arrow(path, header, categorical)
        problems = bad_lines(path, len(header)) if ragged or frame is None else []
        if problems:
            raise RawDataError(f"{path}: {'; '.join(problems)}")
        if frame is None:  # text in a numeric column: pandas reads it, the validator says where
            dtypes = {c: "string" for c in header if c in categorical}
            frame = pd.read_csv(path, dtype=dtypes, low_memory=False)
    except (*errors, EOFError) as exc:
        problems = bad_lines(path, len(header)) if header else []
        detail = "; ".join(problems) or str(exc)
        raise RawDataError(f"{path}: cannot be read as CSV: {detail}") from exc
    logger.info("read %s: %d rows x %d columns", path, len(frame), frame.shape[1])
    return frame


def arrow_csv_options(
    header: list[str], categorical: set[str], on_invalid_row: Any = None
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    """The Arrow CSV options of the raw tables: categorical columns as text, the cells pandas
    reads as missing as null, block by block; ``on_invalid_row`` sees each ragged row."""
    convert = pacsv.ConvertOptions(
        column_types={c: pa.string() for c in header if c in categorical},
        strings_can_be_null=True,
        null_values=PANDAS_NA_VALUES,
    )
    parse = pacsv.ParseOptions(invalid_row_handler=on_invalid_row)
    return pacsv.ReadOptions(block_size=ARROW_BLOCK_BYTES), parse, convert


def keeps_arrow_types(schema: pa.Schema, header: list[str], categorical: set[str]) -> bool:
    """Whether Arrow's parse gives the columns pandas would (numbers int64 / float64 / all
    empty, text only in categorical columns, the header's names unchanged)."""
    numeric = (pa.types.is_int64, pa.types.is_float64, pa.types.is_null)
    return schema.names == header and all(
        field.name in categorical or any(is_type(field.type) for is_type in numeric)
        for field in schema
    )


def raw_arrow_frame(arrow: pa.Table) -> pd.DataFrame:
    """A raw table parsed by Arrow as the frame pandas would read: all-empty columns float64
    NaN, text as Arrow-backed strings."""
    for i, field in enumerate(arrow.schema):
        if pa.types.is_null(field.type):
            arrow = arrow.set_column(i, field.name, arrow.column(i).cast(pa.float64()))
    return arrow_to_frame(arrow)


class RaggedRows(list):
    """An Arrow ``invalid_row_handler`` that skips each row with another number of fields than
    the header and keeps its field count (the list is the ragged rows seen)."""

    def __call__(self, row: Any) -> str:
        self.append(row.actual_columns)
        return "skip"


def _read_with_arrow(
    path: Path, header: list[str], categorical: set[str]
) -> tuple[pd.DataFrame | None, bool]:
    """The frame pandas would read (numbers int64 / float64, text as strings), or None; and
    whether a row had another number of fields than the header.

    None when Arrow cannot parse the file or gives a column another type than pandas would:
    a non-categorical column that is not all numbers (in the first block or after), or a
    header pandas renames.
    """
    ragged = RaggedRows()
    read, parse, convert = arrow_csv_options(header, categorical, ragged)
    try:  # block by block: the CSV text is not all in memory with the parsed table
        reader = pacsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
        arrow = reader.read_all()
    except (pa.ArrowInvalid, UnicodeDecodeError):  # e.g. text after a first block of numbers
        return None, bool(ragged)
    if ragged:
        return None, True
    if not keeps_arrow_types(arrow.schema, header, categorical):
        return None, False
    return raw_arrow_frame(arrow), False


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` to parquet, creating parent folders."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)


def require_output(path: Path | str) -> Path:
    """``path``, or FileNotFoundError naming it when an upstream stage has not written it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing (run the stage that writes it: `dvc repro`)")
    return path


def read_table(
    path: Path, arrow_strings: bool = False, columns: list[str] | None = None
) -> pd.DataFrame:
    """Read a parquet table written by :func:`write_table`.

    Args:
        path: the parquet file.
        arrow_strings: text columns as Arrow-backed strings (no Python object per cell, for
            tables of millions of rows) instead of the ``string`` dtype they were written with.
        columns: read only these columns (default: all).
    """
    path = require_output(path)
    if not arrow_strings:
        return pd.read_parquet(path, columns=columns)
    return arrow_to_frame(pq.read_table(path, columns=columns))


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as the frame the feature builders read: text as Arrow-backed strings,
    integers with missing values as float64 (``table`` is consumed: its buffers are freed as
    columns are converted)."""
    text = pd.StringDtype("pyarrow")
    return table.to_pandas(
        types_mapper={pa.string(): text, pa.large_string(): text}.get,
        split_blocks=True,
        self_destruct=True,
    )


def release_arrow_memory() -> None:
    """Give the pages of Arrow's memory pool that no table uses back to the system.

    Frames read from parquet live in Arrow's pool (mimalloc), which keeps freed pages: at Kaggle
    size the train stage held 1.7 GB more than it used after dropping the labelled frame.
    """
    pa.default_memory_pool().release_unused()


class ParquetTables(Mapping[str, pd.DataFrame]):
    """The tables of a folder of parquet files, each read when asked for and not kept.

    A caller that aggregates one table at a time and drops it holds one table in memory (text
    columns as Arrow strings, see :func:`read_table`).
    """

    def __init__(self, folder: Path, tables: Iterable[str]):
        self.folder = Path(folder)
        self.tables = tuple(tables)

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in self.tables:
            raise KeyError(table)
        release_arrow_memory()  # the tables read before and dropped since
        return read_table(self.folder / f"{table}.parquet", arrow_strings=True)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)


def file_sha256(path: Path, chunk_size: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()
