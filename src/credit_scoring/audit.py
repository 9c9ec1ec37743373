"""Audit a release: rebuild a tag (or commit) from its pushed data and compare with its record.

``credit-scoring-audit model-v1`` checks the tag out in a temporary ``git worktree``, pulls its
data from the DVC remote, verifies every pulled or committed artifact against dvc.lock and the
release record (``releases/<tag>.json``), reruns the whole pipeline (``dvc repro --force``) with
MLflow pointed at a temporary store, then compares what was recorded with what was reproduced:

* every metric of every metrics file of dvc.yaml, exactly (same type, same value);
* the md5 of every output in dvc.lock, except the few outputs known to change from run to run
  (MLflow ids and times, random HTML ids), which are listed with the reason;
* the sha256 of the champion's and the candidates' pickles, byte for byte;
* the champion's registry tags (family, threshold, data_hash, data_source, features, metric.*).

Model files are only hashed, never unpickled.

It prints one table (item, recorded, reproduced, status) and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from credit_scoring.cli import read_json, setup_logging
from credit_scoring.config import load_params
from credit_scoring.io import file_sha256
from credit_scoring.release import (
    RECORD_FORMAT,
    ReleaseError,
    dvc,
    git,
    load_yaml,
    lock_outs,
    lock_stages,
    metrics_files,
    model_files,
    model_hashes,
    read_metrics,
    record_path,
    registry_tags,
    tool_env,
)

logger = logging.getLogger(__name__)

OK, FAIL, SKIP, WARN = "ok", "FAIL", "skip", "warn"
MISSING = "missing"


class _Absent:
    """A metric or tag that one side does not have."""

    def __repr__(self) -> str:
        return MISSING


ABSENT = _Absent()
TAMPERED = "differs from dvc.lock: modified in the DVC remote/cache or in git"


@dataclass(frozen=True)
class Check:
    """One line of the audit table."""

    item: str
    recorded: str
    reproduced: str
    status: str
    note: str = ""


@dataclass
class AuditResult:
    """The checks of one audit and where it ran."""

    rev: str
    commit: str
    workdir: Path
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no check failed."""
        return not any(check.status == FAIL for check in self.checks)


@dataclass(frozen=True)
class Snapshot:
    """What a checkout holds: metrics, output md5s, model hashes, registry tags."""

    metrics: dict[str, dict[str, Any]]
    outs: dict[str, str]
    models: dict[str, str]
    tags: dict[str, str] | None


# --- formatting -------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as the table shows it: floats exactly (repr), long strings shortened."""
    text = repr(value) if isinstance(value, float | _Absent) else str(value)
    return text if len(text) <= 24 else f"{text[:12]}...({len(text)} chars)"


def short(digest: str) -> str:
    """A hash shortened for display."""
    return digest if digest in (MISSING, "-") else digest[:12] + (".dir" * digest.endswith(".dir"))


def render_table(checks: list[Check]) -> str:
    """The checks as an aligned text table."""
    rows = [("item", "recorded", "reproduced", "status")]
    rows += [
        (c.item, c.recorded, c.reproduced, c.status + (f": {c.note}" if c.note else ""))
        for c in checks
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3] for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 6)
    return "\n".join(lines)


def summary(result: AuditResult) -> str:
    """One line: PASS/FAIL and the count of each status."""
    counts = {s: sum(c.status == s for c in result.checks) for s in (OK, FAIL, WARN, SKIP)}
    verdict = "PASS" if result.passed else "FAIL"
    details = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"audit of {result.rev} ({result.commit[:12]}): {verdict} ({details})"


# --- comparisons ------------------------------------------------------------------------------


def same_value(recorded: Any, reproduced: Any) -> bool:
    """Whether two metric values are exactly the same: same type, equal (NaN equals NaN)."""
    if type(recorded) is not type(reproduced):
        return False
    both_nan = isinstance(recorded, float) and recorded != recorded and reproduced != reproduced
    return both_nan or recorded == reproduced


def compare_metrics(
    recorded: Mapping[str, Mapping[str, Any]],
    reproduced: Mapping[str, Mapping[str, Any]],
    record: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Check]:
    """Every metric of every file, exactly; committed values must also match the record."""
    checks = []
    for name in sorted(set(recorded) | set(reproduced)):
        before, after = recorded.get(name, {}), reproduced.get(name, {})
        for key in sorted(set(before) | set(after)):
            value = before.get(key, ABSENT)
            status, note = (OK if same_value(value, after.get(key, ABSENT)) else FAIL), ""
            if record is not None:
                in_record = record.get(name, {}).get(key, ABSENT)
                if not same_value(in_record, value):
                    status, note = (
                        FAIL,
                        f"committed file differs from the record ({show(in_record)})",
                    )
            checks.append(
                Check(
                    f"metric {name}: {key}",
                    show(value),
                    show(after.get(key, ABSENT)),
                    status,
                    note,
                )
            )
    return checks


def nondeterministic_outputs(params: Mapping[str, Any], metrics: list[str]) -> dict[str, str]:
    """Outputs whose bytes change from run to run, and why (their md5 is not compared)."""
    models = params["paths"]["models_dir"]
    reasons = {
        f"{models}/champion": "MLmodel holds a creation time and uuid (model.pkl: sha256 below)",
        "reports/mlflow_runs.json": "MLflow run ids",
        "reports/registry.json": "MLflow run id and registry version",
        "reports/model_card.md": "registry version and release tag",
        "reports/drift": "Evidently's HTML report embeds random widget ids",
    }
    return reasons | dict.fromkeys(metrics, "compared metric by metric above")


def compare_outputs(
    recorded: Mapping[str, str], reproduced: Mapping[str, str], skipped: Mapping[str, str]
) -> list[Check]:
    """md5 of each dvc.lock output; outputs of ``skipped`` may differ (status skip)."""
    checks = []
    for path in sorted(recorded):
        before, after = recorded[path], reproduced.get(path, MISSING)
        if before == after:
            status, note = OK, ""
        elif path in skipped:
            status, note = SKIP, skipped[path]
        else:
            status, note = FAIL, ""
        checks.append(Check(f"md5 {path}", short(before), short(after), status, note))
    return checks


def compare_models(recorded: Mapping[str, str], reproduced: Mapping[str, str]) -> list[Check]:
    """sha256 of each model file: the reproduced bytes must be identical."""
    checks = []
    for path in sorted(set(recorded) | set(reproduced)):
        before, after = recorded.get(path, MISSING), reproduced.get(path, MISSING)
        status = OK if before == after != MISSING else FAIL
        checks.append(Check(f"model {path}", short(before), short(after), status))
    return checks


def compare_tags(recorded: Mapping[str, str] | None, reproduced: Mapping[str, str]) -> list[Check]:
    """The champion's registry tags, value by value."""
    if recorded is None:
        return [Check("registry tags", "-", f"{len(reproduced)} tags", SKIP, "no release record")]
    checks = []
    for key in sorted(set(recorded) | set(reproduced)):
        before, after = recorded.get(key, ABSENT), reproduced.get(key, ABSENT)
        checks.append(
            Check(
                f"registry tag {key}", show(before), show(after), OK if before == after else FAIL
            )
        )
    return checks


# --- stored artifacts -------------------------------------------------------------------------


def md5_file(path: Path, chunk_size: int = 1 << 20) -> str:
    """MD5 of a file's bytes, as DVC 3 computes it."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def cache_dir(root: Path) -> Path:
    """The folder of the DVC cache's md5 objects of the project at ``root``."""
    from dvc.repo import Repo

    with Repo(str(root)) as repo:
        return Path(repo.cache.local.path)


def tracked_outputs(root: Path) -> dict[str, str]:
    """Outputs of dvc.lock and of every committed ``.dvc`` file, with their md5."""
    outs = lock_outs(root)
    for name in git(root, "ls-files", "*.dvc").splitlines():
        folder = Path(name).parent
        for out in (load_yaml(root / name) or {}).get("outs", []):
            if "md5" in out:
                outs[(folder / out["path"]).as_posix()] = out["md5"]
    return outs


def _md5_or_missing(path: Path) -> str:
    return md5_file(path) if path.is_file() else MISSING


def dir_md5(folder: Path) -> str:
    """DVC's md5 of a folder: md5 of its JSON manifest (files sorted by path), + ``.dir``."""
    files = sorted(
        (p for p in folder.rglob("*") if p.is_file()), key=lambda p: p.relative_to(folder).parts
    )
    entries = [{"md5": md5_file(p), "relpath": p.relative_to(folder).as_posix()} for p in files]
    manifest = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(manifest, usedforsecurity=False).hexdigest() + ".dir"


def verify_output(root: Path, out: str, md5: str, cache: Path) -> list[tuple[str, str, str]]:
    """(name, expected, actual md5) of an output's files.

    A folder is checked file by file from its ``.dir`` manifest in the DVC cache; without one
    (``cache: false`` folders, committed in git) it is checked as a whole.
    """
    if not md5.endswith(".dir"):
        return [(out, md5, _md5_or_missing(root / out))]
    manifest = cache / md5[:2] / md5[2:]
    if manifest.is_file() and md5_file(manifest) == md5.removesuffix(".dir"):
        entries = json.loads(manifest.read_text(encoding="utf-8"))
        return [
            (f"{out}/{e['relpath']}", e["md5"], _md5_or_missing(root / out / e["relpath"]))
            for e in entries
        ]
    folder = root / out
    return [(out, md5, dir_md5(folder) if folder.is_dir() else MISSING)]


def stored_checks(
    root: Path, outs: Mapping[str, str], record: Mapping[str, Any] | None
) -> tuple[list[Check], set[str]]:
    """Pulled and committed files against dvc.lock (file by file) and the release record.

    Returns:
        The checks, and the paths of the files that failed.
    """
    cache = cache_dir(root)
    verified = [
        v for out, md5 in sorted(outs.items()) for v in verify_output(root, out, md5, cache)
    ]
    bad = {name for name, expected, actual in verified if expected != actual}
    summary_row = Check(
        "stored files vs dvc.lock",
        f"{len(verified)} checked",
        f"{len(verified) - len(bad)} match",
        FAIL if bad else OK,
    )
    checks = [summary_row]
    checks += [
        Check(f"stored {name}", short(expected), short(actual), FAIL, TAMPERED)
        for name, expected, actual in verified
        if name in bad
    ]
    models = sorted((record or {}).get("models", {}).items())
    record_rows = [_record_sha256_check(root, name, sha256) for name, sha256 in models]
    bad |= {name for (name, _), row in zip(models, record_rows, strict=True) if row.status == FAIL}
    return checks + record_rows, bad


def _record_sha256_check(root: Path, name: str, expected: str) -> Check:
    """A model file as pulled against the sha256 of the release record."""
    actual = file_sha256(root / name) if (root / name).is_file() else MISSING
    if actual == expected:
        return Check(f"stored {name} (sha256)", short(expected), short(actual), OK)
    note = "differs from the release record"
    return Check(f"stored {name} (sha256)", short(expected), short(actual), FAIL, note)


def record_checks(root: Path, record: Mapping[str, Any] | None, name: str | None) -> list[Check]:
    """The release record found, and its data hashes against the committed dvc.lock."""
    if record is None:
        return [
            Check(
                "release record",
                MISSING,
                "-",
                WARN,
                "none found: models and tags compared with the pulled files only",
            )
        ]
    stages = lock_stages(root)
    differing = [
        f"{stage}:{path}"
        for stage, kinds in record.get("data", {}).items()
        for kind, paths in kinds.items()
        for path, md5 in paths.items()
        if stages.get(stage, {}).get(kind, {}).get(path) != md5
    ]
    return [
        Check("release record", str(name), f"tag {record.get('tag')}", OK),
        Check(
            "record data hashes vs dvc.lock",
            "equal",
            ", ".join(differing[:3]) or "equal",
            FAIL if differing else OK,
        ),
    ]


def environment_check(root: Path) -> Check:
    """Installed versions against the tag's requirements.lock (a mismatch only warns)."""
    lock = root / "requirements.lock"
    if not lock.is_file():
        return Check("environment", "no requirements.lock", "-", SKIP)
    lines = [line.split(";")[0].strip() for line in lock.read_text().splitlines()]
    pins = [line.split("==", 1) for line in lines if "==" in line and not line.startswith("#")]
    differing = []
    for name, version in pins:
        try:
            installed = metadata.version(name.strip())
        except metadata.PackageNotFoundError:
            installed = MISSING
        if installed != version.strip():
            differing.append(f"{name}=={installed}")
    status = WARN if differing else OK
    return Check(
        "environment vs requirements.lock",
        f"{len(pins)} pins",
        ", ".join(differing[:4]) or "all installed",
        status,
    )


# --- the audit --------------------------------------------------------------------------------


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
    if options.fail_fast and not result.passed:
        checks.append(Check("dvc repro --force", "-", "not run", SKIP, "--fail-fast"))
        return
    params = load_params(worktree / "params.yaml")
    models_dir, files = params["paths"]["models_dir"], metrics_files(worktree)
    tags = record["registry"]["tags"] if record else None
    before = snapshot(worktree, files, _recorded_models(worktree, record, models_dir, bad), tags)
    checks.append(repro_check(worktree, env, workdir / "repro.log"))
    if checks[-1].status == FAIL:
        return
    reproduced_tags = _reproduced_tags(worktree, env["MLFLOW_TRACKING_URI"], params)
    after = snapshot(worktree, files, model_hashes(worktree, models_dir), reproduced_tags)
    record_metrics = record.get("metrics", {}) if record is not None else None
    checks += compare_metrics(before.metrics, after.metrics, record_metrics)
    checks += compare_outputs(before.outs, after.outs, nondeterministic_outputs(params, files))
    checks += compare_models(before.models, after.models)
    checks += compare_tags(before.tags, after.tags or {})


def audit(repo: Path, rev: str, options: AuditOptions | None = None) -> AuditResult:
    """Rebuild ``rev`` of ``repo`` in a temporary worktree and compare it with its record."""
    options = options or AuditOptions()
    repo = Path(repo).resolve()
    commit = git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", check=False)
    if not commit:
        raise ReleaseError(f"{rev!r} is neither a tag nor a commit of {repo}")
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
    [--fail-fast] [--failures]``; exit 0 pass, 1 differences, 2 cannot audit."""
    parser = argparse.ArgumentParser(
        description="Rebuild a release tag (or commit) from its DVC data and compare it with "
        "what was recorded. Exit status 1 when anything differs."
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
