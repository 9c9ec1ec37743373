"""Fairness metrics on hand-made decisions, the protected features, the champion's grid point."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from credit_scoring.config import (
    CostConfig,
    FairnessConfig,
    FeaturesConfig,
    ModelGrid,
    TrainConfig,
)
from credit_scoring.data import schema
from credit_scoring.features import build_features, feature_matrix, split_feature_kinds
from credit_scoring.features.application import AGE_DERIVED_FEATURES, PROTECTED_FEATURES
from credit_scoring.modeling.candidates import load_candidates
from credit_scoring.modeling.fairness import (
    age_band_labels,
    chosen_point,
    disparities,
    group_table,
    plot_group_rates,
    retrain,
    sensitive_groups,
    without_protected,
    without_protected_metrics,
)

COSTS = CostConfig(fn_cost=10, fp_cost=1)
EDGES = (25, 35)
# fairness.json holds 4 decimals (tabular.METRIC_DECIMALS), groups.csv 6.
ROUNDED = 5e-5 + 2e-6
RATE_GAPS = ("false_negative_rate", "false_positive_rate")


def days_birth(age_years: float) -> float:
    return -age_years * schema.DAYS_PER_YEAR


@pytest.fixture
def decisions() -> pd.DataFrame:
    """Ten applicants: six women (2 defaulters), four men (1 defaulter), and their decisions.

    Women: refused = one defaulter and one reliable client -> FNR 1/2, FPR 1/4, refusal 2/6,
    cost 10 + 1 out of 10·2 + 4 -> business score 13/24.
    Men: refused = the defaulter and two of three reliable clients -> FNR 0, FPR 2/3,
    refusal 3/4, cost 2 out of 10 + 3 -> business score 11/13.
    """
    return pd.DataFrame(
        {
            "CODE_GENDER": ["F"] * 6 + ["M"] * 4,
            "DAYS_BIRTH": [days_birth(a) for a in (20, 24.9, 25, 30, 34.99, 35, 40, 60, 24, 26)],
            "TARGET": [1, 1, 0, 0, 0, 0, 1, 0, 0, 0],
            "refused": [1, 0, 1, 0, 0, 0, 1, 1, 1, 0],
        }
    )


def test_age_bands_hold_their_lower_edge():
    assert age_band_labels([25, 35, 50, 65]) == ["<25", "25-35", "35-50", "50-65", "65+"]
    frame = pd.DataFrame(
        {
            "CODE_GENDER": ["M", None, "XNA", "F"],
            "DAYS_BIRTH": [days_birth(24.99), days_birth(25), days_birth(35), np.nan],
        }
    )
    groups = sensitive_groups(frame, EDGES)
    assert list(groups["age_band"].astype(str)) == ["<25", "25-35", "35+", "missing"]
    assert list(groups["CODE_GENDER"].astype(str)) == ["M", "missing", "XNA", "F"]
    assert list(groups["CODE_GENDER"].cat.categories) == ["F", "M", "XNA", "missing"]


def test_group_table_by_hand(decisions):
    groups = sensitive_groups(decisions, EDGES)
    table = group_table(decisions["TARGET"], decisions["refused"], groups, COSTS, min_outcomes=1)
    gender = table[table["attribute"] == "CODE_GENDER"].set_index("group")
    expected = pd.DataFrame(
        {
            "rows": [6, 4],
            "defaulters": [2, 1],
            "default_rate": [2 / 6, 1 / 4],
            "refusal_rate": [2 / 6, 3 / 4],
            "false_negative_rate": [1 / 2, 0.0],
            "false_positive_rate": [1 / 4, 2 / 3],
            "business_score": [13 / 24, 11 / 13],
            "compared": [True, True],
        },
        index=pd.Index(["F", "M"], name="group"),
    )
    pd.testing.assert_frame_equal(gender.drop(columns="attribute"), expected, check_dtype=False)
    # Ages 20, 24.9, 24 | 25, 30, 34.99, 26 | 35, 40, 60: bands in display order.
    ages = table[table["attribute"] == "age_band"].set_index("group")
    assert list(ages.index) == ["<25", "25-35", "35+"]
    assert list(ages["rows"]) == [3, 4, 3]
    assert list(ages["defaulters"]) == [2, 0, 1]
    # 25-35 has no defaulter: its false-negative rate is undefined, not 0; it is not compared.
    assert np.isnan(ages.loc["25-35", "false_negative_rate"])
    assert list(ages["compared"]) == [True, False, True]


def test_disparities_by_hand(decisions):
    groups = sensitive_groups(decisions, EDGES)
    metrics = disparities(decisions["TARGET"], decisions["refused"], groups, min_outcomes=1)
    assert metrics["CODE_GENDER.demographic_parity_difference"] == pytest.approx(3 / 4 - 2 / 6)
    # max(|TPR gap| = |1/2 - 1|, |FPR gap| = |1/4 - 2/3|)
    assert metrics["CODE_GENDER.equalized_odds_difference"] == pytest.approx(1 / 2)
    assert metrics["CODE_GENDER.refusal_rate_ratio"] == pytest.approx((3 / 4) / (2 / 6))
    # Age: <25 (refusals 1, 0, 1 -> 2/3) against 35+ (1, 1, 0 -> 2/3); 25-35 is not compared.
    assert metrics["age_band.demographic_parity_difference"] == pytest.approx(0.0)
    assert metrics["age_band.refusal_rate_ratio"] == pytest.approx(1.0)
    # <25: TPR 1/2, FPR 1/1; 35+: TPR 1, FPR 1/2.
    assert metrics["age_band.equalized_odds_difference"] == pytest.approx(1 / 2)


def test_groups_with_too_few_outcomes_are_not_compared(decisions):
    groups = sensitive_groups(decisions, EDGES)
    metrics = disparities(decisions["TARGET"], decisions["refused"], groups, min_outcomes=2)
    # Men have a single defaulter: no second group to compare the women with.
    assert metrics["CODE_GENDER.demographic_parity_difference"] is None
    assert metrics["CODE_GENDER.refusal_rate_ratio"] is None
    never_refused = np.zeros(len(decisions), dtype=int)
    ratio = disparities(decisions["TARGET"], never_refused, groups, min_outcomes=1)
    assert ratio["CODE_GENDER.demographic_parity_difference"] == 0.0
    assert ratio["CODE_GENDER.refusal_rate_ratio"] is None  # 0 / 0


def test_without_protected_metrics_compare_two_models(decisions):
    y = decisions["TARGET"].to_numpy()
    groups = sensitive_groups(decisions, EDGES)
    champion = (np.where(y == 1, 0.9, 0.1), 0.5)  # perfect
    coin = (np.linspace(0.05, 0.95, len(y)), 0.5)
    metrics = without_protected_metrics(y, champion, coin, groups, COSTS, 1)
    assert metrics["without_protected.delta_auc"] == pytest.approx(
        metrics["without_protected.auc"] - 1.0
    )
    assert metrics["without_protected.delta_business_score"] < 0
    assert metrics["without_protected.threshold"] == 0.5
    assert "without_protected.CODE_GENDER.equalized_odds_difference" in metrics


def test_figure_is_written(decisions, tmp_path):
    groups = sensitive_groups(decisions, EDGES)
    table = group_table(decisions["TARGET"], decisions["refused"], groups, COSTS, 1)
    path = plot_group_rates(table, 0.5, tmp_path / "fairness.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_protected_features_are_every_feature_that_moves_with_age():
    """Changing only DAYS_BIRTH changes exactly DAYS_BIRTH and AGE_DERIVED_FEATURES."""
    numeric = [
        c
        for c, kind in schema.column_kinds("application_train").items()
        if kind != "category" and c not in (schema.CLIENT_ID, schema.TARGET)
    ]
    row = {c: float(i + 3) for i, c in enumerate(numeric)}  # every ratio defined
    row |= {schema.CLIENT_ID: 1, "CODE_GENDER": "F", "DAYS_BIRTH": days_birth(30)}
    older = row | {"DAYS_BIRTH": days_birth(55)}
    features = build_features(pd.DataFrame([row, older]), None, FeaturesConfig())
    _, categorical = split_feature_kinds(features)
    numbers = features.drop(columns=categorical + [schema.CLIENT_ID])
    before, after = numbers.iloc[0], numbers.iloc[1]
    moved = set(numbers.columns[~np.isclose(before, after, equal_nan=True)])
    assert moved == {"DAYS_BIRTH", *AGE_DERIVED_FEATURES}
    assert "CODE_GENDER" in categorical
    assert PROTECTED_FEATURES == {"CODE_GENDER", "DAYS_BIRTH", *AGE_DERIVED_FEATURES}
    columns = {"numeric": list(numbers.columns), "categorical": categorical}
    kept = without_protected(columns)
    assert set(kept["numeric"]) == set(numbers.columns) - PROTECTED_FEATURES
    assert set(kept["categorical"]) == set(categorical) - {"CODE_GENDER"}


def test_chosen_point_maps_readable_params_back_to_the_config_grid():
    grid = ModelGrid(
        name="logreg",
        params={"max_iter": 500},
        grid={"model__C": [0.01, 0.1, 1.0], "sampler": ["smote", None]},
    )
    point = chosen_point(grid, {"model__C": "0.1", "sampler": "passthrough"}, seed=0)
    assert point.grid == {"model__C": [0.1], "sampler": [None]}
    assert point.params == grid.params and point.name == "logreg"
    assert chosen_point(grid, {"model__C": "1.0", "sampler": "smote"}, 0).grid["sampler"] == [
        "smote"
    ]
    with pytest.raises(ValueError, match="model__C"):
        chosen_point(grid, {"model__C": "10.0", "sampler": "smote"}, seed=0)


def test_config_rejects_unsorted_age_bands():
    assert FairnessConfig(age_band_edges=[25, 35]).age_band_edges == (25, 35)
    with pytest.raises(ValueError, match="increasing"):
        FairnessConfig(age_band_edges=[35, 25])


# --- the stage on the tiny pipeline run --------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_run(tiny_project) -> dict[str, Any]:
    """The tiny run's champion, its held-out probabilities and what the stages wrote."""
    root = tiny_project.root
    params = yaml.safe_load((root / "params.yaml").read_text())
    family = json.loads((root / "reports" / "champion.json").read_text())["family"]
    candidate = load_candidates(root / "models")[family]
    columns = json.loads((root / "data" / "processed" / "feature_columns.json").read_text())
    holdout = pd.read_parquet(root / "data" / "processed" / "holdout.parquet")
    X = feature_matrix(holdout, columns)
    return {
        "root": root,
        "params": params,
        "candidate": candidate,
        "columns": columns,
        "holdout": holdout,
        "X": X,
        "proba": candidate.pipeline.predict_proba(X)[:, 1],
        "fairness": json.loads((root / "reports" / "fairness.json").read_text()),
        "metrics": json.loads((root / "reports" / "metrics.json").read_text()),
        "groups": pd.read_csv(root / "reports" / "fairness" / "groups.csv"),
    }


@pytest.mark.slow
def test_stage_tables_match_a_plain_recount(tiny_run):
    """groups.csv and the disparities, recounted with pandas from the champion's decisions."""
    holdout, table = tiny_run["holdout"], tiny_run["groups"]
    decisions = pd.DataFrame(
        {
            "refused": tiny_run["proba"] >= tiny_run["candidate"].threshold,
            "TARGET": holdout["TARGET"],
            "CODE_GENDER": holdout["CODE_GENDER"],
            "age_band": pd.cut(
                -holdout["DAYS_BIRTH"] / 365.25,
                [0, 25, 35, 50, 65, 200],
                right=False,
                labels=["<25", "25-35", "35-50", "50-65", "65+"],
            ).astype(str),
        }
    )
    fairness = tiny_run["fairness"]
    for attribute in ("CODE_GENDER", "age_band"):
        recount = decisions.groupby(attribute).agg(
            rows=("TARGET", "size"), defaulters=("TARGET", "sum"), refusal_rate=("refused", "mean")
        )
        got = table[table["attribute"] == attribute].set_index("group")
        assert got["rows"].sum() == len(holdout)
        pd.testing.assert_frame_equal(
            got[["rows", "defaulters", "refusal_rate"]].sort_index(),
            recount.sort_index(),
            check_dtype=False,
            check_names=False,
            atol=1e-6,
        )
        compared = got[got["compared"]]
        assert len(compared) >= 2, f"{attribute}: no two groups to compare in the tiny run"
        rates = compared["refusal_rate"]
        assert fairness[f"{attribute}.demographic_parity_difference"] == pytest.approx(
            rates.max() - rates.min(), abs=ROUNDED
        )
        assert fairness[f"{attribute}.refusal_rate_ratio"] == pytest.approx(
            rates.max() / rates.min(), rel=1e-4
        )
        gaps = [compared[c].max() - compared[c].min() for c in RATE_GAPS]
        assert fairness[f"{attribute}.equalized_odds_difference"] == pytest.approx(
            max(gaps), abs=ROUNDED
        )


@pytest.mark.slow
def test_stage_reports_what_dropping_the_protected_attributes_costs(tiny_run, tiny_project):
    fairness, metrics = tiny_run["fairness"], tiny_run["metrics"]
    for name in ("auc", "business_score"):
        assert 0.5 < fairness[f"without_protected.{name}"] <= 1
        assert fairness[f"without_protected.delta_{name}"] == pytest.approx(
            # three values each rounded to 4 decimals (tabular.METRIC_DECIMALS)
            fairness[f"without_protected.{name}"] - metrics[f"champion.holdout_{name}"],
            abs=1.5e-4 + 1e-9,
        )
    assert 0 < fairness["without_protected.threshold"] < 1
    assert "without_protected.age_band.demographic_parity_difference" in fairness
    root = tiny_run["root"]
    assert (root / "reports" / "fairness" / "fairness.png").stat().st_size > 0
    assert "## Fairness" in (root / "reports" / "model_card.md").read_text()
    shown = tiny_project.run("dvc", "metrics", "show", "--json").stdout
    assert "without_protected.delta_auc" in shown
    local = json.loads((root / "reports" / "shap" / "local_explanations.json").read_text())
    top_k = tiny_run["params"]["explain"]["top_k"]
    for client in local["clients"]:
        features = {reason["feature"] for reason in client["reasons"]}
        assert len(features) == top_k and not features & PROTECTED_FEATURES


@pytest.mark.slow
def test_retraining_the_chosen_point_gives_the_champion_back(tiny_run):
    """retrain() on the champion's own columns reproduces it: same point, threshold, model."""
    settings = dict(tiny_run["params"]["train"])
    candidate = tiny_run["candidate"]
    grid = ModelGrid(name=candidate.family, **settings.pop("models")[candidate.family])
    train = pd.read_parquet(tiny_run["root"] / "data" / "processed" / "train.parquet")
    costs = CostConfig(**tiny_run["params"]["cost"])
    X, y = feature_matrix(train, tiny_run["columns"]), train[schema.TARGET]
    again = retrain(candidate, grid, X, y, tiny_run["columns"], costs, TrainConfig(**settings))
    assert again.best_params == candidate.best_params
    assert again.threshold == candidate.threshold
    proba = again.pipeline.predict_proba(tiny_run["X"])[:, 1]
    np.testing.assert_allclose(proba, tiny_run["proba"], rtol=0, atol=1e-12)


def test_chosen_point_of_a_list_of_grids():
    grid = ModelGrid(
        name="logreg",
        grid=[
            {
                "model__C": [0.01, 0.1],
                "model__class_weight": ["balanced"],
                "sampler": ["passthrough"],
            },
            {"model__C": [0.01, 0.1], "model__class_weight": [None], "sampler": ["smote"]},
        ],
    )
    best = {"model__C": "0.1", "model__class_weight": "None", "sampler": "smote"}
    point = chosen_point(grid, best, seed=0)
    assert point.grid == {"model__C": [0.1], "model__class_weight": [None], "sampler": ["smote"]}
    with pytest.raises(ValueError, match="not in the grid"):
        chosen_point(grid, best | {"model__C": "5.0"}, seed=0)
