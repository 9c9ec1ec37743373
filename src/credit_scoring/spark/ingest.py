"""The ingest stage's Spark engine: the raw CSVs parsed by Spark tasks, the same tables.

The single-machine reader (:func:`credit_scoring.data.io.read_raw_table`) parses a file with
Arrow, its column types inferred from the first block, and falls back to pandas' parser (or to
an error naming the lines) when the file is not clean. This engine asks Arrow for the same
first-block types on the driver, then Spark tasks parse line-aligned byte ranges of the file
(a gzip file is one range) with those types and the same options, and the driver joins the
ranges in file order into the frame that reader returns. Any range that does not parse cleanly
(a ragged row, bytes that are not UTF-8, a value of another type than the first block's) sends
the whole file to the single-machine reader, so a broken file gets the same findings. The
rest of the ingest (structure check, validation rules, manifest, links, reports) is the same
code for both engines (:func:`credit_scoring.data.ingest.run_ingest` with this reader).

The raw folder must be readable from the driver and every executor (a local folder in local
mode, a shared mount on a cluster).
"""

from __future__ import annotations

import gzip
import io
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from credit_scoring.data import schema
from credit_scoring.data.csv_lines import read_header
from credit_scoring.data.io import (
    RaggedRows,
    arrow_csv_options,
    keeps_arrow_types,
    raw_arrow_frame,
    read_raw_table,
)

logger = logging.getLogger(__name__)

RANGE_BYTES = 32 << 20  # bytes of a plain CSV per Spark task

Range = tuple[int, int]


def first_block_schema(path: Path, header: list[str], categorical: set[str]) -> pa.Schema | None:
    """The column types the single-machine reader keeps (Arrow's, from the first block), or
    None when that reader would not keep Arrow's parse of this file."""
    read, parse, convert = arrow_csv_options(header, categorical, lambda row: "skip")
    try:
        reader = pacsv.open_csv(
            path, read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError):
        return None
    return reader.schema if keeps_arrow_types(reader.schema, header, categorical) else None


def byte_ranges(path: Path, range_bytes: int = RANGE_BYTES) -> list[Range]:
    """The data bytes of ``path`` (after the header line) cut into ranges of ``range_bytes``;
    a gzip file is one range ``(0, -1)``. A line belongs to the range holding its first byte."""
    if str(path).endswith(".gz"):
        return [(0, -1)]
    with open(path, "rb") as handle:
        data_start = len(handle.readline())
        size = handle.seek(0, io.SEEK_END)
    return [(s, min(s + range_bytes, size)) for s in range(data_start, size, range_bytes)]


def range_lines(path: Path, data_range: Range) -> bytes:
    """The whole lines whose first byte lies in ``data_range`` (the data of a gzip file)."""
    start, end = data_range
    if end < 0:
        with gzip.open(path, "rb") as handle:
            handle.readline()  # the header
            return handle.read()
    with open(path, "rb") as handle:
        handle.seek(start - 1)
        if handle.read(1) != b"\n":  # inside a line that began in the previous range
            handle.readline()
        position = handle.tell()
        if position >= end:
            return b""
        data = handle.read(end - position)
        if not data.endswith(b"\n"):
            data += handle.readline()  # the last line ends after the range
        return data


def parse_range(
    path: Path, data_range: Range, header: list[str], types: pa.Schema
) -> tuple[bytes | None, str]:
    """One Spark task: the range's lines parsed with ``types`` and the reader's options, as
    Arrow IPC bytes; ``(None, why)`` when they do not parse cleanly."""
    ragged = RaggedRows()
    read, parse, convert = arrow_csv_options(header, set(), ragged)
    read.column_names = header
    convert.column_types = {field.name: field.type for field in types}
    try:
        table = pacsv.read_csv(
            io.BytesIO(range_lines(path, data_range)),
            read_options=read,
            parse_options=parse,
            convert_options=convert,
        )
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError) as exc:
        return None, str(exc)
    if ragged:
        return None, f"{len(ragged)} row(s) with another number of fields than the header"
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes(), ""


def spark_read_raw_table(
    spark: Any, path: Path, table: str, range_bytes: int = RANGE_BYTES
) -> pd.DataFrame:
    """:func:`~credit_scoring.data.io.read_raw_table` with the parsing done by Spark tasks
    (ranges of ``range_bytes``): the same frame, or that reader's own result (or error) for a
    file that is not clean."""
    start = time.perf_counter()
    header = read_header(path)
    categorical = set(schema.categorical_columns(table))
    types = first_block_schema(path, header, categorical)
    ranges = byte_ranges(path, range_bytes) if types is not None else []
    if not ranges:  # not clean from its first block on, or no data row: the local reader
        return read_raw_table(path, table)
    parsed = (
        spark.sparkContext.parallelize(ranges, len(ranges))
        .map(lambda data_range: parse_range(path, data_range, header, types))
        .collect()
    )
    problems = [why for payload, why in parsed if payload is None]
    if problems:
        logger.info("%s: not clean (%s); read by the single-machine reader", path, problems[0])
        return read_raw_table(path, table)
    arrow = pa.concat_tables(pa.ipc.open_stream(payload).read_all() for payload, _ in parsed)
    frame = raw_arrow_frame(arrow)
    logger.info(
        "read %s with Spark: %d rows x %d columns, %d range(s), %.1f s",
        path, len(frame), frame.shape[1], len(ranges), time.perf_counter() - start,
    )  # fmt: skip
    return frame


def spark_reader(
    spark: Any, range_bytes: int = RANGE_BYTES
) -> Callable[[Path, str], pd.DataFrame]:
    """The ingest's table reader on ``spark`` (see :func:`spark_read_raw_table`)."""
    return lambda path, table: spark_read_raw_table(spark, path, table, range_bytes)
