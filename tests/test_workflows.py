"""Delivery files that cannot run here: GitHub workflows, Dockerfile, .dockerignore, render.yaml.

Structure checks always run; actionlint, check-jsonschema (GitHub's workflow schema) and
shellcheck (on every ``run:`` script) run when installed (.ci/run installs the last two).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
CI, CD = WORKFLOWS / "ci.yml", WORKFLOWS / "cd.yml"
KNOWN_CONTEXTS = {"github", "env", "secrets", "matrix", "steps", "needs", "runner", "job", "vars"}
SHELL_WORDS = {"if", "then", "else", "elif", "do", "!", "{", "(", "time", "exec"}
UNTRUSTED = re.compile(r"github\.(head_ref|event\.(pull_request|issue|comment|review|commits))")
IMAGE_LOCKS = {"api": "requirements-api.lock", "ui": "requirements-ui.lock"}
API_FILES = [
    "models/champion/MLmodel",
    "models/champion/data/model/model.pkl",
    "data/processed/history.parquet",
    "data/interim/application_test.parquet",
    "params.yaml",
]


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow, with YAML 1.1's boolean ``on`` key read back as "on"."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def run_scripts(workflow: dict[str, Any]) -> list[str]:
    return [step["run"] for step in steps(workflow) if "run" in step]


def tool(name: str) -> str | None:
    """An executable of this venv, else of PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.is_file() else shutil.which(name)


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z0-9_.-]+):(?!=)", text, flags=re.MULTILINE))


def make_calls(script: str) -> list[str]:
    """Targets of every ``make`` command of a shell script."""
    targets = []
    for line in script.splitlines():
        for command in re.split(r"&&|\|\||;|\|", line):
            try:
                words = shlex.split(command, comments=True)
            except ValueError:  # a quote opened on another line
                continue
            while words and (words[0] in SHELL_WORDS or re.fullmatch(r"\w+=.*", words[0])):
                words.pop(0)
            if words and Path(words[0]).name == "make":
                targets += [w for w in words[1:] if not w.startswith("-") and "=" not in w]
    return targets


@pytest.fixture(scope="module")
def ci() -> dict[str, Any]:
    return load_workflow(CI)


@pytest.fixture(scope="module")
def cd() -> dict[str, Any]:
    return load_workflow(CD)


# --- workflows --------------------------------------------------------------------------------


def test_triggers(ci, cd):
    assert {"push", "pull_request"} <= set(ci["on"])
    assert set(cd["on"]) == {"push"}
    assert set(cd["on"]["push"]["tags"]) == {"model-v*", "v*"}
    assert cd["permissions"]["packages"] == "write"


def test_jobs_have_a_runner_and_steps(ci, cd):
    for workflow in (ci, cd):
        for name, job in workflow["jobs"].items():
            assert job["runs-on"] == "ubuntu-latest", name
            assert job["steps"] and all("run" in s or "uses" in s for s in job["steps"]), name
            assert job.get("timeout-minutes", 360) <= 90, name


def test_make_calls_use_existing_targets(ci, cd):
    targets = makefile_targets()
    scripts = run_scripts(ci) + run_scripts(cd) + [(ROOT / ".ci" / "run").read_text()]
    called = [target for script in scripts for target in make_calls(script)]
    assert {"setup", "lint", "test", "docker-check"} <= set(called)
    assert set(called) <= targets, set(called) - targets


def test_make_calls_parser():
    script = "make setup\nPATH=x make test V=1 && make -s lint # make x\nif ! make a; then :; fi"
    assert make_calls(script) == ["setup", "test", "lint", "a"]


def test_ci_steps(ci):
    [setup_python] = [s for s in steps(ci) if s.get("uses", "").startswith("actions/setup-python")]
    assert str(setup_python["with"]["python-version"]) == "3.11"
    checkout = next(s for s in steps(ci) if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    script = "\n".join(run_scripts(ci))
    order = ["make setup", "make lint", "make test", "credit-scoring-compose experiment=tiny"]
    order += ["dvc repro", "dvc metrics diff"]
    positions = [script.index(fragment) for fragment in order]
    assert positions == sorted(positions)
    assert "--md" in script and '>> "$GITHUB_STEP_SUMMARY"' in script
    assert "git fetch" in script and "$BASE_REF" in script


def test_cd_builds_pushes_and_deploys(cd):
    builds = [s for s in steps(cd) if s.get("uses", "").startswith("docker/build-push-action")]
    assert sorted(b["with"]["target"] for b in builds) == ["api", "ui"]
    assert all(b["with"]["push"] is True for b in builds)
    logins = [s for s in steps(cd) if s.get("uses", "").startswith("docker/login-action")]
    assert logins and logins[0]["with"]["registry"] == "ghcr.io"
    [pull] = [s for s in steps(cd) if "dvc pull" in s.get("run", "")]
    assert "dvc pull models/champion data/processed data/interim" in pull["run"]
    assert steps(cd).index(pull) < min(steps(cd).index(build) for build in builds)
    deploy = cd["jobs"]["deploy"]
    assert deploy["needs"] == "images"
    env = deploy["steps"][0]["env"]
    assert env["HOOK_API"] == "${{ secrets.RENDER_DEPLOY_HOOK_API }}"
    assert env["HOOK_UI"] == "${{ secrets.RENDER_DEPLOY_HOOK_UI }}"


def test_actions_are_pinned(ci, cd):
    for step in steps(ci) + steps(cd):
        if "uses" in step:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), step["uses"]


def test_expressions(ci, cd):
    for path in (CI, CD):
        for expression in re.findall(r"\$\{\{(.*?)\}\}", path.read_text()):
            context = re.match(r"\s*!?\s*([a-z_]+)", expression).group(1)
            assert context in KNOWN_CONTEXTS, expression
    for script in run_scripts(ci) + run_scripts(cd):
        assert "${{" not in script, "pass expressions to run: scripts through env:"
        assert not UNTRUSTED.search(script)


def test_run_scripts_pass_shellcheck(ci, cd, tmp_path):
    shellcheck = tool("shellcheck")
    if not shellcheck:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    for index, script in enumerate(run_scripts(ci) + run_scripts(cd)):
        path = tmp_path / f"step{index}.sh"
        path.write_text("#!/bin/bash\nset -eo pipefail\n" + script)  # GitHub's bash -e {0}
        result = subprocess.run(
            [shellcheck, "--severity=warning", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout


def test_workflows_match_githubs_schema():
    checker = tool("check-jsonschema")
    if not checker:
        pytest.skip("check-jsonschema not installed (pip install check-jsonschema)")
    args = [checker, "--builtin-schema", "vendor.github-workflows", str(CI), str(CD)]
    result = subprocess.run(args, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint():
    actionlint = tool("actionlint")
    if not actionlint:
        pytest.skip("actionlint not installed")
    result = subprocess.run([actionlint, str(CI), str(CD)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_stages() -> dict[str, list[tuple[str, str]]]:
    """Instructions (keyword, arguments) of each named stage of the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in filter(str.strip, joined.splitlines()):
        keyword, _, args = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            current = stages.setdefault(args.split()[-1], [])
        current.append((keyword.upper(), args.strip()))
    return stages


def pip_installs(instructions: list[tuple[str, str]]) -> list[str]:
    """The ``pip install`` commands of a stage's RUN instructions, in order."""
    commands = [c.strip() for k, args in instructions if k == "RUN" for c in args.split("&&")]
    return [command for command in commands if command.startswith("pip install")]


def test_dockerfile_targets_and_install_steps():
    stages = dockerfile_stages()
    assert {"base", "api", "ui"} <= set(stages)
    assert stages["base"][0] == ("FROM", "python:3.11-slim AS base")
    assert stages["api"][0][1].startswith("base ") and stages["ui"][0][1].startswith("base ")
    assert pip_installs(stages["base"]) == [], "each image installs its own lock"
    for target, lock in IMAGE_LOCKS.items():
        expected = [f"pip install -r {lock}", "pip install --no-deps ."]
        assert pip_installs(stages[target]) == expected, target
        assert ("COPY", f"{lock} ./") in stages[target], target
    api_runs = " ".join(args for keyword, args in stages["api"] if keyword == "RUN")
    assert "apt-get install -y --no-install-recommends libgomp1" in api_runs  # xgboost, lightgbm


def test_dockerfile_commands_and_environment():
    from credit_scoring.api.settings import ApiSettings

    stages = dockerfile_stages()
    api_env = " ".join(args for keyword, args in stages["api"] if keyword == "ENV")
    assert (
        'CREDIT_API_MODEL_URI=""' in api_env and "CREDIT_API_MODEL_PATH=models/champion" in api_env
    )
    for key in re.findall(r"CREDIT_API_(\w+)=", api_env):
        assert key.lower() in ApiSettings.model_fields, key
    [api_cmd] = [args for keyword, args in stages["api"] if keyword == "CMD"]
    assert "uvicorn credit_scoring.api.asgi:app --host 0.0.0.0 --port ${PORT:-8000}" in api_cmd
    [ui_cmd] = [args for keyword, args in stages["ui"] if keyword == "CMD"]
    assert "streamlit run src/credit_scoring/ui/app.py --server.port ${PORT:-8501}" in ui_cmd
    assert (
        "--server.address 0.0.0.0" in ui_cmd and (ROOT / "src/credit_scoring/ui/app.py").is_file()
    )
    copies = " ".join(args for keyword, args in stages["api"] if keyword == "COPY")
    for path in ["models/champion", *API_FILES[2:]]:
        assert path in copies, path


def dockerignore_excludes(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching pattern wins)."""
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = re.escape(pattern.lstrip("!").strip("/"))
        regex = regex.replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            excluded = not negated
    return excluded


def dockerfile_copy_sources() -> set[str]:
    """Every path that a COPY of the Dockerfile takes from the build context."""
    copies = [args for stage in dockerfile_stages().values() for k, args in stage if k == "COPY"]
    words = [[word for word in args.split() if not word.startswith("--")] for args in copies]
    return {source.rstrip("/") for copy in words for source in copy[:-1]}


def test_dockerignore_keeps_what_the_images_copy():
    copied = dockerfile_copy_sources()
    assert set(IMAGE_LOCKS.values()) | {"src", "models/champion", "params.yaml"} <= copied
    for path in [*copied, "src/credit_scoring/api/asgi.py", *API_FILES]:
        assert not dockerignore_excludes(path), path
    dropped = [".git/config", ".venv/bin/python", "mlflow.db", "data/raw/bureau.csv"]
    dropped += ["data/processed/holdout.parquet", "src/credit_scoring/__pycache__/x.pyc"]
    dropped += ["requirements.lock", "requirements-dev.lock"]
    for path in dropped:
        assert dockerignore_excludes(path), path


def test_docker_check_mirrors_the_dockerfile():
    """docker-check builds one venv per image, with that image's lock, then runs its app."""
    text = (ROOT / "Makefile").read_text()
    recipe = text[text.index("\ndocker-check:") :]
    installs = re.findall(r'"\$\$work/(\w+)/bin/pip" install -q -r ([\w.-]+);', recipe)
    assert dict(installs) == IMAGE_LOCKS and len(installs) == len(IMAGE_LOCKS)
    exported = re.search(r"^export (.+)$", text, flags=re.MULTILINE)[1].split()
    for venv in IMAGE_LOCKS:
        assert f'"$$work/{venv}/bin/pip" check;' in recipe, venv
        assert f'"$$work/{venv}/bin/pip" install -q --no-deps .;' in recipe, venv
        check = f"DOCKER_CHECK_{venv.upper()}"
        assert f'"$$work/{venv}/bin/python" -c "$${check}"' in recipe, venv
        assert f"define {check}\n" in text and check in exported, check
    assert "import credit_scoring.api.asgi" in text and "AppTest.from_file" in text
    assert "make docker-check" in (ROOT / ".ci/run").read_text()


# --- Render -----------------------------------------------------------------------------------


def test_render_blueprint():
    from credit_scoring.api.settings import ApiSettings
    from credit_scoring.ui import client

    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    services = {service["name"]: service for service in blueprint["services"]}
    api, ui = services["credit-scoring-api"], services["credit-scoring-ui"]
    assert api["type"] == ui["type"] == "web" and api["runtime"] == ui["runtime"] == "image"
    assert api["image"]["url"].endswith("-api:latest") and ui["image"]["url"].endswith(
        "-ui:latest"
    )
    api_env = {e["key"]: e for e in api["envVars"]}
    assert api_env["CREDIT_API_API_KEYS"] == {"key": "CREDIT_API_API_KEYS", "sync": False}
    assert api_env["CREDIT_API_MODEL_URI"]["value"] == ""
    for key in api_env:
        assert key.removeprefix("CREDIT_API_").lower() in ApiSettings.model_fields, key
    ui_env = {e["key"]: e for e in ui["envVars"]}
    assert set(ui_env) == {client.URL_ENV, client.KEY_ENV}
    assert ui_env[client.URL_ENV]["fromService"]["name"] == "credit-scoring-api"
    assert ui_env[client.KEY_ENV]["sync"] is False
    assert api["healthCheckPath"] == "/health"
