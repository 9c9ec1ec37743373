"""The promotion flow end to end, as a team would run it: release, an experiment, the API still
serving the release, a refused promotion, promotion by release with the comparison, the API
switching models under load, rollback, and the alias history (real DVC, MLflow, uvicorn)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter

import httpx
import pytest

from credit_scoring.governance import registry
from tests.conftest import Project, make_project, serve

pytestmark = pytest.mark.slow

ADMIN_KEY = "admin-secret"
API_KEY = "k"
EXPERIMENT = "train.models.logreg.grid.0.model__C=[1.0]"
APPLICATION = {
    "AMT_INCOME_TOTAL": 1.5e5,
    "AMT_CREDIT": 5e5,
    "AMT_ANNUITY": 2.5e4,
    "DAYS_BIRTH": -15000,
    "DAYS_EMPLOYED": -2000,
}


def release(project: Project, tag: str, approver: str) -> None:
    project.run(
        sys.executable, "-m", "credit_scoring.governance.release", tag, "--approver", approver
    )


def promote(project: Project, *args: str, check: bool = True):
    return project.run(
        sys.executable, "-m", "credit_scoring.governance.promotion", *args, check=check
    )


def champion(project: Project) -> str | None:
    client = registry.client_for(project.tracking_uri)
    return registry.alias_version(client, "credit-scoring", registry.CHAMPION)


def start(project: Project, folder, **settings: str):
    champion = {"CREDIT_API_MODEL_URI": "models:/credit-scoring@champion"}
    return serve(project, folder, API_KEY, **(champion | settings))


def served_version(url: str) -> str | None:
    return httpx.get(f"{url}/health", timeout=30).json()["model_version"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Project:
    """A tiny run, committed and released as model-v1 (which promotes it)."""
    project = make_project(tmp_path_factory.mktemp("promotion") / "project", ["experiment=tiny"])
    project.run("dvc", "remote", "add", "--default", "local", "../dvc-storage")
    project.run("dvc", "repro")
    project.run("git", "add", "-A")
    project.run("git", "commit", "-qm", "tiny run")
    release(project, "model-v1", "Ann Validator")
    return project


def test_release_experiment_promote_reload_rollback(project, tmp_path):
    moves = registry.history("credit-scoring", client=registry.client_for(project.tracking_uri))
    assert champion(project) == "1"
    assert [(m.action, m.version, m.approver) for m in moves] == [
        ("promote", "1", "Ann Validator")
    ]
    assert moves[0].reason.startswith("release model-v1")

    # An experiment registers a challenger; @champion does not move.
    project.run("dvc", "exp", "run", "-n", "logreg-c1", "-S", "experiment=tiny", "-S", EXPERIMENT)
    client = registry.client_for(project.tracking_uri)
    assert registry.alias_version(client, "credit-scoring", "challenger") == "2"
    tags = client.get_model_version("credit-scoring", "2").tags
    assert tags["dvc_experiment"] == "logreg-c1" and tags["audit_status"] == "unreleased"
    assert tags["git_commit"] == project.run("git", "rev-parse", "HEAD").stdout.strip()
    assert champion(project) == "1"

    main = start(project, tmp_path / "main", CREDIT_API_ADMIN_KEYS=ADMIN_KEY)
    watcher = start(project, tmp_path / "watch", CREDIT_API_WATCH_SECONDS="1")
    try:
        assert served_version(main.url) == served_version(watcher.url) == "1"

        # No reason or approver: refused before anything is computed.
        unsigned = promote(project, "2", "--reason", "better", check=False)
        assert unsigned.returncode == 1 and "--reason and --approver" in unsigned.stderr
        # An unreleased experiment cannot be promoted.
        refused = promote(project, "2", "--reason", "better", "--approver", "Bob", check=False)
        assert refused.returncode == 1 and "release the run that made it first" in refused.stderr
        assert champion(project) == "1"

        # Applied, committed and released, it becomes champion with the comparison recorded.
        project.run("dvc", "exp", "apply", "logreg-c1")
        project.run("git", "add", "-A")
        project.run("git", "commit", "-qm", "logreg C=1")
        release(project, "model-v2", "Bob Risk")
        assert champion(project) == "2"
        move = registry.history("credit-scoring", client=client)[-1]
        assert (move.previous, move.version, move.approver) == ("1", "2", "Bob Risk")
        comparison = move.comparison
        assert comparison["challenger"]["version"] == "2"
        assert comparison["champion"]["version"] == "1"
        assert comparison["same_training_data"] is True
        assert comparison["difference"]["auc"] == pytest.approx(
            comparison["challenger"]["auc"] - comparison["champion"]["auc"], abs=2e-6
        )

        # The main API switches on the admin route, under load, without a failed request.
        assert httpx.post(f"{main.url}/admin/reload", timeout=60).status_code == 401
        no_officers = httpx.post(
            f"{main.url}/decisions/x/override",
            headers={"X-API-Key": API_KEY},
            json={"officer_id": "o", "decision": "granted", "reason": "income_verified"},
        )
        assert no_officers.status_code == 403 and "CREDIT_API_OFFICER_KEYS" in no_officers.text
        statuses, versions = Counter(), Counter()
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=main.url, headers={"X-API-Key": API_KEY}, timeout=60) as h:
                while not stop.is_set():
                    answer = h.post("/predict", json={"application": APPLICATION})
                    statuses[answer.status_code] += 1
                    if answer.status_code == 200:
                        versions[answer.json()["model"]["version"]] += 1

        workers = [threading.Thread(target=load) for _ in range(4)]
        for worker in workers:
            worker.start()
        time.sleep(1.0)
        reloaded = httpx.post(
            f"{main.url}/admin/reload", headers={"X-Admin-Key": ADMIN_KEY}, timeout=120
        )
        time.sleep(1.0)
        stop.set()
        for worker in workers:
            worker.join()
        assert reloaded.status_code == 200, reloaded.text
        body = reloaded.json()
        assert body["previous"]["version"] == "1" and body["serving"]["version"] == "2"
        assert body["changed"] is True
        assert set(statuses) == {200}, statuses
        assert versions["1"] > 0 and versions["2"] > 0, versions
        assert served_version(main.url) == "2"

        # The watching API follows the alias by itself; admin routes are off there.
        deadline = time.monotonic() + 60
        while served_version(watcher.url) != "2" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert served_version(watcher.url) == "2"
        off = httpx.post(f"{watcher.url}/admin/reload", headers={"X-Admin-Key": ADMIN_KEY})
        assert off.status_code == 403 and "CREDIT_API_ADMIN_KEYS" in off.json()["detail"]

        # Rollback, recorded the same way; both APIs come back to version 1.
        rolled = promote(project, "--rollback", "--reason", "complaints", "--approver", "Cat")
        assert "challenger v1" in rolled.stdout  # the comparison printed for the approver
        assert champion(project) == "1"
        again = httpx.post(
            f"{main.url}/admin/reload", headers={"X-Admin-Key": ADMIN_KEY}, timeout=120
        )
        assert again.json()["serving"]["version"] == "1"
        deadline = time.monotonic() + 60
        while served_version(watcher.url) != "1" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert served_version(watcher.url) == "1"
    finally:
        main.stop()
        watcher.stop()

    history = promote(project, "--history").stdout.splitlines()
    assert [line.split()[1:4] for line in history] == [
        ["promote", "vNone", "->"],
        ["promote", "v1", "->"],
        ["rollback", "v2", "->"],
    ]
    assert "by Cat: complaints" in history[-1]
    record = json.loads((project.root / "releases" / "model-v2.json").read_text())
    assert record["registry"]["version"] == "2"
