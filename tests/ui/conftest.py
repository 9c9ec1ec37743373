"""What the officer app's tests share: running the script (AppTest), serving it (streamlit run)
and driving it in headless Chromium."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from credit_scoring.api.launch import free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "src" / "credit_scoring" / "ui" / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CONTENT = '[data-testid="stMainBlockContainer"]'
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
API_KEY = "ui-test-key"


def run_app(monkeypatch, url: str, key: str | None = API_KEY, officer_key: str | None = None):
    """The app script, run once with the API at ``url``."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CREDIT_UI_API_URL", url)
    if officer_key is None:
        monkeypatch.delenv("CREDIT_UI_OFFICER_KEY", raising=False)
    else:
        monkeypatch.setenv("CREDIT_UI_OFFICER_KEY", officer_key)
    if key is None:
        monkeypatch.delenv("CREDIT_UI_API_KEY", raising=False)
    else:
        monkeypatch.setenv("CREDIT_UI_API_KEY", key)
    app = AppTest.from_file(str(APP), default_timeout=180)
    return app.run()


def texts(elements) -> str:
    return "\n".join(str(element.value) for element in elements)


@contextmanager
def streamlit_app(api_url: str, folder: Path) -> Iterator[str]:
    """``streamlit run`` of the app against the API at ``api_url``; its URL (log in
    ``folder/streamlit.log``)."""
    port = free_port()
    env = dict(os.environ, CREDIT_UI_API_URL=api_url, CREDIT_UI_API_KEY=API_KEY)
    env.update(STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    log = folder / "streamlit.log"
    server = start_server(command, port, env, ROOT, log, "/_stcore/health", timeout=60)
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def browser():
    if not CHROMIUM.is_file():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ]
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            yield chromium
        finally:
            chromium.close()


def wait_idle(page, timeout: float = 60_000) -> None:
    """Wait until the Streamlit script has finished its run."""
    page.locator(IDLE).wait_for(timeout=timeout)


@contextmanager
def failure_evidence(page, tmp_path: Path) -> Iterator[None]:
    """On any failure in the block: a full-page shot and the app's log in the error."""
    try:
        yield
    except Exception as error:
        page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
        log = (tmp_path / "streamlit.log").read_text()[-3000:]
        raise AssertionError(f"{error}\nscreenshot: {tmp_path / 'failure.png'}\n{log}") from error


def save_screenshot(page, tmp_path: Path, target: Path) -> None:
    """Grow the window to the content (Streamlit scrolls inside its main block), then shoot the
    whole page; the committed ``target`` is replaced only with CREDIT_UPDATE_SCREENSHOTS=1
    (``make screenshots``), so a test run leaves the working tree as it was."""
    height = page.evaluate(f"document.querySelector('{CONTENT}').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": min(height + 80, 4000)})
    page.wait_for_timeout(1500)  # let plotly redraw at the new size
    shot = tmp_path / target.name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("CREDIT_UPDATE_SCREENSHOTS") == "1":
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, target)
