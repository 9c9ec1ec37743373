"""Audit a release: rebuild a tag (or commit) from its pushed data and compare with its record.

``credit-scoring-audit model-v1`` checks the tag out in a temporary ``git worktree``, pulls its
data from the DVC remote, verifies every pulled or committed artifact against dvc.lock and the
release record (``releases/<tag>.json``), reruns the whole pipeline (``dvc repro --force``) with
MLflow pointed at a temporary store, then compares what was recorded with what was reproduced:

* every metric of every metrics file of dvc.yaml (same type, same value);
* the md5 of every output in dvc.lock, except the few outputs known to change from run to run
  (MLflow ids and times, random HTML ids), which are listed with the reason;
* the sha256 of the champion's and the candidates' pickles;
* every family's held-out probabilities and the champion's decisions (evaluate's
  ``holdout_scores.parquet``);
* the champion's registry tags (family, threshold, data_hash, data_source, features, metric.*).

Model files are only hashed, never unpickled. Before the rerun, ``dvc status`` must find the
tag's code, params and data as dvc.lock recorded them.

Verdict: **IDENTICAL** when every compared byte matches; **EQUIVALENT** when only fitted-model
numbers differ (model files, outputs of the model stages, metrics by at most their last rounded
digit) and every held-out probability is within 1e-6 with identical decisions, which is what
another CPU, BLAS kernel or thread count does; **DIFFERENT** otherwise (exit 1). The numeric
environment recorded with the release (CPU, BLAS, packages) is compared with this one to name
the likely cause. It prints one table (item, recorded, reproduced, status) and the verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credit_scoring.cli import read_json, setup_logging
from credit_scoring.config import load_params
from credit_scoring.data.io import file_sha256
from credit_scoring.governance.audit_checks import (
    FAIL,
    MODEL_STAGES,
    OK,
    SKIP,
    WARN,
    AuditResult,
    Check,
    Snapshot,
    compare_metrics,
    compare_models,
    compare_outputs,
    compare_scores,
    compare_tags,
    environment_check,
    nondeterministic_outputs,
    record_checks,
    render_table,
    settle_equivalence,
    stored_checks,
    summary,
    tracked_outputs,
)
from credit_scoring.governance.environment import environment_differences, numeric_environment
from credit_scoring.governance.record import (
    RECORD_FORMAT,
    ReleaseError,
    dvc,
    git,
    lock_outs,
    lock_stages,
    metrics_files,
    model_files,
    model_hashes,
    read_metrics,
    record_path,
    registry_tags,
    resolve_commit,
    tool_env,
)

logger = logging.getLogger(__name__)


def find_record(root: Path, rev: str, commit: str, explicit: Path | None) -> tuple[Any, str]:
    """The release record of the audited commit: ``explicit``, ``releases/<rev>.json``, or the
    record of a tag pointing at the commit. Returns (record or None, its path)."""
    names = [explicit] if explicit else [record_path(root, rev).relative_to(root)]
    if not explicit:
        tags = git(root, "tag", "--points-at", commit).splitlines()
        names += [record_path(root, tag).relative_to(root) for tag in tags]
    for name in names:
        path = root / name
        if path.is_file():
            record = read_json(path)
            if record.get("format") != RECORD_FORMAT:
                raise ReleaseError(
                    f"{Path(name).as_posix()}: release record format {record.get('format')}; "
                    f"this audit reads format {RECORD_FORMAT} only"
                )
            return record, Path(name).as_posix()
    return None, ""


def audit_env(worktree: Path, workdir: Path) -> dict[str, str]:
    """Commands of the audit: the worktree's code first, MLflow in a temporary store."""
    extra = {
        "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}",
        "MPLBACKEND": "Agg",
    }
    if (worktree / "src").is_dir():  # the tag's package, not the editable install's
        path = os.environ.get("PYTHONPATH")
        extra["PYTHONPATH"] = os.pathsep.join(filter(None, [str(worktree / "src"), path]))
    return tool_env(extra)


def configure_remotes(repo: Path, worktree: Path) -> None:
    """Give the worktree the repo's remotes; local paths made absolute (relative ones would
    resolve from the temporary folder)."""
    from dvc.repo import Repo

    local = repo / ".dvc" / "config.local"
    if local.is_file():
        shutil.copy2(local, worktree / ".dvc" / "config.local")
    with Repo(str(repo)) as dvc_repo:
        remotes = dict(dvc_repo.config["remote"])
        default = dvc_repo.config["core"].get("remote")
    for name, options in remotes.items():
        if "://" not in options["url"]:
            dvc(worktree, "remote", "add", "--local", "--force", name, options["url"])
    if default:
        dvc(worktree, "remote", "default", "--local", default)


def snapshot(
    root: Path, files: list[str], models: dict[str, str], tags: dict[str, str] | None
) -> Snapshot:
    """The metrics and output md5s of ``root``, with the given model hashes and tags."""
    return Snapshot(read_metrics(root, files), lock_outs(root), models, tags)


def held_out_scores(root: Path, params: Mapping[str, Any]) -> Any:
    """evaluate's held-out scores of ``root`` (a DataFrame), or None when absent."""
    import pandas as pd

    path = root / params["paths"]["models_dir"] / "holdout_scores.parquet"
    return pd.read_parquet(path) if path.is_file() else None


def numeric_environment_check(record: Mapping[str, Any] | None) -> tuple[Check, str]:
    """The release's numeric environment against this one (a difference only warns), and the
    likely cause to give EQUIV rows."""
    recorded = dict((record or {}).get("environment", {}))
    recorded.pop("requirements_lock_sha256", None)
    if "cpu" not in recorded:
        check = Check("numeric environment", "not recorded", "-", SKIP)
        return check, "no numeric environment recorded with the release"
    differing = environment_differences(recorded, numeric_environment())
    if not differing:
        check = Check("numeric environment", "recorded", "same", OK)
        return check, "same recorded numeric environment"
    shown = ", ".join(differing[:4]) + (" ..." if len(differing) > 4 else "")
    check = Check("numeric environment", "recorded", "differs", WARN, shown)
    return check, f"likely cause: machine ({shown})"


def status_check(worktree: Path, env: Mapping[str, str]) -> Check:
    """``dvc status``: the tag's code, params and pulled data as dvc.lock recorded them."""
    status = dvc(worktree, "status", "--json", env=env, check=False)
    text = status.stdout.strip()
    if status.returncode == 0 and text in ("", "{}"):
        return Check("dvc status vs dvc.lock", "-", "up to date", OK)
    changed = ", ".join(sorted(json.loads(text))) if text.startswith("{") else _last_line(status)
    note = "code, params or data differ from dvc.lock"
    return Check("dvc status vs dvc.lock", "-", changed or "failed", FAIL, note)


def _reproduced_tags(root: Path, uri: str, params: Mapping[str, Any]) -> dict[str, str]:
    registry = read_json(Path(root) / params["paths"]["reports_dir"] / "registry.json")
    return registry_tags(uri, registry["model_name"], registry["version"])


def _recorded_models(
    root: Path, record: Mapping[str, Any] | None, models_dir: str, bad: set[str]
) -> dict[str, str]:
    """sha256 of the released model files: the record's, else (no record, or a file it lacks)
    that of the pulled file when it passed the stored checks."""
    hashes = dict((record or {}).get("models", {}))
    for name in model_files(root, models_dir):
        if name not in bad:
            hashes.setdefault(name, file_sha256(root / name))
    return hashes


@dataclass(frozen=True)
class AuditOptions:
    """How to audit.

    Attributes:
        remote: DVC remote to pull from (None: the default remote).
        record: release record, relative to the repo (None: ``releases/<rev>.json`` or the
            record of a tag pointing at the commit).
        keep: keep the temporary worktree, its MLflow store and ``repro.log``.
        fail_fast: skip the rerun when the stored artifacts already fail.
    """

    remote: str | None = None
    record: Path | None = None
    keep: bool = False
    fail_fast: bool = False


def _last_line(result: Any) -> str:
    lines = (result.stderr.strip() or result.stdout.strip()).splitlines()
    return lines[-1] if lines else ""


def pull_check(worktree: Path, env: Mapping[str, str], remote: str | None) -> Check:
    """``dvc pull`` of the tag's data; a failure (missing objects, no remote) fails the row."""
    pulled = dvc(worktree, "pull", *(["--remote", remote] if remote else []), env=env, check=False)
    if pulled.returncode == 0:
        return Check("dvc pull", "-", "ok", OK)
    return Check("dvc pull", "-", "failed", FAIL, _last_line(pulled))


def repro_check(worktree: Path, env: Mapping[str, str], log: Path) -> Check:
    """``dvc repro --force`` of the whole pipeline, output written to ``log``."""
    repro = dvc(worktree, "repro", "--force", env=env, check=False)
    log.write_text(repro.stdout + repro.stderr, encoding="utf-8")
    if repro.returncode == 0:
        return Check("dvc repro --force", "-", "ok", OK)
    return Check("dvc repro --force", "-", "failed", FAIL, f"{_last_line(repro)} (see {log})")


def run_checks(
    repo: Path, worktree: Path, workdir: Path, result: AuditResult, options: AuditOptions
) -> None:
    """Pull, verify, rerun and compare, appending the checks to ``result`` in table order."""
    env = audit_env(worktree, workdir)
    configure_remotes(repo, worktree)
    record, record_name = find_record(worktree, result.rev, result.commit, options.record)
    checks = result.checks
    checks += [environment_check(worktree), *record_checks(worktree, record, record_name)]
    checks.append(pull_check(worktree, env, options.remote))
    stored, bad = stored_checks(worktree, tracked_outputs(worktree), record)
    checks += stored
    checks.append(status_check(worktree, env))
    environment, cause = numeric_environment_check(record)
    checks.append(environment)
    if options.fail_fast and not result.passed:
        checks.append(Check("dvc repro --force", "-", "not run", SKIP, "--fail-fast"))
        return
    params = load_params(worktree / "params.yaml")
    models_dir, files = params["paths"]["models_dir"], metrics_files(worktree)
    tags = record["registry"]["tags"] if record else None
    before = snapshot(worktree, files, _recorded_models(worktree, record, models_dir, bad), tags)
    scores_before = held_out_scores(worktree, params)
    checks.append(repro_check(worktree, env, workdir / "repro.log"))
    if checks[-1].status == FAIL:
        return
    reproduced_tags = _reproduced_tags(worktree, env["MLFLOW_TRACKING_URI"], params)
    after = snapshot(worktree, files, model_hashes(worktree, models_dir), reproduced_tags)
    scores_after = held_out_scores(worktree, params)
    record_metrics = record.get("metrics", {}) if record is not None else None
    stages = lock_stages(worktree)
    model_outputs = {
        path for name in MODEL_STAGES for path in stages.get(name, {}).get("outs", {})
    }
    compared = compare_metrics(before.metrics, after.metrics, record_metrics)
    skipped = nondeterministic_outputs(params, files)
    compared += compare_outputs(before.outs, after.outs, skipped, model_outputs)
    compared += compare_models(before.models, after.models)
    if scores_before is not None or scores_after is not None:
        compared += compare_scores(scores_before, scores_after)
    compared += compare_tags(before.tags, after.tags or {})
    checks += settle_equivalence(compared, cause)


def audit(repo: Path, rev: str, options: AuditOptions | None = None) -> AuditResult:
    """Rebuild ``rev`` of ``repo`` in a temporary worktree and compare it with its record."""
    options = options or AuditOptions()
    repo = Path(repo).resolve()
    commit = resolve_commit(repo, rev)
    workdir = Path(tempfile.mkdtemp(prefix="credit-audit-"))
    worktree = workdir / "worktree"
    git(repo, "worktree", "add", "--detach", str(worktree), commit)
    result = AuditResult(rev, commit, workdir)
    try:
        run_checks(repo, worktree, workdir, result, options)
    finally:
        if options.keep:
            logger.info(
                "kept %s (repro.log and mlflow.db beside it); remove it with "
                "`git worktree remove --force %s`",
                worktree,
                worktree,
            )
        else:
            git(repo, "worktree", "remove", "--force", str(worktree), check=False)
            git(repo, "worktree", "prune", check=False)
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def main(argv: list[str] | None = None) -> None:
    """CLI: ``credit-scoring-audit REV [--repo .] [--remote NAME] [--record PATH] [--keep]
    [--fail-fast] [--failures]``; exit 0 IDENTICAL or EQUIVALENT, 1 DIFFERENT, 2 cannot
    audit."""
    parser = argparse.ArgumentParser(
        description="Rebuild a release tag (or commit) from its DVC data and compare it with "
        "what was recorded: IDENTICAL, EQUIVALENT (machine noise within tolerance) or "
        "DIFFERENT (exit status 1)."
    )
    parser.add_argument("rev", help="release tag or commit, e.g. model-v1")
    parser.add_argument("--repo", type=Path, default=Path("."), help="project folder (git repo)")
    parser.add_argument("--remote", "-r", help="DVC remote to pull from (default: the default)")
    parser.add_argument("--record", type=Path, help="release record (default: releases/REV.json)")
    parser.add_argument("--keep", action="store_true", help="keep the worktree and its log")
    parser.add_argument("--fail-fast", action="store_true", help="no rerun if stored files fail")
    parser.add_argument("--failures", action="store_true", help="print only rows not ok")
    args = parser.parse_args(argv)
    setup_logging()
    options = AuditOptions(
        remote=args.remote, record=args.record, keep=args.keep, fail_fast=args.fail_fast
    )
    try:
        result = audit(args.repo, args.rev, options)
    except ReleaseError as exc:
        logger.error("%s", exc)
        sys.exit(2)
    rows = [c for c in result.checks if c.status != OK] if args.failures else result.checks
    print(render_table(rows))
    print(summary(result))
    sys.exit(0 if result.passed else 1)


if __name__ == "__main__":
    main()
