"""The numpy replay of a fitted preprocess equals scikit-learn's output bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import QuantileTransformer

from credit_scoring.modeling.fast_preprocess import FastPreprocessor, fast_preprocessor
from credit_scoring.modeling.models import build_pipeline

NUMERIC = ["EXT_SOURCE_1", "EXT_SOURCE_2", "DAYS_BIRTH", "AMT_CREDIT"]
CATEGORICAL = ["NAME_CONTRACT_TYPE", "ORGANIZATION_TYPE"]
FAMILIES = ("logreg", "random_forest", "xgboost", "lightgbm")


def make_data(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Numeric columns with NaN, a frequent and a rare-category column (infrequent bucket)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "EXT_SOURCE_1": rng.random(n),
            "EXT_SOURCE_2": rng.random(n),
            "DAYS_BIRTH": -rng.integers(7000, 25000, n).astype(float),
            "AMT_CREDIT": rng.lognormal(12, 0.5, n),
            "NAME_CONTRACT_TYPE": rng.choice(["Cash loans", "Revolving loans"], n),
            "ORGANIZATION_TYPE": rng.choice(
                ["Business", "School", "Rare A", "Rare B"], n, p=[0.6, 0.37, 0.02, 0.01]
            ),
        }
    ).astype(dict.fromkeys(CATEGORICAL, object))
    for column in NUMERIC:
        X.loc[rng.random(n) < 0.15, column] = np.nan
    X.loc[rng.random(n) < 0.1, "ORGANIZATION_TYPE"] = np.nan
    y = pd.Series((X["EXT_SOURCE_2"].fillna(0.5) + rng.normal(0, 0.3, n) < 0.4).astype(int))
    return X, y


def odd_rows(X: pd.DataFrame) -> pd.DataFrame:
    """Rows the training data never had: unseen categories, all missing, extreme numbers."""
    rows = X.head(3).copy()
    rows.loc[rows.index[0], CATEGORICAL] = ["Unknown type", "Never seen"]
    rows.loc[rows.index[1], :] = np.nan
    rows.loc[rows.index[2], NUMERIC] = [1e12, -1e-30, 0.0, -0.0]
    return rows


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("poly_degree", [0, 3])
def test_replay_equals_sklearn(family, poly_degree):
    X, y = make_data()
    params = {"poly_degree": poly_degree}
    if family in ("xgboost", "lightgbm", "random_forest"):
        params["n_estimators"] = 5
    pipeline = build_pipeline(family, params, NUMERIC, CATEGORICAL, seed=0).fit(X, y)
    fast = fast_preprocessor(pipeline)
    assert fast is not None
    expected_branches = ["num", "cat"] + (["poly"] if poly_degree else [])
    assert fast.replayed == expected_branches  # nothing left to scikit-learn
    preprocess = pipeline.named_steps["preprocess"]
    for rows in (X, X.iloc[[7]], odd_rows(X)):
        got, expected = fast.transform(rows), preprocess.transform(rows)
        assert got.dtype == expected.dtype
        assert np.array_equal(got, expected, equal_nan=True)
    fast.check(X)


@pytest.mark.parametrize("family", ["logreg", "random_forest"])
def test_infinity_is_refused_like_sklearn(family):
    X, y = make_data()
    pipeline = build_pipeline(
        family, {"n_estimators": 5} if family != "logreg" else {}, NUMERIC, CATEGORICAL, seed=0
    ).fit(X, y)
    rows = X.head(2).copy()
    rows.loc[rows.index[0], "AMT_CREDIT"] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        pipeline.named_steps["preprocess"].transform(rows)
    with pytest.raises(ValueError, match="infinity"):
        fast_preprocessor(pipeline).transform(rows)


def test_unknown_step_is_left_to_sklearn():
    X, y = make_data()
    preprocess = ColumnTransformer(
        [("quantiles", QuantileTransformer(n_quantiles=50), NUMERIC[:2])]
    ).fit(X.fillna(0), y)
    fast = FastPreprocessor(preprocess)
    assert fast.replayed == []
    rows = X.fillna(0)
    assert np.array_equal(fast.transform(rows), preprocess.transform(rows))


def test_check_catches_a_difference():
    X, y = make_data()
    pipeline = build_pipeline("logreg", {}, NUMERIC, CATEGORICAL, seed=0).fit(X, y)
    fast = fast_preprocessor(pipeline)
    scaler = pipeline.named_steps["preprocess"].named_transformers_["num"][-1]
    scaler.mean_ = scaler.mean_ + 1e-3  # scikit-learn's side changes, the replay does not
    with pytest.raises(AssertionError, match="differs from scikit-learn"):
        fast.check(X)
