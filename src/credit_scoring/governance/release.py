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

The audit (:mod:`credit_scoring.governance.audit`) reruns a tag and compares it with this record;
what both read of a pipeline's state (metrics, dvc.lock, model hashes) lives in
:mod:`credit_scoring.governance.record`.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from credit_scoring.cli import read_json, setup_logging, write_json
from credit_scoring.config import load_params
from credit_scoring.data.io import file_sha256
from credit_scoring.governance.environment import numeric_environment
from credit_scoring.governance.record import (
    RECORD_FORMAT,
    ReleaseError,
    dvc,
    git,
    lock_stages,
    metrics_files,
    model_hashes,
    read_metrics,
    record_path,
    registry_tags,
    run,
    stage_of_output,
    tracking_uri,
)

logger = logging.getLogger(__name__)

_RELEASE_ROW = re.compile(r"^\| release tag \| .* \|$", re.MULTILINE)


def _tag_registry_version(uri: str, name: str, version: str, tag: str) -> None:
    """Tag the registry version with the release (a warning when the registry refuses)."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.set_model_version_tag(name, str(version), "release", tag)
    except MlflowException as exc:
        logger.warning("could not tag %s version %s with release=%s: %s", name, version, tag, exc)


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
            "requirements_lock_sha256": _requirements_sha256(root),
            **numeric_environment(),
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
