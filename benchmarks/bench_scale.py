"""Wall time, peak memory and rows of the pipeline stages at Kaggle size (a script, not a test).

Generates the synthetic data of ``experiment=full_size`` (or ``quarter_size``, or N clients with
the full-size rows per client) once into a cache folder, then runs the stages in a temporary
copy of the project (dvc.yaml, conf, stages, src; params composed with the experiment; git + DVC
initialised), one ``dvc repro --single-item STAGE`` per stage in pipeline order. Per stage it
prints the wall seconds, the CPU seconds (user + system, all processes), the peak RSS of the
biggest process (the stage script, or DVC itself while it hashes and caches), the rows read and
written under ``data/`` and the load average when the stage started (other jobs on the machine
make wall times noisy). A second call with the same size reuses the cached CSVs and reprints
the figures of the run that made them.

Usage::

    python benchmarks/bench_scale.py --size quarter --until featurize
    python benchmarks/bench_scale.py --size full --until featurize --json /tmp/full.json
    python benchmarks/bench_scale.py --clients 3000 --until featurize --keep
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import yaml

from credit_scoring.params import compose_params, write_params

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILES = ("dvc.yaml", "conf", "stages", "src", "pyproject.toml", ".dvcignore")
SIZES = {"quarter": "quarter_size", "full": "full_size"}
KAGGLE_CLIENTS = {"application_train": 307_511, "application_test": 48_744}
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "credit-scoring-scale"
GNU_TIME = Path("/usr/bin/time")
# Fallback when GNU time is missing: the wrapper runs the command and writes the peak RSS (KB)
# of its children (the biggest process of the command's tree) and their user + system seconds.
RUSAGE_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "with open(sys.argv[1], 'w') as out:\n"
    "    out.write(f'{usage.ru_maxrss} {usage.ru_utime} {usage.ru_stime}')\n"
    "sys.exit(code)\n"
)


@dataclass
class StageFigures:
    """What one stage cost and moved."""

    stage: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    rows_in: int | None
    rows_out: int | None
    load_avg: float
    cached: bool = False


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--size", choices=sorted(SIZES), default="quarter")
    size.add_argument("--clients", type=int, help="custom size: clients (train + test)")
    parser.add_argument("--until", help="last stage to run (e.g. featurize); default: all")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--workdir", type=Path, help="parent of the temporary project")
    parser.add_argument("--keep", action="store_true", help="keep the temporary project")
    parser.add_argument("--no-gnu-time", action="store_true", help="measure with getrusage")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    return parser.parse_args(argv)


def size_overrides(size: str | None, clients: int | None) -> tuple[str, list[str]]:
    """(cache label, Hydra overrides) of a named size or of ``clients`` clients."""
    if clients is None:
        return size, [f"experiment={SIZES[size]}"]
    if clients < 2:
        raise ValueError(f"need at least 2 clients, got {clients}")
    share = KAGGLE_CLIENTS["application_train"] / sum(KAGGLE_CLIENTS.values())
    n_train = min(max(round(clients * share), 1), clients - 1)
    overrides = [f"generate.n_train={n_train}", f"generate.n_test={clients - n_train}"]
    return f"clients-{clients}", ["experiment=full_size", *overrides]


def project_env(root: Path) -> dict[str, str]:
    """This interpreter's bin first on PATH (dvc, python), the project's copy of src first."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    return env | {"MPLBACKEND": "Agg", "DVC_NO_ANALYTICS": "1", "GIT_TERMINAL_PROMPT": "0"}


def run(args: list[str], root: Path) -> None:
    """Run a setup command in ``root``; fail with its output."""
    result = subprocess.run(args, cwd=root, env=project_env(root), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")


def make_project(root: Path, overrides: list[str]) -> dict[str, Any]:
    """Copy the pipeline into ``root``, compose its params.yaml, git+dvc init it; the params."""
    root.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    params = compose_params(root / "conf", overrides)
    write_params(params, root / "params.yaml")
    (root / ".gitignore").write_text("mlflow.db\nmlruns/\n")
    for command in (
        ["git", "init", "-q"],
        ["git", "config", "user.email", "bench@localhost"],
        ["git", "config", "user.name", "bench"],
        ["dvc", "init", "-q"],
        ["dvc", "config", "core.analytics", "false"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "scale benchmark project"],
    ):
        run(command, root)
    return params


def measure(command: list[str], root: Path, gnu_time: bool) -> tuple[float, float, float, str]:
    """Run ``command`` in ``root``: (wall s, CPU s, peak RSS in MB, combined output).

    The peak is the largest RSS of any process of the command's tree and the CPU time is the
    user + system seconds of the whole tree (GNU time's ``%M %U %S``, or
    ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process when GNU time is absent); with
    other jobs on the machine, CPU seconds vary less than wall seconds.
    """
    with tempfile.TemporaryDirectory() as scratch:
        usage_file = Path(scratch) / "usage"
        if gnu_time:
            wrapped = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(usage_file), *command]
        else:
            wrapped = [sys.executable, "-c", RUSAGE_WRAPPER, str(usage_file), *command]
        start = time.perf_counter()
        result = subprocess.run(
            wrapped, cwd=root, env=project_env(root), capture_output=True, text=True
        )
        wall = time.perf_counter() - start
        output = result.stdout + result.stderr
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{output}")
        # GNU time writes "Command exited with non-zero status" first on failure (raised above).
        peak_kb, user, system = usage_file.read_text().split()[-3:]
    return wall, float(user) + float(system), int(peak_kb) / 1024, output


def table_rows(path: Path) -> int:
    """Data rows of a parquet file (its metadata) or a CSV file (newlines minus the header)."""
    if path.suffix == ".parquet":
        return pq.read_metadata(path).num_rows
    lines = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            lines += chunk.count(b"\n")
    return max(lines - 1, 0)


def data_files(root: Path, paths: list[str]) -> list[Path]:
    """The CSV and parquet files under ``data/`` among ``paths`` (files or folders)."""
    found = []
    for name in paths:
        if not name.startswith("data/"):
            continue
        path = root / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        found += [f for f in files if f.suffix in (".csv", ".parquet") and f.is_file()]
    return found


def stage_paths(params: dict[str, Any]) -> dict[str, dict[str, list[str]]]:
    """Per stage of dvc.yaml (in pipeline order): its deps and outs, ``${...}`` resolved."""

    def resolve(entry: str | dict) -> str:
        name = entry if isinstance(entry, str) else next(iter(entry))
        return re.sub(r"\$\{([^}]+)\}", lambda m: str(lookup(params, m.group(1))), name)

    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    return {
        name: {
            "deps": [resolve(d) for d in stage.get("deps", [])],
            "outs": [resolve(o) for o in stage.get("outs", [])],
        }
        for name, stage in stages.items()
    }


def lookup(params: dict[str, Any], dotted: str) -> Any:
    """``params["a"]["b"]`` for ``"a.b"``."""
    node: Any = params
    for part in dotted.split("."):
        node = node[part]
    return node


def count_rows(root: Path, paths: list[str]) -> int | None:
    """Rows of the data files among ``paths`` (None when there are none)."""
    files = data_files(root, paths)
    return sum(table_rows(f) for f in files) if files else None


def restore_cached(cache: Path, generate: dict[str, Any], synthetic_dir: Path) -> dict | None:
    """Link the cached CSVs into ``synthetic_dir`` when made with the same generate params."""
    record_file = cache / "generate.json"
    if not record_file.is_file():
        return None
    record = json.loads(record_file.read_text())
    if record["generate"] != generate:
        return None
    synthetic_dir.mkdir(parents=True, exist_ok=True)
    for csv in sorted((cache / "synthetic").glob("*.csv")):
        link_or_copy(csv, synthetic_dir / csv.name)
    return record


def save_to_cache(cache: Path, generate: dict, synthetic_dir: Path, figures: StageFigures):
    """Keep the generated CSVs (hard links when possible) and how they were made."""
    if cache.exists():
        shutil.rmtree(cache)
    (cache / "synthetic").mkdir(parents=True)
    for csv in sorted(synthetic_dir.glob("*.csv")):
        link_or_copy(csv, cache / "synthetic" / csv.name)
    record = {"generate": generate, "figures": asdict(figures)}
    (cache / "generate.json").write_text(json.dumps(record, indent=2))


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link ``source`` to ``target`` (same file system), else copy it."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def run_benchmark(
    overrides: list[str],
    cache: Path,
    workdir: Path,
    until: str | None = None,
    gnu_time: bool = True,
) -> tuple[list[StageFigures], dict[str, int]]:
    """Run the stages of a fresh project in ``workdir/project``; figures and generated rows.

    Args:
        overrides: Hydra overrides of the size (see :func:`size_overrides`).
        cache: folder of the generated CSVs of this size (reused when the params match).
        workdir: an empty folder for the project.
        until: last stage run (None: every stage of dvc.yaml).
        gnu_time: measure with /usr/bin/time when it exists (else getrusage).

    Returns:
        (one StageFigures per stage run, rows per generated table).
    """
    root = workdir / "project"
    params = make_project(root, overrides)
    stages = stage_paths(params)
    if until is not None and until not in stages:
        raise ValueError(f"unknown stage {until!r}; stages: {', '.join(stages)}")
    use_gnu_time = gnu_time and GNU_TIME.is_file()
    synthetic_dir = root / params["paths"]["synthetic_dir"]
    figures: list[StageFigures] = []
    for stage, paths in stages.items():
        if stage == "generate":
            figures.append(generate_stage(root, params, cache, use_gnu_time))
        else:
            load = os.getloadavg()[0]
            rows_in = count_rows(root, paths["deps"])
            command = ["dvc", "repro", "--single-item", stage]
            wall, cpu, peak, _ = measure(command, root, use_gnu_time)
            rows_out = count_rows(root, paths["outs"])
            figures.append(StageFigures(stage, wall, cpu, peak, rows_in, rows_out, load))
        print(format_row(figures[-1]), flush=True)
        if stage == until:
            break
    generated = {f.stem: table_rows(f) for f in sorted(synthetic_dir.glob("*.csv"))}
    return figures, generated


def generate_stage(root: Path, params: dict, cache: Path, gnu_time: bool) -> StageFigures:
    """The generate stage: measured when the cache lacks this size, else the cached figures."""
    synthetic_dir = root / params["paths"]["synthetic_dir"]
    record = restore_cached(cache, params["generate"], synthetic_dir)
    if record is not None:
        return StageFigures(**{**record["figures"], "cached": True})
    clients = params["generate"]["n_train"] + params["generate"]["n_test"]
    load = os.getloadavg()[0]
    wall, cpu, peak, _ = measure(["dvc", "repro", "--single-item", "generate"], root, gnu_time)
    rows_out = sum(table_rows(f) for f in synthetic_dir.glob("*.csv"))
    figures = StageFigures("generate", wall, cpu, peak, clients, rows_out, load)
    save_to_cache(cache, params["generate"], synthetic_dir, figures)
    return figures


HEADER = (
    f"{'stage':<10} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'rows in':>12} "
    f"{'rows out':>12} load"
)


def format_row(figures: StageFigures) -> str:
    """One line of the figures table."""

    def rows(value: int | None) -> str:
        return "-" if value is None else f"{value:,}"

    note = " (cached: figures of the run that generated the data)" if figures.cached else ""
    return (
        f"{figures.stage:<10} {figures.wall_s:>8.1f} {figures.cpu_s:>8.1f} "
        f"{figures.peak_rss_mb:>12,.0f} "
        f"{rows(figures.rows_in):>12} {rows(figures.rows_out):>12} {figures.load_avg:4.1f}{note}"
    )


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print its figures."""
    args = parse_args(argv)
    label, overrides = size_overrides(args.size, args.clients)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-scale-{label}-", dir=args.workdir))
    print(f"size {label} ({' '.join(overrides)}), {os.cpu_count()} cores, project in {workdir}")
    print(HEADER, flush=True)
    try:
        figures, generated = run_benchmark(
            overrides, args.cache_dir / label, workdir, args.until, not args.no_gnu_time
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print("generated rows: " + ", ".join(f"{t} {n:,}" for t, n in generated.items()))
    if args.json is not None:
        result = {"size": label, "overrides": overrides, "generated_rows": generated}
        result["stages"] = [asdict(f) for f in figures]
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
