"""The ingest or featurize stage with each engine, pandas against Spark (a script, not a test).

On a project whose data exist (e.g. the full-size synthetic data kept by
``bench_scale.py --size full --until ingest --keep``), it runs ``stages/<stage>.py`` once per
engine (``engine`` set from ``conf/engine/<name>.yaml`` in a copy of the project's params, the
outputs written beside the project's), and prints the wall seconds, CPU seconds and the peak
resident memory of each run's whole process tree (for Spark: the stage, the JVM and the Python
workers; sampled with psutil as ``bench_spark_scoring.py`` does), side by side, and whether the
two engines wrote byte-identical files::

    python benchmarks/bench_spark_engine.py --project-root /tmp/bench/<project> --stage ingest
    python benchmarks/bench_spark_engine.py --project-root /tmp/bench/<project> --stage featurize
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The output folder of each stage (in params.paths) and the files compared in it.
OUTPUT_DIR = {"ingest": "interim_dir", "featurize": "processed_dir"}


def _measure():
    """``measure`` of bench_spark_scoring.py (the process-tree sampler)."""
    path = HERE / "bench_spark_scoring.py"
    spec = importlib.util.spec_from_file_location("bench_spark_scoring", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_engine(
    project: Path, stage: str, engine: str, buckets: int, out: Path
) -> tuple[float, float, float]:
    """Run ``stage`` with ``engine`` on ``project``'s data, writing to ``out``: (wall s, CPU s,
    peak MB)."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    defaults = yaml.safe_load((ROOT / "conf" / "engine" / f"{engine}.yaml").read_text())
    params["engine"] = defaults | {"spark_buckets": buckets}
    params["paths"][OUTPUT_DIR[stage]] = str(out)
    params["paths"]["reports_dir"] = str(out.with_name(out.name + "-reports"))
    work = project / f"params-{stage}-{engine}"
    work.mkdir(exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    link = work / "data"  # relative paths of params resolve from the work folder
    if not link.exists():
        link.symlink_to(project / "data")
    os.environ["PYTHONPATH"] = str(ROOT / "src")
    return _measure()([sys.executable, str(ROOT / "stages" / f"{stage}.py")], work)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True)
    parser.add_argument("--stage", choices=sorted(OUTPUT_DIR), default="featurize")
    parser.add_argument("--buckets", type=int, default=16)
    args = parser.parse_args(argv)
    project = args.project_root.resolve()
    outputs, rows = {}, []
    for engine in ("local", "spark"):
        out = project / f"{args.stage}-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        wall, cpu, peak = run_engine(project, args.stage, engine, args.buckets, out)
        outputs[engine] = {path.name: digest(path) for path in sorted(out.glob("*.parquet"))}
        rows.append((engine, wall, cpu, peak))
        print(f"{engine}: {wall:.1f} s wall, {cpu:.1f} s CPU, {peak / 1024:.2f} GB", flush=True)
    print(f"\n{args.stage}\n| engine | wall s | CPU s | peak RSS (whole tree) |")
    print("|---|---:|---:|---:|")
    for engine, wall, cpu, peak in rows:
        print(f"| {engine} | {wall:.1f} | {cpu:.1f} | {peak / 1024:.2f} GB |")
    names = sorted(outputs["local"])
    same = [name for name in names if outputs["spark"].get(name) == outputs["local"][name]]
    print(f"\nbyte-identical parquet outputs: {len(same)} of {len(names)}")


if __name__ == "__main__":
    main()
