"""Latency and throughput of the scoring API on a pipeline run (a script, not a test).

Starts ``uvicorn credit_scoring.api.main:app`` on a free loopback port against the outputs of a
pipeline run, then measures: N single ``POST /predict`` requests one after the other, the same
with C concurrent clients, and ``POST /predict/batch`` with 100 applications. Every request scores
a real production client (raw application from ``GET /clients/{id}``, history from the store).

Usage::

    python benchmarks/bench_api.py --project-root /tmp/realrun
    python benchmarks/bench_api.py --project-root . -n 500 -c 16 --batch-size 100
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from credit_scoring.api.launch import ServerProcess, run_environment, start_api
from credit_scoring.api.schemas import REQUIRED_FIELDS

API_KEY = "bench-key"
STARTUP_SECONDS = 180


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True, help="a `dvc repro` output")
    parser.add_argument("-n", "--requests", type=int, default=200, help="single requests per run")
    parser.add_argument("-c", "--concurrency", type=int, default=8, help="concurrent clients")
    parser.add_argument("--batch-size", type=int, default=100, help="applications per batch")
    parser.add_argument("--batches", type=int, default=10, help="batch requests sent")
    parser.add_argument("--model-uri", default="models:/credit-scoring@challenger")
    return parser.parse_args()


def start_benchmarked_api(root: Path, model_uri: str, folder: Path) -> ServerProcess:
    """The API on ``root``'s outputs (quiet logs), its decision log in ``folder``."""
    env = dict(os.environ) | run_environment(root, f"sqlite:///{folder / 'decisions.db'}", API_KEY)
    env |= {"CREDIT_API_MODEL_URI": model_uri, "CREDIT_API_LOG_LEVEL": "WARNING"}
    try:
        return start_api(
            env, root, folder / "api.log", STARTUP_SECONDS, 200, ("--log-level", "warning")
        )
    except RuntimeError as exc:
        sys.exit(str(exc))


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` (linear interpolation)."""
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


def timed_post(client: httpx.Client, path: str, body: dict[str, Any]) -> float:
    """POST ``body``; return the latency in ms (exits on a non-200 answer)."""
    start = time.perf_counter()
    response = client.post(path, json=body)
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200:
        sys.exit(f"{path} answered {response.status_code}: {response.text[:500]}")
    return elapsed


def run_sequential(url: str, bodies: list[dict], n: int) -> tuple[list[float], float]:
    """``n`` single requests one after the other: (latencies ms, wall seconds)."""
    with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=120) as client:
        start = time.perf_counter()
        latencies = [timed_post(client, "/predict", b) for b in itertools.islice(bodies, n)]
        return latencies, time.perf_counter() - start


def run_concurrent(url: str, bodies: list[dict], concurrency: int) -> tuple[list[float], float]:
    """``bodies`` sent by ``concurrency`` clients in parallel: (latencies ms, wall seconds)."""
    clients = [
        httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=120)
        for _ in range(concurrency)
    ]
    try:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            latencies = list(
                pool.map(
                    lambda i: timed_post(clients[i % concurrency], "/predict", bodies[i]),
                    range(len(bodies)),
                )
            )
        return latencies, time.perf_counter() - start
    finally:
        for client in clients:
            client.close()


def run_batches(url: str, bodies: list[dict], size: int, count: int) -> tuple[list[float], float]:
    """``count`` batch requests of ``size`` applications: (latencies ms, wall seconds)."""
    with httpx.Client(base_url=url, headers={"X-API-Key": API_KEY}, timeout=600) as client:
        start = time.perf_counter()
        latencies = [
            timed_post(
                client, "/predict/batch", {"applications": bodies[i * size : (i + 1) * size]}
            )
            for i in range(count)
        ]
        return latencies, time.perf_counter() - start


def load_bodies(url: str, n: int) -> list[dict[str, Any]]:
    """``n`` request bodies, cycling over production clients with every required field."""
    headers = {"X-API-Key": API_KEY}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        ids = client.get("/clients", params={"limit": min(n, 1000)}).json()
        applications = [client.get(f"/clients/{i}").json() for i in ids]
    bodies = [
        {"application": application}
        for application in applications
        if all(application.get(field) is not None for field in REQUIRED_FIELDS)
    ]
    if not bodies:
        sys.exit("no production client could be scored")
    return list(itertools.islice(itertools.cycle(bodies), n))


def row(name: str, latencies: list[float], wall: float, items: int) -> str:
    """One line of the result table."""
    return (
        f"{name:<28} {len(latencies):>6} {percentile(latencies, 0.5):>9.1f} "
        f"{percentile(latencies, 0.99):>9.1f} {len(latencies) / wall:>9.1f} {items / wall:>10.1f}"
    )


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process in MB: ``rss`` (all resident pages), ``anonymous`` (its own
    heap: what each further worker adds) and ``file`` (mapped library code, shared between
    workers), from /proc/PID/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value) / 1024
    rss, anonymous = fields.get("Rss", float("nan")), fields.get("Anonymous", float("nan"))
    return {"rss": rss, "anonymous": anonymous, "file": rss - anonymous}


def memory_line(label: str, memory: dict[str, float]) -> str:
    """``label RSS MB (anonymous MB, file-backed MB)``."""
    return (
        f"{label} {memory['rss']:.0f} MB (anonymous {memory['anonymous']:.0f} MB, "
        f"file-backed {memory['file']:.0f} MB)"
    )


def main() -> None:
    """Start the API, run the three scenarios, print the table."""
    args = parse_args()
    root = args.project_root.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        started = time.perf_counter()
        server = start_benchmarked_api(root, args.model_uri, Path(folder))
        startup = time.perf_counter() - started
        url = server.url
        try:
            ready = memory_mb(server.process.pid)
            total = max(args.requests, args.batch_size * args.batches)
            bodies = load_bodies(url, total)
            model = httpx.get(f"{url}/model", headers={"X-API-Key": API_KEY}).json()
            sequential = run_sequential(url, bodies, args.requests)
            concurrent = run_concurrent(url, bodies[: args.requests], args.concurrency)
            batches = run_batches(url, bodies, args.batch_size, args.batches)
            after = memory_mb(server.process.pid)
        finally:
            server.stop()
    print(
        f"\nAPI benchmark on {root}: {model['name']} v{model['version']} ({model['family']}, "
        f"{len(model['features']['numeric']) + len(model['features']['categorical'])} features), "
        f"1 uvicorn worker, {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'scenario':<28} {'reqs':>6} {'p50 ms':>9} {'p99 ms':>9} {'req/s':>9} {'clients/s':>10}"
    )
    print(row("predict, sequential", *sequential, args.requests))
    print(row(f"predict, {args.concurrency} concurrent", *concurrent, args.requests))
    print(row(f"batch of {args.batch_size}", *batches, args.batch_size * args.batches))
    print(f"\nstartup (process start to healthy) {startup:.1f} s")
    print(memory_line("resident memory when ready:", ready))
    print(memory_line("resident memory after the scenarios:", after))


if __name__ == "__main__":
    main()
