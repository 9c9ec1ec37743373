"""The featurize stage with each engine, pandas against Spark (a script, not a test).

On a project whose ingest has run (e.g. the full-size synthetic data kept by
``bench_scale.py --size full --until ingest --keep``), it runs ``stages/featurize.py`` once per
engine (``engine.name`` set in a copy of the project's params), and prints the wall seconds, CPU
seconds and the peak resident memory of each run's whole process tree (for Spark: the stage, the
JVM and the Python workers; sampled with psutil as ``bench_spark_scoring.py`` does), side by side,
and whether the two engines wrote byte-identical files::

    python benchmarks/bench_spark_features.py --project-root /tmp/bench/<project> [--buckets 16]
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
OUTPUTS = ("train.parquet", "holdout.parquet", "production.parquet", "history.parquet")


def _measure():
    """``measure`` of bench_spark_scoring.py (the process-tree sampler)."""
    path = HERE / "bench_spark_scoring.py"
    spec = importlib.util.spec_from_file_location("bench_spark_scoring", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.measure


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run_engine(project: Path, engine: str, buckets: int, out: Path) -> tuple[float, float, float]:
    """Run featurize with ``engine`` in ``project``, writing to ``out``: (wall, CPU, peak MB)."""
    params = yaml.safe_load((project / "params.yaml").read_text())
    defaults = yaml.safe_load((ROOT / "conf" / "engine" / f"{engine}.yaml").read_text())
    params["engine"] = defaults | {"spark_buckets": buckets}
    params["paths"]["processed_dir"] = str(out)
    work = project / f"params-{engine}"
    work.mkdir(exist_ok=True)
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name in ("data", "reports"):  # relative paths of params resolve from the work folder
        link = work / name
        if not link.exists():
            link.symlink_to(project / name)
    os.environ["PYTHONPATH"] = str(ROOT / "src")
    return _measure()([sys.executable, str(ROOT / "stages" / "featurize.py")], work)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project-root", type=Path, required=True)
    parser.add_argument("--buckets", type=int, default=16)
    args = parser.parse_args(argv)
    project = args.project_root.resolve()
    outputs, rows = {}, []
    for engine in ("local", "spark"):
        out = project / f"processed-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        wall, cpu, peak = run_engine(project, engine, args.buckets, out)
        outputs[engine] = {name: digest(out / name) for name in OUTPUTS}
        rows.append((engine, wall, cpu, peak))
        print(f"{engine}: {wall:.1f} s wall, {cpu:.1f} s CPU, {peak / 1024:.2f} GB", flush=True)
    print("\n| engine | wall s | CPU s | peak RSS (whole tree) |\n|---|---:|---:|---:|")
    for engine, wall, cpu, peak in rows:
        print(f"| {engine} | {wall:.1f} | {cpu:.1f} | {peak / 1024:.2f} GB |")
    same = [name for name in OUTPUTS if outputs["local"][name] == outputs["spark"][name]]
    print(f"\nbyte-identical outputs: {len(same)} of {len(OUTPUTS)} ({', '.join(same)})")


if __name__ == "__main__":
    main()
