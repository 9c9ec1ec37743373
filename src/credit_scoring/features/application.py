"""Application features: the business ratios and EXT_SOURCE combinations of one
application row, on the application columns conformed to the Kaggle schema."""

from __future__ import annotations

import logging
from functools import cache

import numpy as np
import pandas as pd

from credit_scoring.data import schema
from credit_scoring.data.schema import DAYS_PER_YEAR
from credit_scoring.features.common import (
    ADDRESS_FLAGS,
    APPLICATION_TABLE,
    CLIENT_ID,
    CONTACT_FLAGS,
    EXT_SOURCE_WEIGHTS,
    EXT_SOURCES,
    TARGET,
    safe_ratio,
)

logger = logging.getLogger(__name__)

# Features computed from DAYS_BIRTH (age): they carry the applicant's age into the model.
AGE_DERIVED_FEATURES = (
    "EMPLOYED_AGE_RATIO",
    "REGISTRATION_AGE_RATIO",
    "ID_PUBLISH_AGE_RATIO",
    "PHONE_CHANGE_AGE_RATIO",
    "CAR_AGE_RATIO",
)
# Protected attributes (gender, age) and every feature derived from them: never a refusal reason,
# and dropped from the model the fairness stage compares with the champion.
PROTECTED_FEATURES = frozenset({"CODE_GENDER", "DAYS_BIRTH", *AGE_DERIVED_FEATURES})


@cache
def application_columns() -> tuple[tuple[str, ...], frozenset[str]]:
    """Return (application columns without TARGET in Kaggle order, categorical columns)."""
    columns = tuple(c for c in schema.table_columns(APPLICATION_TABLE) if c != TARGET)
    return columns, frozenset(schema.categorical_columns(APPLICATION_TABLE))


def _conform_application(app: pd.DataFrame) -> pd.DataFrame:
    """Order the Kaggle application columns (TARGET dropped), typed: float64 / object with NaN.

    Args:
        app: application rows (train or test); missing schema columns are added as NaN.

    Returns:
        A new frame: SK_ID_CURR (int64), numeric columns float64, categoricals object (NaN).
    """
    columns, categorical = application_columns()
    missing = [c for c in columns if c not in app.columns]
    if missing:
        logger.warning(
            "application: %d columns missing, taken as NaN: %s", len(missing), missing[:10]
        )
    extra = [c for c in app.columns if c not in columns and c != TARGET]
    if extra:
        logger.warning("application: ignoring %d non-schema columns: %s", len(extra), extra[:10])
    # Whole blocks at once: one row (the API) or 300k rows cost about the same.
    columns = list(columns)
    frame = app.reindex(columns=columns)
    numeric = [c for c in columns if c not in categorical and c != CLIENT_ID]
    try:
        numbers = frame[numeric].astype("float64")
    except (TypeError, ValueError):  # text in a numeric column: that cell becomes NaN
        numbers = frame[numeric].apply(pd.to_numeric, errors="coerce").astype("float64")
    labels = frame[list(categorical)].astype(object)
    labels = labels.where(labels.notna(), np.nan)
    ids = frame[[CLIENT_ID]].astype("int64")
    return pd.concat([ids, numbers, labels], axis=1)[columns]


def _ext_source_features(app: pd.DataFrame) -> dict[str, pd.Series]:
    """Summary statistics of the three external scores (NaN-aware).

    Args:
        app: conformed application frame.

    Returns:
        EXT_SOURCE_MEAN/PROD/MIN/MAX/STD/NAN_COUNT/WEIGHTED. PROD is NaN when any score is
        missing, STD is the sample std (NaN with fewer than two scores), WEIGHTED is the weighted
        mean of the available scores.
    """
    scores = app[list(EXT_SOURCES)]
    weights = pd.Series(EXT_SOURCE_WEIGHTS, index=list(EXT_SOURCES))
    present = scores.notna()
    weighted_sum = scores.mul(weights, axis=1).sum(axis=1, min_count=1)
    return {
        "EXT_SOURCE_MEAN": scores.mean(axis=1),
        "EXT_SOURCE_PROD": scores.prod(axis=1, min_count=len(EXT_SOURCES)),
        "EXT_SOURCE_MIN": scores.min(axis=1),
        "EXT_SOURCE_MAX": scores.max(axis=1),
        "EXT_SOURCE_STD": scores.std(axis=1),
        "EXT_SOURCE_NAN_COUNT": (~present).sum(axis=1).astype("float64"),
        "EXT_SOURCE_WEIGHTED": safe_ratio(weighted_sum, present.mul(weights, axis=1).sum(axis=1)),
    }


def _business_features(app: pd.DataFrame) -> dict[str, pd.Series]:
    """Ratios and flags built from the application columns.

    Args:
        app: conformed application frame, DAYS_EMPLOYED already cleaned of the anomaly.

    Returns:
        ``{feature name: float64 Series}``.
    """
    # No AGE_YEARS / EMPLOYED_YEARS: rescaled copies of DAYS_BIRTH / DAYS_EMPLOYED would only split
    # their SHAP credit in two and show the same fact twice in an explanation.
    age_years = -app["DAYS_BIRTH"] / DAYS_PER_YEAR
    documents = [c for c in app.columns if c.startswith("FLAG_DOCUMENT_")]
    requests = [c for c in app.columns if c.startswith("AMT_REQ_CREDIT_BUREAU_")]
    features = {
        "CREDIT_ANNUITY_RATIO": safe_ratio(app["AMT_CREDIT"], app["AMT_ANNUITY"]),
        "CREDIT_INCOME_RATIO": safe_ratio(app["AMT_CREDIT"], app["AMT_INCOME_TOTAL"]),
        "ANNUITY_INCOME_RATIO": safe_ratio(app["AMT_ANNUITY"], app["AMT_INCOME_TOTAL"]),
        "GOODS_CREDIT_RATIO": safe_ratio(app["AMT_GOODS_PRICE"], app["AMT_CREDIT"]),
        "CREDIT_GOODS_DIFF": app["AMT_CREDIT"] - app["AMT_GOODS_PRICE"],
        "INCOME_PER_PERSON": safe_ratio(app["AMT_INCOME_TOTAL"], app["CNT_FAM_MEMBERS"]),
        "CHILDREN_RATIO": safe_ratio(app["CNT_CHILDREN"], app["CNT_FAM_MEMBERS"]),
        "EMPLOYED_AGE_RATIO": safe_ratio(app["DAYS_EMPLOYED"], app["DAYS_BIRTH"]),
        "REGISTRATION_AGE_RATIO": safe_ratio(app["DAYS_REGISTRATION"], app["DAYS_BIRTH"]),
        "ID_PUBLISH_AGE_RATIO": safe_ratio(app["DAYS_ID_PUBLISH"], app["DAYS_BIRTH"]),
        "PHONE_CHANGE_AGE_RATIO": safe_ratio(app["DAYS_LAST_PHONE_CHANGE"], app["DAYS_BIRTH"]),
        "CAR_AGE_RATIO": safe_ratio(app["OWN_CAR_AGE"], age_years),
        "DOCUMENT_COUNT": app[documents].sum(axis=1, min_count=1),
        "CONTACT_FLAG_COUNT": app[list(CONTACT_FLAGS)].sum(axis=1, min_count=1),
        "ADDRESS_MISMATCH_COUNT": app[list(ADDRESS_FLAGS)].sum(axis=1, min_count=1),
        "REGION_RATING_MEAN": app[["REGION_RATING_CLIENT", "REGION_RATING_CLIENT_W_CITY"]].mean(
            axis=1
        ),
        "DEF_30_SOCIAL_RATIO": safe_ratio(
            app["DEF_30_CNT_SOCIAL_CIRCLE"], app["OBS_30_CNT_SOCIAL_CIRCLE"]
        ),
        "DEF_60_SOCIAL_RATIO": safe_ratio(
            app["DEF_60_CNT_SOCIAL_CIRCLE"], app["OBS_60_CNT_SOCIAL_CIRCLE"]
        ),
        "REQ_CREDIT_BUREAU_TOTAL": app[requests].sum(axis=1, min_count=1),
    }
    features.update(_ext_source_features(app))
    return features


def build_application_features(app: pd.DataFrame) -> pd.DataFrame:
    """Application columns (TARGET dropped if present) + business features.

    DAYS_EMPLOYED equal to the 365243 placeholder is set to NaN and flagged in
    DAYS_EMPLOYED_ANOMALY.

    Args:
        app: rows of application_train or application_test (Kaggle columns).

    Returns:
        SK_ID_CURR (kept as a column), the Kaggle columns (numeric float64, categoricals object
        with NaN) then the business features (float64), same rows and order as ``app``.
    """
    frame = _conform_application(app)
    anomaly = frame["DAYS_EMPLOYED"] == schema.DAYS_EMPLOYED_ANOMALY
    frame["DAYS_EMPLOYED"] = frame["DAYS_EMPLOYED"].mask(anomaly)
    features = {"DAYS_EMPLOYED_ANOMALY": anomaly.astype("float64")}
    features.update(_business_features(frame))
    added = pd.DataFrame(features, index=frame.index).astype("float64")
    return pd.concat([frame, added], axis=1)
