"""Model pipelines: preprocessing, optional resampling and a classifier, as one imblearn Pipeline.

Every pipeline has the steps ``preprocess`` (a ColumnTransformer fitted on the training rows only),
``sampler`` (SMOTE or ``"passthrough"``; imblearn applies it during ``fit`` only, so validation
folds and production rows are never resampled) and ``model``.

Numeric columns enter the model as float32 (cast at the start of ``preprocess``, so training
and serving see the same values): half the memory of float64 at Kaggle size; the forest and
XGBoost compute in float32 anyway. LightGBM keeps float64: its split thresholds are doubles, and
on float32 inputs SHAP's interventional explainer disagreed with its predictions (additivity off
by 0.047 log-odds on 1 held-out row in 1,000 of the default run; none on float64 inputs).

The model params key ``poly_degree`` (default 0: off) adds polynomial terms of degree 2 up to
``poly_degree`` of :data:`POLY_COLUMNS` (median-imputed, inside ``preprocess``, so fitted on the
training folds only) beside the columns themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    PolynomialFeatures,
    StandardScaler,
)

from credit_scoring.modeling.boosters import EarlyStoppingLGBMClassifier
from credit_scoring.modeling.casting import as_float  # noqa: F401 (pickles refer to models.as_float)
from credit_scoring.modeling.xgb_booster import EarlyStoppingXGBClassifier

MISSING_CATEGORY = "MISSING"
# The columns of the polynomial terms (the strongest raw predictors of the Home Credit data).
POLY_COLUMNS = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3", "DAYS_BIRTH")
POLY_DEGREE_KEY = "poly_degree"

# Families whose estimator handles NaN itself: numeric columns pass through unimputed.
_NAN_NATIVE = {"xgboost", "lightgbm"}
_SCALED = {"logreg"}


def _make_estimator(family: str, params: dict[str, Any], seed: int) -> Any:
    """Instantiate the classifier of ``family`` with fixed ``params`` and a seed."""
    params = dict(params)
    if family != "logreg":
        params.setdefault("n_jobs", 1)  # threads per fit; fits run side by side (train.n_jobs)
    if family == "logreg":
        return LogisticRegression(random_state=seed, **params)
    if family == "random_forest":
        return RandomForestClassifier(random_state=seed, **params)
    if family == "xgboost":
        params.setdefault("eval_metric", "auc")
        return EarlyStoppingXGBClassifier(random_state=seed, **params)
    if family == "lightgbm":
        # deterministic needs one histogram layout forced (LightGBM's docs): col-wise.
        return EarlyStoppingLGBMClassifier(
            random_state=seed, deterministic=True, force_col_wise=True, **params
        )
    raise ValueError(
        f"unknown model family {family!r}: use logreg, random_forest, xgboost, lightgbm"
    )


_FLOAT64_FAMILIES = {"lightgbm"}


def input_dtype(family: str) -> type:
    """The float type of the numbers a family's model sees (see the module docstring)."""
    return np.float64 if family in _FLOAT64_FAMILIES else np.float32


def _cast(dtype: type) -> FunctionTransformer:
    return FunctionTransformer(as_float, kw_args={"dtype": dtype}, feature_names_out="one-to-one")


def _polynomial_terms(columns: list[str], degree: int, scale: bool, dtype: type) -> Any:
    """Median imputation then the terms of degree 2..``degree`` of ``columns`` (scaled or not)."""
    steps: list[Any] = [
        _cast(dtype),
        SimpleImputer(strategy="median", keep_empty_features=True, copy=False),
        PolynomialFeatures(degree=(2, degree), include_bias=False),
    ]
    if scale:
        steps.append(StandardScaler(copy=False))
    return make_pipeline(*steps)


def build_preprocessor(
    numeric: list[str],
    categorical: list[str],
    *,
    impute: bool,
    scale: bool,
    poly_degree: int = 0,
    dtype: type = np.float32,
) -> ColumnTransformer:
    """Impute/scale numeric columns, one-hot encode categorical ones, add polynomial terms.

    Args:
        numeric: numeric feature columns.
        categorical: string feature columns; missing becomes its own category.
        impute: median-impute numeric NaN (for estimators that cannot take NaN).
        scale: standardise numeric columns (for linear models).
        poly_degree: 0 for none, else the highest degree of the polynomial terms (``poly``
            transformer: degree 2..``poly_degree`` terms of the :data:`POLY_COLUMNS` among
            ``numeric``, median-imputed, scaled when ``scale``).
        dtype: float type of the output (:func:`input_dtype` of the family).

    Raises:
        ValueError: for a ``poly_degree`` of 1 or below 0, or when no POLY_COLUMNS is numeric.
    """
    # Imputation and scaling in place, on the branch's own copy (see as_float).
    numeric_steps: list[Any] = [_cast(dtype)]
    if impute:
        numeric_steps.append(
            SimpleImputer(strategy="median", keep_empty_features=True, copy=False)
        )
    if scale:
        numeric_steps.append(StandardScaler(copy=False))
    categorical_pipe = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=10,
            sparse_output=False,
            dtype=dtype,
        ),
    )
    transformers: list[tuple[str, Any, list[str]]] = [
        ("num", make_pipeline(*numeric_steps), numeric),
        ("cat", categorical_pipe, categorical),
    ]
    if poly_degree:
        poly_columns = [c for c in POLY_COLUMNS if c in numeric]
        if poly_degree < 2 or not poly_columns:
            raise ValueError(
                f"{POLY_DEGREE_KEY} must be 0 (off) or >= 2 with some of {POLY_COLUMNS} among "
                f"the numeric columns, not {poly_degree!r} on {len(poly_columns)} of them"
            )
        transformers.append(
            ("poly", _polynomial_terms(poly_columns, poly_degree, scale, dtype), poly_columns)
        )
    return ColumnTransformer(transformers, verbose_feature_names_out=False)


def build_pipeline(
    family: str, params: dict[str, Any], numeric: list[str], categorical: list[str], seed: int
) -> Pipeline:
    """Return the unfitted ``preprocess -> sampler -> model`` pipeline of a model family.

    Args:
        family: logreg, random_forest, xgboost or lightgbm.
        params: the family's fixed params (``conf/models/<family>.yaml``): the estimator's
            arguments, and optionally ``poly_degree`` (see :func:`build_preprocessor`).
        numeric: numeric feature columns.
        categorical: categorical feature columns.
        seed: seed of the estimator.
    """
    params = dict(params)
    preprocess = build_preprocessor(
        numeric,
        categorical,
        impute=family not in _NAN_NATIVE,
        scale=family in _SCALED,
        poly_degree=int(params.pop(POLY_DEGREE_KEY, 0) or 0),
        dtype=input_dtype(family),
    )
    return Pipeline(
        [
            ("preprocess", preprocess),
            ("sampler", "passthrough"),
            ("model", _make_estimator(family, params, seed)),
        ]
    )


def resolve_grid(
    grid: dict[str, list[Any]] | list[dict[str, list[Any]]], seed: int
) -> dict[str, list[Any]] | list[dict[str, list[Any]]]:
    """Turn the config's grid (a dict, or a list of dicts for grids that exclude combinations)
    into GridSearchCV's: ``sampler: smote`` becomes a seeded SMOTE."""
    if isinstance(grid, list):
        return [resolve_grid(part, seed) for part in grid]
    samplers = {
        "smote": SMOTE(random_state=seed),
        "passthrough": "passthrough",
        None: "passthrough",
    }
    resolved = {key: list(values) for key, values in grid.items()}
    if "sampler" in resolved:
        resolved["sampler"] = [samplers[value] for value in resolved["sampler"]]
    return resolved


def grid_size(grid: dict[str, list[Any]] | list[dict[str, list[Any]]]) -> int:
    """Number of grid points."""
    parts = grid if isinstance(grid, list) else [grid]
    return sum(int(np.prod([len(values) for values in part.values()])) for part in parts)


def grid_keys(grid: dict[str, list[Any]] | list[dict[str, list[Any]]]) -> list[str]:
    """The searched parameter names, in first-seen order."""
    parts = grid if isinstance(grid, list) else [grid]
    return list(dict.fromkeys(key for part in parts for key in part))


def describe_params(params: dict[str, Any]) -> dict[str, str]:
    """Human-readable grid point (SMOTE objects shown as ``smote``), for logs and MLflow."""
    return {
        key: ("smote" if isinstance(value, SMOTE) else str(value)) for key, value in params.items()
    }
