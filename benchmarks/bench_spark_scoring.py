"""Batch scoring, single machine (pandas, the pyfunc in one process) against Spark (spark_udf).

A script, not a test. On a pipeline run's production applications and history aggregates, with
a model folder (default: the run's ``models/champion``), it scores every client both ways and
prints wall seconds, CPU seconds and the peak resident memory of each command's whole process
tree (the sum over its processes, sampled every 0.1 s with psutil: for Spark the driver, the JVM
and the Python workers), clients per second, side by side, and the largest probability difference
between the two outputs::

    python benchmarks/bench_spark_scoring.py --project-root . [--model PATH] [--master local[2]]

The production set of any run works, e.g. the full-size synthetic one (``experiment=full_size``,
stages generate, ingest and featurize) scored with the embedded run's champion.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

SINGLE_MACHINE = """
import sys
import mlflow.pyfunc
import pandas as pd
applications, history, model, output = sys.argv[1:5]
frame = pd.read_parquet(applications).drop(columns=["TARGET"], errors="ignore")
frame = frame.merge(pd.read_parquet(history), on="SK_ID_CURR", how="left")
scores = mlflow.pyfunc.load_model(model).predict(frame)
scores.insert(0, "SK_ID_CURR", frame["SK_ID_CURR"].to_numpy())
scores.to_parquet(output, index=False)
"""


def measure(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Run ``command``: (wall s, CPU s, peak RSS in MB of its process tree, summed).

    CPU seconds are the last sample of each process seen (a process's final moments between two
    samples are missed, so the figure is a lower bound).
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    root = psutil.Process(process.pid)
    peak, cpu = 0.0, {}
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        rss = 0
        for member in tree:
            try:
                rss += member.memory_info().rss
                times = member.cpu_times()
                cpu[member.pid] = times.user + times.system
            except psutil.NoSuchProcess:
                continue
        peak = max(peak, rss / 2**20)
        time.sleep(0.1)
    output = process.stdout.read().decode(errors="replace") if process.stdout else ""
    if process.wait() != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{output[-3000:]}")
    return time.perf_counter() - start, sum(cpu.values()), peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True)
    parser.add_argument("--model", type=Path, help="model folder (default: the run's champion)")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args(argv)
    root = args.project_root.resolve()
    model = (args.model or root / "models" / "champion").resolve()
    applications = root / "data" / "interim" / "application_test.parquet"
    history = root / "data" / "processed" / "history.parquet"

    with tempfile.TemporaryDirectory() as scratch:
        single_out = Path(scratch) / "single.parquet"
        single = measure(
            [sys.executable, "-c", SINGLE_MACHINE, str(applications), str(history), str(model),
             str(single_out)],
            root,
        )  # fmt: skip
        spark_out = Path(scratch) / "spark"
        spark = measure(
            [sys.executable, "-m", "credit_scoring.spark.scoring", "--applications",
             str(applications), "--history", str(history), "--model-uri", str(model),
             "--output", str(spark_out), "--record", str(Path(scratch) / "record.json"),
             "--master", args.master],
            root,
        )  # fmt: skip
        by_pandas = pd.read_parquet(single_out).set_index("SK_ID_CURR").sort_index()
        by_spark = pd.read_parquet(spark_out).set_index("SK_ID_CURR").sort_index()
    if not by_pandas.index.equals(by_spark.index):
        raise SystemExit("the two engines scored different clients")
    difference = float(np.max(np.abs(by_pandas["probability"] - by_spark["probability"])))
    same_decisions = bool((by_pandas["decision"] == by_spark["decision"].astype(str)).all())
    rows = len(by_pandas)

    print(f"\nBatch scoring of {rows:,} clients with {model} ({args.master} for Spark)\n")
    print(f"{'engine':<24}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}{'clients/s':>11}")
    for name, (wall, cpu, peak) in (("pandas (one process)", single), ("Spark", spark)):
        print(f"{name:<24}{wall:>8.1f}{cpu:>8.1f}{peak:>13,.0f}{rows / wall:>11,.0f}")
    print(f"\nSpark / pandas wall: {spark[0] / single[0]:.2f}x")
    print(f"largest probability difference {difference:.1e}; same decisions: {same_decisions}")


if __name__ == "__main__":
    main()
