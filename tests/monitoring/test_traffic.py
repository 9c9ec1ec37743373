"""Drift of real traffic: a decision log filled by real API calls, read back by time window."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pandas as pd
import pytest

from credit_scoring.api.decision_log import DecisionLog, DecisionRecord, read_decisions
from credit_scoring.monitoring import traffic
from credit_scoring.monitoring.traffic import ALERT_EXIT_CODE
from tests.conftest import SHIFTED_AMOUNTS, post_csv, production_traffic, serve

API_KEY = "monitor-key"
KEY_HEADER = {"X-API-Key": API_KEY}
SHIFTED = SHIFTED_AMOUNTS


def record(request_id: str, created_at: datetime) -> DecisionRecord:
    return DecisionRecord(
        request_id, created_at, 1, "h", 0.2, "granted", 0.1, "m", "3", "none", 1.0, "{}"
    )


def test_the_log_is_read_by_window_whatever_the_time_zone(tmp_path):
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    log = DecisionLog(url)
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    log.record([record(f"r{hour}", start + timedelta(hours=hour)) for hour in range(5)])
    log.close()

    def ids(since, until) -> list[str]:
        return read_decisions(url, since, until)["request_id"].tolist()

    assert ids(None, None) == ["r0", "r1", "r2", "r3", "r4"]
    assert ids(start + timedelta(hours=1), start + timedelta(hours=3)) == ["r1", "r2"]
    assert ids(datetime(2026, 12, 1, 10, 0), None) == ["r2", "r3", "r4"]  # naive: UTC
    paris = timezone(timedelta(hours=1))
    assert ids(None, datetime(2026, 12, 1, 12, 0, tzinfo=paris)) == ["r0", "r1", "r2"]


def served_report(url: str) -> httpx.Response:
    """``GET /monitoring/traffic`` of the API at ``url``."""
    return httpx.get(f"{url}/monitoring/traffic", headers=KEY_HEADER, timeout=30)


@dataclass
class Outcome:
    """Exit status and output of one in-process run of the command."""

    returncode: int
    stdout: str
    stderr: str


def monitor(capsys, repo: Path, database_url: str, *args: str) -> Outcome:
    """Run ``credit-scoring-monitor`` in process (SystemExit turned into a status)."""
    capsys.readouterr()
    code = 0
    try:
        traffic.main(["--repo", str(repo), "--database-url", database_url, *args])
    except SystemExit as exit_:
        code, message = (exit_.code, "") if isinstance(exit_.code, int) else (1, exit_.code)
    else:
        message = ""
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err + str(message))


@pytest.mark.slow
def test_drift_of_logged_traffic_by_window(tiny_project, tmp_path, capsys):
    production, shifted = production_traffic(tiny_project)

    # The API serves the report the monitor writes in tmp_path/drifted (none yet).
    monitoring = {"CREDIT_API_MONITORING_DIR": str(tmp_path / "drifted")}
    server = serve(tiny_project, tmp_path / "api", API_KEY, **monitoring)
    try:
        none_yet = served_report(server.url)
        before = datetime.now(UTC)
        post_csv(server.url, API_KEY, production)
        time.sleep(0.05)
        middle = datetime.now(UTC)
        post_csv(server.url, API_KEY, shifted)
        after = datetime.now(UTC) + timedelta(seconds=1)
        database_url = f"sqlite:///{tmp_path / 'api' / 'decisions.db'}"

        def window(since: datetime, until: datetime, output: Path, *extra: str):
            args = ["--since", since.isoformat(), "--until", until.isoformat(), *extra]
            return monitor(capsys, tiny_project.root, database_url, *args, "--output", str(output))

        same = window(before, middle, tmp_path / "same")
        assert same.returncode == 0, same.stderr
        assert "application_test" in same.stdout and "traffic" in same.stdout
        # At an alert level of 2% of the columns, the shifted window raises the alert: exit 3.
        drifted = window(middle, after, tmp_path / "drifted", "--alert-share", "0.02")
        assert drifted.returncode == ALERT_EXIT_CODE, drifted.stderr
        assert "ALERT" in drifted.stderr
        served = served_report(server.url)
        html = httpx.get(f"{server.url}/monitoring/traffic/report", headers=KEY_HEADER)
    finally:
        server.stop()
    assert none_yet.status_code == 404
    assert "credit-scoring-monitor" in none_yet.json()["detail"]

    def columns(output: Path) -> pd.DataFrame:
        return pd.read_csv(output / "traffic_columns.csv").set_index("column")

    for output in (tmp_path / "same", tmp_path / "drifted"):
        metrics = json.loads((output / "traffic_metrics.json").read_text())
        assert metrics["n_rows"] == len(production)
        assert set(metrics) == {
            "alert", "dataset_drift", "drift_share", "n_columns", "n_drifted_columns", "n_rows"
        }  # fmt: skip
        assert metrics["n_columns"] == len(columns(output)) > 100
        window_record = json.loads((output / "traffic_window.json").read_text())
        assert window_record["rows"] == len(production)
        assert sum(window_record["rows_per_model_version"].values()) == len(production)
        assert (output / "traffic_report.html").stat().st_size > 100_000
    # Same rows but the four amounts: those drift far more, every other column scores the same.
    same_columns, drifted_columns = columns(tmp_path / "same"), columns(tmp_path / "drifted")
    shifted_scores = drifted_columns.loc[list(SHIFTED), "score"]
    assert (shifted_scores > 5 * same_columns.loc[list(SHIFTED), "score"]).all()
    assert drifted_columns.loc[list(SHIFTED), "drifted"].all()
    others = same_columns.index.difference(list(SHIFTED))
    pd.testing.assert_frame_equal(drifted_columns.loc[others], same_columns.loc[others])
    # The alert level is params.yaml's drift.alert_share (0.2) unless given.
    same_metrics = json.loads((tmp_path / "same" / "traffic_metrics.json").read_text())
    assert same_metrics["drift_share"] < 0.2 and same_metrics["alert"] == 0
    assert json.loads((tmp_path / "drifted" / "traffic_metrics.json").read_text())["alert"] == 1

    # Over HTTP, the API serves what the monitor wrote: the same figures and columns, the most
    # drifted first, the window without the database URL, the same HTML.
    assert served.status_code == 200, served.text
    report = served.json()
    drifted_output = tmp_path / "drifted"
    assert report["metrics"] == json.loads((drifted_output / "traffic_metrics.json").read_text())
    assert report["metrics"]["alert"] == 1
    written_window = json.loads((drifted_output / "traffic_window.json").read_text())
    assert written_window["database_url"] == database_url
    assert report["window"] == {k: v for k, v in written_window.items() if k != "database_url"}
    served_columns = pd.DataFrame(report["columns"]).set_index("column")
    assert set(served_columns.index) == set(drifted_columns.index)
    assert served_columns.index[0] in SHIFTED
    severity = served_columns["severity"]
    assert severity.dropna().is_monotonic_decreasing
    assert not severity.isna().iloc[: severity.notna().sum()].any()  # unknown ones last
    pd.testing.assert_series_equal(
        served_columns["score"], drifted_columns.loc[served_columns.index, "score"]
    )
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert html.content == (drifted_output / "traffic_report.html").read_bytes()

    empty = window(after, after + timedelta(hours=1), tmp_path / "empty")
    assert empty.returncode != 0
    assert "0 logged application(s) in the window" in empty.stderr
    assert not (tmp_path / "empty").exists()
