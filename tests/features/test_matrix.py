"""The model input matrix: column order, missing columns, one spelling of missing categories."""

import numpy as np
import pandas as pd
import pytest

from credit_scoring.features import attach_target, feature_matrix, split_holdout

COLUMNS = {"numeric": ["A", "B"], "categorical": ["C"]}


def test_feature_matrix_orders_columns_and_unifies_missing_categories():
    frame = pd.DataFrame(
        {"SK_ID_CURR": [1, 2, 3, 4], "C": ["x", None, pd.NA, np.nan], "B": [1.0, 2, 3, 4],
         "A": [0.5, np.nan, 1, 2]}
    )  # fmt: skip
    matrix = feature_matrix(frame, COLUMNS)
    assert list(matrix.columns) == ["A", "B", "C"]
    assert matrix["C"].iloc[0] == "x"
    assert all(isinstance(v, float) and np.isnan(v) for v in matrix["C"].iloc[1:])


def test_feature_matrix_names_missing_columns():
    with pytest.raises(KeyError, match="missing feature column.*B"):
        feature_matrix(pd.DataFrame({"A": [1.0], "C": ["x"]}), COLUMNS)


def test_split_is_stratified_and_target_attached():
    features = pd.DataFrame({"SK_ID_CURR": range(100), "A": np.arange(100.0)})
    application = pd.DataFrame({"SK_ID_CURR": range(100), "TARGET": [1] * 10 + [0] * 90})
    labelled = attach_target(features, application)
    assert list(labelled.columns) == ["SK_ID_CURR", "TARGET", "A"]
    train, holdout = split_holdout(labelled, holdout_size=0.2, seed=0)
    assert len(holdout) == 20 and holdout["TARGET"].sum() == 2
    assert set(train["SK_ID_CURR"]).isdisjoint(holdout["SK_ID_CURR"])


def test_attach_target_refuses_misaligned_rows():
    features = pd.DataFrame({"SK_ID_CURR": [1, 2]})
    with pytest.raises(ValueError, match="not aligned"):
        attach_target(features, pd.DataFrame({"SK_ID_CURR": [2, 1], "TARGET": [0, 1]}))
