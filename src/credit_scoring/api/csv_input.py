"""Applications uploaded as CSV (Kaggle application columns, one row per application).

Cells are read as text (UTF-8, comma-separated, a header row) and converted by the schema: an
empty cell is missing, a numeric column takes numbers only. Every row is then validated like a
JSON application; errors name the row (0-based, after the header) and the column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from credit_scoring.api.errors import invalid
from credit_scoring.api.schemas import APPLICATION_TABLE, PredictRequest
from credit_scoring.data import schema

LOC = ("body", "file")


def _cell(value: str | None, kind: str | None) -> Any:
    """A CSV cell as a JSON value: numbers for numeric columns (text kept if not a number)."""
    if value is None:
        return None
    if kind in (None, "category"):
        return value
    try:
        number = float(value)
    except ValueError:
        return value  # the model validation reports the wrong type, naming the column
    if kind == "int" and number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def read_csv(content: bytes, max_rows: int) -> list[dict[str, str | None]]:
    """Parse an uploaded CSV into one ``{column: text or None}`` dict per non-blank row.

    Raises:
        RequestValidationError: for a file that is not UTF-8 CSV with a header and rows of the
            header's width, or that holds no row or more than ``max_rows``.
    """
    try:
        lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig")), strict=True))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise invalid(LOC, f"malformed CSV: {exc}") from exc
    lines = [(number, line) for number, line in enumerate(lines, start=1) if any(line)]
    if not lines:
        raise invalid(LOC, "malformed CSV: empty file (a header row is needed)")
    (_, header), rows = lines[0], lines[1:]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated or "" in header:
        raise invalid(LOC, f"malformed CSV: empty or duplicated column names {duplicated}")
    for number, line in rows:
        if len(line) != len(header):
            raise invalid(
                LOC, f"malformed CSV: line {number} has {len(line)} fields, header {len(header)}"
            )
    if not rows:
        raise invalid(LOC, "the CSV holds no application row")
    if len(rows) > max_rows:
        raise invalid(LOC, f"too many rows: {len(rows)} > {max_rows} per batch")
    return [
        {k: (v if v != "" else None) for k, v in zip(header, line, strict=True)}
        for _, line in rows
    ]


def parse_applications_csv(content: bytes, max_rows: int) -> list[PredictRequest]:
    """Validated requests (history from the store) of the application rows of a CSV upload.

    Args:
        content: the uploaded file's bytes (UTF-8 CSV with a header row).
        max_rows: most rows accepted.

    Returns:
        One request per row, in file order.

    Raises:
        RequestValidationError: 422 listing every bad cell as ``body/file/<row>/<column>``.
    """
    kinds = schema.column_kinds(APPLICATION_TABLE)
    requests, errors = [], []
    for row, record in enumerate(read_csv(content, max_rows)):
        application = {k: _cell(v, kinds.get(k)) for k, v in record.items()}
        try:
            requests.append(PredictRequest.model_validate({"application": application}))
        except ValidationError as exc:
            for error in exc.errors():
                errors.append(error | {"loc": (*LOC, row, *error["loc"][1:])})
    if errors:
        raise RequestValidationError(errors)
    return requests
