"""Labelled feature tables: the train/holdout split and the model's input matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from credit_scoring.data.schema import CLIENT_ID, TARGET
from credit_scoring.features.common import missing_as_nan


def attach_target(features: pd.DataFrame, application: pd.DataFrame) -> pd.DataFrame:
    """Put ``TARGET`` of ``application`` right after SK_ID_CURR in ``features`` (same rows)."""
    if not features[CLIENT_ID].equals(application[CLIENT_ID]):
        raise ValueError("features and application rows are not aligned on SK_ID_CURR")
    labelled = features.copy()
    labelled.insert(1, TARGET, application[TARGET].to_numpy().astype(int))
    return labelled


def split_holdout(
    labelled: pd.DataFrame, holdout_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified split of the labelled rows into (train, holdout)."""
    train, holdout = train_test_split(
        labelled, test_size=holdout_size, stratify=labelled[TARGET], random_state=seed
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def feature_matrix(
    frame: pd.DataFrame, columns: dict[str, list[str]], numeric_dtype: Any = None
) -> pd.DataFrame:
    """The model input: the numeric then categorical feature columns of ``frame``.

    Args:
        frame: features (and possibly SK_ID_CURR / TARGET).
        columns: ``{"numeric": [...], "categorical": [...]}`` as written by stage featurize.
        numeric_dtype: cast the numeric columns to it (e.g. float32 for the families whose
            pipeline casts to float32 first: the same values in half the memory).

    Raises:
        KeyError: naming the feature columns ``frame`` lacks.
    """
    wanted = list(columns["numeric"]) + list(columns["categorical"])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise KeyError(f"missing feature column(s): {', '.join(missing[:10])}")
    if numeric_dtype is None:
        matrix = frame[wanted].copy()
    else:
        matrix = frame[wanted].astype(dict.fromkeys(columns["numeric"], numeric_dtype))
    # One spelling of "missing" for categories (parquet gives None, pandas NaN or pd.NA), so the
    # imputer fills it the same way in training and in serving.
    categorical = list(columns["categorical"])
    if categorical:
        labels = missing_as_nan(matrix[categorical].to_numpy(dtype=object))
        matrix[categorical] = pd.DataFrame(labels, index=matrix.index, columns=categorical)
    return matrix


def read_model_matrix(
    path: Path, columns: dict[str, list[str]], numeric_dtype: Any = None
) -> tuple[pd.DataFrame, pd.Series]:
    """(model matrix, TARGET) of a labelled parquet table; the table itself is dropped and
    Arrow's pool released before returning, so only the matrix stays in memory."""
    from credit_scoring.data.io import read_table, release_arrow_memory  # not in the API worker

    frame = read_table(path)
    X, y = feature_matrix(frame, columns, numeric_dtype), frame[TARGET].copy()
    del frame
    release_arrow_memory()
    return X, y
