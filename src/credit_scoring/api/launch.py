"""Start the scoring API (or another local web server) as a subprocess on the loopback interface.

Shared by the tests, the benchmark and local demos, so that they all run the API the same way.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"
ASGI_APP = "credit_scoring.api.asgi:app"  # the API as servers run it (without Arrow)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def run_environment(
    root: Path, database_url: str, api_keys: str = "", tracking_uri: str | None = None
) -> dict[str, str]:
    """``CREDIT_API_*`` settings serving the outputs of the pipeline run in ``root``.

    Args:
        root: folder of a `dvc repro` (models/, data/, params.yaml, mlflow.db).
        database_url: SQLAlchemy URL of the decision log.
        api_keys: accepted ``X-API-Key`` values, comma-separated (empty: no auth).
        tracking_uri: MLflow registry (default: ``root/mlflow.db``).
    """
    root = Path(root)
    return {
        "CREDIT_API_TRACKING_URI": tracking_uri or f"sqlite:///{root / 'mlflow.db'}",
        "CREDIT_API_MODEL_PATH": str(root / "models" / "champion"),
        "CREDIT_API_HISTORY_PATH": str(root / "data" / "processed" / "history.parquet"),
        "CREDIT_API_CLIENTS_PATH": str(root / "data" / "interim" / "application_test.parquet"),
        "CREDIT_API_POPULATION_PATH": str(root / "data" / "processed" / "train.parquet"),
        "CREDIT_API_PARAMS_PATH": str(root / "params.yaml"),
        "CREDIT_API_DATABASE_URL": database_url,
        "CREDIT_API_MONITORING_DIR": str(root / "reports" / "monitoring"),
        "CREDIT_API_API_KEYS": api_keys,
    }


@dataclass
class ServerProcess:
    """A running server subprocess, its base URL and its log file."""

    url: str
    process: subprocess.Popen
    log: Path

    def log_text(self) -> str:
        """What the server wrote so far."""
        return self.log.read_text(errors="replace") if self.log.is_file() else ""

    def stop(self) -> None:
        """Terminate the process (kill it if it does not stop within 20 s)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_server(
    command: list[str],
    port: int,
    env: dict[str, str],
    cwd: Path,
    log: Path,
    health_path: str,
    timeout: float = 180,
    expect_status: int | None = 200,
) -> ServerProcess:
    """Start ``command`` (listening on ``port``) and wait until ``health_path`` answers.

    Args:
        expect_status: the health status to wait for (None: any HTTP answer, e.g. a 503).

    Raises:
        RuntimeError: with the server's log when it exits or is not up within ``timeout``.
    """
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    server = ServerProcess(f"http://{HOST}:{port}", process, Path(log))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log_text()}")
        try:
            status = httpx.get(f"{server.url}{health_path}", timeout=2).status_code
            if expect_status is None or status == expect_status:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"server not up at {server.url} within {timeout} s:\n{server.log_text()}")


def start_api(
    env: dict[str, str],
    cwd: Path,
    log: Path,
    timeout: float = 180,
    expect_status: int | None = 200,
    extra_args: tuple[str, ...] = (),
    app: str = ASGI_APP,
) -> ServerProcess:
    """Uvicorn serving ``app`` (by default the API without Arrow) on a free loopback port, once
    healthy."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app]
    command += ["--host", HOST, "--port", str(port), *extra_args]
    return start_server(command, port, env, cwd, log, "/health", timeout, expect_status)
