"""The traffic drift report read back as the API serves it: figures, window without the
database URL, columns the most drifted first; a missing or broken file named in the error."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from credit_scoring.monitoring.traffic import Window, window_record
from credit_scoring.monitoring.traffic_files import (
    COLUMNS,
    METRICS,
    WINDOW,
    NoTrafficReportError,
    UnreadableTrafficReportError,
    read_traffic_drift,
)

HEADER = "column,stattest,score,threshold,drifted,severity\n"
ROWS = (
    "AMT_CREDIT,Wasserstein distance (normed),0.157719,0.1,True,0.455648\n"
    "FLAG_MOBIL,Z-test p_value,1,0.05,False,\n"
    "AMT_INCOME_TOTAL,Wasserstein distance (normed),0.48095,0.1,True,1.57059\n"
    "CNT_CHILDREN,chi-square p_value,0.8,0.05,False,-2.77259\n"
)
METRICS_JSON = {"alert": 1, "drift_share": 0.5, "n_columns": 4, "n_drifted_columns": 2}


def write_report(folder: Path, columns: str = HEADER + ROWS) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / METRICS).write_text(json.dumps(METRICS_JSON))
    window = {"database_url": "sqlite:///decisions.db", "rows": 250, "since": None}
    (folder / WINDOW).write_text(json.dumps(window))
    (folder / COLUMNS).write_text(columns)
    return folder


def test_the_report_is_read_back_most_drifted_first(tmp_path):
    report = read_traffic_drift(write_report(tmp_path / "monitoring"))
    assert report["metrics"] == METRICS_JSON
    assert report["window"] == {"rows": 250, "since": None}  # no database URL
    assert [c["column"] for c in report["columns"]] == [
        "AMT_INCOME_TOTAL", "AMT_CREDIT", "CNT_CHILDREN", "FLAG_MOBIL"
    ]  # fmt: skip
    income = report["columns"][0]
    assert income == {
        "column": "AMT_INCOME_TOTAL",
        "stattest": "Wasserstein distance (normed)",
        "score": 0.48095,
        "threshold": 0.1,
        "drifted": True,
        "severity": 1.57059,
    }
    assert report["columns"][-1]["severity"] is None
    assert datetime.fromisoformat(report["written_at"]).tzinfo is not None


def test_a_missing_report_says_which_files_and_how_to_write_them(tmp_path):
    with pytest.raises(NoTrafficReportError, match="credit-scoring-monitor") as raised:
        read_traffic_drift(tmp_path / "never-written")
    assert all(name in str(raised.value) for name in (METRICS, WINDOW, COLUMNS))
    folder = write_report(tmp_path / "partial")
    (folder / WINDOW).unlink()
    with pytest.raises(NoTrafficReportError, match=WINDOW):
        read_traffic_drift(folder)


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        (METRICS, "{not json", METRICS),
        (METRICS, "[1, 2]", "a JSON object expected"),
        (COLUMNS, "column,stattest,score\nA,t,0.1\n", r"no \['threshold', 'drifted', 'sev"),
        (COLUMNS, HEADER + "A,t,high,0.1,True,1.0\n", "line 2"),
        (COLUMNS, HEADER + "A,t,0.1,0.1,yes,1.0\n", "drifted is 'yes'"),
    ],
    ids=["bad json", "not an object", "missing column", "bad number", "bad verdict"],
)
def test_a_broken_file_is_named_with_what_is_wrong(tmp_path, name, text, words):
    folder = write_report(tmp_path / "monitoring")
    (folder / name).write_text(text)
    with pytest.raises(UnreadableTrafficReportError, match=words) as raised:
        read_traffic_drift(folder)
    assert name in str(raised.value)


def test_the_window_record_keeps_no_password():
    logged = pd.DataFrame(
        {"created_at": pd.to_datetime(["2026-12-01T08:00Z"]), "model_version": ["3"]}
    )
    url = "postgresql://scorer:s3cret@db.internal:5432/decisions"
    record = window_record(logged, Window(datetime(2026, 12, 1, tzinfo=UTC), None), url)
    assert "s3cret" not in json.dumps(record)
    assert record["database_url"] == "postgresql://scorer:***@db.internal:5432/decisions"
    assert record["rows_per_model_version"] == {"3": 1}
