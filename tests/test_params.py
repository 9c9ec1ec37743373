"""The committed params.yaml is exactly what Hydra composes from conf/."""

from pathlib import Path

import pytest
import yaml

from credit_scoring.params import compose_params, write_params

ROOT = Path(__file__).resolve().parents[1]


def test_params_yaml_matches_conf():
    committed = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert committed == compose_params(ROOT / "conf"), (
        "params.yaml is stale: run `credit-scoring-compose` and commit it"
    )


@pytest.mark.parametrize("overrides", [["experiment=tiny"], ["data=home_credit"]])
def test_overrides_compose_and_round_trip(tmp_path, overrides):
    params = compose_params(ROOT / "conf", overrides)
    write_params(params, tmp_path / "params.yaml")
    assert yaml.safe_load((tmp_path / "params.yaml").read_text()) == params


def test_data_source_switch():
    assert compose_params(ROOT / "conf")["data"]["raw_dir"] == "data/synthetic"
    real = compose_params(ROOT / "conf", ["data=home_credit"])
    assert real["data"] == {"source": "home_credit", "raw_dir": "data/raw"}


def test_tiny_experiment_shrinks_the_run():
    tiny = compose_params(ROOT / "conf", ["experiment=tiny"])
    assert tiny["generate"]["n_train"] < 2000 and tiny["train"]["cv_folds"] == 3
    assert all(len(v) == 1 for v in tiny["train"]["models"]["xgboost"]["grid"].values())


def test_every_stage_param_section_exists():
    params = compose_params(ROOT / "conf")
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    for name, stage in dvc["stages"].items():
        for key in stage.get("params", []):
            node = params
            for part in key.split("."):
                assert part in node, f"stage {name} declares param {key} missing from conf/"
                node = node[part]
