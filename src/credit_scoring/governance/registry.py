"""The model registry's aliases: a pipeline run registers a challenger; only a recorded human
decision (promotion, rollback) moves ``@champion``.

MLflow keeps no history of alias moves (and registry stages are deprecated), so every move is
appended to the registered model as a tag ``<alias>.move.<UTC time>`` holding one JSON record
(action, version, previous version, approver, reason, comparison); tags of the version itself say
since when it holds the alias. Records are never rewritten: the history is read back from them.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

logger = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
# What a version must carry before it can serve: its held-out figures, the hash of its training
# data, and an audit status (set to "unreleased" by register, "released:<tag>" by the release).
REQUIRED_TAGS = ("metric.holdout_auc", "metric.holdout_business_score", "data_hash")
AUDIT_STATUS = "audit_status"
UNRELEASED = "unreleased"
RELEASED_PREFIX = "released:"


class PromotionError(RuntimeError):
    """A promotion or rollback that must not happen (the message says why)."""


@dataclass(frozen=True)
class AliasMove:
    """One recorded move of an alias.

    Attributes:
        action: ``promote`` or ``rollback``.
        alias: the alias moved (``champion``).
        version: the version the alias points to after the move.
        previous: the version it pointed to before (None: first holder).
        at: UTC time of the move (ISO 8601).
        approver: who decided.
        reason: why.
        comparison: challenger-vs-champion figures shown to the approver (may be empty).
    """

    action: str
    alias: str
    version: str
    previous: str | None
    at: str
    approver: str
    reason: str
    comparison: dict[str, Any] = field(default_factory=dict)


def now_utc() -> str:
    """The current UTC time, ISO 8601 with microseconds (sortable)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def client_for(tracking_uri: str | None = None) -> MlflowClient:
    """A registry client on ``tracking_uri`` (default: MLflow's current URI)."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """The version ``alias`` points to, or None (no such model or alias)."""
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def lineage_tags(root: Path | str = ".") -> dict[str, str]:
    """Where a registered version comes from: git commit and branch, DVC experiment.

    ``dvc exp run`` sets ``DVC_EXP_NAME`` and ``DVC_EXP_BASELINE_REV`` in the stages' environment.
    """

    def git(*args: str) -> str:
        try:
            result = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        return result.stdout.strip() if result.returncode == 0 else ""

    return {
        "git_commit": os.environ.get("DVC_EXP_BASELINE_REV") or git("rev-parse", "HEAD"),
        "git_branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
        AUDIT_STATUS: UNRELEASED,
    }


def register_challenger(
    model_uri: str, name: str, tags: Mapping[str, str], alias: str = CHALLENGER
) -> str:
    """Register ``model_uri`` under ``name`` with ``tags`` and point ``alias`` at it.

    Never touches ``@champion``. Returns the new version.
    """
    if alias == CHAMPION:
        raise PromotionError(
            f"a pipeline run cannot register @{CHAMPION}: promote a version instead "
            "(credit-scoring-promote VERSION --reason ... --approver ...)"
        )
    client = MlflowClient()
    version = str(mlflow.register_model(model_uri, name).version)
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, str(value))
    client.set_registered_model_alias(name, alias, version)
    client.set_model_version_tag(name, version, f"{alias}_since", now_utc())
    logger.info("registered %s version %s as @%s", name, version, alias)
    return version


def promotion_blockers(version: ModelVersion) -> list[str]:
    """Why ``version`` may not become champion (empty: it may)."""
    tags = version.tags
    blockers = [f"tag {key} is missing" for key in REQUIRED_TAGS if not tags.get(key)]
    status = tags.get(AUDIT_STATUS, "")
    if not status:
        blockers.append(f"tag {AUDIT_STATUS} is missing (not registered by the pipeline)")
    elif not status.startswith(RELEASED_PREFIX):
        blockers.append(
            f"{AUDIT_STATUS} is {status!r}: release the run that made it first "
            "(commit it, then `make release TAG=...`), so that it can be audited"
        )
    return blockers


def history(
    name: str, alias: str = CHAMPION, client: MlflowClient | None = None
) -> list[AliasMove]:
    """Every recorded move of ``alias``, oldest first."""
    client = client or client_for()
    try:
        tags = client.get_registered_model(name).tags
    except mlflow.exceptions.MlflowException:
        return []
    prefix = f"{alias}.move."
    return [AliasMove(**json.loads(tags[key])) for key in sorted(tags) if key.startswith(prefix)]


def move_alias(
    name: str,
    version: str,
    *,
    action: str,
    approver: str,
    reason: str,
    comparison: Mapping[str, Any] | None = None,
    alias: str = CHAMPION,
    client: MlflowClient | None = None,
) -> AliasMove:
    """Point ``alias`` at ``version`` and append the move to the history (see module doc).

    Raises:
        PromotionError: no approver or reason, or ``alias`` already points there.
    """
    client = client or client_for()
    if not approver.strip() or not reason.strip():
        raise PromotionError(f"a move of @{alias} needs an approver and a reason")
    previous = alias_version(client, name, alias)
    if previous == str(version):
        raise PromotionError(f"{name} version {version} already is @{alias}")
    move = AliasMove(
        action=action,
        alias=alias,
        version=str(version),
        previous=previous,
        at=now_utc(),
        approver=approver.strip(),
        reason=reason.strip(),
        comparison=dict(comparison or {}),
    )
    client.set_registered_model_alias(name, alias, str(version))
    client.set_registered_model_tag(name, f"{alias}.move.{move.at}", json.dumps(asdict(move)))
    client.set_model_version_tag(name, str(version), f"{alias}_since", move.at)
    if previous:
        client.set_model_version_tag(name, previous, f"{alias}_until", move.at)
    logger.info(
        "%s: @%s of %s moved %s -> %s by %s (%s)",
        action, alias, name, previous, version, move.approver, move.reason,
    )  # fmt: skip
    return move


def promote(
    name: str,
    version: str,
    *,
    approver: str,
    reason: str,
    comparison: Mapping[str, Any] | None = None,
    client: MlflowClient | None = None,
) -> AliasMove:
    """Make ``version`` the champion after checking it may serve (:func:`promotion_blockers`).

    Raises:
        PromotionError: the version is unknown, cannot serve, or already is champion.
    """
    client = client or client_for()
    check_promotable(name, str(version), client)
    return move_alias(
        name, str(version), action="promote", approver=approver, reason=reason,
        comparison=comparison, client=client,
    )  # fmt: skip


def check_promotable(name: str, version: str, client: MlflowClient) -> None:
    """Raise :class:`PromotionError` when ``version`` is unknown or may not serve."""
    try:
        model_version = client.get_model_version(name, str(version))
    except mlflow.exceptions.MlflowException as exc:
        raise PromotionError(f"{name} version {version} is not in the registry") from exc
    blockers = promotion_blockers(model_version)
    if blockers:
        raise PromotionError(
            f"{name} version {version} cannot be promoted: " + "; ".join(blockers)
        )


def rollback_target(name: str, client: MlflowClient | None = None) -> str:
    """The version that held ``@champion`` before the current one.

    Raises:
        PromotionError: no champion, or the current one had no predecessor.
    """
    client = client or client_for()
    current = alias_version(client, name, CHAMPION)
    if current is None:
        raise PromotionError(f"{name} has no @{CHAMPION} to roll back")
    moves = [move for move in history(name, CHAMPION, client) if move.version == current]
    if not moves or moves[-1].previous is None:
        raise PromotionError(f"{name} version {current} had no champion before it")
    return moves[-1].previous


def mark_released(name: str, version: str, tag: str, client: MlflowClient | None = None) -> None:
    """Record that ``version`` was made by the released (committed, pushed, tagged) run ``tag``."""
    client = client or client_for()
    client.set_model_version_tag(name, str(version), "release", tag)
    client.set_model_version_tag(name, str(version), AUDIT_STATUS, f"{RELEASED_PREFIX}{tag}")
