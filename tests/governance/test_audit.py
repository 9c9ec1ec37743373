"""Releases and audits: hashing and comparison units, then a tiny project released, changed,
audited and tampered with, end to end (slow)."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from credit_scoring.data.io import file_sha256
from credit_scoring.governance import audit, audit_checks, evidence, release
from credit_scoring.governance import record as release_record
from credit_scoring.governance.model_card import render_model_card

from ..conftest import Project, make_project

TAG = "model-v1"
CHANGED_C = "train.models.logreg.grid.0.model__C=[1.0]"
FAMILIES = ("lightgbm", "logreg", "random_forest", "xgboost")
# Outputs of the tiny run whose md5 must differ in a rerun, each for a documented reason.
RUN_SPECIFIC = {
    "md5 models/champion",  # MLmodel: creation time and uuid
    "md5 reports/drift",  # drift_report.html: random widget ids
    "md5 reports/mlflow_runs.json",  # run ids
    "md5 reports/registry.json",  # run id
    "md5 reports/model_card.md",  # release tag
}


# --- units ------------------------------------------------------------------------------------


def test_model_files_are_hashed_byte_for_byte_never_unpickled(tmp_path):
    models = tmp_path / "models"
    (models / "candidates").mkdir(parents=True)
    (models / "champion").mkdir()
    (models / "champion" / "model.pkl").write_bytes(b"not a pickle")
    (models / "candidates" / "b.pkl").write_bytes(b"\x80\x05garbage")
    (models / "candidates" / "a.pkl").write_bytes(b"")
    (models / "candidates" / "old.joblib").write_bytes(b"ignored")
    hashes = release_record.model_hashes(tmp_path, "models")
    assert list(hashes) == [
        "models/champion/model.pkl",
        "models/candidates/a.pkl",
        "models/candidates/b.pkl",
    ]
    assert hashes["models/champion/model.pkl"] == hashlib.sha256(b"not a pickle").hexdigest()
    assert hashes["models/candidates/a.pkl"] == hashlib.sha256(b"").hexdigest()


def test_compare_models_wants_identical_bytes():
    recorded = {"m/champion/model.pkl": "a" * 64, "m/candidates/x.pkl": "b" * 64}
    reproduced = {"m/champion/model.pkl": "a" * 64, "m/candidates/y.pkl": "c" * 64}
    checks = {c.item: c for c in audit_checks.compare_models(recorded, reproduced)}
    assert checks["model m/champion/model.pkl"].status == audit_checks.OK
    assert checks["model m/champion/model.pkl"].recorded == "a" * 12
    assert checks["model m/candidates/x.pkl"].status == audit_checks.FAIL  # not reproduced
    assert checks["model m/candidates/x.pkl"].reproduced == audit_checks.MISSING
    assert checks["model m/candidates/y.pkl"].status == audit_checks.FAIL  # not recorded
    # Other bytes are not a failure by themselves: the held-out scores decide (EQUIV, settled).
    changed = audit_checks.compare_models(recorded, recorded | {"m/candidates/x.pkl": "d" * 64})
    assert [c.status for c in changed] == [audit_checks.EQUIV, audit_checks.OK]


def test_metrics_files_follow_dvc_yaml_and_interpolation(tmp_path):
    (tmp_path / "params.yaml").write_text("paths: {reports_dir: out}\n")
    pipeline = {
        "stages": {
            "a": {"cmd": "x", "metrics": [{"${paths.reports_dir}/m.json": {"cache": False}}]},
            "b": {"cmd": "y", "metrics": ["q.yaml"]},
        },
        "metrics": ["top.json"],
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump(pipeline))
    assert release_record.metrics_files(tmp_path) == ["out/m.json", "q.yaml", "top.json"]
    assert release_record.flatten({"a": {"b": 1, "c": {"d": 2}}, "e": 3}) == {
        "a.b": 1,
        "a.c.d": 2,
        "e": 3,
    }


def test_compare_metrics_is_exact_and_checks_the_record():
    nan = float("nan")
    recorded = {"m.json": {"auc": 0.75, "n": 3, "p": 0.2521374147217431, "gone": 1, "x": nan}}
    reproduced = {"m.json": {"auc": 0.75, "n": 3.0, "p": 0.25213741472174317, "new": 2, "x": nan}}
    checks = {c.item: c for c in audit_checks.compare_metrics(recorded, reproduced)}
    assert checks["metric m.json: auc"].status == audit_checks.OK
    assert checks["metric m.json: x"].status == audit_checks.OK  # NaN reproduced as NaN
    # Not identical, within the last rounded digit: equivalent (if the scores agree).
    assert checks["metric m.json: p"].status == audit_checks.EQUIV
    assert checks["metric m.json: p"].reproduced == "0.25213741472174317"
    assert checks["metric m.json: n"].status == audit_checks.FAIL  # 3 is not 3.0
    assert checks["metric m.json: gone"].status == audit_checks.FAIL
    assert checks["metric m.json: new"].status == audit_checks.FAIL
    assert audit_checks.WARN not in {c.status for c in checks.values()}
    assert audit_checks.metric_status(0.7512, 0.7513)[0] == audit_checks.EQUIV
    assert audit_checks.metric_status(0.7512, 0.7514)[0] == audit_checks.FAIL
    assert audit_checks.metric_status(True, 1)[0] == audit_checks.FAIL
    edited = {"m.json": {"auc": 0.99}}
    record = {"m.json": {"auc": 0.75}}
    [check] = audit_checks.compare_metrics(edited, edited, record)
    assert check.status == audit_checks.FAIL and "record (0.75)" in check.note


def test_compare_outputs_skips_only_the_known_nondeterministic_ones():
    params = {"paths": {"models_dir": "models"}}
    skipped = audit_checks.nondeterministic_outputs(params, ["reports/metrics.json"])
    assert "models/champion" in skipped and "reports/drift" in skipped
    assert "models/candidates" not in skipped and "reports/search" not in skipped
    recorded = {"models/champion": "a.dir", "models/candidates": "b.dir", "reports/x.json": "c"}
    reproduced = {"models/champion": "z.dir", "models/candidates": "y.dir", "reports/x.json": "c"}
    checks = {c.item: c for c in audit_checks.compare_outputs(recorded, reproduced, skipped)}
    assert {item: c.status for item, c in checks.items()} == {
        "md5 models/champion": audit_checks.SKIP,
        "md5 models/candidates": audit_checks.FAIL,
        "md5 reports/x.json": audit_checks.OK,
    }
    assert "MLmodel" in checks["md5 models/champion"].note
    # Outputs of the model stages may carry machine noise: EQUIV, for the scores to settle.
    models = {"models/candidates"}
    checks = {
        c.item: c for c in audit_checks.compare_outputs(recorded, reproduced, skipped, models)
    }
    assert checks["md5 models/candidates"].status == audit_checks.EQUIV


def scores_frame(shift: float = 0.0, flip: bool = False):
    import pandas as pd

    proba = pd.Series([0.02, 0.08, 0.3]) + shift
    refused = proba >= 0.08
    if flip:
        refused[1] = not refused[1]
    return pd.DataFrame(
        {
            "SK_ID_CURR": [1, 2, 3],
            "TARGET": [0, 0, 1],
            "proba_x": proba,
            "champion_refused": refused,
        }
    )


def test_held_out_scores_decide_whether_differences_are_machine_noise():
    same = audit_checks.compare_scores(scores_frame(), scores_frame())
    assert {c.status for c in same} == {audit_checks.OK}
    close = {c.item: c for c in audit_checks.compare_scores(scores_frame(), scores_frame(4e-7))}
    assert close["held-out scores proba_x"].status == audit_checks.EQUIV
    far = {c.item: c for c in audit_checks.compare_scores(scores_frame(), scores_frame(2e-6))}
    assert far["held-out scores proba_x"].status == audit_checks.FAIL
    flipped = audit_checks.compare_scores(scores_frame(), scores_frame(flip=True))
    assert [c.status for c in flipped if "champion_refused" in c.item] == [audit_checks.FAIL]
    assert audit_checks.compare_scores(None, scores_frame())[0].status == audit_checks.FAIL

    model = audit_checks.Check("model m.pkl", "a", "b", audit_checks.EQUIV, "other bytes")
    settled = audit_checks.settle_equivalence([model, *close.values()], "likely cause: machine")
    assert settled[0].status == audit_checks.EQUIV and "machine" in settled[0].note
    result = audit_checks.AuditResult("v1", "c" * 40, Path("."), settled)
    assert result.passed and result.verdict == audit_checks.EQUIVALENT
    [unexplained, *_] = audit_checks.settle_equivalence([model, *far.values()], "")
    assert unexplained.status == audit_checks.FAIL and "content" in unexplained.note
    assert audit_checks.settle_equivalence([model], "")[0].status == audit_checks.FAIL
    assert audit_checks.tag_status("0.08676069382242074", "0.08676069382242073") == "equivalent"
    assert audit_checks.tag_status("0.0867", "0.0868") == audit_checks.FAIL
    assert audit_checks.tag_status("logreg", "xgboost") == audit_checks.FAIL
    identical = audit_checks.AuditResult("v1", "c" * 40, Path("."), list(same))
    assert identical.verdict == audit_checks.IDENTICAL
    different = audit_checks.AuditResult("v1", "c" * 40, Path("."), [unexplained])
    assert different.verdict == audit_checks.DIFFERENT
    assert "DIFFERENT" in audit_checks.summary(different)


def test_a_record_of_another_format_cannot_be_audited(tmp_path):
    path = release_record.record_path(tmp_path, TAG)
    path.parent.mkdir()
    path.write_text(json.dumps({"format": 1, "tag": TAG, "models": {}}))
    with pytest.raises(release_record.ReleaseError, match="format 1"):
        audit.find_record(tmp_path, TAG, "0" * 40, Path(f"releases/{TAG}.json"))
    path.write_text(json.dumps({"format": release_record.RECORD_FORMAT, "tag": TAG}))
    found, name = audit.find_record(tmp_path, TAG, "0" * 40, Path(f"releases/{TAG}.json"))
    assert found["tag"] == TAG and name == f"releases/{TAG}.json"


def test_dir_md5_matches_dvc(tmp_path):
    project = make_project(tmp_path / "p", ["experiment=tiny"])
    folder = project.root / "stuff"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("b")
    (folder / "sub" / "a.txt").write_text("a")
    project.run("dvc", "add", "stuff")
    dvc_md5 = yaml.safe_load((project.root / "stuff.dvc").read_text())["outs"][0]["md5"]
    assert audit_checks.dir_md5(folder) == dvc_md5
    cache = audit_checks.cache_dir(project.root)
    assert audit_checks.verify_output(project.root, "stuff", dvc_md5, cache) == [
        (
            "stuff/b.txt",
            audit_checks.md5_file(folder / "b.txt"),
            audit_checks.md5_file(folder / "b.txt"),
        ),
        (
            "stuff/sub/a.txt",
            audit_checks.md5_file(folder / "sub/a.txt"),
            audit_checks.md5_file(folder / "sub/a.txt"),
        ),
    ]


def test_release_row_of_the_model_card(tmp_path):
    metrics = {
        "cv_auc": 0.7,
        "cv_business_score": 0.6,
        "threshold": 0.3,
        "holdout_auc": 0.7,
        "holdout_f1": 0.3,
        "holdout_business_score": 0.6,
        "holdout_refusal_rate": 0.2,
    }
    card = {
        "model_name": "credit-scoring",
        "version": "3",
        "alias": "champion",
        "release": None,
        "family": "logreg",
        "best_params": {"C": "0.1"},
        "threshold": 0.3,
        "n_features": 10,
        "data_source": "synthetic",
        "data_hash": "ab" * 32,
        "costs": {"fn_cost": 10, "fp_cost": 1},
        "metrics": {"logreg": metrics},
        "champion_metrics": metrics,
    }
    path = tmp_path / "model_card.md"
    path.write_text(render_model_card(card))
    release.name_release_in_card(path, TAG)
    assert path.read_text() == render_model_card(card | {"release": TAG})
    path.write_text("# no table\n")
    with pytest.raises(release_record.ReleaseError, match="release tag"):
        release.name_release_in_card(path, TAG)


def test_table_and_relative_tracking_uri(tmp_path, monkeypatch):
    checks = [audit_checks.Check("metric m.json: auc", "0.75", "0.75", audit_checks.OK)]
    checks.append(
        audit_checks.Check("stored models/champion/model.pkl", "aa", "bb", audit_checks.FAIL, "x")
    )
    header, rule, *rows = audit_checks.render_table(checks).splitlines()
    columns = [header.index(name) for name in ("recorded", "reproduced", "status")]
    assert rows[0][columns[0] :].startswith("0.75") and rows[1][columns[1] :].startswith("bb")
    assert rows[1][columns[2] :] == "FAIL: x" and set(rule) == {"-", " "}
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params = {"mlflow": {"tracking_uri": "sqlite:///mlflow.db"}}
    assert (
        release_record.tracking_uri(tmp_path, params)
        == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    )


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Project:
    """A tiny project run, pushed and released as model-v1, then changed and committed again."""
    root = tmp_path_factory.mktemp("audit") / "project"
    project = make_project(root, ["experiment=tiny"])
    # No hash seed of ours: stages that need one set it in dvc.yaml (drift), and the audit's
    # rerun must match a release made with any seed.
    project.env.pop("PYTHONHASHSEED", None)
    project.run("dvc", "remote", "add", "--default", "local", "../dvc-storage")
    project.run("dvc", "repro")
    project.run("dvc", "push")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "tiny run")
    project.run(sys.executable, "-m", "credit_scoring.governance.release", TAG)
    assert "up to date" in project.run("dvc", "status").stdout  # the release kept it clean
    assert not project.run("git", "status", "--porcelain", "--untracked-files=no").stdout
    project.run("credit-scoring-compose", "experiment=tiny", CHANGED_C)
    project.run("dvc", "repro")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "logreg C=1")
    return project


@pytest.mark.slow
def test_release_records_pushes_and_tags(released):
    root = released.root
    record = json.loads(released.run("git", "show", f"{TAG}:releases/{TAG}.json").stdout)
    at_tag = json.loads(released.run("git", "show", f"{TAG}:reports/metrics.json").stdout)
    assert record["tag"] == TAG and record["metrics"]["reports/metrics.json"] == at_tag
    lock = yaml.safe_load(released.run("git", "show", f"{TAG}:dvc.lock").stdout)
    outs = {o["path"]: o["md5"] for o in lock["stages"]["register"]["outs"]}
    assert record["data"]["register"]["outs"] == outs
    assert record["format"] == release_record.RECORD_FORMAT
    models = record["models"]
    assert set(models) == {
        "models/champion/data/model/model.pkl",
        *(f"models/candidates/{family}.pkl" for family in FAMILIES),
    }
    # HEAD retrained every family after the change of logreg's C: the others, byte-identical.
    for family in FAMILIES:
        name = f"models/candidates/{family}.pkl"
        assert (models[name] == file_sha256(root / name)) == (family != "logreg"), name
    champion = json.loads(released.run("git", "show", f"{TAG}:reports/champion.json").stdout)
    tags = record["registry"]["tags"]
    assert tags["family"] == champion["family"]
    assert tags["threshold"] == repr(champion["threshold"])
    card = released.run("git", "show", f"{TAG}:reports/model_card.md").stdout
    assert f"| release tag | `{TAG}` |" in card
    folder = outs["models/champion"]
    assert (root.parent / "dvc-storage" / "files" / "md5" / folder[:2] / folder[2:]).is_file()
    from mlflow import MlflowClient

    version = MlflowClient(tracking_uri=released.tracking_uri).get_model_version(
        "credit-scoring", record["registry"]["version"]
    )
    assert version.tags["release"] == TAG


@pytest.mark.slow
def test_status_clean_and_metrics_diff_shows_the_change(released):
    assert "changed" not in released.run("dvc", "status").stdout
    diff = released.run("dvc", "metrics", "diff", TAG, "HEAD", "--json").stdout
    changed = json.loads(diff)["reports/metrics.json"]
    assert any(key.startswith("logreg.") for key in changed), diff
    second = released.run("git", "tag", "--contains", "HEAD").stdout.split()
    assert TAG not in second  # HEAD moved on after the release


@pytest.mark.slow
def test_audit_of_the_release_passes_with_the_tag_metrics(released):
    result = audit.audit(released.root, TAG)
    print(audit_checks.render_table(result.checks))
    print(audit_checks.summary(result))
    failed = [c for c in result.checks if c.status == audit_checks.FAIL]
    assert result.passed, audit_checks.render_table(failed)
    assert result.verdict == audit_checks.IDENTICAL  # same machine, same environment
    rows = {c.item: c for c in result.checks}
    assert rows["dvc status vs dvc.lock"].status == audit_checks.OK
    assert rows["numeric environment"].status == audit_checks.OK
    scores = [c for c in result.checks if c.item.startswith("held-out scores ")]
    # Every family's probabilities, the champion's decisions, the ids and targets.
    assert len(scores) == len(FAMILIES) + 3 and {c.status for c in scores} == {audit_checks.OK}
    record = json.loads(released.run("git", "show", f"{TAG}:releases/{TAG}.json").stdout)
    metrics = [c for c in result.checks if c.item.startswith("metric ")]
    expected = sum(len(values) for values in record["metrics"].values())
    assert len(metrics) == expected and all(c.status == audit_checks.OK for c in metrics)
    for check in metrics:
        name, key = check.item.removeprefix("metric ").split(": ", 1)
        assert check.reproduced == audit_checks.show(record["metrics"][name][key])
    models = {
        c.item.removeprefix("model "): c for c in result.checks if c.item.startswith("model ")
    }
    assert set(models) == set(record["models"])
    assert "models/champion/data/model/model.pkl" in models
    for name, check in models.items():  # byte-identical: same sha256 as in the record
        assert check.status == audit_checks.OK, name
        assert check.recorded == check.reproduced == audit_checks.short(record["models"][name])
    outs = {c.item: c for c in result.checks if c.item.startswith("md5 ")}
    assert {item for item, c in outs.items() if c.status == audit_checks.SKIP} == RUN_SPECIFIC
    assert all(c.status == audit_checks.OK for item, c in outs.items() if item not in RUN_SPECIFIC)
    assert "md5 models/candidates" in outs and "md5 reports/search" in outs
    assert not [c for c in result.checks if c.status == audit_checks.WARN]
    tags = [c for c in result.checks if c.item.startswith("registry tag ")]
    assert {c.item for c in tags} >= {"registry tag threshold", "registry tag data_hash"}
    assert not result.workdir.exists()
    assert len(released.run("git", "worktree", "list").stdout.splitlines()) == 1


@pytest.mark.slow
def test_audit_under_another_blas_kernel_is_equivalent(released, monkeypatch):
    """Another BLAS kernel (OpenBLAS's Prescott core type) changes the last digits of the
    fitted models: the audit says EQUIVALENT, names the environment, and passes."""
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Prescott")
    result = audit.audit(released.root, TAG)
    print(audit_checks.render_table(result.checks))
    assert result.verdict == audit_checks.EQUIVALENT, audit_checks.summary(result)
    rows = {c.item: c for c in result.checks}
    environment = rows["numeric environment"]
    assert environment.status == audit_checks.WARN
    assert "numeric_variables.OPENBLAS_CORETYPE" in environment.note
    equivalent = [c for c in result.checks if c.status == audit_checks.EQUIV]
    assert any(c.item.startswith("model models/") for c in equivalent)
    assert all("likely cause: machine" in c.note for c in equivalent)
    scores = [c for c in result.checks if c.item.startswith("held-out scores ")]
    assert scores and {c.status for c in scores} <= {audit_checks.OK, audit_checks.EQUIV}
    data_rows = [c for c in result.checks if c.item.startswith("md5 data/")]
    assert data_rows and all(c.status == audit_checks.OK for c in data_rows)


@pytest.mark.slow
def test_audit_of_an_unknown_rev_exits_2(released):
    result = released.run(
        sys.executable, "-m", "credit_scoring.governance.audit", "no-such-tag", check=False
    )
    assert result.returncode == 2 and "neither a tag nor a commit" in result.stderr


@pytest.mark.slow
def test_tampered_artifacts_fail_the_audit_by_name(released, tmp_path):
    root = released.root
    storage, tampered = root.parent / "dvc-storage", root.parent / "dvc-tampered"
    shutil.copytree(storage, tampered)
    record = json.loads(released.run("git", "show", f"{TAG}:releases/{TAG}.json").stdout)
    champion = record["data"]["register"]["outs"]["models/champion"]
    manifest = json.loads((tampered / "files/md5" / champion[:2] / champion[2:]).read_text())
    pickled = next(e["md5"] for e in manifest if e["relpath"] == "data/model/model.pkl")
    blob = tampered / "files/md5" / pickled[:2] / pickled[2:]
    blob.chmod(0o644)
    blob.write_bytes(blob.read_bytes() + b"\0")
    processed = record["data"]["featurize"]["outs"]["data/processed"]
    manifest = json.loads((tampered / "files/md5" / processed[:2] / processed[2:]).read_text())
    train = next(e["md5"] for e in manifest if e["relpath"] == "train.parquet")
    data_blob = tampered / "files/md5" / train[:2] / train[2:]
    data_blob.chmod(0o644)
    data_blob.write_bytes(data_blob.read_bytes()[:-8] + b"\0" * 8)
    released.run("dvc", "remote", "add", "--local", "tampered", "../dvc-tampered")

    worktree = tmp_path / "edit"
    released.run("git", "worktree", "add", "--detach", str(worktree), TAG)
    metrics_file = worktree / "reports" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["champion.holdout_auc"] = 0.99
    metrics_file.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    params_file = worktree / "params.yaml"
    params = yaml.safe_load(params_file.read_text())
    params["cost"]["fn_cost"] = 5  # a cheaper false negative, dvc.lock untouched
    params_file.write_text(yaml.safe_dump(params, sort_keys=False))
    released.run("git", "-C", str(worktree), "commit", "-qam", "better AUC")
    released.run("git", "-C", str(worktree), "tag", f"{TAG}-edited")
    released.run("git", "worktree", "remove", "--force", str(worktree))

    result = released.run(
        sys.executable,
        "-m",
        "credit_scoring.governance.audit",
        f"{TAG}-edited",
        "--record",
        f"releases/{TAG}.json",
        "--remote",
        "tampered",
        "--fail-fast",
        "--failures",
        check=False,
    )
    print(result.stdout)
    assert result.returncode == 1, result.stdout + result.stderr
    failed = [line for line in result.stdout.splitlines() if "FAIL" in line]
    assert any(line.startswith("stored models/champion/data/model/model.pkl ") for line in failed)
    assert any(line.startswith("stored data/processed/train.parquet ") for line in failed)
    assert any(line.startswith("stored reports/metrics.json ") for line in failed)
    assert any("differs from the release record" in line for line in failed)
    status = next(line for line in failed if line.startswith("dvc status vs dvc.lock"))
    assert "params" in status and "train" in status  # the edited cost reaches train
    assert result.stdout.rstrip().endswith(")") and ": DIFFERENT (" in result.stdout


# --- evidence pack ----------------------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
SECTIONS = (
    "1. Identification and lineage",
    "2. Intended purpose",
    "3. Data sources",
    "4. Features",
    "5. Model design",
    "6. Performance",
    "7. Fairness",
    "8. Drift",
    "9. Human oversight and the decision log",
    "10. Audit",
    "11. Numeric environment",
)


def test_decision_log_schema_and_counts(tmp_path):
    from datetime import UTC, datetime

    from credit_scoring.api.decision_log import DecisionLog, DecisionRecord, decisions

    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    DecisionLog(url).close()
    log = evidence._decision_log(url)
    assert log["rows"] == 0
    assert set(log["columns"]) == {c.name for c in decisions.columns} - {"id"}
    store = DecisionLog(url)
    store.record(
        [
            DecisionRecord(
                f"r{i}",
                datetime(2026, 12, 1 + i, tzinfo=UTC),
                i,
                "h",
                p,
                decision,
                0.1,
                "credit-scoring",
                version,
                "request",
                5.0,
                "{}",
            )  # fmt: skip
            for i, (p, decision, version) in enumerate(
                [(0.3, "refused", "2"), (0.05, "granted", "2"), (0.02, "granted", "3")]
            )
        ]
    )
    store.add_override("r0", "officer.1", "granted", "income_verified", "")
    store.close()
    log = evidence._decision_log(url)
    assert log["overrides"] == 1
    assert log["overrides_by_version_reason"][0]["direction"] == "refused->granted"
    assert log["rows"] == 3 and log["by_decision"] == {"granted": 2, "refused": 1}
    assert log["by_model_version"] == {"2": 2, "3": 1}
    assert log["first"].startswith("2026-12-01") and log["last"].startswith("2026-12-03")
    assert evidence._decision_log(None) == {"columns": log["columns"], "database": None}


@pytest.mark.slow
def test_evidence_pack_of_a_release(released, tmp_path):
    page, data = evidence.build(released.root, TAG, tmp_path / "evidence")
    pack = json.loads(data.read_text())
    record = json.loads(released.run("git", "show", f"{TAG}:releases/{TAG}.json").stdout)
    commit = released.run("git", "rev-parse", f"{TAG}^{{commit}}").stdout.strip()
    assert pack["release"] == TAG and pack["commit"] == commit
    assert pack["lineage"]["registry"]["version"] == record["registry"]["version"]
    assert pack["features"] == json.loads(record["registry"]["tags"]["features"])
    assert pack["data"]["manifest"]["application_train"]["rows"] == 1500
    assert pack["environment"] == record["environment"]
    assert pack["audit"]["verdict"] is None and "make audit" in pack["audit"]["note"]
    assert pack["model"]["champion"]["family"] == record["registry"]["tags"]["family"]
    text = page.read_text()
    for title in SECTIONS:
        assert f"<h2>{title}" in text, title
    assert text.count("data:image/png;base64,") >= 4  # cost, calibration, ROC, fairness, SHAP
    assert "<script" not in text and "src='http" not in text  # offline, self-contained
    lock = released.run("git", "show", f"{TAG}:dvc.lock").stdout.encode()
    assert pack["lineage"]["dvc_lock_sha256"] == hashlib.sha256(lock).hexdigest()
    assert pack["lineage"]["dvc_lock_sha256"] in text


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium not installed")
def test_evidence_pack_renders_in_headless_chromium(released, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    page_path, _ = evidence.build(released.root, TAG, tmp_path)
    args = ["--headless=new", "--no-sandbox", "--disable-gpu"]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(page_path.as_uri())
            headings = page.locator("h2").all_inner_texts()
            images = page.locator("img").evaluate_all("(els) => els.map(e => e.naturalWidth)")
            page.screenshot(path=str(tmp_path / "evidence.png"), full_page=True)
        finally:
            browser.close()
    assert [h for h in headings if h.startswith(SECTIONS)] and len(headings) >= len(SECTIONS)
    assert images and all(width > 100 for width in images)  # every figure decoded
    assert (tmp_path / "evidence.png").stat().st_size > 50_000
