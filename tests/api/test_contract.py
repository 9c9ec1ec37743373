"""The API against its own OpenAPI schema: schemathesis (its CLI, over HTTP, on a real uvicorn
server) generates requests for every route, with and without the API key, and checks that no
answer is a server error and every status, content type and body is the documented one."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from credit_scoring.api.launch import ServerProcess
from tests.conftest import serve

pytestmark = pytest.mark.slow

API_KEY = "fuzz-key"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
MIN_REQUESTS = 1000


@pytest.fixture(scope="module")
def fuzzed(tiny_project, tmp_path_factory) -> Iterator[ServerProcess]:
    """The API on the tiny run, with API, officer and admin keys set (the fuzzer only knows the
    API key), small batches so that generated batches stay quick."""
    server = serve(
        tiny_project,
        tmp_path_factory.mktemp("fuzz"),
        API_KEY,
        CREDIT_API_MODEL_URI="models:/credit-scoring@challenger",
        CREDIT_API_OFFICER_KEYS="officer-secret",
        CREDIT_API_ADMIN_KEYS="admin-secret",
        CREDIT_API_MAX_BATCH="5",
        CREDIT_API_LOG_LEVEL="WARNING",
    )
    yield server
    server.stop()


def schemathesis_run(url: str, headers: list[str], report: Path) -> tuple[int, str]:
    """``st run`` on the API's schema (fixed seed: a failure reproduces); exit code and output."""
    command = [
        str(Path(sys.executable).parent / "st"), "run", f"{url}/openapi.json",
        "--checks", CHECKS, "--max-examples", "40", "--seed", "20261202",
        "--continue-on-failure", "--generation-database", "none", "--no-color",
        "--workers", "1", "--report", "ndjson", "--report-ndjson-path", str(report),
    ]  # fmt: skip
    for header in headers:
        command += ["--header", header]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize(
    "headers", [[f"X-API-Key: {API_KEY}"], []], ids=["with the key", "without a key"]
)
def test_generated_requests_get_documented_answers_and_no_server_error(fuzzed, tmp_path, headers):
    code, output = schemathesis_run(fuzzed.url, headers, tmp_path / "events.ndjson")
    assert code == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated, output[-3000:]
    total, passed = map(int, generated.groups())
    print(f"schemathesis {headers or 'no key'}: {total} requests, {passed} passed")
    assert total == passed and total >= MIN_REQUESTS, output[-3000:]
    selected = re.search(r"Operations:\s+(\d+) selected / (\d+) total", output)
    assert selected and selected[1] == selected[2], output[:2000]  # every route fuzzed
