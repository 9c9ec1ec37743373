"""Drift of the applications the API actually scored, read from its decision log.

The applications logged in a time window are Evidently's current data and the training
applications its reference, with the drift stage's columns, tests and settings (``drift`` in
params.yaml); the figures of the drift stage (application_test) are printed beside them.

``credit-scoring-monitor --database-url sqlite:///decisions.db --since 2026-12-01T00:00``
writes to ``reports/monitoring/``: ``traffic_report.html`` (Evidently), ``traffic_columns.csv``
(per-column scores), ``traffic_metrics.json`` (flat, with ``alert``: the share of drifted columns
reached ``drift.alert_share``) and ``traffic_window.json`` (window, rows, model versions).
The command exits with status 3 when the alert is raised, so a scheduler can act on it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import make_url

from credit_scoring.api.decision_log import read_applications
from credit_scoring.cli import write_json
from credit_scoring.config import DriftConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.monitoring.drift import compare, summary_line
from credit_scoring.monitoring.traffic_files import COLUMNS, METRICS, REPORT, WINDOW

ALERT_EXIT_CODE = 3
METADATA = ("created_at", "model_version")


class TooFewRowsError(ValueError):
    """The window holds too few logged applications for a drift test to mean anything."""


@dataclass(frozen=True)
class Window:
    """Decisions taken at or after ``since`` and before ``until`` (UTC; None: open)."""

    since: datetime | None
    until: datetime | None

    def describe(self) -> str:
        def moment(value: datetime | None) -> str:
            return "open" if value is None else value.isoformat()

        return f"[{moment(self.since)}, {moment(self.until)})"


def require_rows(logged: pd.DataFrame, min_rows: int) -> None:
    """Refuse a window too small for a drift test to mean anything.

    Raises:
        TooFewRowsError: when ``logged`` holds fewer than ``min_rows`` applications.
    """
    if len(logged) < min_rows:
        raise TooFewRowsError(
            f"{len(logged)} logged application(s) in the window, fewer than the {min_rows} "
            "a drift test needs: widen the window or lower --min-rows"
        )


def traffic_drift(
    reference: pd.DataFrame,
    logged: pd.DataFrame,
    excluded: set[str],
    config: DriftConfig,
    output: Path,
) -> dict[str, float | int]:
    """Drift of the logged applications against the reference; files written to ``output``.

    Args:
        reference: the training applications (ingested application_train).
        logged: applications read from the decision log (:func:`read_applications`).
        excluded: columns never compared (client id, target).
        config: the drift stage's settings.
        output: folder of ``traffic_report.html``, ``traffic_columns.csv``.

    Returns:
        The flat metrics of :func:`credit_scoring.monitoring.drift.drift_metrics` plus ``n_rows``.
    """
    metrics = compare(
        reference,
        logged.drop(columns=list(METADATA)),
        excluded,
        config,
        html=output / REPORT,
        table=output / COLUMNS,
    )
    return dict(sorted((metrics | {"n_rows": len(logged)}).items()))


def window_record(logged: pd.DataFrame, window: Window, database_url: str) -> dict[str, Any]:
    """What the report covers: the log (its URL without password), the window asked for, the
    first and last decision, the rows per model version."""
    times = logged["created_at"]
    return {
        "database_url": make_url(database_url).render_as_string(hide_password=True),
        "since": None if window.since is None else window.since.isoformat(),
        "until": None if window.until is None else window.until.isoformat(),
        "first_decision": str(times.min()) if len(times) else None,
        "last_decision": str(times.max()) if len(times) else None,
        "rows": len(logged),
        "rows_per_model_version": {  # "none": served from a model folder, not the registry
            str(version): int(count)
            for version, count in logged["model_version"]
            .fillna("none")
            .value_counts()
            .sort_index()
            .items()
        },
    }


def side_by_side(test: dict[str, Any] | None, traffic: dict[str, Any]) -> str:
    """The drift figures of application_test (drift stage) and of the traffic, as a table."""
    keys = ["n_rows", "n_columns", "n_drifted_columns", "drift_share", "dataset_drift", "alert"]
    rows = [f"{'':<18}{'application_test':>18}{'traffic':>12}"]
    for key in keys:
        before = "-" if test is None or key not in test else test[key]
        rows.append(f"{key:<18}{before!s:>18}{traffic.get(key, '-')!s:>12}")
    return "\n".join(rows)


def parse_moment(text: str) -> datetime:
    """An ISO 8601 date or time (no zone: UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 date or time: {text!r}") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def window_from(args: argparse.Namespace) -> Window:
    """The window of the command line (``--last-hours`` counts back from ``--until`` or now)."""
    if args.last_hours is not None:
        if args.since is not None:
            raise SystemExit("error: give --since or --last-hours, not both")
        until = args.until or datetime.now(UTC)
        return Window(until - timedelta(hours=args.last_hours), until)
    return Window(args.since, args.until)


def main(argv: list[str] | None = None) -> None:
    """CLI: drift report of the logged applications of a window (exit 3 on alert)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="sqlite:///decisions.db")
    parser.add_argument("--since", type=parse_moment, help="ISO date or time (UTC when no zone)")
    parser.add_argument("--until", type=parse_moment, help="ISO date or time, excluded")
    parser.add_argument("--last-hours", type=float, help="the window's length back from --until")
    parser.add_argument("--repo", type=Path, default=Path("."), help="project folder")
    parser.add_argument("--output", type=Path, help="default: REPO/reports/monitoring")
    parser.add_argument("--min-rows", type=int, default=50)
    parser.add_argument("--alert-share", type=float, help="default: drift.alert_share")
    args = parser.parse_args(argv)
    window = window_from(args)

    params = load_params(args.repo / "params.yaml")
    config = DriftConfig(**params["drift"])
    if args.alert_share is not None:
        config = replace(config, alert_share=args.alert_share)
    excluded = {params["base"]["id_column"], params["base"]["target"]}
    reports = args.repo / params["paths"]["reports_dir"]
    output = args.output or reports / "monitoring"
    logged = read_applications(args.database_url, window.since, window.until)
    print(f"{len(logged)} logged application(s) in {window.describe()}")
    try:
        require_rows(logged, args.min_rows)  # before reading the (large) training table
    except TooFewRowsError as exc:
        raise SystemExit(f"error: {exc}") from None
    interim = args.repo / params["paths"]["interim_dir"]
    reference = read_table(interim / "application_train.parquet")
    metrics = traffic_drift(reference, logged, excluded, config, output)
    write_json(metrics, output / METRICS)
    write_json(window_record(logged, window, args.database_url), output / WINDOW)
    test_metrics = reports / "drift_metrics.json"
    test = json.loads(test_metrics.read_text()) if test_metrics.is_file() else None
    print(f"traffic drift: {summary_line(metrics)}")
    print(side_by_side(test, metrics))
    print(f"written {output}")
    if metrics["alert"]:
        print(
            f"ALERT: {metrics['drift_share']:.1%} of the columns drifted "
            f"(alert at {config.alert_share:.0%})",
            file=sys.stderr,
        )
        sys.exit(ALERT_EXIT_CODE)


if __name__ == "__main__":
    main()
