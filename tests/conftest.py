"""Shared fixtures: the real-sample location and a tiny pipeline run in a temp git+DVC repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from credit_scoring.params import compose_params, write_params

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT.parent / "shared" / "data" / "home-credit-sample"
PROJECT_FILES = ("dvc.yaml", "conf", "stages", "src", "pyproject.toml", ".dvcignore")


@dataclass(frozen=True)
class Project:
    """A pipeline project in a temporary folder and the environment to run its commands in."""

    root: Path
    env: dict[str, str]

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command in the project folder, output captured as text."""
        result = subprocess.run(
            args, cwd=self.root, env=self.env, capture_output=True, text=True, timeout=1800
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"


def project_env(root: Path) -> dict[str, str]:
    """This interpreter's bin first on PATH (dvc, python) and the project's own copy of the
    package first on PYTHONPATH, so stages run the code copied with the project."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = str(root / "src")
    env.pop("MLFLOW_TRACKING_URI", None)
    env.update(MPLBACKEND="Agg", DVC_NO_ANALYTICS="1", GIT_TERMINAL_PROMPT="0")
    return env


def make_project(root: Path, overrides: list[str]) -> Project:
    """Copy the pipeline into ``root``, compose params with ``overrides``, git+dvc init it."""
    root.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore)
        else:
            shutil.copy2(source, root / name)
    write_params(compose_params(root / "conf", overrides), root / "params.yaml")
    project = Project(root, project_env(root))
    project.run("git", "init", "-q")
    project.run("git", "config", "user.email", "tests@localhost")
    project.run("git", "config", "user.name", "tests")
    project.run("dvc", "init", "-q")
    project.run("dvc", "config", "core.analytics", "false")
    project.run("dvc", "config", "hydra.enabled", "true")
    (root / ".gitignore").write_text("mlflow.db\nmlruns/\n")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "tiny project")
    return project


def run_stage_script(stage: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``stages/<stage>.py`` of this repo in ``cwd`` (its params.yaml and inputs there)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "stages" / f"{stage}.py")],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def serve(project: Project, folder: Path, api_key: str, **settings: str):
    """The API (uvicorn subprocess) on ``project``'s outputs and registry, its decision log in
    ``folder``; ``settings`` are extra ``CREDIT_API_*`` variables."""
    from credit_scoring.api.launch import run_environment, start_api

    folder.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{folder / 'decisions.db'}"
    env = project.env | run_environment(project.root, database_url, api_key, project.tracking_uri)
    return start_api(env | settings, folder, folder / "api.log")


# Four amounts scaled up: traffic that drifts from the production applications.
SHIFTED_AMOUNTS = {
    "AMT_INCOME_TOTAL": 3.0, "AMT_CREDIT": 2.5, "AMT_ANNUITY": 2.5, "AMT_GOODS_PRICE": 2.5
}  # fmt: skip
REQUIRED_FIELDS = ("AMT_INCOME_TOTAL", "AMT_CREDIT", "DAYS_BIRTH", "DAYS_EMPLOYED")


def production_traffic(project: Project, rows: int = 250):
    """The first ``rows`` production applications the API accepts, and the same with
    :data:`SHIFTED_AMOUNTS` applied: two frames."""
    import pandas as pd

    production = pd.read_parquet(project.root / "data" / "interim" / "application_test.parquet")
    production = production[production[list(REQUIRED_FIELDS)].notna().all(axis=1)].head(rows)
    shifted = production.assign(**{c: production[c] * k for c, k in SHIFTED_AMOUNTS.items()})
    return production, shifted


def post_csv(url: str, api_key: str, frame) -> None:
    """Score ``frame`` through ``POST /predict/batch/csv`` of the API at ``url`` (every row
    answered, so logged)."""
    import httpx

    response = httpx.post(
        f"{url}/predict/batch/csv",
        headers={"X-API-Key": api_key},
        files={"file": ("applications.csv", frame.to_csv(index=False).encode(), "text/csv")},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    assert response.json()["n"] == len(frame)


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Project:
    """The whole pipeline run once by ``dvc repro`` on tiny synthetic data (experiment=tiny)."""
    project = make_project(tmp_path_factory.mktemp("tiny") / "project", ["experiment=tiny"])
    project.run("dvc", "repro")
    return project


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The real Home Credit sample, or skip when it is not on this machine."""
    if not (SAMPLE_DIR / "application_train.csv.gz").is_file():
        pytest.skip(f"real Home Credit sample not found in {SAMPLE_DIR}")
    return SAMPLE_DIR
