"""The checks of an audit: recorded vs reproduced metrics, output hashes, model hashes and
registry tags, stored files against dvc.lock, and the table that reports them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from credit_scoring.data.io import file_sha256
from credit_scoring.governance.environment import installed_version
from credit_scoring.governance.record import (
    git,
    load_yaml,
    lock_outs,
    lock_stages,
)
from credit_scoring.tabular import METRIC_DECIMALS

OK, FAIL, SKIP, WARN = "ok", "FAIL", "skip", "warn"
# Bytes differ, numbers agree within the tolerances below (kept only when the held-out scores
# agree too, see settle_equivalence).
EQUIV = "equivalent"
MISSING = "missing"
IDENTICAL, EQUIVALENT, DIFFERENT = "IDENTICAL", "EQUIVALENT", "DIFFERENT"
# Metrics are rounded to METRIC_DECIMALS: machine noise can flip the last digit, no more.
METRIC_TOLERANCE = 10.0**-METRIC_DECIMALS
# Held-out probabilities of every family: absolute difference.
PROBABILITY_TOLERANCE = 1e-6
# Registry tags keep metrics unrounded: relative difference.
TAG_TOLERANCE = 1e-6
# Stages whose outputs hold fitted-model numbers: their bytes may differ between machines.
MODEL_STAGES = ("train", "evaluate", "fairness", "register", "explain")
SCORES_ITEM = "held-out scores"


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
        """True when no check failed (IDENTICAL or EQUIVALENT)."""
        return not any(check.status == FAIL for check in self.checks)

    @property
    def verdict(self) -> str:
        """IDENTICAL (bytes match), EQUIVALENT (numbers within tolerance) or DIFFERENT."""
        if not self.passed:
            return DIFFERENT
        return EQUIVALENT if any(c.status == EQUIV for c in self.checks) else IDENTICAL


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
    """One line: the verdict and the count of each status."""
    statuses = (OK, EQUIV, FAIL, WARN, SKIP)
    counts = {s: sum(c.status == s for c in result.checks) for s in statuses}
    details = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    return f"audit of {result.rev} ({result.commit[:12]}): {result.verdict} ({details})"


def same_value(recorded: Any, reproduced: Any) -> bool:
    """Whether two metric values are exactly the same: same type, equal (NaN equals NaN)."""
    if type(recorded) is not type(reproduced):
        return False
    both_nan = isinstance(recorded, float) and recorded != recorded and reproduced != reproduced
    return both_nan or recorded == reproduced


def metric_status(recorded: Any, reproduced: Any) -> tuple[str, str]:
    """OK when exactly equal, EQUIV when both are numbers within METRIC_TOLERANCE, else FAIL."""
    if same_value(recorded, reproduced):
        return OK, ""
    numbers = type(recorded) is type(reproduced) and isinstance(recorded, int | float)
    if numbers and abs(recorded - reproduced) <= METRIC_TOLERANCE * (1 + 1e-9):
        return EQUIV, f"within {METRIC_TOLERANCE:g} (last rounded digit)"
    return FAIL, ""


def compare_metrics(
    recorded: Mapping[str, Mapping[str, Any]],
    reproduced: Mapping[str, Mapping[str, Any]],
    record: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Check]:
    """Every metric of every file (exact, or EQUIV within METRIC_TOLERANCE); committed values
    must match the record exactly."""
    checks = []
    for name in sorted(set(recorded) | set(reproduced)):
        before, after = recorded.get(name, {}), reproduced.get(name, {})
        for key in sorted(set(before) | set(after)):
            value = before.get(key, ABSENT)
            status, note = metric_status(value, after.get(key, ABSENT))
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
    recorded: Mapping[str, str],
    reproduced: Mapping[str, str],
    skipped: Mapping[str, str],
    model_outputs: frozenset[str] | set[str] = frozenset(),
) -> list[Check]:
    """md5 of each dvc.lock output; outputs of ``skipped`` may differ (status skip), those of
    ``model_outputs`` (written from fitted models) are EQUIV when they differ, the rest FAIL."""
    checks = []
    for path in sorted(recorded):
        before, after = recorded[path], reproduced.get(path, MISSING)
        if before == after:
            status, note = OK, ""
        elif path in skipped:
            status, note = SKIP, skipped[path]
        elif path in model_outputs and after != MISSING:
            status, note = EQUIV, "model numbers: see held-out scores"
        else:
            status, note = FAIL, "not a model output: content changed"
        checks.append(Check(f"md5 {path}", short(before), short(after), status, note))
    return checks


def compare_models(recorded: Mapping[str, str], reproduced: Mapping[str, str]) -> list[Check]:
    """sha256 of each model file: identical bytes OK, other bytes EQUIV (the held-out scores
    decide), a file on one side only FAIL."""
    checks = []
    for path in sorted(set(recorded) | set(reproduced)):
        before, after = recorded.get(path, MISSING), reproduced.get(path, MISSING)
        if MISSING in (before, after):
            status, note = FAIL, ""
        else:
            status = OK if before == after else EQUIV
            note = "" if status == OK else "other bytes: see held-out scores"
        checks.append(Check(f"model {path}", short(before), short(after), status, note))
    return checks


def compare_scores(recorded: Any, reproduced: Any) -> list[Check]:
    """Held-out scores (evaluate's ``holdout_scores.parquet``) recorded vs reproduced: every
    family's probabilities within PROBABILITY_TOLERANCE (OK when equal), the champion's
    decisions identical. ``None`` for a side without the file fails."""
    if recorded is None or reproduced is None:
        side = "recorded" if recorded is None else "reproduced"
        return [Check(SCORES_ITEM, "-", "-", FAIL, f"no {side} holdout_scores.parquet")]
    if list(recorded.columns) != list(reproduced.columns) or len(recorded) != len(reproduced):
        return [Check(SCORES_ITEM, f"{recorded.shape}", f"{reproduced.shape}", FAIL, "shape")]
    checks = []
    for column in recorded.columns:
        before, after = recorded[column].to_numpy(), reproduced[column].to_numpy()
        if column.startswith("proba_"):
            gap = float(abs(before.astype(float) - after.astype(float)).max(initial=0.0))
            status = OK if gap == 0 else EQUIV if gap <= PROBABILITY_TOLERANCE else FAIL
            note = f"max |difference| {gap:.2e} (tolerance {PROBABILITY_TOLERANCE:g})"
            checks.append(Check(f"{SCORES_ITEM} {column}", "-", "-", status, note))
        else:
            changed = int((before != after).sum())
            checks.append(
                Check(
                    f"{SCORES_ITEM} {column}",
                    f"{len(before)} rows",
                    f"{changed} differ",
                    OK if changed == 0 else FAIL,
                )
            )
    return checks


def settle_equivalence(checks: list[Check], environment_note: str) -> list[Check]:
    """EQUIV rows stand only when every held-out score row is OK or EQUIV; otherwise they
    become FAIL (the difference is not numeric noise). ``environment_note`` names the likely
    cause of the EQUIV rows (a differing numeric environment, or none recorded)."""
    scores = [c for c in checks if c.item.startswith(SCORES_ITEM)]
    explained = bool(scores) and all(c.status in (OK, EQUIV) for c in scores)
    settled = []
    for check in checks:
        if check.status == EQUIV:
            if explained:
                note = "; ".join(filter(None, [check.note, environment_note]))
                check = Check(check.item, check.recorded, check.reproduced, EQUIV, note)
            else:
                note = "differs and the held-out scores do not match: content, not machine"
                check = Check(check.item, check.recorded, check.reproduced, FAIL, note)
        settled.append(check)
    return settled


def tag_status(recorded: Any, reproduced: Any) -> str:
    """OK when equal; EQUIV when both read as numbers within TAG_TOLERANCE (relative: tags keep
    unrounded metrics); else FAIL."""
    if recorded == reproduced:
        return OK
    try:
        before, after = float(recorded), float(reproduced)
    except (TypeError, ValueError):
        return FAIL
    scale = max(abs(before), abs(after))
    return EQUIV if abs(before - after) <= TAG_TOLERANCE * scale else FAIL


def compare_tags(recorded: Mapping[str, str] | None, reproduced: Mapping[str, str]) -> list[Check]:
    """The champion's registry tags, value by value (numbers within TAG_TOLERANCE: EQUIV)."""
    if recorded is None:
        return [Check("registry tags", "-", f"{len(reproduced)} tags", SKIP, "no release record")]
    checks = []
    for key in sorted(set(recorded) | set(reproduced)):
        before, after = recorded.get(key, ABSENT), reproduced.get(key, ABSENT)
        checks.append(
            Check(f"registry tag {key}", show(before), show(after), tag_status(before, after))
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
        installed = installed_version(name.strip()) or MISSING
        if installed != version.strip():
            differing.append(f"{name}=={installed}")
    status = WARN if differing else OK
    return Check(
        "environment vs requirements.lock",
        f"{len(pins)} pins",
        ", ".join(differing[:4]) or "all installed",
        status,
    )
