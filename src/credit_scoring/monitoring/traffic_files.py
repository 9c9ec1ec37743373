"""The files ``credit-scoring-monitor`` writes for a window of logged traffic, read back.

The API serves them (``GET /monitoring/traffic``, ``/monitoring/traffic/report``) and the officer
app shows them; reading them takes the standard library only, so a worker imports neither pandas'
readers nor Evidently for it.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPORT = "traffic_report.html"  # Evidently's report
COLUMNS = "traffic_columns.csv"  # one row per tested column
METRICS = "traffic_metrics.json"  # flat figures, ``alert`` among them
WINDOW = "traffic_window.json"  # what the report covers
COLUMN_FIELDS = ("column", "stattest", "score", "threshold", "drifted", "severity")
PRIVATE_WINDOW_FIELDS = ("database_url",)  # never served: it may hold credentials


class NoTrafficReportError(FileNotFoundError):
    """No complete traffic drift report in the folder (the monitor never wrote one there)."""


class UnreadableTrafficReportError(ValueError):
    """A file of the traffic drift report is not what the monitor writes."""


def require_files(folder: Path, *names: str) -> None:
    """Raise :class:`NoTrafficReportError`, saying how to write the report, when one of
    ``names`` is missing from ``folder``."""
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise NoTrafficReportError(
            f"no traffic drift report in {folder} ({', '.join(missing)} missing): write one "
            f"with credit-scoring-monitor --database-url <decision log> --output {folder}"
        )


def read_traffic_drift(folder: Path) -> dict[str, Any]:
    """The latest traffic drift report in ``folder``.

    Returns:
        ``written_at`` (UTC, when the metrics were written), ``metrics`` (as written),
        ``window`` (without the database URL) and ``columns`` (column, stattest, score,
        threshold, drifted, severity: the most drifted first).

    Raises:
        NoTrafficReportError: a file is missing.
        UnreadableTrafficReportError: a file is not what the monitor writes (which and why).
    """
    require_files(folder, METRICS, WINDOW, COLUMNS)
    metrics = _json_object(folder / METRICS)
    window = _json_object(folder / WINDOW)
    for field in PRIVATE_WINDOW_FIELDS:
        window.pop(field, None)
    written = (folder / METRICS).stat().st_mtime
    return {
        "written_at": datetime.fromtimestamp(written, UTC).isoformat(),
        "metrics": metrics,
        "window": window,
        "columns": _columns(folder / COLUMNS),
    }


def _json_object(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnreadableTrafficReportError(f"{path}: {exc}") from exc
    if not isinstance(value, dict):
        raise UnreadableTrafficReportError(f"{path}: a JSON object expected")
    return value


def _columns(path: Path) -> list[dict[str, Any]]:
    """The per-column rows, the most drifted first (those without a severity last)."""
    columns = []
    try:
        with path.open(encoding="utf-8", newline="") as file:
            reader = csv.DictReader(file)
            missing = [field for field in COLUMN_FIELDS if field not in (reader.fieldnames or ())]
            if missing:
                raise UnreadableTrafficReportError(f"{path}: no {missing} column(s)")
            for line, row in enumerate(reader, start=2):
                try:
                    columns.append(_column(row))
                except (TypeError, ValueError) as exc:
                    raise UnreadableTrafficReportError(f"{path}, line {line}: {exc}") from exc
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableTrafficReportError(f"{path}: {exc}") from exc
    return sorted(columns, key=lambda c: (c["severity"] is None, -(c["severity"] or 0.0)))


def _column(row: dict[str, str]) -> dict[str, Any]:
    if row.get("drifted") not in ("True", "False"):
        raise ValueError(f"column {row.get('column')!r}: drifted is {row.get('drifted')!r}")
    return {
        "column": row["column"],
        "stattest": row["stattest"],
        "score": _number(row["score"]),
        "threshold": _number(row["threshold"]),
        "drifted": row["drifted"] == "True",
        "severity": _number(row["severity"]),
    }


def _number(text: str) -> float | None:
    """A finite number, or None (empty, NaN or infinite: not JSON)."""
    value = float(text) if text else math.nan
    return value if math.isfinite(value) else None
