"""The checks of an audit: recorded vs reproduced metrics, output hashes, model hashes and
registry tags, stored files against dvc.lock, and the table that reports them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from credit_scoring.data.io import file_sha256
from credit_scoring.governance.record import (
    git,
    load_yaml,
    lock_outs,
    lock_stages,
)

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
