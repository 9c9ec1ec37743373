"""Soak of the scoring API: concurrent clients for a bounded time, the server killed (SIGKILL)
and restarted in the middle, then every answered decision looked up in the decision log.

A decision is written to the log before it is answered, so a killed server may leave logged
decisions whose answer never arrived, but never an answered decision that is not logged. Prints
requests sent, answered, failed (connection refused or cut while the server was down), logged,
lost (answered but not logged: must be 0), duplicates and SQLite's integrity check.

Usage::

    python benchmarks/bench_soak.py --project-root . --clients 8 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from credit_scoring.api.decision_log import read_decisions
from credit_scoring.api.launch import (
    ASGI_APP,
    ServerProcess,
    free_port,
    run_environment,
    start_server,
)

API_KEY = "soak-key"


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True, help="a `dvc repro` output")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the soak")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--model-uri", default="models:/credit-scoring@challenger")
    return parser.parse_args()


def start(root: Path, folder: Path, port: int, model_uri: str, workers: int) -> ServerProcess:
    """Uvicorn on ``port`` serving ``root``'s outputs, its decision log in ``folder``."""
    env = dict(os.environ) | run_environment(root, f"sqlite:///{folder / 'decisions.db'}", API_KEY)
    env |= {"CREDIT_API_MODEL_URI": model_uri, "CREDIT_API_LOG_LEVEL": "WARNING"}
    command = [sys.executable, "-m", "uvicorn", ASGI_APP]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--log-level", "warning"]
    return start_server(command, port, env, root, folder / "api.log", "/health", 180)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid`` and its children (uvicorn's worker processes), children first."""
    children = Path(f"/proc/{pid}/task/{pid}/children")
    for child in children.read_text().split() if children.exists() else []:
        kill_tree(int(child))
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def soak(url: str, applications: list[dict], stop: threading.Event, answered: set[str],
         counts: Counter, lock: threading.Lock) -> None:  # fmt: skip
    """One client: post applications in a loop until ``stop``; record what was answered."""
    with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
        index = 0
        while not stop.is_set():
            body = {"application": applications[index % len(applications)]}
            index += 1
            try:
                response = client.post("/predict", json=body)
            except httpx.TransportError:
                with lock:
                    counts["sent"] += 1
                    counts["failed: connection"] += 1
                time.sleep(0.05)
                continue
            with lock:
                counts["sent"] += 1
                if response.status_code == 200:
                    counts["answered"] += 1
                    answered.add(response.json()["request_id"])
                else:
                    counts[f"failed: {response.status_code}"] += 1


def main() -> None:
    """Run the soak and print the reconciliation."""
    args = parse_args()
    root = args.project_root.resolve()
    folder = Path(tempfile.mkdtemp(prefix="soak-"))
    port = free_port()
    server = start(root, folder, port, args.model_uri, args.workers)
    with httpx.Client(base_url=server.url, headers={"X-API-Key": API_KEY}, timeout=30) as client:
        ids = client.get("/clients", params={"limit": 200}).json()
        applications = [client.get(f"/clients/{i}").json() for i in ids]
    stop, lock = threading.Event(), threading.Lock()
    answered: set[str] = set()
    counts: Counter = Counter()
    threads = [
        threading.Thread(
            target=soak, args=(server.url, applications, stop, answered, counts, lock)
        )
        for _ in range(args.clients)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(args.seconds / 2)
    killed_at = time.monotonic() - started
    kill_tree(server.process.pid)
    server.process.wait()
    server = start(root, folder, port, args.model_uri, args.workers)
    restarted_at = time.monotonic() - started
    time.sleep(max(args.seconds - restarted_at, 1.0))
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    server.stop()

    logged = read_decisions(f"sqlite:///{folder / 'decisions.db'}")
    logged_ids = set(logged["request_id"])
    with sqlite3.connect(folder / "decisions.db") as connection:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    rows = [
        ("clients", args.clients),
        ("workers", args.workers),
        ("duration (s)", f"{elapsed:.1f}"),
        ("killed (SIGKILL) at (s)", f"{killed_at:.1f}"),
        ("restarted, healthy at (s)", f"{restarted_at:.1f}"),
        ("requests sent", counts["sent"]),
        ("answered 200", counts["answered"]),
        *sorted((k, v) for k, v in counts.items() if k.startswith("failed")),
        ("decisions logged", len(logged)),
        ("answered and logged", len(answered & logged_ids)),
        ("lost: answered, not logged", len(answered - logged_ids)),
        ("logged, answer never received", len(logged_ids - answered)),
        ("duplicate request ids in the log", int(logged["request_id"].duplicated().sum())),
        ("SQLite integrity_check", integrity),
        ("answered per second", f"{counts['answered'] / elapsed:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"decision log: {folder / 'decisions.db'}")
    if answered - logged_ids or integrity != "ok":
        sys.exit(1)


if __name__ == "__main__":
    main()
