"""Feature engineering on the Home Credit schema: application business features and history
aggregates of the side tables, per client (``SK_ID_CURR``).

The same functions serve the batch pipeline (300k clients) and the scoring API (one client). The
history feature set is fixed: its columns come from the aggregation specs and the bundled category
lists of :mod:`credit_scoring.schema`, never from the data, so a client without history, an empty
table or a missing table yields the same columns (NaN aggregates, 0 counts).

Conventions: every history column whose name ends with ``_COUNT`` is a count (0 when the client
has no row), every other aggregate is NaN without data; ratios with a zero or missing denominator
are NaN, never inf.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import pandas as pd

from credit_scoring import schema
from credit_scoring.config import FeaturesConfig

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID
TARGET = schema.TARGET
COUNT_SUFFIX = "_COUNT"
DAYS_PER_YEAR = 365.25

APPLICATION_TABLE = "application_train"
EXT_SOURCES = ("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3")
# Heuristic weights of the EXT_SOURCE weighted mean (as in public Kaggle solutions).
EXT_SOURCE_WEIGHTS = (2.0, 1.0, 3.0)
CONTACT_FLAGS = (
    "FLAG_MOBIL",
    "FLAG_EMP_PHONE",
    "FLAG_WORK_PHONE",
    "FLAG_CONT_MOBILE",
    "FLAG_PHONE",
    "FLAG_EMAIL",
)
ADDRESS_FLAGS = (
    "REG_REGION_NOT_LIVE_REGION",
    "REG_REGION_NOT_WORK_REGION",
    "LIVE_REGION_NOT_WORK_REGION",
    "REG_CITY_NOT_LIVE_CITY",
    "REG_CITY_NOT_WORK_CITY",
    "LIVE_CITY_NOT_WORK_CITY",
)
# previous_application day columns aggregated here that use the 365243 placeholder ("never").
PREV_PLACEHOLDER_DAYS = ("DAYS_LAST_DUE_1ST_VERSION", "DAYS_TERMINATION")
BUREAU_TOP_CREDIT_TYPES = 5

# One aggregation: (output column, source column or None for the group size, function).
Agg = tuple[str, str | None, str]


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _ratio(numerator: pd.Series | np.ndarray, denominator: pd.Series | np.ndarray) -> pd.Series:
    """Divide element-wise, giving NaN (never inf) for a zero or missing denominator.

    Args:
        numerator: values on top.
        denominator: values below (aligned by position); 0 and NaN give NaN.

    Returns:
        The float64 ratio, indexed like ``numerator`` when it is a Series.
    """
    index = numerator.index if isinstance(numerator, pd.Series) else None
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        values = num / np.where(den == 0, np.nan, den)
    values[~np.isfinite(values)] = np.nan
    return pd.Series(values, index=index, dtype="float64")


def _slug(value: str) -> str:
    """Turn a category label into an UPPER_SNAKE column fragment ("Cash X-Sell: low" -> ...)."""
    return re.sub(r"[^0-9A-Z]+", "_", value.upper()).strip("_")


def _category_codes(series: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Return the position of each value in ``levels`` (-1 for missing or unknown values)."""
    return pd.Categorical(series, categories=list(levels)).codes


def _category_indicators(
    series: pd.Series,
    levels: Sequence[str],
    names: Sequence[str],
    other: str | None = None,
) -> dict[str, np.ndarray]:
    """One 0/1 indicator column per fixed category level (plus an optional "other" bucket).

    Args:
        series: the categorical column (string dtype, NA for missing).
        levels: the fixed category list, from :func:`schema.known_categories`.
        names: the indicator column name of each level.
        other: name of the indicator of non-missing values outside ``levels`` (None: no bucket).

    Returns:
        ``{name: uint8 array}`` aligned with ``series``.
    """
    codes = _category_codes(series, levels)
    indicators = {name: (codes == i).astype(np.uint8) for i, name in enumerate(names)}
    if other is not None:
        indicators[other] = ((codes == -1) & series.notna().to_numpy()).astype(np.uint8)
    return indicators


def _group_agg(
    columns: Mapping[str, pd.Series | np.ndarray], keys: pd.Series, specs: Sequence[Agg]
) -> pd.DataFrame:
    """Aggregate columns per key with a list of named aggregations (cythonised groupby).

    Columns are aggregated one at a time (no 2-D copy of the work columns); ``sum`` uses
    ``min_count=1`` (a group whose values are all NaN sums to NaN, not 0).

    Args:
        columns: the values to aggregate by name, each aligned with ``keys`` (positionally).
        keys: the group key of each row (e.g. SK_ID_CURR); its name names the output index.
        specs: ``(output name, source column or None for the group size, function)``.

    Returns:
        One row per key, one float64 column per spec, in spec order.
    """
    work = pd.DataFrame({name: np.asarray(values) for name, values in columns.items()}, copy=False)
    grouped = work.groupby(np.asarray(keys), sort=False)
    results: dict[str, pd.Series] = {}
    for out, column, func in specs:
        if func == "size":
            results[out] = grouped.size()
            continue
        selected = grouped[column]
        results[out] = selected.sum(min_count=1) if func == "sum" else getattr(selected, func)()
    frame = pd.DataFrame(results, dtype="float64")
    frame.index = frame.index.astype("int64")
    frame.index.name = keys.name
    return frame


def _empty_table(table: str) -> pd.DataFrame:
    """Return a zero-row frame of ``table`` with the schema columns and dtypes."""
    dtypes = {"int": "int64", "float": "float64", "category": "string"}
    return pd.DataFrame(
        {c: pd.Series(dtype=dtypes[kind]) for c, kind in schema.column_kinds(table).items()}
    )


def _get_table(tables: Mapping[str, pd.DataFrame], table: str) -> pd.DataFrame:
    """Return ``tables[table]``, an empty schema frame when missing/empty, NaN for absent columns.

    Args:
        tables: the side tables by Kaggle name.
        table: the table wanted.

    Returns:
        A frame holding at least every schema column of ``table``.
    """
    frame = tables.get(table)
    if frame is None or len(frame) == 0:
        return _empty_table(table)
    missing = [c for c in schema.table_columns(table) if c not in frame.columns]
    if missing:
        logger.warning(
            "%s: %d schema columns missing, taken as NaN: %s", table, len(missing), missing[:10]
        )
        frame = frame.assign(**dict.fromkeys(missing, np.nan))
    return frame


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    """Return ``frame[column]`` as float64."""
    return frame[column].astype("float64")


def _equals(series: pd.Series, value: str) -> np.ndarray:
    """Return a bool array: ``series == value`` (missing values give False)."""
    return series.eq(value).fillna(False).to_numpy(dtype=bool)


# --------------------------------------------------------------------------------------------
# Application features
# --------------------------------------------------------------------------------------------


@cache
def _application_columns() -> tuple[tuple[str, ...], frozenset[str]]:
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
    columns, categorical = _application_columns()
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
        "EXT_SOURCE_WEIGHTED": _ratio(weighted_sum, present.mul(weights, axis=1).sum(axis=1)),
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
        "CREDIT_ANNUITY_RATIO": _ratio(app["AMT_CREDIT"], app["AMT_ANNUITY"]),
        "CREDIT_INCOME_RATIO": _ratio(app["AMT_CREDIT"], app["AMT_INCOME_TOTAL"]),
        "ANNUITY_INCOME_RATIO": _ratio(app["AMT_ANNUITY"], app["AMT_INCOME_TOTAL"]),
        "GOODS_CREDIT_RATIO": _ratio(app["AMT_GOODS_PRICE"], app["AMT_CREDIT"]),
        "CREDIT_GOODS_DIFF": app["AMT_CREDIT"] - app["AMT_GOODS_PRICE"],
        "INCOME_PER_PERSON": _ratio(app["AMT_INCOME_TOTAL"], app["CNT_FAM_MEMBERS"]),
        "CHILDREN_RATIO": _ratio(app["CNT_CHILDREN"], app["CNT_FAM_MEMBERS"]),
        "EMPLOYED_AGE_RATIO": _ratio(app["DAYS_EMPLOYED"], app["DAYS_BIRTH"]),
        "REGISTRATION_AGE_RATIO": _ratio(app["DAYS_REGISTRATION"], app["DAYS_BIRTH"]),
        "ID_PUBLISH_AGE_RATIO": _ratio(app["DAYS_ID_PUBLISH"], app["DAYS_BIRTH"]),
        "PHONE_CHANGE_AGE_RATIO": _ratio(app["DAYS_LAST_PHONE_CHANGE"], app["DAYS_BIRTH"]),
        "CAR_AGE_RATIO": _ratio(app["OWN_CAR_AGE"], age_years),
        "DOCUMENT_COUNT": app[documents].sum(axis=1, min_count=1),
        "CONTACT_FLAG_COUNT": app[list(CONTACT_FLAGS)].sum(axis=1, min_count=1),
        "ADDRESS_MISMATCH_COUNT": app[list(ADDRESS_FLAGS)].sum(axis=1, min_count=1),
        "REGION_RATING_MEAN": app[["REGION_RATING_CLIENT", "REGION_RATING_CLIENT_W_CITY"]].mean(
            axis=1
        ),
        "DEF_30_SOCIAL_RATIO": _ratio(
            app["DEF_30_CNT_SOCIAL_CIRCLE"], app["OBS_30_CNT_SOCIAL_CIRCLE"]
        ),
        "DEF_60_SOCIAL_RATIO": _ratio(
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


# --------------------------------------------------------------------------------------------
# History aggregates, one function per side table
# --------------------------------------------------------------------------------------------


def _bureau_features(bureau: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate bureau (credits at other institutions) per client, prefix BUREAU_.

    Args:
        bureau: bureau rows.
        config: recent window (``recent_days`` on DAYS_CREDIT).

    Returns:
        One row per client with counts, amounts, overdue stats, ratios and recent stats.
    """
    status_levels = schema.known_categories("bureau", "CREDIT_ACTIVE")
    status_names = [f"BUREAU_{_slug(v)}_COUNT" for v in status_levels]
    type_levels = schema.known_categories("bureau", "CREDIT_TYPE")[:BUREAU_TOP_CREDIT_TYPES]
    type_names = [f"BUREAU_TYPE_{_slug(v)}_COUNT" for v in type_levels]
    work: dict[str, pd.Series | np.ndarray] = {
        c: _numeric(bureau, c)
        for c in (
            "DAYS_CREDIT",
            "DAYS_CREDIT_ENDDATE",
            "CREDIT_DAY_OVERDUE",
            "AMT_CREDIT_MAX_OVERDUE",
            "CNT_CREDIT_PROLONG",
            "AMT_CREDIT_SUM",
            "AMT_CREDIT_SUM_DEBT",
            "AMT_CREDIT_SUM_LIMIT",
            "AMT_CREDIT_SUM_OVERDUE",
            "AMT_ANNUITY",
        )
    }
    indicators = _category_indicators(
        bureau["CREDIT_ACTIVE"], status_levels, status_names, "BUREAU_OTHER_STATUS_COUNT"
    )
    indicators.update(
        _category_indicators(
            bureau["CREDIT_TYPE"], type_levels, type_names, "BUREAU_TYPE_OTHER_COUNT"
        )
    )
    for name, values in indicators.items():
        work[name] = values
    active = _equals(bureau["CREDIT_ACTIVE"], "Active")
    recent = (work["DAYS_CREDIT"] >= -config.recent_days).to_numpy()
    work["OVERDUE"] = (work["CREDIT_DAY_OVERDUE"] > 0).astype(np.uint8)
    work["ACTIVE_DEBT"] = work["AMT_CREDIT_SUM_DEBT"].where(active)
    work["RECENT"] = recent.astype(np.uint8)
    work["RECENT_AMT_CREDIT_SUM"] = work["AMT_CREDIT_SUM"].where(recent)

    specs: list[Agg] = [("BUREAU_COUNT", None, "size")]
    specs += [(name, name, "sum") for name in indicators]
    specs += [
        ("BUREAU_DAYS_CREDIT_MIN", "DAYS_CREDIT", "min"),
        ("BUREAU_DAYS_CREDIT_MAX", "DAYS_CREDIT", "max"),
        ("BUREAU_DAYS_CREDIT_MEAN", "DAYS_CREDIT", "mean"),
        ("BUREAU_DAYS_CREDIT_ENDDATE_MAX", "DAYS_CREDIT_ENDDATE", "max"),
        ("BUREAU_DAYS_CREDIT_ENDDATE_MEAN", "DAYS_CREDIT_ENDDATE", "mean"),
        ("BUREAU_CREDIT_DAY_OVERDUE_MAX", "CREDIT_DAY_OVERDUE", "max"),
        ("BUREAU_CREDIT_DAY_OVERDUE_MEAN", "CREDIT_DAY_OVERDUE", "mean"),
        ("BUREAU_OVERDUE_COUNT", "OVERDUE", "sum"),
        ("BUREAU_AMT_CREDIT_MAX_OVERDUE_MAX", "AMT_CREDIT_MAX_OVERDUE", "max"),
        ("BUREAU_CNT_CREDIT_PROLONG_SUM", "CNT_CREDIT_PROLONG", "sum"),
        ("BUREAU_AMT_CREDIT_SUM_SUM", "AMT_CREDIT_SUM", "sum"),
        ("BUREAU_AMT_CREDIT_SUM_MEAN", "AMT_CREDIT_SUM", "mean"),
        ("BUREAU_AMT_CREDIT_SUM_MAX", "AMT_CREDIT_SUM", "max"),
        ("BUREAU_AMT_CREDIT_SUM_DEBT_SUM", "AMT_CREDIT_SUM_DEBT", "sum"),
        ("BUREAU_AMT_CREDIT_SUM_DEBT_MEAN", "AMT_CREDIT_SUM_DEBT", "mean"),
        ("BUREAU_AMT_CREDIT_SUM_DEBT_MAX", "AMT_CREDIT_SUM_DEBT", "max"),
        ("BUREAU_ACTIVE_DEBT_SUM", "ACTIVE_DEBT", "sum"),
        ("BUREAU_AMT_CREDIT_SUM_LIMIT_SUM", "AMT_CREDIT_SUM_LIMIT", "sum"),
        ("BUREAU_AMT_CREDIT_SUM_OVERDUE_SUM", "AMT_CREDIT_SUM_OVERDUE", "sum"),
        ("BUREAU_AMT_CREDIT_SUM_OVERDUE_MAX", "AMT_CREDIT_SUM_OVERDUE", "max"),
        ("BUREAU_AMT_ANNUITY_SUM", "AMT_ANNUITY", "sum"),
        ("BUREAU_RECENT_COUNT", "RECENT", "sum"),
        ("BUREAU_RECENT_AMT_CREDIT_SUM_SUM", "RECENT_AMT_CREDIT_SUM", "sum"),
    ]
    out = _group_agg(work, bureau[CLIENT_ID], specs)
    out["BUREAU_ACTIVE_SHARE"] = _ratio(out["BUREAU_ACTIVE_COUNT"], out["BUREAU_COUNT"])
    out["BUREAU_RECENT_SHARE"] = _ratio(out["BUREAU_RECENT_COUNT"], out["BUREAU_COUNT"])
    out["BUREAU_DEBT_CREDIT_RATIO"] = _ratio(
        out["BUREAU_AMT_CREDIT_SUM_DEBT_SUM"], out["BUREAU_AMT_CREDIT_SUM_SUM"]
    )
    out["BUREAU_OVERDUE_DEBT_RATIO"] = _ratio(
        out["BUREAU_AMT_CREDIT_SUM_OVERDUE_SUM"], out["BUREAU_AMT_CREDIT_SUM_DEBT_SUM"]
    )
    return out


def _status_values(levels: Sequence[str]) -> np.ndarray:
    """Numeric DPD bucket of each bureau_balance STATUS level, last slot for unknown (code -1).

    "0".."5" are the DPD buckets, "C" (closed) counts as 0, "X" (unknown) and unseen are NaN.
    """
    values = [float(v) if v.isdigit() else (0.0 if v == "C" else np.nan) for v in levels]
    return np.array([*values, np.nan], dtype=np.float32)


def _bureau_balance_features(
    bureau: pd.DataFrame, balance: pd.DataFrame, config: FeaturesConfig
) -> pd.DataFrame:
    """Roll bureau_balance up to each bureau credit, then to the client; prefix BUREAU_BAL_.

    Args:
        bureau: bureau rows (the SK_ID_BUREAU -> SK_ID_CURR link).
        balance: bureau_balance rows (monthly STATUS per SK_ID_BUREAU).
        config: recent window (``recent_months`` on MONTHS_BALANCE).

    Returns:
        One row per client: months, late months (STATUS 1-5) count/share, worst status, recent
        stats. Credits missing from ``bureau`` are dropped.
    """
    levels = schema.known_categories("bureau_balance", "STATUS")
    status = _status_values(levels)[_category_codes(balance["STATUS"], levels)]
    late = status >= 1
    recent = (balance["MONTHS_BALANCE"] >= -config.recent_months).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "LATE": late.astype(np.uint8),
        "STATUS": status,
        "RECENT": recent.astype(np.uint8),
        "RECENT_LATE": (late & recent).astype(np.uint8),
        "RECENT_STATUS": np.where(recent, status, np.nan).astype(np.float32),
    }
    per_credit = _group_agg(
        work,
        balance[schema.BUREAU_ID].reset_index(drop=True),
        [
            ("MONTHS", None, "size"),
            ("LATE", "LATE", "sum"),
            ("WORST", "STATUS", "max"),
            ("RECENT_MONTHS", "RECENT", "sum"),
            ("RECENT_LATE", "RECENT_LATE", "sum"),
            ("RECENT_WORST", "RECENT_STATUS", "max"),
        ],
    )
    del work
    link = bureau[[schema.BUREAU_ID, CLIENT_ID]].drop_duplicates(schema.BUREAU_ID)
    per_credit = per_credit.join(link.set_index(schema.BUREAU_ID), how="inner")
    per_credit["ANY_LATE"] = (per_credit["LATE"] > 0).astype(np.uint8)
    out = _group_agg(
        per_credit,
        per_credit[CLIENT_ID],
        [
            ("BUREAU_BAL_MONTHS_COUNT", "MONTHS", "sum"),
            ("BUREAU_BAL_MONTHS_MEAN", "MONTHS", "mean"),
            ("BUREAU_BAL_LATE_COUNT", "LATE", "sum"),
            ("BUREAU_BAL_LATE_CREDIT_COUNT", "ANY_LATE", "sum"),
            ("BUREAU_BAL_WORST_STATUS", "WORST", "max"),
            ("BUREAU_BAL_RECENT_MONTHS_COUNT", "RECENT_MONTHS", "sum"),
            ("BUREAU_BAL_RECENT_LATE_COUNT", "RECENT_LATE", "sum"),
            ("BUREAU_BAL_RECENT_WORST_STATUS", "RECENT_WORST", "max"),
        ],
    )
    out["BUREAU_BAL_LATE_SHARE"] = _ratio(
        out["BUREAU_BAL_LATE_COUNT"], out["BUREAU_BAL_MONTHS_COUNT"]
    )
    out["BUREAU_BAL_RECENT_LATE_SHARE"] = _ratio(
        out["BUREAU_BAL_RECENT_LATE_COUNT"], out["BUREAU_BAL_RECENT_MONTHS_COUNT"]
    )
    return out


def _previous_features(prev: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate previous Home Credit applications per client, prefix PREV_.

    Args:
        prev: previous_application rows.
        config: recent window (``recent_days`` on DAYS_DECISION).

    Returns:
        One row per client: status/contract/reject-reason counts, approved/refused shares,
        amounts, application/credit ratio, CNT_PAYMENT, decision dates, recent stats.
    """
    status_levels = schema.known_categories("previous_application", "NAME_CONTRACT_STATUS")
    status_names = [f"PREV_{_slug(v)}_COUNT" for v in status_levels]
    type_levels = [
        v
        for v in schema.known_categories("previous_application", "NAME_CONTRACT_TYPE")
        if v != "XNA"
    ]
    type_names = [f"PREV_CONTRACT_{_slug(v)}_COUNT" for v in type_levels]
    reject_levels = [
        v
        for v in schema.known_categories("previous_application", "CODE_REJECT_REASON")
        if v not in ("XAP", "XNA")
    ]
    reject_names = [f"PREV_REJECT_{_slug(v)}_COUNT" for v in reject_levels]
    raw = (
        "AMT_ANNUITY",
        "AMT_APPLICATION",
        "AMT_CREDIT",
        "AMT_DOWN_PAYMENT",
        "AMT_GOODS_PRICE",
        "RATE_DOWN_PAYMENT",
        "CNT_PAYMENT",
        "DAYS_DECISION",
        "NFLAG_INSURED_ON_APPROVAL",
    )
    work: dict[str, pd.Series | np.ndarray] = {c: _numeric(prev, c) for c in raw}
    for column in PREV_PLACEHOLDER_DAYS:
        values = _numeric(prev, column)
        work[column] = values.mask(values == schema.DAYS_EMPLOYED_ANOMALY)
    indicators = _category_indicators(prev["NAME_CONTRACT_STATUS"], status_levels, status_names)
    indicators.update(_category_indicators(prev["NAME_CONTRACT_TYPE"], type_levels, type_names))
    indicators.update(
        _category_indicators(prev["CODE_REJECT_REASON"], reject_levels, reject_names)
    )
    for name, values in indicators.items():
        work[name] = values
    approved = _equals(prev["NAME_CONTRACT_STATUS"], "Approved")
    refused = _equals(prev["NAME_CONTRACT_STATUS"], "Refused")
    credit = _numeric(prev, "AMT_CREDIT")
    decision = _numeric(prev, "DAYS_DECISION")
    recent = (decision >= -config.recent_days).to_numpy()
    work["APPLICATION_CREDIT_RATIO"] = _ratio(_numeric(prev, "AMT_APPLICATION"), credit)
    work["APPROVED_AMT_CREDIT"] = credit.where(approved)
    work["REFUSED_DAYS_DECISION"] = decision.where(refused)
    work["RECENT"] = recent.astype(np.uint8)
    work["RECENT_REFUSED"] = (recent & refused).astype(np.uint8)

    specs: list[Agg] = [("PREV_COUNT", None, "size")]
    specs += [(name, name, "sum") for name in indicators]
    specs += [
        ("PREV_AMT_ANNUITY_MEAN", "AMT_ANNUITY", "mean"),
        ("PREV_AMT_ANNUITY_MAX", "AMT_ANNUITY", "max"),
        ("PREV_AMT_APPLICATION_MEAN", "AMT_APPLICATION", "mean"),
        ("PREV_AMT_APPLICATION_MAX", "AMT_APPLICATION", "max"),
        ("PREV_AMT_CREDIT_MEAN", "AMT_CREDIT", "mean"),
        ("PREV_AMT_CREDIT_MAX", "AMT_CREDIT", "max"),
        ("PREV_AMT_CREDIT_SUM", "AMT_CREDIT", "sum"),
        ("PREV_APPROVED_AMT_CREDIT_SUM", "APPROVED_AMT_CREDIT", "sum"),
        ("PREV_AMT_DOWN_PAYMENT_MEAN", "AMT_DOWN_PAYMENT", "mean"),
        ("PREV_AMT_GOODS_PRICE_MEAN", "AMT_GOODS_PRICE", "mean"),
        ("PREV_APPLICATION_CREDIT_RATIO_MEAN", "APPLICATION_CREDIT_RATIO", "mean"),
        ("PREV_APPLICATION_CREDIT_RATIO_MIN", "APPLICATION_CREDIT_RATIO", "min"),
        ("PREV_APPLICATION_CREDIT_RATIO_MAX", "APPLICATION_CREDIT_RATIO", "max"),
        ("PREV_RATE_DOWN_PAYMENT_MEAN", "RATE_DOWN_PAYMENT", "mean"),
        ("PREV_CNT_PAYMENT_MEAN", "CNT_PAYMENT", "mean"),
        ("PREV_CNT_PAYMENT_MAX", "CNT_PAYMENT", "max"),
        ("PREV_DAYS_DECISION_MIN", "DAYS_DECISION", "min"),
        ("PREV_DAYS_DECISION_MAX", "DAYS_DECISION", "max"),
        ("PREV_DAYS_DECISION_MEAN", "DAYS_DECISION", "mean"),
        ("PREV_REFUSED_DAYS_DECISION_MAX", "REFUSED_DAYS_DECISION", "max"),
        ("PREV_DAYS_LAST_DUE_1ST_VERSION_MAX", "DAYS_LAST_DUE_1ST_VERSION", "max"),
        ("PREV_DAYS_TERMINATION_MAX", "DAYS_TERMINATION", "max"),
        ("PREV_NFLAG_INSURED_ON_APPROVAL_MEAN", "NFLAG_INSURED_ON_APPROVAL", "mean"),
        ("PREV_RECENT_COUNT", "RECENT", "sum"),
        ("PREV_RECENT_REFUSED_COUNT", "RECENT_REFUSED", "sum"),
    ]
    out = _group_agg(work, prev[CLIENT_ID], specs)
    out["PREV_APPROVED_SHARE"] = _ratio(out["PREV_APPROVED_COUNT"], out["PREV_COUNT"])
    out["PREV_REFUSED_SHARE"] = _ratio(out["PREV_REFUSED_COUNT"], out["PREV_COUNT"])
    out["PREV_RECENT_REFUSED_SHARE"] = _ratio(
        out["PREV_RECENT_REFUSED_COUNT"], out["PREV_RECENT_COUNT"]
    )
    return out


def _loan_month_order(clients: np.ndarray, loans: np.ndarray, months: np.ndarray) -> np.ndarray:
    """Return a row order grouping rows by (client, loan), months ascending within a loan.

    Missing months come first in their loan; groups are in first-appearance order.

    One argsort of a combined integer key (much faster than a 3-key lexsort on 10M rows), with
    a lexsort fallback when the key could overflow int64.
    """
    client_codes, client_levels = pd.factorize(clients)
    loan_codes, loan_levels = pd.factorize(loans)
    month_codes, month_levels = pd.factorize(months, sort=True)
    sizes = (len(client_levels) + 1, len(loan_levels) + 1, len(month_levels) + 1)
    if float(sizes[0]) * sizes[1] * sizes[2] >= 2.0**62:
        return np.lexsort((month_codes, loan_codes, client_codes))
    key = ((client_codes.astype(np.int64) + 1) * sizes[1] + (loan_codes + 1)) * sizes[2]
    return np.argsort(key + (month_codes + 1), kind="stable")


def _pos_loan_features(pos: pd.DataFrame) -> pd.DataFrame:
    """Roll POS_CASH_balance up to each loan (its last month), then to the client.

    Args:
        pos: POS_CASH_balance rows.

    Returns:
        One row per client: POS_LOANS_COUNT, POS_COMPLETED_COUNT (loans with a Completed month),
        POS_REMAINING_INSTALMENTS_SUM (CNT_INSTALMENT_FUTURE at each loan's last month).
    """
    clients = pos[CLIENT_ID].to_numpy()
    loans = pos[schema.PREVIOUS_ID].to_numpy()
    order = _loan_month_order(clients, loans, _numeric(pos, "MONTHS_BALANCE").to_numpy())
    clients, loans = clients[order], loans[order]
    starts = np.flatnonzero(
        np.r_[True, (clients[1:] != clients[:-1]) | (loans[1:] != loans[:-1])][: len(order)]
    )
    ends = np.r_[starts[1:], len(order)][: len(starts)] - 1
    completed = _equals(pos["NAME_CONTRACT_STATUS"], "Completed")[order].astype(np.uint8)
    loan_columns = {
        "COMPLETED": np.maximum.reduceat(completed, starts) if len(order) else completed,
        "REMAINING": _numeric(pos, "CNT_INSTALMENT_FUTURE").to_numpy()[order][ends],
    }
    return _group_agg(
        loan_columns,
        pd.Series(clients[starts], name=CLIENT_ID),
        [
            ("POS_LOANS_COUNT", None, "size"),
            ("POS_COMPLETED_COUNT", "COMPLETED", "sum"),
            ("POS_REMAINING_INSTALMENTS_SUM", "REMAINING", "sum"),
        ],
    )


def _pos_features(pos: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate monthly POS / cash loan balances per client, prefix POS_.

    Args:
        pos: POS_CASH_balance rows.
        config: recent window (``recent_months`` on MONTHS_BALANCE).

    Returns:
        One row per client: months and loans counts, DPD stats and shares, completed loans,
        remaining instalments (at each loan's last month), recent stats.
    """
    keys = pos[CLIENT_ID]
    months = _numeric(pos, "MONTHS_BALANCE")
    dpd = _numeric(pos, "SK_DPD")
    dpd_def = _numeric(pos, "SK_DPD_DEF")
    recent = (months >= -config.recent_months).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "MONTHS_BALANCE": months,
        "SK_DPD": dpd,
        "SK_DPD_DEF": dpd_def,
        "DPD": (dpd > 0).astype("float64").where(dpd.notna()),
        "DPD_DEF": (dpd_def > 0).astype("float64").where(dpd_def.notna()),
        "CNT_INSTALMENT": _numeric(pos, "CNT_INSTALMENT"),
        "RECENT": recent.astype(np.uint8),
        "RECENT_SK_DPD": dpd.where(recent),
        "RECENT_DPD": (dpd > 0).astype("float64").where(dpd.notna() & recent),
    }
    out = _group_agg(
        work,
        keys,
        [
            ("POS_MONTHS_COUNT", None, "size"),
            ("POS_MONTHS_BALANCE_MIN", "MONTHS_BALANCE", "min"),
            ("POS_SK_DPD_MAX", "SK_DPD", "max"),
            ("POS_SK_DPD_MEAN", "SK_DPD", "mean"),
            ("POS_SK_DPD_DEF_MAX", "SK_DPD_DEF", "max"),
            ("POS_SK_DPD_DEF_MEAN", "SK_DPD_DEF", "mean"),
            ("POS_DPD_SHARE", "DPD", "mean"),
            ("POS_DPD_DEF_SHARE", "DPD_DEF", "mean"),
            ("POS_CNT_INSTALMENT_MEAN", "CNT_INSTALMENT", "mean"),
            ("POS_RECENT_MONTHS_COUNT", "RECENT", "sum"),
            ("POS_RECENT_SK_DPD_MAX", "RECENT_SK_DPD", "max"),
            ("POS_RECENT_DPD_SHARE", "RECENT_DPD", "mean"),
        ],
    )
    del work
    loans = _pos_loan_features(pos)
    return out.join(loans, how="left")


def _installments_features(inst: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate instalment payments per client, prefix INST_.

    Each row is one payment of one instalment (ratios are per row, as in the Kaggle table).

    Args:
        inst: installments_payments rows.
        config: recent window (``recent_days`` on DAYS_INSTALMENT).

    Returns:
        One row per client: payment ratio and difference, days late/early, late and underpaid
        shares, totals, recent stats. Rows without a payment date are left out of the late stats.
    """
    due = _numeric(inst, "AMT_INSTALMENT")
    paid = _numeric(inst, "AMT_PAYMENT")
    delay = _numeric(inst, "DAYS_ENTRY_PAYMENT") - _numeric(inst, "DAYS_INSTALMENT")
    days_late = delay.clip(lower=0)
    late = (delay > 0).astype("float64").where(delay.notna())
    ratio = _ratio(paid, due)
    recent = (_numeric(inst, "DAYS_INSTALMENT") >= -config.recent_days).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "AMT_INSTALMENT": due,
        "AMT_PAYMENT": paid,
        "PAYMENT_RATIO": ratio,
        "PAYMENT_DIFF": due - paid,
        "DAYS_LATE": days_late,
        "DAYS_EARLY": (-delay).clip(lower=0),
        "LATE": late,
        "LATE_FLAG": (delay > 0).astype(np.uint8),
        "UNDERPAID": (paid < due).astype("float64").where(paid.notna() & due.notna()),
        "RECENT": recent.astype(np.uint8),
        "RECENT_PAYMENT_RATIO": ratio.where(recent),
        "RECENT_DAYS_LATE": days_late.where(recent),
        "RECENT_LATE": late.where(recent),
    }
    out = _group_agg(
        work,
        inst[CLIENT_ID],
        [
            ("INST_COUNT", None, "size"),
            ("INST_PAYMENT_RATIO_MEAN", "PAYMENT_RATIO", "mean"),
            ("INST_PAYMENT_RATIO_MIN", "PAYMENT_RATIO", "min"),
            ("INST_PAYMENT_DIFF_MEAN", "PAYMENT_DIFF", "mean"),
            ("INST_PAYMENT_DIFF_MAX", "PAYMENT_DIFF", "max"),
            ("INST_DAYS_LATE_MEAN", "DAYS_LATE", "mean"),
            ("INST_DAYS_LATE_MAX", "DAYS_LATE", "max"),
            ("INST_DAYS_EARLY_MEAN", "DAYS_EARLY", "mean"),
            ("INST_LATE_COUNT", "LATE_FLAG", "sum"),
            ("INST_LATE_SHARE", "LATE", "mean"),
            ("INST_UNDERPAID_SHARE", "UNDERPAID", "mean"),
            ("INST_AMT_INSTALMENT_SUM", "AMT_INSTALMENT", "sum"),
            ("INST_AMT_PAYMENT_SUM", "AMT_PAYMENT", "sum"),
            ("INST_RECENT_COUNT", "RECENT", "sum"),
            ("INST_RECENT_PAYMENT_RATIO_MEAN", "RECENT_PAYMENT_RATIO", "mean"),
            ("INST_RECENT_DAYS_LATE_MEAN", "RECENT_DAYS_LATE", "mean"),
            ("INST_RECENT_LATE_SHARE", "RECENT_LATE", "mean"),
        ],
    )
    out["INST_TOTAL_PAYMENT_RATIO"] = _ratio(
        out["INST_AMT_PAYMENT_SUM"], out["INST_AMT_INSTALMENT_SUM"]
    )
    return out


def _credit_card_features(cc: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate monthly credit card balances per client, prefix CC_.

    Args:
        cc: credit_card_balance rows.
        config: recent window (``recent_months`` on MONTHS_BALANCE).

    Returns:
        One row per client: months count, utilisation (balance / limit), balances, limits,
        drawings, payments vs the minimum instalment, DPD stats, recent stats.
    """
    balance = _numeric(cc, "AMT_BALANCE")
    limit = _numeric(cc, "AMT_CREDIT_LIMIT_ACTUAL")
    paid = _numeric(cc, "AMT_PAYMENT_TOTAL_CURRENT")
    minimum = _numeric(cc, "AMT_INST_MIN_REGULARITY")
    dpd = _numeric(cc, "SK_DPD")
    drawings = _numeric(cc, "AMT_DRAWINGS_CURRENT")
    utilisation = _ratio(balance, limit)
    has_minimum = (minimum > 0) & paid.notna()
    recent = (_numeric(cc, "MONTHS_BALANCE") >= -config.recent_months).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "UTILISATION": utilisation,
        "AMT_BALANCE": balance,
        "AMT_CREDIT_LIMIT_ACTUAL": limit,
        "AMT_DRAWINGS_CURRENT": drawings,
        "AMT_DRAWINGS_ATM_CURRENT": _numeric(cc, "AMT_DRAWINGS_ATM_CURRENT"),
        "CNT_DRAWINGS_CURRENT": _numeric(cc, "CNT_DRAWINGS_CURRENT"),
        "AMT_PAYMENT_TOTAL_CURRENT": paid,
        "PAYMENT_MIN_RATIO": _ratio(paid, minimum),
        "BELOW_MIN": (paid < minimum).astype("float64").where(has_minimum),
        "AMT_TOTAL_RECEIVABLE": _numeric(cc, "AMT_TOTAL_RECEIVABLE"),
        "CNT_INSTALMENT_MATURE_CUM": _numeric(cc, "CNT_INSTALMENT_MATURE_CUM"),
        "SK_DPD": dpd,
        "SK_DPD_DEF": _numeric(cc, "SK_DPD_DEF"),
        "DPD": (dpd > 0).astype("float64").where(dpd.notna()),
        "RECENT": recent.astype(np.uint8),
        "RECENT_UTILISATION": utilisation.where(recent),
        "RECENT_DRAWINGS": drawings.where(recent),
        "RECENT_SK_DPD": dpd.where(recent),
    }
    return _group_agg(
        work,
        cc[CLIENT_ID],
        [
            ("CC_MONTHS_COUNT", None, "size"),
            ("CC_UTILISATION_MEAN", "UTILISATION", "mean"),
            ("CC_UTILISATION_MAX", "UTILISATION", "max"),
            ("CC_AMT_BALANCE_MEAN", "AMT_BALANCE", "mean"),
            ("CC_AMT_BALANCE_MAX", "AMT_BALANCE", "max"),
            ("CC_AMT_CREDIT_LIMIT_ACTUAL_MEAN", "AMT_CREDIT_LIMIT_ACTUAL", "mean"),
            ("CC_AMT_CREDIT_LIMIT_ACTUAL_MAX", "AMT_CREDIT_LIMIT_ACTUAL", "max"),
            ("CC_AMT_DRAWINGS_CURRENT_MEAN", "AMT_DRAWINGS_CURRENT", "mean"),
            ("CC_AMT_DRAWINGS_CURRENT_SUM", "AMT_DRAWINGS_CURRENT", "sum"),
            ("CC_AMT_DRAWINGS_ATM_CURRENT_MEAN", "AMT_DRAWINGS_ATM_CURRENT", "mean"),
            ("CC_CNT_DRAWINGS_CURRENT_MEAN", "CNT_DRAWINGS_CURRENT", "mean"),
            ("CC_AMT_PAYMENT_TOTAL_CURRENT_MEAN", "AMT_PAYMENT_TOTAL_CURRENT", "mean"),
            ("CC_PAYMENT_MIN_RATIO_MEAN", "PAYMENT_MIN_RATIO", "mean"),
            ("CC_BELOW_MIN_PAYMENT_SHARE", "BELOW_MIN", "mean"),
            ("CC_AMT_TOTAL_RECEIVABLE_MEAN", "AMT_TOTAL_RECEIVABLE", "mean"),
            ("CC_CNT_INSTALMENT_MATURE_CUM_MAX", "CNT_INSTALMENT_MATURE_CUM", "max"),
            ("CC_SK_DPD_MAX", "SK_DPD", "max"),
            ("CC_SK_DPD_MEAN", "SK_DPD", "mean"),
            ("CC_SK_DPD_DEF_MAX", "SK_DPD_DEF", "max"),
            ("CC_DPD_SHARE", "DPD", "mean"),
            ("CC_RECENT_MONTHS_COUNT", "RECENT", "sum"),
            ("CC_RECENT_UTILISATION_MEAN", "RECENT_UTILISATION", "mean"),
            ("CC_RECENT_AMT_DRAWINGS_CURRENT_SUM", "RECENT_DRAWINGS", "sum"),
            ("CC_RECENT_SK_DPD_MAX", "RECENT_SK_DPD", "max"),
        ],
    )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _aggregate_history(tables: Mapping[str, pd.DataFrame], config: FeaturesConfig) -> pd.DataFrame:
    """Run every table aggregate and outer-join them on SK_ID_CURR (counts filled with 0).

    Args:
        tables: side tables by Kaggle name (missing or empty ones allowed).
        config: feature parameters.

    Returns:
        One float64 row per client seen in any side table, sorted by SK_ID_CURR.
    """
    bureau = _get_table(tables, "bureau")
    parts = [
        _bureau_features(bureau, config),
        _bureau_balance_features(bureau, _get_table(tables, "bureau_balance"), config),
        _previous_features(_get_table(tables, "previous_application"), config),
        _pos_features(_get_table(tables, "POS_CASH_balance"), config),
        _installments_features(_get_table(tables, "installments_payments"), config),
        _credit_card_features(_get_table(tables, "credit_card_balance"), config),
    ]
    history = pd.concat(parts, axis=1, join="outer").sort_index()
    history.index = history.index.astype("int64")
    history.index.name = CLIENT_ID
    return _fill_counts(history).astype("float64")


def _fill_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Set the missing values of the ``*_COUNT`` history columns to 0 (in place, returned)."""
    counts = [c for c in frame.columns if c.endswith(COUNT_SUFFIX) and frame[c].hasnans]
    if counts:
        frame[counts] = frame[counts].fillna(0.0)
    return frame


@cache
def _history_columns(config: FeaturesConfig) -> tuple[str, ...]:
    """Cached history columns, obtained by aggregating empty tables."""
    return tuple(_aggregate_history({}, config).columns)


def history_feature_columns(config: FeaturesConfig) -> list[str]:
    """The fixed, ordered list of history feature names (independent of the data).

    Args:
        config: feature parameters.

    Returns:
        The column names of :func:`build_history_features`, in order.
    """
    return list(_history_columns(config))


def build_history_features(
    tables: Mapping[str, pd.DataFrame], config: FeaturesConfig
) -> pd.DataFrame:
    """Aggregates of every side table per SK_ID_CURR.

    Args:
        tables: side tables by Kaggle name (bureau, bureau_balance, previous_application,
            POS_CASH_balance, installments_payments, credit_card_balance); missing or empty
            tables give NaN aggregates and 0 counts.
        config: recent windows.

    Returns:
        Float64 frame indexed by SK_ID_CURR (clients with at least one side row), columns =
        ``history_feature_columns(config)``.
    """
    start = time.perf_counter()
    unknown = sorted(set(tables) - set(schema.HISTORY_TABLES))
    if unknown:
        logger.warning("ignoring unknown history tables: %s", unknown)
    history = _aggregate_history(tables, config)
    expected = history_feature_columns(config)
    if list(history.columns) != expected:
        raise RuntimeError("history features differ from history_feature_columns (bug)")
    logger.info(
        "history features: %d clients x %d features in %.1fs",
        len(history),
        history.shape[1],
        time.perf_counter() - start,
    )
    return history


def _conform_history(history: pd.DataFrame | None, config: FeaturesConfig) -> pd.DataFrame:
    """Return ``history`` indexed by SK_ID_CURR with exactly the expected columns.

    Args:
        history: output of :func:`build_history_features`, SK_ID_CURR as index or column
            (e.g. read back from parquet); None for no history at all.
        config: feature parameters.

    Raises:
        ValueError: when columns are missing or a client appears twice.
    """
    expected = history_feature_columns(config)
    if history is None:
        return pd.DataFrame(
            columns=expected, index=pd.Index([], dtype="int64", name=CLIENT_ID), dtype="float64"
        )
    if CLIENT_ID in history.columns:
        history = history.set_index(CLIENT_ID)
    missing = [c for c in expected if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks {len(missing)} feature columns, e.g. {missing[:5]}")
    if not history.index.is_unique:
        raise ValueError("history has duplicated SK_ID_CURR")
    return history[expected]


def build_features(
    app: pd.DataFrame, history: pd.DataFrame | None, config: FeaturesConfig
) -> pd.DataFrame:
    """Left-join application features with history aggregates on SK_ID_CURR.

    Args:
        app: application rows (TARGET, if any, is dropped).
        history: output of :func:`build_history_features` (index or column SK_ID_CURR), or None
            when no history is known for anyone.
        config: feature parameters.

    Returns:
        SK_ID_CURR + application features + history features (in
        ``history_feature_columns`` order), one row per application row in the same order.
        Clients without history get NaN aggregates and 0 counts. TARGET is never included.
    """
    app_features = build_application_features(app)
    history = _conform_history(history, config)
    joined = history.reindex(app_features[CLIENT_ID].to_numpy())
    joined.index = app_features.index
    joined = _fill_counts(joined.astype("float64"))
    features = pd.concat([app_features, joined], axis=1)
    return features.drop(columns=[TARGET], errors="ignore")


def split_feature_kinds(features: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Split feature columns into numeric and categorical ones (SK_ID_CURR, TARGET excluded).

    Args:
        features: output of :func:`build_features` (or :func:`build_application_features`).

    Returns:
        (numeric feature columns, categorical feature columns), in frame order.
    """
    _, categorical_schema = _application_columns()
    numeric: list[str] = []
    categorical: list[str] = []
    for column in features.columns:
        if column in (CLIENT_ID, TARGET):
            continue
        if column in categorical_schema or not pd.api.types.is_numeric_dtype(features[column]):
            categorical.append(column)
        else:
            numeric.append(column)
    return numeric, categorical
