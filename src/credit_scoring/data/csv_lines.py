"""Line-level reading of raw CSVs (plain or gzip): the header, and the lines that break a file
(a cut or ragged row, bytes that are not UTF-8), to name them in errors."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path
from typing import TextIO

from credit_scoring.data.errors import DataError

BAD_LINES_SHOWN = 3


class RawDataError(DataError):
    """A raw input file is missing, unreadable or malformed."""


def open_text(path: Path) -> TextIO:
    """The CSV (plain or gzip) as UTF-8 text, newlines kept for the csv module."""
    if str(path).endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115 - returned to the caller


def read_header(path: Path) -> list[str]:
    """The column names of the first line.

    Raises:
        RawDataError: an empty file, or a first line that is not UTF-8 text.
    """
    try:
        with open_text(path) as handle:
            header = next(csv.reader(handle), None)
    except (UnicodeDecodeError, csv.Error, OSError, EOFError) as exc:
        raise RawDataError(f"{path}: line 1: unreadable header: {exc}") from exc
    if not header or not any(name.strip() for name in header):
        raise RawDataError(f"{path}: empty file: a header line with the column names is needed")
    return header


def cut_line(path: Path) -> int | None:
    """The number of the last line of a plain CSV that does not end with a newline, else None
    (gzip files are not checked: a cut gzip stream fails to decompress)."""
    if str(path).endswith(".gz"):
        return None
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        if handle.tell() == 0:
            return None
        handle.seek(-1, 2)
        if handle.read(1) in (b"\n", b"\r"):
            return None
        handle.seek(0)
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b"")) + 1


def bad_lines(path: Path, n_fields: int, limit: int = BAD_LINES_SHOWN) -> list[str]:
    """``line N: ...`` for the first rows that do not hold ``n_fields`` fields or are not UTF-8.

    Blank lines are skipped (the CSV readers skip them too). Reads the whole file: call it when
    a file failed to parse, to say where.
    """
    problems: list[str] = []
    try:
        with open_text(path) as handle:
            reader = csv.reader(handle)
            next(reader, None)
            for record in reader:
                if record and len(record) != n_fields:
                    problems.append(
                        f"line {reader.line_num}: {len(record)} fields instead of {n_fields} "
                        "(a cut or ragged row)"
                    )
                    if len(problems) >= limit:
                        break
    except csv.Error as exc:
        problems.append(f"line {reader.line_num}: {exc}")
    except (EOFError, OSError) as exc:  # a cut gzip stream
        problems.append(f"after line {reader.line_num}: {exc}")
    except UnicodeDecodeError:
        problems.append(_first_undecodable_line(path))
    return problems


def _first_undecodable_line(path: Path) -> str:
    """``line N: not UTF-8 text (byte 0x..)`` of the first line that does not decode."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                return f"line {number}: not UTF-8 text (byte 0x{line[exc.start]:02x})"
    return "not UTF-8 text"
