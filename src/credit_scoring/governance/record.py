"""What a release records and an audit compares: metrics files, dvc.lock hashes, model file
hashes and registry tags of a pipeline checkout, and the git/dvc commands that read them."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from credit_scoring.config import load_params
from credit_scoring.data.io import file_sha256

logger = logging.getLogger(__name__)

RELEASES_DIR = "releases"
# Format 2: ``models`` maps each model file to the sha256 of its bytes (1: to a dict that also
# held a hash of the unpickled content).
RECORD_FORMAT = 2
# Registry tags describing the model itself (not when, or by which run, it was registered).
AUDITED_TAGS = ("family", "threshold", "data_hash", "data_source", "features")
AUDITED_TAG_PREFIX = "metric."
_INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


class ReleaseError(RuntimeError):
    """A release (or an audit) cannot go on; the message says why and what to do."""


def tool_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment with this interpreter's bin first (``python`` and ``dvc`` of the venv)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("DVC_NO_ANALYTICS", "1")
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env.update(extra or {})
    return env


def run(
    args: list[str], cwd: Path, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run a command in ``cwd``, output captured; raise :class:`ReleaseError` when it fails."""
    logger.debug("%s$ %s", cwd, " ".join(args))
    result = subprocess.run(
        args, cwd=cwd, env=dict(env or tool_env()), capture_output=True, text=True
    )
    if check and result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip())[-2000:]
        raise ReleaseError(f"`{' '.join(args)}` failed in {cwd}:\n{output}")
    return result


def git(root: Path, *args: str, check: bool = True) -> str:
    """Run git in ``root``; its stdout, stripped."""
    return run(["git", *args], root, check=check).stdout.strip()


def resolve_commit(repo: Path, rev: str) -> str:
    """The commit of tag or commit ``rev`` in ``repo``; ReleaseError when there is none."""
    commit = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not commit:
        raise ReleaseError(f"{rev!r} is neither a tag nor a commit of {repo}")
    return commit


def dvc(
    root: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run this interpreter's DVC in ``root``."""
    return run([sys.executable, "-m", "dvc", *args], root, env=env, check=check)


def load_yaml(path: Path) -> Any:
    """A YAML file's content (None when the file is empty)."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _lookup(params: Mapping[str, Any], dotted: str) -> Any:
    value: Any = params
    for key in dotted.strip().split("."):
        value = value[key]
    return value


def interpolate(text: str, params: Mapping[str, Any]) -> str:
    """Resolve DVC's ``${a.b}`` references in a dvc.yaml path from params.yaml."""
    return _INTERPOLATION.sub(lambda match: str(_lookup(params, match.group(1))), text)


def _entry_path(entry: str | Mapping[str, Any]) -> str:
    """The path of a dvc.yaml outs/metrics entry (``path`` or ``{path: {options}}``)."""
    return entry if isinstance(entry, str) else next(iter(entry))


def metrics_files(root: Path) -> list[str]:
    """Every metrics file declared in ``root/dvc.yaml`` (stage ``metrics`` and top level)."""
    pipeline = load_yaml(root / "dvc.yaml") or {}
    params_file = root / "params.yaml"
    params = load_params(params_file) if params_file.is_file() else {}
    entries = list(pipeline.get("metrics", []))
    for stage in pipeline.get("stages", {}).values():
        entries += stage.get("metrics", [])
    return sorted({interpolate(_entry_path(entry), params) for entry in entries})


def stage_of_output(root: Path, output: str) -> str:
    """The name of the dvc.yaml stage that writes ``output``."""
    stages = (load_yaml(root / "dvc.lock") or {}).get("stages", {})
    for name, stage in stages.items():
        if any(out["path"] == output for out in stage.get("outs", [])):
            return name
    raise ReleaseError(f"no stage of dvc.lock writes {output}: run `dvc repro` first")


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys, as ``dvc metrics`` shows them."""
    if not isinstance(data, Mapping):
        return {prefix: data}
    flat: dict[str, Any] = {}
    for key, value in data.items():
        flat |= flatten(value, f"{prefix}.{key}" if prefix else str(key))
    return flat


def read_metrics(root: Path, files: list[str]) -> dict[str, dict[str, Any]]:
    """The flattened metrics of each file (JSON or YAML); a missing file maps to ``{}``."""
    metrics = {}
    for name in files:
        path = root / name
        metrics[name] = flatten(load_yaml(path)) if path.is_file() else {}
    return metrics


def lock_stages(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Per stage of dvc.lock: ``{"deps": {path: md5}, "outs": {path: md5}}``."""
    lock_file = root / "dvc.lock"
    if not lock_file.is_file():
        raise ReleaseError(f"{lock_file}: missing (run `dvc repro` and commit dvc.lock)")
    stages = (load_yaml(lock_file) or {}).get("stages", {})
    return {
        name: {
            kind: {entry["path"]: entry["md5"] for entry in stage.get(kind, []) if "md5" in entry}
            for kind in ("deps", "outs")
        }
        for name, stage in stages.items()
    }


def lock_outs(root: Path) -> dict[str, str]:
    """Every output of dvc.lock and its md5 (``.dir`` suffix for folders)."""
    return {
        path: md5 for stage in lock_stages(root).values() for path, md5 in stage["outs"].items()
    }


def model_files(root: Path, models_dir: str) -> list[str]:
    """The champion's pickle and every candidate's, relative to ``root``."""
    folder = root / models_dir
    champion = [
        folder / "champion" / "data" / "model" / "model.pkl",  # the pyfunc
        folder / "champion" / "model.pkl",  # versions of the sklearn flavor
    ]
    paths = [*champion, *sorted((folder / "candidates").glob("*.pkl"))]
    return [p.relative_to(root).as_posix() for p in paths if p.is_file()]


def model_hashes(root: Path, models_dir: str) -> dict[str, str]:
    """The sha256 of each model file's bytes (the pipeline writes them byte-identically)."""
    return {name: file_sha256(root / name) for name in model_files(root, models_dir)}


def tracking_uri(root: Path, params: Mapping[str, Any]) -> str:
    """``MLFLOW_TRACKING_URI`` or params' URI, a relative sqlite path made relative to ``root``."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or params["mlflow"]["tracking_uri"]
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri[len(prefix) :]).is_absolute():
        return f"{prefix}{(root / uri[len(prefix) :]).resolve()}"
    return uri


def audited_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags that describe the model (:data:`AUDITED_TAGS` and ``metric.*``)."""
    return {
        key: value
        for key, value in sorted(tags.items())
        if key in AUDITED_TAGS or key.startswith(AUDITED_TAG_PREFIX)
    }


def registry_tags(uri: str, name: str, version: str) -> dict[str, str]:
    """The audited tags of model version ``name``/``version`` in the registry at ``uri``."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        model_version = MlflowClient(tracking_uri=uri, registry_uri=uri).get_model_version(
            name, str(version)
        )
    except MlflowException as exc:
        raise ReleaseError(
            f"model {name} version {version} not found in the registry at {uri} "
            f"(set MLFLOW_TRACKING_URI to the store `dvc repro` used): {exc}"
        ) from exc
    return audited_tags(model_version.tags)


def record_path(root: Path, tag: str) -> Path:
    """Where the release record of ``tag`` is committed."""
    return root / RELEASES_DIR / f"{tag}.json"
