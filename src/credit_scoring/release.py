"""Releases: a committed record of one pipeline run, the data pushed, the model card and a git tag.

``credit-scoring-release model-v1``, from a checkout whose pipeline is reproduced and committed
(``dvc status`` clean, no uncommitted change to tracked files):

1. names the tag in ``reports/model_card.md`` and ``dvc commit``s the register stage, so that
   ``dvc status`` stays clean;
2. writes ``releases/model-v1.json``: every metric of every metrics file of dvc.yaml, the md5 of
   every dep and out of dvc.lock, the sha256 of the model files, the registry version, its run
   and its tags;
3. pushes the DVC data to the remote (``dvc push``), commits the record and creates the
   annotated tag; the registry version gets a ``release`` tag.

The audit (:mod:`credit_scoring.audit`) reruns a tag and compares it with this record. The helpers
that read a pipeline's state (metrics, dvc.lock, model hashes) live here and serve both.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from credit_scoring.cli import read_json, setup_logging, write_json
from credit_scoring.config import load_params
from credit_scoring.io import file_sha256

logger = logging.getLogger(__name__)

RELEASES_DIR = "releases"
# Format 2: ``models`` maps each model file to the sha256 of its bytes (1: to a dict that also
# held a hash of the unpickled content).
RECORD_FORMAT = 2
# Registry tags describing the model itself (not when, or by which run, it was registered).
AUDITED_TAGS = ("family", "threshold", "data_hash", "data_source", "features")
AUDITED_TAG_PREFIX = "metric."
_RELEASE_ROW = re.compile(r"^\| release tag \| .* \|$", re.MULTILINE)
_INTERPOLATION = re.compile(r"\$\{([^}]+)\}")


class ReleaseError(RuntimeError):
    """A release (or an audit) cannot go on; the message says why and what to do."""


# --- commands --------------------------------------------------------------------------------


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


def dvc(
    root: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """Run this interpreter's DVC in ``root``."""
    return run([sys.executable, "-m", "dvc", *args], root, env=env, check=check)


# --- the state of a pipeline checkout ---------------------------------------------------------


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


# --- model hashes -----------------------------------------------------------------------------


def model_files(root: Path, models_dir: str) -> list[str]:
    """The champion's pickle and every candidate's, relative to ``root``."""
    folder = root / models_dir
    paths = [folder / "champion" / "model.pkl", *sorted((folder / "candidates").glob("*.pkl"))]
    return [p.relative_to(root).as_posix() for p in paths if p.is_file()]


def model_hashes(root: Path, models_dir: str) -> dict[str, str]:
    """The sha256 of each model file's bytes (the pipeline writes them byte-identically)."""
    return {name: file_sha256(root / name) for name in model_files(root, models_dir)}


# --- registry ---------------------------------------------------------------------------------


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


def _tag_registry_version(uri: str, name: str, version: str, tag: str) -> None:
    """Tag the registry version with the release (a warning when the registry refuses)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.set_model_version_tag(name, str(version), "release", tag)
    except MlflowException as exc:
        logger.warning("could not tag %s version %s with release=%s: %s", name, version, tag, exc)


# --- the release ------------------------------------------------------------------------------


def record_path(root: Path, tag: str) -> Path:
    """Where the release record of ``tag`` is committed."""
    return root / RELEASES_DIR / f"{tag}.json"


def name_release_in_card(card: Path, tag: str) -> None:
    """Write ``tag`` in the "release tag" row of a model card."""
    text = card.read_text(encoding="utf-8")
    if not _RELEASE_ROW.search(text):
        raise ReleaseError(f"{card}: no '| release tag | ... |' row to write the tag in")
    card.write_text(_RELEASE_ROW.sub(f"| release tag | `{tag}` |", text, count=1), "utf-8")


def _requirements_sha256(root: Path) -> str | None:
    lock = root / "requirements.lock"
    return file_sha256(lock) if lock.is_file() else None


def _registry(root: Path, params: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """reports/registry.json with the version's audited tags, and the tracking URI (kept out of
    the record: it may hold credentials)."""
    registry = read_json(root / params["paths"]["reports_dir"] / "registry.json")
    uri = tracking_uri(root, params)
    tags = registry_tags(uri, registry["model_name"], registry["version"])
    return registry | {"tags": tags}, uri


def build_record(
    root: Path, tag: str, message: str, registry: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The release record of the pipeline state checked out in ``root``.

    Args:
        registry: registry.json with the version's tags (default: read now, see _registry).
    """
    params = load_params(root / "params.yaml")
    return {
        "format": RECORD_FORMAT,
        "tag": tag,
        "message": message,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source_commit": git(root, "rev-parse", "HEAD"),
        "metrics": read_metrics(root, metrics_files(root)),
        "data": lock_stages(root),
        "models": model_hashes(root, params["paths"]["models_dir"]),
        "registry": dict(registry or _registry(root, params)[0]),
        "environment": {
            "python": platform.python_version(),
            "requirements_lock_sha256": _requirements_sha256(root),
        },
    }


def check_releasable(root: Path, tag: str) -> None:
    """Refuse a taken or invalid tag, uncommitted changes, or a pipeline not reproduced."""
    if run(["git", "check-ref-format", f"refs/tags/{tag}"], root, check=False).returncode:
        raise ReleaseError(f"{tag!r} is not a valid git tag name")
    if git(root, "tag", "--list", tag):
        raise ReleaseError(f"tag {tag} already exists (see `git show {tag}`)")
    dirty = git(root, "status", "--porcelain", "--untracked-files=no")
    if dirty:
        raise ReleaseError(
            "uncommitted changes to tracked files; commit them first (git add -A && git commit):"
            f"\n{dirty}"
        )
    status = dvc(root, "status", "--json").stdout.strip()
    if status not in ("", "{}"):
        raise ReleaseError(
            f"the pipeline is not up to date (`dvc status`): run `dvc repro`, "
            f"commit, then release\n{status}"
        )


def release(
    root: Path,
    tag: str,
    *,
    message: str | None = None,
    remote: str | None = None,
    push: bool = True,
) -> Path:
    """Release the committed pipeline state of ``root`` as ``tag``; return the record's path.

    Everything that can fail without changing the checkout (checks, registry, ``dvc push``)
    comes first.
    """
    root = root.resolve()
    check_releasable(root, tag)
    params = load_params(root / "params.yaml")
    registry, uri = _registry(root, params)
    if push:
        dvc(root, "push", *(["--remote", remote] if remote else []))
    message = message or f"Release {tag}"
    card = Path(params["paths"]["reports_dir"]) / "model_card.md"
    name_release_in_card(root / card, tag)
    dvc(root, "commit", "--force", stage_of_output(root, card.as_posix()))
    path = write_json(build_record(root, tag, message, registry), record_path(root, tag))
    git(root, "add", path.relative_to(root).as_posix(), card.as_posix(), "dvc.lock")
    git(root, "commit", "--quiet", "--message", message)
    git(root, "tag", "--annotate", tag, "--message", message)
    name, version = registry["model_name"], registry["version"]
    _tag_registry_version(uri, name, version, tag)
    logger.info("released %s: %s version %s, record %s", tag, name, version, path)
    return path


def main(argv: list[str] | None = None) -> None:
    """CLI: ``credit-scoring-release TAG [--message M] [--remote NAME] [--no-push]``."""
    parser = argparse.ArgumentParser(
        description="Record, push and tag the committed pipeline run as a release."
    )
    parser.add_argument("tag", help="git tag to create, e.g. model-v1")
    parser.add_argument("--message", "-m", help="tag and commit message")
    parser.add_argument("--remote", "-r", help="DVC remote to push to (default: the default)")
    parser.add_argument("--no-push", action="store_true", help="do not `dvc push`")
    parser.add_argument("--repo", type=Path, default=Path("."), help="project folder")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        path = release(
            args.repo, args.tag, message=args.message, remote=args.remote, push=not args.no_push
        )
    except ReleaseError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    logger.info("publish %s: git push --follow-tags (%s)", args.tag, path.name)


if __name__ == "__main__":
    main()
