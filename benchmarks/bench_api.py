"""Latency and throughput of the scoring API on a pipeline run (a script, not a test).

Starts ``uvicorn credit_scoring.api.asgi:app`` (W workers) on a free loopback port against the
outputs of a pipeline run, then measures: N single ``POST /predict`` requests one after the other,
the same from C concurrent clients, and ``POST /predict/batch`` of B applications. Every request
scores a real production client (raw application from ``GET /clients/{id}``, history from the
store). The client is lean (asyncio keep-alive connections, requests encoded beforehand), so
that it takes little of the CPUs it shares with the server. Prints latency percentiles (as the
client sees them, and the server's own time from its ``Server-Timing`` header: request head in
to answer head out), throughput, the server's CPU time per request, startup time and resident
memory.

Usage::

    python benchmarks/bench_api.py --project-root /tmp/realrun --model-uri ""
    python benchmarks/bench_api.py --project-root . -w 2 -n 1000 -c 16 --batch-size 1000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from credit_scoring.api.launch import ASGI_APP, ServerProcess, run_environment, start_api
from credit_scoring.api.schemas import REQUIRED_FIELDS
from credit_scoring.api.timing import server_time_ms

API_KEY = "bench-key"
STARTUP_SECONDS = 180
CONTENT_LENGTH = re.compile(rb"(?i)content-length: *(\d+)")
SERVER_TIMING = re.compile(rb"(?i)server-timing: *([^\r\n]*)")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True, help="a `dvc repro` output")
    parser.add_argument("-n", "--requests", type=int, default=1000, help="single requests per run")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("-w", "--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--batch-size", type=int, default=1000, help="applications per batch")
    parser.add_argument("--batches", type=int, default=10, help="batch requests sent")
    parser.add_argument("--model-uri", default="models:/credit-scoring@challenger")
    parser.add_argument(
        "--app",
        default=ASGI_APP,
        help="the ASGI app uvicorn serves (credit_scoring.api.main:app: the worker with Arrow)",
    )
    return parser.parse_args()


def start_benchmarked_api(
    root: Path, model_uri: str, folder: Path, workers: int = 1, app: str = ASGI_APP
) -> ServerProcess:
    """The API on ``root``'s outputs (quiet logs, ``workers`` processes), its decision log in
    ``folder``."""
    env = dict(os.environ) | run_environment(root, f"sqlite:///{folder / 'decisions.db'}", API_KEY)
    env |= {"CREDIT_API_MODEL_URI": model_uri, "CREDIT_API_LOG_LEVEL": "WARNING"}
    try:
        return start_api(
            env,
            root,
            folder / "api.log",
            STARTUP_SECONDS,
            200,
            ("--log-level", "warning", "--workers", str(workers)),
            app,
        )
    except RuntimeError as exc:
        sys.exit(str(exc))


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` (linear interpolation; one value is its own)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


class Connection:
    """One keep-alive HTTP/1.1 connection sending pre-encoded requests (a lean client: the
    benchmark's own cost per request stays far below the server's, on the same 2 cores)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, port = url.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def send(self, request: bytes) -> tuple[float, float]:
        """Send ``request``, read the whole answer: (latency, server time) in ms, the latter
        from the answer's ``Server-Timing`` header (NaN without one). Exits unless 200."""
        start = time.perf_counter()
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = CONTENT_LENGTH.search(head)
        body = await self.reader.readexactly(int(length.group(1)) if length else 0)
        elapsed = (time.perf_counter() - start) * 1000
        if head[9:12] != b"200":
            sys.exit(f"answered {head[9:12].decode()}: {body[:500].decode(errors='replace')}")
        header = SERVER_TIMING.search(head)
        server = server_time_ms(header.group(1)) if header else None
        return elapsed, float("nan") if server is None else server

    def close(self) -> None:
        self.writer.close()


def encode(path: str, body: dict[str, Any]) -> bytes:
    """A POST of ``body`` as JSON to ``path``, ready to send."""
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nX-API-Key: {API_KEY}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def run_clients(
    url: str, requests: list[bytes], clients: int
) -> tuple[list[float], list[float], float]:
    """``requests`` sent by ``clients`` connections, each sending its next one when answered:
    (latencies ms, server times ms, wall seconds). One client: one request after the other."""
    connections = [await Connection.open(url) for _ in range(clients)]
    pending = iter(requests)
    latencies: list[float] = []
    server_times: list[float] = []

    async def client(connection: Connection) -> None:
        for request in pending:
            latency, server_time = await connection.send(request)
            latencies.append(latency)
            server_times.append(server_time)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in connections))
        return latencies, server_times, time.perf_counter() - start
    finally:
        for connection in connections:
            connection.close()


def cpu_seconds(pids: list[int]) -> float:
    """CPU time (user + system, every thread) the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, interval: float = 0.05, timeout: float = 5.0) -> None:
    """Return once ``pid`` used no CPU for two intervals in a row (or after ``timeout`` s)."""
    deadline, last, quiet = time.perf_counter() + timeout, cpu_seconds([pid]), 0
    while quiet < 2 and time.perf_counter() < deadline:
        time.sleep(interval)
        used = cpu_seconds([pid])
        quiet, last = (quiet + 1 if used == last else 0), used


def run(
    url: str, requests: list[bytes], clients: int, pids: list[int]
) -> tuple[list[float], list[float], float, float]:
    """:func:`run_clients` after one warm-up round (not counted): (latencies ms, server times
    ms, wall seconds, the server's CPU ms per request: what the clock of a busy machine does not
    blur)."""
    asyncio.run(run_clients(url, requests[:clients], clients))
    cpu = cpu_seconds(pids)
    latencies, server_times, wall = asyncio.run(run_clients(url, requests, clients))
    return latencies, server_times, wall, (cpu_seconds(pids) - cpu) * 1000 / len(requests)


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


def row(
    name: str,
    latencies: list[float],
    server_times: list[float],
    wall: float,
    cpu_ms: float,
    items: int,
) -> str:
    """One line of the result table."""
    return (
        f"{name:<28} {len(latencies):>6} {percentile(latencies, 0.5):>9.1f} "
        f"{percentile(latencies, 0.99):>9.1f} {percentile(server_times, 0.5):>10.1f} "
        f"{percentile(server_times, 0.99):>10.1f} {len(latencies) / wall:>9.1f} "
        f"{items / wall:>10.1f} {cpu_ms:>12.2f}"
    )


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process in MB once it is idle (:func:`wait_until_idle`: the last
    answer sent, a worker still frees that request's objects and gives its heap's free pages
    back): ``rss`` (all resident pages), ``anonymous`` (its own heap: what each further worker
    adds) and ``file`` (mapped library code, shared between workers), from
    /proc/PID/smaps_rollup."""
    wait_until_idle(pid)
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


def worker_pids(server: ServerProcess, workers: int) -> list[int]:
    """The processes that serve: uvicorn itself, or its ``workers`` children."""
    if workers == 1:
        return [server.process.pid]
    pid = server.process.pid
    children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    # multiprocessing's resource tracker is a child too
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def main() -> None:
    """Start the API, run the three scenarios, print the table."""
    args = parse_args()
    root = args.project_root.resolve()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as folder:
        started = time.perf_counter()
        server = start_benchmarked_api(root, args.model_uri, Path(folder), args.workers, args.app)
        startup = time.perf_counter() - started
        url = server.url
        try:
            ready = memory_mb(server.process.pid) if args.workers == 1 else None
            total = max(args.requests, args.batch_size)
            bodies = load_bodies(url, total)
            model = httpx.get(f"{url}/model", headers={"X-API-Key": API_KEY}).json()
            singles = [encode("/predict", body) for body in bodies[: args.requests]]
            batches = [
                encode("/predict/batch", {"applications": bodies[: args.batch_size]})
            ] * args.batches
            pids = worker_pids(server, args.workers)
            sequential = run(url, singles, 1, pids)
            concurrent = run(url, singles, args.concurrency, pids)
            singles_memory = [memory_mb(pid) for pid in pids]
            batch = run(url, batches, 1, pids)
            after = [memory_mb(pid) for pid in pids]
        finally:
            server.stop()
    features = len(model["features"]["numeric"]) + len(model["features"]["categorical"])
    print(
        f"\nAPI benchmark on {root}: {model['name']} v{model['version']} ({model['family']}, "
        f"{features} features), {args.workers} uvicorn worker(s), {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'scenario':<28} {'reqs':>6} {'p50 ms':>9} {'p99 ms':>9} {'server p50':>10} "
        f"{'server p99':>10} {'req/s':>9} {'clients/s':>10} {'CPU ms/req':>12}"
    )
    print(row("predict, sequential", *sequential, args.requests))
    print(row(f"predict, {args.concurrency} concurrent", *concurrent, args.requests))
    print(row(f"batch of {args.batch_size}", *batch, args.batch_size * args.batches))
    print(f"\nstartup (process start to healthy) {startup:.1f} s")
    if ready is not None:
        print(memory_line("resident memory when ready:", ready))
    for i, (singles_memory_i, memory) in enumerate(zip(singles_memory, after, strict=True)):
        print(
            memory_line(
                f"worker {i + 1}, resident memory after the single requests:", singles_memory_i
            )
        )
        print(memory_line(f"worker {i + 1}, resident memory after the batches:", memory))


if __name__ == "__main__":
    main()
