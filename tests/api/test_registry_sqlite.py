"""The SQLite registry read without MLflow gives what MLflow's client gives, or nothing."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from mlflow.store.db.utils import _get_latest_schema_revision

from credit_scoring.api import registry_sqlite
from credit_scoring.api.registry_sqlite import local_folder, read_version

NAME = "credit-scoring"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """A real MLflow SQLite registry: 4 versions (one deleted, one with remote artifacts),
    aliases and tags. Returns its URI, the client and the version folders."""
    root = tmp_path_factory.mktemp("registry")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(NAME)
    client.create_registered_model("other")
    folders = []
    for number in range(1, 4):
        folder = root / "models" / f"v{number}"
        folder.mkdir(parents=True)
        folders.append(folder)
        source = folder.as_uri() if number == 2 else str(folder)  # a file: URI and plain paths
        client.create_model_version(NAME, source, tags={"threshold": f"0.{number}"})
    client.create_model_version(NAME, "s3://bucket/model")  # version 4: remote artifacts
    client.create_model_version("other", str(folders[0]))
    client.set_model_version_tag(NAME, "2", "family", "lightgbm")
    client.set_registered_model_alias(NAME, "champion", "2")
    client.set_registered_model_alias(NAME, "challenger", "3")
    client.set_registered_model_alias(NAME, "remote", "4")
    client.delete_model_version(NAME, "1")
    return uri, client, folders


def mlflow_answer(client: MlflowClient, alias: str | None, version: str | None):
    """What the API took from MLflow's client: folder, number and tags."""
    found = (
        client.get_model_version_by_alias(NAME, alias)
        if alias
        else client.get_model_version(NAME, version)
    )
    folder = local_folder(client.get_model_version_download_uri(NAME, found.version))
    return folder, str(found.version), dict(found.tags)


def test_the_installed_mlflow_schema_is_one_the_queries_were_checked_on():
    """Fails after an MLflow upgrade that changes its schema: check the queries, then add it."""
    assert _get_latest_schema_revision() in registry_sqlite.SCHEMA_REVISIONS


@pytest.mark.parametrize(
    ("alias", "version"), [("champion", None), ("challenger", None), (None, "2"), (None, "3")]
)
def test_a_version_reads_as_mlflow_reads_it(registry, alias, version):
    uri, client, _ = registry
    answer = read_version(uri, NAME, alias, version)
    assert answer is not None
    assert answer == mlflow_answer(client, alias, version)


def test_plain_paths_and_file_uris_give_the_folder(registry):
    uri, _, folders = registry
    assert read_version(uri, NAME, "champion", None)[0] == str(folders[1])  # file: URI
    assert read_version(uri, NAME, None, "3") == (str(folders[2]), "3", {"threshold": "0.3"})


@pytest.mark.parametrize(
    ("alias", "version", "why"),
    [
        (None, "1", "deleted"),
        (None, "4", "remote artifacts"),
        ("remote", None, "remote artifacts"),
        ("unknown", None, "no such alias"),
        (None, "9", "no such version"),
        ("latest", None, "MLflow's own alias"),
        ("LATEST", None, "MLflow's own alias"),
    ],
)
def test_what_mlflow_must_answer_is_left_to_it(registry, alias, version, why):
    uri, _, _ = registry
    assert read_version(uri, NAME, alias, version) is None, why


def test_another_name_or_registry_is_not_mixed_up(registry, tmp_path):
    uri, _, folders = registry
    assert read_version(uri, "other", None, "1") == (str(folders[0]), "1", {})
    assert read_version(uri, "nobody", "champion", None) is None
    assert read_version(f"sqlite:///{tmp_path / 'none.db'}", NAME, "champion", None) is None
    assert read_version("http://127.0.0.1:5000", NAME, "champion", None) is None
    assert read_version("sqlite:///:memory:", NAME, "champion", None) is None
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    assert read_version(f"sqlite:///{tmp_path / 'garbage.db'}", NAME, "champion", None) is None


def test_an_unknown_schema_or_workspaces_are_left_to_mlflow(registry, monkeypatch):
    uri, _, _ = registry
    assert read_version(uri, NAME, "champion", None) is not None
    monkeypatch.setenv("MLFLOW_ENABLE_WORKSPACES", "true")
    assert read_version(uri, NAME, "champion", None) is None
    monkeypatch.delenv("MLFLOW_ENABLE_WORKSPACES")
    monkeypatch.setattr(registry_sqlite, "SCHEMA_REVISIONS", frozenset({"0123456789ab"}))
    assert read_version(uri, NAME, "champion", None) is None


def test_an_alias_moved_is_read_at_once(registry):
    uri, client, _ = registry
    client.set_registered_model_alias(NAME, "moving", "2")
    assert read_version(uri, NAME, "moving", None)[1] == "2"
    client.set_registered_model_alias(NAME, "moving", "3")
    assert read_version(uri, NAME, "moving", None)[1] == "3"
    client.delete_registered_model_alias(NAME, "moving")
    assert read_version(uri, NAME, "moving", None) is None


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("s3://bucket/model", None),
        ("runs:/0123/model", None),
        ("models:/m-0123", None),
        ("file://elsewhere/model", None),
        ("", None),
    ],
)
def test_only_local_folders_are_taken(location, expected):
    assert local_folder(location) == expected
