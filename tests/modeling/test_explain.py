"""SHAP explanations of the four model families: columns, additivity, ranking, reasons, plots."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier

from credit_scoring.modeling.calibration import (
    CalibratedPipeline,
    ProbabilityCalibrator,
    default_probability,
)
from credit_scoring.modeling.contributions import make_contributions
from credit_scoring.modeling.explain import (
    LOG_ODDS,
    LOWERS_RISK,
    PROBABILITY,
    RAISES_RISK,
    PipelineExplainer,
    global_importance,
    match_prefixes,
    model_family,
    polynomial_sources,
    top_k_order,
    transformed_sources,
)
from credit_scoring.modeling.explain_plots import plot_global_importance, plot_local_explanation
from credit_scoring.modeling.models import build_pipeline, build_preprocessor

from ..conftest import run_stage_script

NUMERIC = ["DRIVER", "AMT_NOISE", "DAYS_NOISE"]
# A categorical whose name is a prefix of another's, values with underscores, a rare value.
CATEGORICAL = ["NAME_TYPE", "NAME_TYPE_SUITE"]
FAMILIES = {
    "logreg": {"max_iter": 1000},
    "random_forest": {"n_estimators": 40, "min_samples_leaf": 5, "max_depth": 6},
    "xgboost": {"n_estimators": 40, "max_depth": 3, "learning_rate": 0.2},
    "lightgbm": {"n_estimators": 40, "num_leaves": 8, "verbose": -1},
}
ATOL = 1e-4  # xgboost works in float32


def make_data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Random features where only DRIVER decides the label; NaN in numeric and categorical."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "DRIVER": rng.normal(size=n),
            "AMT_NOISE": rng.normal(size=n),
            "DAYS_NOISE": rng.normal(size=n),
            "NAME_TYPE": rng.choice(["a", "b_c", "rare_one"], n, p=[0.5, 0.49, 0.01]),
            "NAME_TYPE_SUITE": rng.choice(["Spouse_partner", "Family", "Un_accompanied"], n),
        },
        index=pd.RangeIndex(1000, 1000 + n),
    ).astype({"NAME_TYPE": object, "NAME_TYPE_SUITE": object})
    X.loc[rng.random(n) < 0.1, "AMT_NOISE"] = np.nan
    X.loc[rng.random(n) < 0.1, "NAME_TYPE_SUITE"] = np.nan
    y = pd.Series((2 * X["DRIVER"] + 0.5 * rng.normal(size=n) > 1.5).astype(int), index=X.index)
    return X, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return make_data()


@pytest.fixture(scope="module", params=list(FAMILIES))
def fitted(request, data):
    """(family, fitted pipeline, explainer) per model family."""
    X, y = data
    family = request.param
    pipeline = build_pipeline(family, FAMILIES[family], NUMERIC, CATEGORICAL, seed=0).fit(X, y)
    explainer = PipelineExplainer(pipeline, X.sample(100, random_state=1), seed=0)
    return family, pipeline, explainer


@pytest.fixture(scope="module")
def contributions(fitted, data):
    return fitted[2].contributions(data[0].head(200))


def test_family_and_units(fitted):
    family, _, explainer = fitted
    assert explainer.family == family
    assert explainer.units == (PROBABILITY if family == "random_forest" else LOG_ODDS)
    assert isinstance(explainer.expected_value, float)


def test_contributions_have_the_original_columns_and_index(fitted, contributions, data):
    assert list(contributions.columns) == NUMERIC + CATEGORICAL
    assert contributions.index.equals(data[0].head(200).index)
    assert np.isfinite(contributions.to_numpy()).all()


def test_additivity_to_the_model_output(fitted, contributions, data):
    family, pipeline, explainer = fitted
    X = data[0].head(200)
    output = explainer.model_output(X)
    total = explainer.expected_value + contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, output, atol=ATOL)
    proba = pipeline.predict_proba(X)[:, 1]
    if family == "random_forest":
        np.testing.assert_allclose(output, proba, atol=1e-9)
    else:
        np.testing.assert_allclose(1 / (1 + np.exp(-output)), proba, atol=1e-5)


def shap_reference(family: str, model, background: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """shap's own SHAP values of the flavour the engine claims to reproduce."""
    with warnings.catch_warnings():  # shap's deprecation and output-format notices
        warnings.simplefilter("ignore")
        return _shap_values(family, model, background, rows)


def _shap_values(family: str, model, background: np.ndarray, rows: np.ndarray) -> np.ndarray:
    import shap

    if family == "logreg":
        masker = shap.maskers.Independent(background, max_samples=len(background))
        return shap.LinearExplainer(model, masker).shap_values(rows)
    if family == "random_forest":
        explainer = shap.TreeExplainer(
            model, data=background, feature_perturbation="interventional"
        )
        return np.asarray(explainer.shap_values(rows))[..., -1]
    explainer = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    return np.asarray(explainer.shap_values(rows))


def test_engines_equal_shap(fitted, data):
    """No hand-made SHAP: each family's values are shap's (linear and forest interventional,
    boosters path-dependent: their native contributions)."""
    family, pipeline, _ = fitted
    X = data[0]
    transform = pipeline.named_steps["preprocess"].transform
    background = np.asarray(transform(X.sample(100, random_state=1)), np.float64)
    rows = np.asarray(transform(X.head(50)), np.float64)
    model = pipeline.named_steps["model"]
    engine = make_contributions(model, family, background)
    np.testing.assert_allclose(
        engine.values(rows), shap_reference(family, model, background, rows), atol=ATOL
    )


def test_early_stopped_boosters_explain_the_rounds_they_predict_with(data):
    """Without the refit, the boosters predict with their best round: so do their contributions."""
    X, y = data
    for family in ("xgboost", "lightgbm"):
        params = FAMILIES[family] | {
            "n_estimators": 300,
            "early_stopping_rounds": 5,
            "refit_full": False,
        }
        pipeline = build_pipeline(family, params, NUMERIC, CATEGORICAL, seed=0).fit(X, y)
        assert pipeline.named_steps["model"].n_rounds < 300
        explainer = PipelineExplainer(pipeline, X.head(50), seed=0)
        total = explainer.expected_value + explainer.contributions(X).sum(axis=1).to_numpy()
        np.testing.assert_allclose(total, explainer.model_output(X), atol=ATOL)


def test_driver_feature_is_the_most_important(contributions):
    importance = global_importance(contributions)
    assert list(importance.columns) == ["feature", "mean_abs_shap"]
    assert importance["feature"].iloc[0] == "DRIVER"
    assert importance["mean_abs_shap"].is_monotonic_decreasing


def test_reasons_sorted_json_ready_and_consistent(fitted, contributions, data):
    X = data[0].head(20)
    reasons = fitted[2].reasons(X, top_k=3)
    assert len(reasons) == len(X)
    json.dumps(reasons)
    for (index, row), row_reasons in zip(X.iterrows(), reasons, strict=True):
        assert len(row_reasons) == 3
        sizes = [abs(reason["contribution"]) for reason in row_reasons]
        assert sizes == sorted(sizes, reverse=True)
        for reason in row_reasons:
            raw = row[reason["feature"]]
            assert reason["value"] == (None if pd.isna(raw) else raw)
            assert isinstance(reason["value"], float | str | type(None))
            assert reason["contribution"] == pytest.approx(
                contributions.loc[index, reason["feature"]], abs=1e-9
            )
            expected = RAISES_RISK if reason["contribution"] > 0 else LOWERS_RISK
            assert reason["direction"] == expected


def test_excluded_features_are_never_reasons(fitted, data):
    """The top_k are chosen among the other features; the SHAP values do not change."""
    X = data[0].head(20)
    explainer = fitted[2]
    excluded = {"DRIVER", "NAME_TYPE", "NOT_AN_INPUT"}
    everything = explainer.reasons(X, top_k=len(NUMERIC + CATEGORICAL))
    kept = explainer.reasons(X, top_k=2, exclude=excluded)
    assert any(r["feature"] == "DRIVER" for row in everything for r in row[:2])
    for full, row in zip(everything, kept, strict=True):
        assert row == [r for r in full if r["feature"] not in excluded][:2]


def test_one_preprocess_pass_serves_the_probability_and_the_reasons(fitted, data):
    """What the API does: preprocess once, then probability and reasons from that matrix, equal
    to the pipeline's own predict_proba and to reasons computed from the raw rows."""
    _, pipeline, explainer = fitted
    X = data[0].head(50)
    raw = pipeline.predict_proba(X)[:, 1]
    calibrated = CalibratedPipeline.wrap(
        pipeline, ProbabilityCalibrator("platt").fit(raw, data[1][:50])
    )
    for served in (pipeline, calibrated):
        transformed = explainer.transform(X)
        expected = served.predict_proba(X)[:, 1]
        assert np.array_equal(default_probability(served, transformed), expected)
    assert explainer.reasons(X, 3, transformed=transformed) == explainer.reasons(X, 3)


def test_one_row_matches_the_batch(fitted, contributions, data):
    row = data[0].iloc[[7]]
    single = fitted[2].contributions(row)
    assert single.shape == (1, len(NUMERIC + CATEGORICAL))
    np.testing.assert_allclose(single.to_numpy(), contributions.iloc[[7]].to_numpy(), atol=1e-6)
    assert len(fitted[2].reasons(row, top_k=10)[0]) == len(NUMERIC + CATEGORICAL)


def test_unseen_category_and_missing_values_are_explained(fitted, data):
    row = data[0].iloc[[0]].copy()
    row["NAME_TYPE"] = "never_seen"
    row["AMT_NOISE"] = np.nan
    row["NAME_TYPE_SUITE"] = np.nan
    explainer = fitted[2]
    total = explainer.expected_value + explainer.contributions(row).sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, explainer.model_output(row), atol=ATOL)
    values = {r["feature"]: r["value"] for r in explainer.reasons(row, top_k=5)[0]}
    assert values["AMT_NOISE"] is None and values["NAME_TYPE"] == "never_seen"


def test_plots_write_pngs(fitted, contributions, data, tmp_path):
    explainer = fitted[2]
    paths = [
        plot_global_importance(global_importance(contributions), tmp_path / "g" / "global.png"),
        plot_local_explanation(
            explainer.reasons(data[0].iloc[[3]], top_k=4)[0],
            explainer.expected_value,
            tmp_path / "local.png",
            "client 3",
        ),
    ]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_one_hot_columns_map_to_their_source(data):
    X, y = data
    pipeline = build_pipeline("logreg", {}, NUMERIC, CATEGORICAL, seed=0).fit(X, y)
    preprocess = pipeline.named_steps["preprocess"]
    names = list(preprocess.get_feature_names_out())
    sources = transformed_sources(preprocess)
    assert len(sources) == len(names)
    expected = {
        "DRIVER": "DRIVER",
        "NAME_TYPE_a": "NAME_TYPE",
        "NAME_TYPE_b_c": "NAME_TYPE",
        "NAME_TYPE_infrequent_sklearn": "NAME_TYPE",
        "NAME_TYPE_SUITE_Spouse_partner": "NAME_TYPE_SUITE",
        "NAME_TYPE_SUITE_MISSING": "NAME_TYPE_SUITE",
    }
    mapping = dict(zip(names, sources, strict=True))
    assert {name: mapping[name] for name in expected} == {
        name: {source: 1.0} for name, source in expected.items()
    }


def test_match_prefixes_prefers_the_longest_column():
    names = ["NAME_TYPE_SUITE_Spouse_partner", "NAME_TYPE_b_c", "AGE"]
    columns = ["AGE", "NAME_TYPE", "NAME_TYPE_SUITE"]
    assert match_prefixes(names, columns) == ["NAME_TYPE_SUITE", "NAME_TYPE", "AGE"]
    with pytest.raises(ValueError, match="OTHER_x"):
        match_prefixes(["OTHER_x"], columns)


def test_unsupported_model_is_refused():
    with pytest.raises(TypeError, match="DummyClassifier"):
        model_family(DummyClassifier())


@pytest.mark.slow
def test_explain_stage_writes_its_outputs(tmp_path):
    """Run stages/explain.py on a fake champion, holdout and feature list in a temp folder."""
    from credit_scoring.governance.tracking import save_served_model

    X, y = make_data(n=300, seed=3)
    pipeline = build_pipeline("lightgbm", FAMILIES["lightgbm"], NUMERIC, CATEGORICAL, seed=0)
    pipeline.fit(X, y)
    metadata = {
        "threshold": 0.3,
        "family": "lgbm",
        "features": {"numeric": NUMERIC, "categorical": CATEGORICAL},
    }
    save_served_model(pipeline, tmp_path / "models" / "champion", pd.DataFrame(), metadata)
    holdout = pd.concat(
        [pd.DataFrame({"SK_ID_CURR": X.index + 100000, "TARGET": y}, index=X.index), X], axis=1
    )
    (tmp_path / "data" / "processed").mkdir(parents=True)
    holdout.to_parquet(tmp_path / "data" / "processed" / "holdout.parquet", index=False)
    feature_columns = {"numeric": NUMERIC, "categorical": CATEGORICAL}
    (tmp_path / "data" / "processed" / "feature_columns.json").write_text(
        json.dumps(feature_columns)
    )
    (tmp_path / "params.yaml").write_text(
        "base: {id_column: SK_ID_CURR, target: TARGET}\n"
        "paths: {processed_dir: data/processed, models_dir: models, reports_dir: reports}\n"
        "explain: {n_background: 50, n_explained: 80, n_local: 4, top_k: 3, seed: 1}\n"
    )
    result = run_stage_script("explain", tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "reports" / "shap"
    importance = pd.read_csv(out / "global_importance.csv")
    assert importance["feature"].iloc[0] == "DRIVER" and len(importance) == 5
    local = json.loads((out / "local_explanations.json").read_text())
    assert local["threshold"] == 0.3 and len(local["clients"]) == 4
    client = local["clients"][0]
    assert client["decision"] == ("refused" if client["probability"] >= 0.3 else "granted")
    assert client["units"] == LOG_ODDS and len(client["reasons"]) == 3
    assert len(list(out.glob("local_*.png"))) == 3
    assert (out / "global_importance.png").stat().st_size > 0


# --------------------------------------------------------------------------------------------
# Polynomial terms of EXT_SOURCE_* and DAYS_BIRTH (model params key poly_degree)
# --------------------------------------------------------------------------------------------

# EXT_SOURCE_3 left out: the step uses the POLY_COLUMNS present.
POLY_NUMERIC = ["EXT_SOURCE_1", "EXT_SOURCE_2", "DAYS_BIRTH", "AMT_NOISE"]


def make_poly_data(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """EXT_SOURCE_1 x EXT_SOURCE_2 decides the label; EXT_SOURCE_1 often missing."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "EXT_SOURCE_1": rng.uniform(size=n),
            "EXT_SOURCE_2": rng.uniform(size=n),
            "DAYS_BIRTH": -rng.integers(7_000, 25_000, n).astype(float),
            "AMT_NOISE": rng.normal(size=n),
            "NAME_TYPE": rng.choice(["a", "b_c"], n),
        },
        index=pd.RangeIndex(5000, 5000 + n),
    ).astype({"NAME_TYPE": object})
    product = X["EXT_SOURCE_1"] * X["EXT_SOURCE_2"]
    X.loc[rng.random(n) < 0.3, "EXT_SOURCE_1"] = np.nan
    y = pd.Series((product + 0.1 * rng.normal(size=n) < 0.2).astype(int), index=X.index)
    return X, y


@pytest.fixture(scope="module")
def poly_data() -> tuple[pd.DataFrame, pd.Series]:
    return make_poly_data()


@pytest.fixture(scope="module", params=list(FAMILIES))
def poly_fitted(request, poly_data):
    """(family, pipeline with degree-3 terms fitted, explainer) per model family."""
    X, y = poly_data
    params = {**FAMILIES[request.param], "poly_degree": 3}
    pipeline = build_pipeline(request.param, params, POLY_NUMERIC, ["NAME_TYPE"], seed=0)
    pipeline.fit(X, y)
    return request.param, pipeline, PipelineExplainer(pipeline, X.sample(100, random_state=1))


def test_polynomial_terms_are_model_inputs(poly_fitted, poly_data):
    _, pipeline, _ = poly_fitted
    preprocess = pipeline.named_steps["preprocess"]
    poly = preprocess.named_transformers_["poly"]
    # 3 columns: 6 terms of degree 2 + 10 of degree 3, beside the columns themselves.
    assert preprocess.output_indices_["poly"].stop - preprocess.output_indices_["poly"].start == 16
    assert "EXT_SOURCE_1 EXT_SOURCE_2" in list(preprocess.get_feature_names_out())
    # The median is that of the rows the pipeline was fitted on (inside a fold: its rows).
    X = poly_data[0]
    medians = X[["EXT_SOURCE_1", "EXT_SOURCE_2", "DAYS_BIRTH"]].median().to_numpy()
    # (of the float32 values for the float32 families)
    np.testing.assert_allclose(poly.named_steps["simpleimputer"].statistics_, medians, rtol=1e-6)


def test_polynomial_contributions_map_to_inputs_and_add_up(poly_fitted, poly_data):
    family, pipeline, explainer = poly_fitted
    X = poly_data[0].head(150)
    contributions = explainer.contributions(X)
    assert list(contributions.columns) == [*POLY_NUMERIC, "NAME_TYPE"]
    total = explainer.expected_value + contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, explainer.model_output(X), atol=ATOL)
    importance = global_importance(contributions)
    assert set(importance["feature"].iloc[:2]) == {"EXT_SOURCE_1", "EXT_SOURCE_2"}, family
    single = explainer.contributions(X.iloc[[4]])
    np.testing.assert_allclose(single.to_numpy(), contributions.iloc[[4]].to_numpy(), atol=1e-6)


def test_polynomial_sources_share_a_term_by_exponent():
    powers = np.array([[2, 1, 0], [0, 0, 2], [1, 1, 1], [0, 0, 0]])
    assert polynomial_sources(powers, ["a", "b", "c"]) == [
        {"a": 2 / 3, "b": 1 / 3},
        {"c": 1.0},
        {"a": 1 / 3, "b": 1 / 3, "c": 1 / 3},
        {},
    ]


def test_no_polynomial_step_by_default():
    preprocess = build_pipeline("lightgbm", {}, POLY_NUMERIC, [], seed=0).named_steps["preprocess"]
    assert [name for name, *_ in preprocess.transformers] == ["num", "cat"]


@pytest.mark.parametrize(
    ("degree", "numeric"), [(1, POLY_NUMERIC), (-2, POLY_NUMERIC), (2, ["AMT_NOISE"])]
)
def test_bad_polynomial_degree_or_columns_are_refused(degree, numeric):
    with pytest.raises(ValueError, match="poly_degree"):
        build_preprocessor(numeric, [], impute=False, scale=False, poly_degree=degree)


@pytest.mark.parametrize("kind", ["distinct", "ties", "nan", "zeros"])
def test_top_k_order_is_the_stable_full_sort(kind):
    rng = np.random.default_rng(7)
    for _ in range(60):
        values = rng.normal(size=(rng.integers(1, 40), rng.integers(1, 25)))
        if kind == "ties":
            values = np.round(values)
        elif kind == "nan":
            values[rng.random(values.shape) < 0.2] = np.nan
        elif kind == "zeros":
            values[rng.random(values.shape) < 0.6] = 0.0
        for k in (0, 1, 3, 5, values.shape[1], values.shape[1] + 2):
            expected = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
            assert np.array_equal(top_k_order(values, k), expected)
