"""Challenger and champion aliases in a real MLflow registry (SQLite): a pipeline run never
moves @champion; promotion and rollback are recorded decisions, refused when unsafe."""

import mlflow
import pytest
from mlflow import MlflowClient

from credit_scoring.governance import registry, tracking
from credit_scoring.governance.registry import CHAMPION, PromotionError
from tests.governance.test_tracking import log_tiny_model

SERVABLE = {"metric.holdout_auc": "0.7", "metric.holdout_business_score": "0.6", "data_hash": "d"}


@pytest.fixture
def client(tmp_path, monkeypatch) -> MlflowClient:
    monkeypatch.chdir(tmp_path)  # artifacts land under tmp_path/mlruns
    monkeypatch.setenv("DVC_EXP_NAME", "")
    tracking.configure(f"sqlite:///{tmp_path / 'mlflow.db'}", "tests")
    return MlflowClient()


def register(seed: int, tags: dict[str, str] | None = None) -> str:
    tags = SERVABLE | registry.lineage_tags() if tags is None else tags
    return registry.register_challenger(log_tiny_model(seed), "m", tags)


def test_a_pipeline_run_registers_a_challenger_never_the_champion(client):
    first = register(0)
    assert registry.alias_version(client, "m", "challenger") == first
    assert registry.alias_version(client, "m", CHAMPION) is None
    assert client.get_model_version("m", first).tags["audit_status"] == "unreleased"
    with pytest.raises(PromotionError, match="cannot register @champion"):
        registry.register_challenger(log_tiny_model(1), "m", SERVABLE, alias=CHAMPION)


def test_lineage_names_the_commit_and_the_dvc_experiment(tmp_path, monkeypatch):
    monkeypatch.setenv("DVC_EXP_NAME", "lucky-fish")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "abc123")
    tags = registry.lineage_tags(tmp_path)  # not a git repo: no branch
    assert tags["dvc_experiment"] == "lucky-fish" and tags["git_commit"] == "abc123"
    assert tags["audit_status"] == "unreleased"


@pytest.mark.parametrize(
    ("tags", "words"),
    [
        ({}, "metric.holdout_auc is missing"),
        (SERVABLE, "audit_status is missing"),
        (SERVABLE | {"audit_status": "unreleased"}, "release the run that made it first"),
        ({"audit_status": "released:v1"} | {"data_hash": "d"}, "metric.holdout_auc"),
    ],
)
def test_a_version_that_cannot_be_traced_is_not_promoted(client, tags, words):
    version = register(0, tags)
    with pytest.raises(PromotionError, match=words):
        registry.promote("m", version, approver="ann", reason="looks good")
    assert registry.alias_version(client, "m", CHAMPION) is None
    assert registry.history("m") == []


def test_promotions_and_rollback_are_recorded_with_approver_and_reason(client):
    first, second = register(0), register(1)
    registry.mark_released("m", first, "model-v1")
    registry.mark_released("m", second, "model-v2")
    with pytest.raises(PromotionError, match="approver and a reason"):
        registry.promote("m", first, approver=" ", reason="x")
    with pytest.raises(PromotionError, match="not in the registry"):
        registry.promote("m", "99", approver="ann", reason="x")
    with pytest.raises(PromotionError, match="no @champion to roll back"):
        registry.rollback_target("m")

    registry.promote("m", first, approver="ann", reason="first release")
    with pytest.raises(PromotionError, match="had no champion before it"):
        registry.rollback_target("m")
    with pytest.raises(PromotionError, match="already is @champion"):
        registry.promote("m", first, approver="ann", reason="again")
    registry.promote("m", second, approver="bob", reason="better AUC", comparison={"auc": 0.01})
    assert registry.alias_version(client, "m", CHAMPION) == second
    target = registry.rollback_target("m")
    assert target == first
    registry.move_alias("m", target, action="rollback", approver="cat", reason="complaints")

    assert registry.alias_version(client, "m", CHAMPION) == first
    moves = registry.history("m")
    assert [(m.action, m.previous, m.version, m.approver, m.reason) for m in moves] == [
        ("promote", None, first, "ann", "first release"),
        ("promote", first, second, "bob", "better AUC"),
        ("rollback", second, first, "cat", "complaints"),
    ]
    assert moves[1].comparison == {"auc": 0.01}
    assert moves[0].at < moves[1].at < moves[2].at
    tags = client.get_model_version("m", second).tags
    assert tags["champion_since"] == moves[1].at and tags["champion_until"] == moves[2].at
    assert tags["release"] == "model-v2" and tags["audit_status"] == "released:model-v2"
    # the challenger alias is the pipeline's, untouched by promotions
    assert registry.alias_version(client, "m", "challenger") == second
    assert mlflow.get_tracking_uri().startswith("sqlite:")
