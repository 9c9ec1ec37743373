"""Commit time of the decision log against its keys and indexes (a script, not a test).

Fills a fresh SQLite log (the API's own ``DecisionLog``: WAL, its pragmas, its table) with
``--prefill`` decisions, then times ``--repeats`` commits of ``--rows`` decisions, for three
layouts: random request ids (UUIDv4) with the input hash indexed (the log before time-ordered
ids), time-ordered ids (UUIDv7) with the hash indexed, and the log as it is (UUIDv7, no hash
index). Each decision carries an application of 120 numbers, about the size of a real one. The
layouts run in turn, ``--rounds`` times, so that the machine's drift touches each alike.

Usage::

    python benchmarks/bench_decision_log.py --prefill 60000
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from credit_scoring.api.decision_log import DecisionLog, DecisionRecord, canonical_json, text_hash
from credit_scoring.api.request_ids import request_ids


def uuid4() -> str:
    return str(uuid.uuid4())


def uuid7() -> str:
    return request_ids(1)[0]


LAYOUTS: dict[str, tuple[Callable[[], str], bool]] = {
    "UUIDv4 ids, hash indexed": (uuid4, True),
    "UUIDv7 ids, hash indexed": (uuid7, True),
    "UUIDv7 ids, hash not indexed (now)": (uuid7, False),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefill", type=int, default=60_000, help="decisions logged first")
    parser.add_argument("--rows", type=int, default=1_000, help="decisions per timed commit")
    parser.add_argument("--repeats", type=int, default=15, help="timed commits per layout")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every layout, in turn")
    return parser.parse_args()


def decisions(count: int, new_id: Callable[[], str], rng: random.Random) -> list[DecisionRecord]:
    """``count`` decision records with random clients and applications."""
    records = []
    for _ in range(count):
        application = {f"FIELD_{i:03d}": rng.random() * 1e5 for i in range(120)}
        application["SK_ID_CURR"] = rng.randrange(100_000, 460_000)
        body = canonical_json(application)
        records.append(
            DecisionRecord(
                request_id=new_id(),
                created_at=datetime.now(UTC),
                sk_id_curr=application["SK_ID_CURR"],
                input_hash=text_hash(body),
                probability=rng.random(),
                decision="granted",
                threshold=0.09,
                model_name="bench",
                model_version="1",
                history_source="store",
                latency_ms=1.0,
                application=body,
            )
        )
    return records


def commit_times(folder: Path, layout: str, args: argparse.Namespace) -> list[float]:
    """Milliseconds of each timed commit into a fresh log of ``layout``."""
    new_id, hash_indexed = LAYOUTS[layout]
    rng = random.Random(0)
    log = DecisionLog(f"sqlite:///{folder / f'{time.monotonic_ns()}.db'}")
    if hash_indexed:
        with log.engine.begin() as connection:
            connection.execute(text("CREATE INDEX ix_hash ON decisions (input_hash)"))
    for start in range(0, args.prefill, args.rows):
        log.record(decisions(min(args.rows, args.prefill - start), new_id, rng))
    times = []
    for _ in range(args.repeats):
        batch = decisions(args.rows, new_id, rng)
        started = time.perf_counter()
        log.record(batch)
        times.append((time.perf_counter() - started) * 1e3)
    log.close()
    return times


def main() -> None:
    args = parse_args()
    results: dict[str, list[float]] = {layout: [] for layout in LAYOUTS}
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(args.rounds):
            for layout in LAYOUTS:
                times = commit_times(Path(folder), layout, args)
                results[layout].append(statistics.median(times))
                print(f"round {round_ + 1}: {layout}: median {results[layout][-1]:.1f} ms")
    print(f"\ncommit of {args.rows} decisions into a log of {args.prefill} (median per round, ms)")
    reference = statistics.median(results[next(iter(LAYOUTS))])
    for layout, medians in results.items():
        ratio = statistics.median(medians) / reference
        shown = " / ".join(f"{m:.1f}" for m in medians)
        print(f"  {layout:38s} {shown:>16s}  ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
