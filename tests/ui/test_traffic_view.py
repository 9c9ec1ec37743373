"""The officer app's tab *Traffic drift*: the report the monitor wrote from a decision log filled
by real API calls, shown through the API (AppTest and headless Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st

from credit_scoring.monitoring import traffic
from credit_scoring.ui import charts
from credit_scoring.ui.client import CreditApiClient
from tests.conftest import post_csv, production_traffic, serve
from tests.ui.conftest import (
    API_KEY,
    ROOT,
    failure_evidence,
    run_app,
    save_screenshot,
    streamlit_app,
    texts,
    wait_idle,
)

SCREENSHOT = ROOT / "reports" / "screenshots" / "ui_traffic_drift.png"


@pytest.fixture(scope="module")
def monitored_api(tiny_project, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The API on the tiny run, its log filled with 250 production clients and the same clients
    with four amounts scaled up, and the monitor's report of that log where the API reads it:
    the API's URL and the report's folder."""
    folder = tmp_path_factory.mktemp("monitored-api")
    database_url = f"sqlite:///{folder / 'decisions.db'}"
    monitoring = folder / "monitoring"
    server = serve(tiny_project, folder, API_KEY, CREDIT_API_MONITORING_DIR=str(monitoring))
    try:
        for frame in production_traffic(tiny_project):
            post_csv(server.url, API_KEY, frame)
        with pytest.raises(SystemExit) as exited:  # the alert's exit status
            traffic.main(
                ["--repo", str(tiny_project.root), "--database-url", database_url]
                + ["--output", str(monitoring), "--alert-share", "0.02"]
            )
        assert exited.value.code == traffic.ALERT_EXIT_CODE
        yield server.url, monitoring
    finally:
        server.stop()


@pytest.fixture
def served_report(monitored_api) -> dict:
    with CreditApiClient(monitored_api[0], api_key=API_KEY) as api:
        return api.traffic_drift()


def drift_tab(app):
    return next(tab for tab in app.tabs if tab.label == "Traffic drift")


@pytest.mark.slow
def test_the_tab_shows_the_report_the_api_serves(monkeypatch, monitored_api, served_report):
    st.cache_data.clear()
    app = run_app(monkeypatch, monitored_api[0])
    assert not app.exception and not app.error
    tab = drift_tab(app)
    metrics = served_report["metrics"]
    assert metrics["alert"] == 1
    alert = texts(tab.warning)
    share = charts.format_percent(metrics["drift_share"])
    expected = f"{metrics['n_drifted_columns']} of {metrics['n_columns']} columns drifted"
    assert "Alert" in alert and expected in alert and share in alert
    shown = {metric.label: metric.value for metric in tab.metric}
    assert shown["Applications"] == str(metrics["n_rows"]) == "500"
    assert shown["Drifted columns"] == str(metrics["n_drifted_columns"])
    [table] = tab.dataframe
    columns = [column["column"] for column in served_report["columns"]]
    assert table.value["Column"].tolist() == columns
    severity = table.value["Severity"].dropna()
    assert severity.is_monotonic_decreasing and severity.iloc[0] > 0  # the most drifted first
    assert len(tab.get("plotly_chart")) == 1
    caption = texts(tab.caption)
    assert "model: model folder (500 rows)" in caption and "window since the start" in caption


@pytest.mark.slow
def test_without_a_report_the_tab_says_how_to_write_one(monkeypatch, monitored_api):
    url, monitoring = monitored_api
    hidden = monitoring.with_name("monitoring-hidden")
    monitoring.rename(hidden)
    try:
        st.cache_data.clear()
        app = run_app(monkeypatch, url)
    finally:
        hidden.rename(monitoring)
    assert not app.exception and not app.error
    info = texts(drift_tab(app).info)
    assert "No drift report of the traffic yet" in info and "credit-scoring-monitor" in info


@pytest.mark.slow
def test_screenshot_of_the_traffic_drift(browser, monitored_api, served_report, tmp_path):
    top = served_report["columns"][0]["column"]
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    with streamlit_app(monitored_api[0], tmp_path) as url, failure_evidence(page, tmp_path):
        page.goto(url)
        page.get_by_role("tab", name="Traffic drift").click()
        page.get_by_text("Drift of the applications scored").wait_for(timeout=60_000)
        page.get_by_text("Alert:").wait_for(timeout=60_000)
        page.get_by_role("button", name="Download the Evidently report (HTML)").wait_for()
        wait_idle(page)
        page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot')].some(p => p.offsetParent)"
        )
        assert page.get_by_text(top).first.is_visible()
        save_screenshot(page, tmp_path, SCREENSHOT)
