"""Releases: a committed record of one pipeline run, the data pushed, the model card and a git tag.

``credit-scoring-release model-v1``, from a checkout whose pipeline is reproduced and committed
(``dvc status`` clean, no uncommitted change to tracked files):

1. names the tag in ``reports/model_card.md`` and ``dvc commit``s the register stage, so that
   ``dvc status`` stays clean;
2. writes ``releases/model-v1.json``: every metric of every metrics file of dvc.yaml, the md5 of
   every dep and out of dvc.lock, the sha256 of the model files, the registry version, its run
   and its tags;
3. pushes the DVC data to the remote (``dvc push``), commits the record and creates the
   annotated tag; the registry version gets the tags ``release`` and ``audit_status``;
4. promotes that version to ``@champion`` (:mod:`credit_scoring.governance.promotion`), the
   approver and the reason ("release model-v1: ...") recorded with the comparison against the
   champion it replaces (``--no-promote``: release without serving it).

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


def _promote_release(
    root: Path, uri: str, name: str, version: str, tag: str, approver: str, reason: str
) -> None:
    """Mark ``version`` released as ``tag`` and promote it (errors say how to finish by hand)."""
    from credit_scoring.governance import promotion, registry

    client = registry.client_for(uri)
    registry.mark_released(name, version, tag, client)
    if registry.alias_version(client, name, registry.CHAMPION) == str(version):
        logger.info("%s version %s already is @%s", name, version, registry.CHAMPION)
        return
    current = registry.alias_version(client, name, registry.CHAMPION)
    comparison = promotion.champion_comparison(promotion.settings(root), version, current)
    if comparison:
        logger.info(
            "challenger vs champion on the held-out rows:\n%s",
            promotion.comparison_table(comparison),
        )
    registry.promote(
        name, version, approver=approver, reason=reason, comparison=comparison, client=client
    )


def _approver(root: Path, approver: str | None) -> str:
    """``approver``, else the git identity of ``root`` (``Name <email>``)."""
    if approver:
        return approver
    name = run(["git", "config", "user.name"], root, check=False).stdout.strip()
    email = run(["git", "config", "user.email"], root, check=False).stdout.strip()
    identity = f"{name} <{email}>" if email else name
    if not identity:
        raise ReleaseError("no approver: pass --approver or set git config user.name")
    return identity


def _check_servable(registry_record: Mapping[str, Any]) -> None:
    """Refuse to release a version that could never be promoted (no metrics or data hash)."""
    from credit_scoring.governance.registry import REQUIRED_TAGS

    missing = [key for key in REQUIRED_TAGS if not registry_record["tags"].get(key)]
    if missing:
        raise ReleaseError(
            f"registry version {registry_record['version']} lacks {', '.join(missing)}: "
            "rerun the register stage (dvc repro --force register)"
        )


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
    promote: bool = True,
    approver: str | None = None,
) -> Path:
    """Release the committed pipeline state of ``root`` as ``tag``; return the record's path.

    Everything that can fail without changing the checkout (checks, registry, ``dvc push``)
    comes first.
    """
    root = root.resolve()
    check_releasable(root, tag)
    params = load_params(root / "params.yaml")
    registry, uri = _registry(root, params)
    _check_servable(registry)
    approver = _approver(root, approver) if promote else ""
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
    name, version = str(registry["model_name"]), str(registry["version"])
    logger.info("released %s: %s version %s, record %s", tag, name, version, path)
    if promote:
        try:
            _promote_release(root, uri, name, version, tag, approver, f"release {tag}: {message}")
        except Exception as exc:
            raise ReleaseError(
                f"{tag} is released but version {version} was not promoted ({exc}); promote it "
                f"with: credit-scoring-promote {version} --reason '...' --approver '...'"
            ) from exc
    else:
        from credit_scoring.governance import registry as model_registry

        model_registry.mark_released(name, version, tag, model_registry.client_for(uri))
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
    parser.add_argument("--approver", help="who approves the promotion (default: git identity)")
    parser.add_argument(
        "--no-promote", action="store_true", help="release without making it @champion"
    )
    parser.add_argument("--repo", type=Path, default=Path("."), help="project folder")
    args = parser.parse_args(argv)
    setup_logging()
    try:
        path = release(
            args.repo,
            args.tag,
            message=args.message,
            remote=args.remote,
            push=not args.no_push,
            promote=not args.no_promote,
            approver=args.approver,
        )
    except ReleaseError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    logger.info("publish %s: git push --follow-tags (%s)", args.tag, path.name)


if __name__ == "__main__":
    main()
