"""The tab *Traffic drift*: the latest drift report of the applications the API scored
(``GET /monitoring/traffic``), as ``credit-scoring-monitor`` last wrote it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from credit_scoring.ui import charts
from credit_scoring.ui.client import ApiError, ApiNotFound, CreditApiClient, UiSettings

CACHE_SECONDS = 60  # a scheduled monitor run replaces the report
CHART_COLUMNS = 20
DRIFTED_COLOR, STABLE_COLOR = "#c0392b", "#7f8c8d"
TABLE_LABELS = {
    "column": "Column",
    "stattest": "Test",
    "score": "Score",
    "threshold": "Threshold",
    "drifted": "Drifted",
    "severity": "Severity",
}


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def fetch_traffic_drift(settings: UiSettings) -> dict[str, Any]:
    """The latest traffic drift report (``GET /monitoring/traffic``)."""
    with CreditApiClient.from_settings(settings) as api:
        return api.traffic_drift()


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def fetch_report_html(settings: UiSettings, written_at: str) -> bytes:
    """Evidently's HTML of the report written at ``written_at`` (the cache key)."""
    with CreditApiClient.from_settings(settings) as api:
        return api.traffic_drift_report()


def severity_figure(columns: list[dict[str, Any]], top: int = CHART_COLUMNS) -> go.Figure:
    """The ``top`` most drifted columns as horizontal bars of their severity (log of how far
    the score is past its threshold: right of zero, drifted), the most drifted on top."""
    shown = [c for c in columns if c.get("severity") is not None][:top][::-1]
    figure = go.Figure(
        go.Bar(
            x=[c["severity"] for c in shown],
            y=[c["column"] for c in shown],
            orientation="h",
            marker_color=[DRIFTED_COLOR if c["drifted"] else STABLE_COLOR for c in shown],
            hovertemplate="%{y}: severity %{x:.2f}<extra></extra>",
        )
    )
    figure.add_vline(x=0, line_width=1, line_color="#34495e")
    figure.update_layout(
        height=max(240, 24 * len(shown) + 80),
        margin={"l": 10, "r": 10, "t": 30, "b": 30},
        xaxis_title="severity (past the threshold: drifted)",
        showlegend=False,
    )
    return figure


def columns_table(columns: list[dict[str, Any]]) -> pd.DataFrame:
    """The report's columns as a table with readable headers."""
    frame = pd.DataFrame(columns, columns=list(TABLE_LABELS))
    return frame.rename(columns=TABLE_LABELS)


def moment(text: Any) -> str:
    """A logged time to the second, in UTC (the log's times are UTC), or as given."""
    try:
        value = datetime.fromisoformat(str(text))
    except ValueError:
        return str(text)
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def window_caption(report: dict[str, Any]) -> str:
    """What the report covers: the decisions' span, the window asked for, the model versions."""
    window = report.get("window") or {}
    since, until = window.get("since"), window.get("until")
    versions = ", ".join(
        f"{'model folder' if version == 'none' else 'v' + str(version)} ({rows} rows)"
        for version, rows in (window.get("rows_per_model_version") or {}).items()
    )
    parts = [
        f"Decisions from {moment(window.get('first_decision'))} "
        f"to {moment(window.get('last_decision'))}",
        f"window since {moment(since) if since else 'the start'} "
        f"until {moment(until) if until else 'now'}",
        f"model: {versions or '?'}",
        f"report written {moment(report.get('written_at'))}",
    ]
    return " · ".join(parts)


def show_traffic_drift(settings: UiSettings) -> None:
    """The alert, the figures, the window and the columns of the latest report."""
    st.subheader("Drift of the applications scored")
    try:
        report = fetch_traffic_drift(settings)
    except ApiNotFound as error:
        st.info(f"No drift report of the traffic yet. {error}", icon=":material/info:")
        return
    except ApiError as error:
        st.error(str(error), icon=":material/error:")
        return
    metrics = report.get("metrics") or {}
    share = float(metrics.get("drift_share") or 0.0)
    drifted, tested = metrics.get("n_drifted_columns", 0), metrics.get("n_columns", 0)
    if metrics.get("alert"):
        st.warning(
            f"Alert: {drifted} of {tested} columns drifted ({charts.format_percent(share)}).",
            icon=":material/warning:",
        )
    else:
        st.success(
            f"No alert: {drifted} of {tested} columns drifted ({charts.format_percent(share)}).",
            icon=":material/check_circle:",
        )
    figures = st.columns(4)
    figures[0].metric("Applications", metrics.get("n_rows", "?"))
    figures[1].metric("Columns tested", tested)
    figures[2].metric("Drifted columns", drifted)
    figures[3].metric("Drift share", charts.format_percent(share))
    st.caption(window_caption(report))
    columns = report.get("columns") or []
    st.plotly_chart(severity_figure(columns), config={"displayModeBar": False})
    st.dataframe(columns_table(columns), hide_index=True)
    try:
        html = fetch_report_html(settings, str(report.get("written_at")))
    except ApiError as error:
        st.warning(f"The HTML report is not available: {error}", icon=":material/info:")
        return
    st.download_button(
        "Download the Evidently report (HTML)",
        data=html,
        file_name="traffic_report.html",
        mime="text/html",
    )
