"""Kill the scoring API under load and count: decisions answered against decisions logged.

Starts the API on a pipeline run (one uvicorn worker, its decision log in a temporary SQLite
file), sends ``/predict`` requests from C concurrent clients, kills the process (SIGKILL: no
shutdown, no flush) once N answers have arrived, then reads the decision log. Every answered
request id must be in the log (a decision is answered only once committed); rows logged but
never answered (the answer was on its way when the process died) are allowed.

Usage::

    python benchmarks/bench_crash.py --project-root . [--runs 3] [-c 16] [--kill-after 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_api import Connection, encode, load_bodies, start_benchmarked_api  # noqa: E402

from credit_scoring.api.decision_log import read_decisions  # noqa: E402


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True, help="a `dvc repro` output")
    parser.add_argument("--runs", type=int, default=3, help="servers started and killed")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="concurrent clients")
    parser.add_argument("--kill-after", type=int, default=500, help="answers before the kill")
    parser.add_argument("--model-uri", default="", help="default: the model folder")
    return parser.parse_args()


async def load_until_killed(url: str, pid: int, requests: list[bytes], args) -> list[str]:
    """Clients sending ``requests`` in turn; SIGKILL ``pid`` after ``--kill-after`` answers.
    Returns the request ids of the answers that arrived."""
    answered: list[str] = []

    async def client(offset: int) -> None:
        connection = await Connection.open(url)
        try:
            for i in range(offset, 10**9, args.concurrency):
                body = await connection.exchange(requests[i % len(requests)])
                answered.append(json.loads(body)["request_id"])
                if len(answered) == args.kill_after:
                    os.kill(pid, signal.SIGKILL)
        except (ConnectionError, asyncio.IncompleteReadError):
            return  # the server is gone
        finally:
            connection.close()

    await asyncio.gather(*(client(k) for k in range(args.concurrency)))
    return answered


def main() -> None:
    """Start, load, kill and count ``--runs`` times; print one line per run."""
    args = parse_args()
    root = args.project_root.resolve()
    print(f"{'run':>3} {'answered':>9} {'logged':>7} {'answered, not logged':>21}")
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-crash-") as folder:
            server = start_benchmarked_api(root, args.model_uri, Path(folder))
            try:
                bodies = load_bodies(server.url, 200)
                requests = [encode("/predict", body) for body in bodies]
                answered = asyncio.run(
                    load_until_killed(server.url, server.process.pid, requests, args)
                )
            finally:
                server.stop()
            logged = read_decisions(f"sqlite:///{Path(folder) / 'decisions.db'}")
            lost = set(answered) - set(logged["request_id"])
            print(f"{run:>3} {len(answered):>9} {len(logged):>7} {len(lost):>21}")


if __name__ == "__main__":
    main()
