"""Tests of the feature builder on tiny hand-written Home Credit frames."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features import (
    build_application_features,
    build_features,
    build_history_features,
    history_feature_columns,
    split_feature_kinds,
)
from credit_scoring.features.application import application_feature_columns, conform_records
from credit_scoring.features.build import build_feature_columns
from credit_scoring.features.installments import installments_features

CONFIG = FeaturesConfig(recent_months=12, recent_days=365)
DTYPES = {"int": "int64", "float": "float64", "category": "string"}
DEFAULTS: dict[str, Any] = {"int": 0, "float": np.nan, "category": pd.NA}


def make_frame(table: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Build a frame of ``table`` with every Kaggle column; unspecified cells get defaults.

    Args:
        table: Kaggle table name.
        rows: the cells given for each row.

    Returns:
        The frame, with the schema dtypes (int 0, float NaN, string NA by default).
    """
    columns = {}
    for column, kind in schema.column_kinds(table).items():
        values = [row.get(column, DEFAULTS[kind]) for row in rows]
        columns[column] = pd.Series(values, dtype=DTYPES[kind])
    return pd.DataFrame(columns)


def app_row(**cells: Any) -> dict[str, Any]:
    """Return a plausible application row, overridden by ``cells``."""
    row = {
        schema.CLIENT_ID: 1,
        "NAME_CONTRACT_TYPE": "Cash loans",
        "CODE_GENDER": "F",
        "AMT_INCOME_TOTAL": 100_000.0,
        "AMT_CREDIT": 300_000.0,
        "AMT_ANNUITY": 15_000.0,
        "AMT_GOODS_PRICE": 270_000.0,
        "CNT_FAM_MEMBERS": 4.0,
        "CNT_CHILDREN": 2,
        "DAYS_BIRTH": -14_610,
        "DAYS_EMPLOYED": -2_922,
        "OWN_CAR_AGE": 10.0,
        "DAYS_LAST_PHONE_CHANGE": -1_461.0,
        "FLAG_DOCUMENT_3": 1,
        "FLAG_DOCUMENT_8": 1,
        "REGION_RATING_CLIENT": 2,
        "REGION_RATING_CLIENT_W_CITY": 3,
        "OBS_30_CNT_SOCIAL_CIRCLE": 4.0,
        "DEF_30_CNT_SOCIAL_CIRCLE": 1.0,
        "EXT_SOURCE_1": 0.2,
        "EXT_SOURCE_2": 0.4,
        "EXT_SOURCE_3": 0.6,
    }
    row.update(cells)
    return row


def app_features(**cells: Any) -> pd.Series:
    """Return the application features of one row built by :func:`app_row`."""
    app = make_frame("application_test", [app_row(**cells)])
    return build_application_features(app).iloc[0]


# --------------------------------------------------------------------------------------------
# Side tables: 3 clients (1: rich history, 2: some history, 3: one cancelled application)
# --------------------------------------------------------------------------------------------


def history_tables() -> dict[str, pd.DataFrame]:
    """Return the hand-written side tables of clients 1-3 (see the expected values below)."""
    bureau = make_frame(
        "bureau",
        [
            {
                "SK_ID_CURR": 1,
                "SK_ID_BUREAU": 11,
                "CREDIT_ACTIVE": "Active",
                "CREDIT_TYPE": "Consumer credit",
                "DAYS_CREDIT": -100,
                "CREDIT_DAY_OVERDUE": 10,
                "DAYS_CREDIT_UPDATE": -5,
                "AMT_CREDIT_SUM": 1_000.0,
                "AMT_CREDIT_SUM_DEBT": 500.0,
                "AMT_CREDIT_SUM_OVERDUE": 50.0,
                "AMT_ANNUITY": 100.0,
            },
            {
                "SK_ID_CURR": 1,
                "SK_ID_BUREAU": 12,
                "CREDIT_ACTIVE": "Closed",
                "CREDIT_TYPE": "Credit card",
                "DAYS_CREDIT": -800,
                "DAYS_ENDDATE_FACT": -350.0,
                "DAYS_CREDIT_UPDATE": -300,
                "AMT_CREDIT_SUM": 3_000.0,
                "AMT_CREDIT_SUM_DEBT": 0.0,
                "AMT_CREDIT_SUM_OVERDUE": 0.0,
            },
            {
                "SK_ID_CURR": 2,
                "SK_ID_BUREAU": 21,
                "CREDIT_ACTIVE": "Active",
                "CREDIT_TYPE": "Some unlisted type",
                "DAYS_CREDIT": -400,
                "AMT_CREDIT_SUM": 10_000.0,
                "AMT_CREDIT_SUM_DEBT": 8_000.0,
                "AMT_CREDIT_SUM_OVERDUE": 0.0,
            },
        ],
    )
    balance_rows = [
        (11, 0, "0"),
        (11, -1, "1"),
        (11, -2, "0"),
        (11, -13, "3"),
        (12, 0, "C"),
        (12, -1, "X"),
        (21, -20, "5"),
        (99, 0, "5"),  # credit unknown to bureau: ignored
    ]
    bureau_balance = make_frame(
        "bureau_balance",
        [{"SK_ID_BUREAU": b, "MONTHS_BALANCE": m, "STATUS": s} for b, m, s in balance_rows],
    )
    previous = make_frame(
        "previous_application",
        [
            {
                "SK_ID_CURR": 1,
                "SK_ID_PREV": 101,
                "NAME_CONTRACT_STATUS": "Approved",
                "NAME_CONTRACT_TYPE": "Cash loans",
                "NAME_YIELD_GROUP": "middle",
                "NAME_CLIENT_TYPE": "Repeater",
                "AMT_ANNUITY": 100.0,
                "AMT_APPLICATION": 900.0,
                "AMT_CREDIT": 1_000.0,
                "CNT_PAYMENT": 12.0,
                "DAYS_DECISION": -100,
                "DAYS_FIRST_DRAWING": float(schema.DAYS_EMPLOYED_ANOMALY),
                "DAYS_FIRST_DUE": -90.0,
                "DAYS_LAST_DUE": -20.0,
                "DAYS_TERMINATION": float(schema.DAYS_EMPLOYED_ANOMALY),
            },
            {
                "SK_ID_CURR": 1,
                "SK_ID_PREV": 102,
                "NAME_CONTRACT_STATUS": "Refused",
                "CODE_REJECT_REASON": "HC",
                "NAME_CONTRACT_TYPE": "Consumer loans",
                "NAME_YIELD_GROUP": "XNA",
                "NAME_CLIENT_TYPE": "New",
                "AMT_ANNUITY": 50.0,
                "AMT_APPLICATION": 500.0,
                "AMT_CREDIT": 0.0,
                "DAYS_DECISION": -400,
                "DAYS_LAST_DUE": float(schema.DAYS_EMPLOYED_ANOMALY),
                "DAYS_TERMINATION": -30.0,
            },
            {
                "SK_ID_CURR": 1,
                "SK_ID_PREV": 103,
                "NAME_CONTRACT_STATUS": "Refused",
                "CODE_REJECT_REASON": "SCO",
                "NAME_CONTRACT_TYPE": "Cash loans",
                "NAME_YIELD_GROUP": "high",
                "NAME_CLIENT_TYPE": "Repeater",
                "AMT_ANNUITY": 150.0,
                "AMT_APPLICATION": 2_000.0,
                "AMT_CREDIT": 1_000.0,
                "CNT_PAYMENT": 24.0,
                "DAYS_DECISION": -50,
            },
            {
                "SK_ID_CURR": 3,
                "SK_ID_PREV": 301,
                "NAME_CONTRACT_STATUS": "Canceled",
                "DAYS_DECISION": -10,
            },
        ],
    )
    pos_rows = [
        (101, -3, 0, "Active", 5.0),
        (101, -2, 5, "Active", 4.0),
        (101, -1, 0, "Completed", 0.0),
        (102, -20, 30, "Active", 6.0),
    ]
    pos = make_frame(
        "POS_CASH_balance",
        [
            {
                "SK_ID_CURR": 1,
                "SK_ID_PREV": p,
                "MONTHS_BALANCE": m,
                "SK_DPD": d,
                "NAME_CONTRACT_STATUS": s,
                "CNT_INSTALMENT_FUTURE": f,
            }
            for p, m, d, s, f in pos_rows
        ],
    )
    # One payment per instalment here (split and missing payments: test_instalment_*).
    inst_rows = [
        (1, 1, 100.0, 100.0, -10.0, -12.0),
        (1, 2, 100.0, 50.0, -40.0, -35.0),
        (1, 3, 200.0, 200.0, -400.0, -390.0),
        (2, 1, 0.0, 0.0, -20.0, np.nan),
    ]
    installments = make_frame(
        "installments_payments",
        [
            {
                "SK_ID_CURR": c,
                "SK_ID_PREV": 100 * c,
                "NUM_INSTALMENT_NUMBER": number,
                "NUM_INSTALMENT_VERSION": 1.0,
                "AMT_INSTALMENT": due,
                "AMT_PAYMENT": paid,
                "DAYS_INSTALMENT": day_due,
                "DAYS_ENTRY_PAYMENT": day_paid,
            }
            for c, number, due, paid, day_due, day_paid in inst_rows
        ],
    )
    cc_rows = [(-1, 500.0, 1_000, 0), (-2, 900.0, 1_000, 3), (-15, 0.0, 0, 0)]
    credit_card = make_frame(
        "credit_card_balance",
        [
            {
                "SK_ID_CURR": 2,
                "SK_ID_PREV": 201,
                "MONTHS_BALANCE": m,
                "AMT_BALANCE": b,
                "AMT_CREDIT_LIMIT_ACTUAL": lim,
                "SK_DPD": d,
            }
            for m, b, lim, d in cc_rows
        ],
    )
    return {
        "bureau": bureau,
        "bureau_balance": bureau_balance,
        "previous_application": previous,
        "POS_CASH_balance": pos,
        "installments_payments": installments,
        "credit_card_balance": credit_card,
    }


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    """History features of the three hand-written clients."""
    return build_history_features(history_tables(), CONFIG)


# --------------------------------------------------------------------------------------------
# Application features
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ("CREDIT_ANNUITY_RATIO", 20.0),
        ("CREDIT_INCOME_RATIO", 3.0),
        ("ANNUITY_INCOME_RATIO", 0.15),
        ("GOODS_CREDIT_RATIO", 0.9),
        ("CREDIT_GOODS_DIFF", 30_000.0),
        ("INCOME_PER_PERSON", 25_000.0),
        ("CHILDREN_RATIO", 0.5),
        ("EMPLOYED_AGE_RATIO", 0.2),
        ("CAR_AGE_RATIO", 0.25),
        ("PHONE_CHANGE_AGE_RATIO", 0.1),
        ("DOCUMENT_COUNT", 2.0),
        ("REGION_RATING_MEAN", 2.5),
        ("DEF_30_SOCIAL_RATIO", 0.25),
        ("DAYS_EMPLOYED_ANOMALY", 0.0),
    ],
)
def test_business_feature_values(feature: str, expected: float) -> None:
    assert app_features()[feature] == pytest.approx(expected)


@pytest.mark.parametrize(
    ("feature", "cells"),
    [
        ("CREDIT_ANNUITY_RATIO", {"AMT_ANNUITY": 0.0}),
        ("CREDIT_ANNUITY_RATIO", {"AMT_ANNUITY": np.nan}),
        ("CREDIT_INCOME_RATIO", {"AMT_INCOME_TOTAL": 0.0}),
        ("ANNUITY_INCOME_RATIO", {"AMT_INCOME_TOTAL": np.nan}),
        ("GOODS_CREDIT_RATIO", {"AMT_CREDIT": 0.0}),
        ("INCOME_PER_PERSON", {"CNT_FAM_MEMBERS": 0.0}),
        ("INCOME_PER_PERSON", {"CNT_FAM_MEMBERS": np.nan}),
        ("EMPLOYED_AGE_RATIO", {"DAYS_BIRTH": 0}),
        ("CAR_AGE_RATIO", {"DAYS_BIRTH": 0}),
        ("PHONE_CHANGE_AGE_RATIO", {"DAYS_BIRTH": 0}),
        ("DEF_30_SOCIAL_RATIO", {"OBS_30_CNT_SOCIAL_CIRCLE": 0.0}),
        ("DEF_60_SOCIAL_RATIO", {}),
    ],
)
def test_zero_or_missing_denominator_gives_nan(feature: str, cells: dict[str, Any]) -> None:
    value = app_features(**cells)[feature]
    assert np.isnan(value)


def test_days_employed_anomaly_is_flagged_and_removed() -> None:
    app = make_frame(
        "application_test",
        [
            app_row(SK_ID_CURR=1, DAYS_EMPLOYED=schema.DAYS_EMPLOYED_ANOMALY),
            app_row(SK_ID_CURR=2, DAYS_EMPLOYED=-1_000),
        ],
    )
    features = build_application_features(app)
    assert features["DAYS_EMPLOYED_ANOMALY"].tolist() == [1.0, 0.0]
    assert np.isnan(features.loc[0, "DAYS_EMPLOYED"])
    assert features.loc[1, "DAYS_EMPLOYED"] == -1_000.0
    assert np.isnan(features.loc[0, "EMPLOYED_AGE_RATIO"])
    assert (app["DAYS_EMPLOYED"] == schema.DAYS_EMPLOYED_ANOMALY).sum() == 1  # input untouched


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        (
            (0.2, 0.4, 0.6),
            {"MEAN": 0.4, "MIN": 0.2, "MAX": 0.6, "PROD": 0.048, "STD": 0.2, "NAN_COUNT": 0.0},
        ),
        (
            (0.2, np.nan, 0.6),
            {
                "MEAN": 0.4,
                "MIN": 0.2,
                "MAX": 0.6,
                "PROD": np.nan,
                "STD": 0.08**0.5,
                "NAN_COUNT": 1,
            },
        ),
        (
            (np.nan, 0.5, np.nan),
            {"MEAN": 0.5, "MIN": 0.5, "MAX": 0.5, "PROD": np.nan, "STD": np.nan, "NAN_COUNT": 2},
        ),
        (
            (np.nan, np.nan, np.nan),
            {"MEAN": np.nan, "MIN": np.nan, "PROD": np.nan, "STD": np.nan, "NAN_COUNT": 3},
        ),
    ],
)
def test_ext_source_stats(scores: tuple[float, ...], expected: dict[str, float]) -> None:
    cells = dict(zip(("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"), scores, strict=True))
    features = app_features(**cells)
    for stat, value in expected.items():
        assert features[f"EXT_SOURCE_{stat}"] == pytest.approx(value, nan_ok=True), stat


@pytest.mark.parametrize(
    ("scores", "expected"),
    [((0.2, 0.4, 0.6), 2.6 / 6), ((0.2, np.nan, 0.6), 2.2 / 5), ((np.nan,) * 3, np.nan)],
)
def test_ext_source_weighted_mean_of_available_scores(
    scores: tuple[float, ...], expected: float
) -> None:
    cells = dict(zip(("EXT_SOURCE_1", "EXT_SOURCE_2", "EXT_SOURCE_3"), scores, strict=True))
    assert app_features(**cells)["EXT_SOURCE_WEIGHTED"] == pytest.approx(expected, nan_ok=True)


def test_application_features_types_and_no_target() -> None:
    app = make_frame(
        "application_train",
        [app_row(SK_ID_CURR=7, TARGET=1), app_row(SK_ID_CURR=3, CODE_GENDER=pd.NA, TARGET=0)],
    )
    features = build_application_features(app)
    assert schema.TARGET not in features.columns
    assert features[schema.CLIENT_ID].tolist() == [7, 3]
    assert features["CODE_GENDER"].dtype == object
    assert features["CODE_GENDER"].iloc[0] == "F"
    missing = features["CODE_GENDER"].iloc[1]
    assert isinstance(missing, float) and np.isnan(missing)  # NaN, not pd.NA
    numeric, categorical = split_feature_kinds(features)
    assert set(categorical) == set(schema.categorical_columns("application_train"))
    assert all(features[c].dtype == "float64" for c in numeric)
    assert schema.CLIENT_ID not in numeric + categorical


# --------------------------------------------------------------------------------------------
# History aggregates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "feature", "expected"),
    [
        (1, "BUREAU_COUNT", 2),
        (1, "BUREAU_ACTIVE_COUNT", 1),
        (1, "BUREAU_ACTIVE_SHARE", 0.5),
        (1, "BUREAU_CREDIT_DAY_OVERDUE_MAX", 10),
        (1, "BUREAU_OVERDUE_COUNT", 1),
        (1, "BUREAU_AMT_CREDIT_SUM_OVERDUE_SUM", 50),
        (1, "BUREAU_DEBT_CREDIT_RATIO", 500 / 4_000),
        (1, "BUREAU_ACTIVE_DEBT_SUM", 500),
        (1, "BUREAU_TYPE_CONSUMER_CREDIT_COUNT", 1),
        (1, "BUREAU_TYPE_CREDIT_CARD_COUNT", 1),
        (1, "BUREAU_RECENT_COUNT", 1),
        (1, "BUREAU_RECENT_AMT_CREDIT_SUM_SUM", 1_000),
        (1, "BUREAU_ACTIVE_AMT_CREDIT_SUM_SUM", 1_000),
        (1, "BUREAU_ACTIVE_DAYS_CREDIT_MEAN", -100),
        (1, "BUREAU_ACTIVE_DAYS_CREDIT_UPDATE_MEAN", -5),
        (1, "BUREAU_ACTIVE_AMT_ANNUITY_SUM", 100),
        (1, "BUREAU_ACTIVE_DEBT_CREDIT_RATIO", 0.5),
        (1, "BUREAU_CLOSED_COUNT", 1),
        (1, "BUREAU_CLOSED_AMT_CREDIT_SUM_SUM", 3_000),
        (1, "BUREAU_CLOSED_DAYS_CREDIT_MIN", -800),
        (1, "BUREAU_CLOSED_DAYS_ENDDATE_FACT_MAX", -350),
        (1, "BUREAU_DAYS_ENDDATE_FACT_MEAN", -350),  # the active credit has none
        (1, "BUREAU_DAYS_CREDIT_UPDATE_MEAN", -152.5),
        (1, "BUREAU_DAYS_CREDIT_UPDATE_MIN", -300),
        (2, "BUREAU_ACTIVE_SHARE", 1.0),
        (2, "BUREAU_DEBT_CREDIT_RATIO", 0.8),
        (2, "BUREAU_TYPE_OTHER_COUNT", 1),
        (2, "BUREAU_RECENT_COUNT", 0),
        (2, "BUREAU_RECENT_AMT_CREDIT_SUM_SUM", np.nan),
        (2, "BUREAU_ACTIVE_DEBT_CREDIT_RATIO", 0.8),
        (2, "BUREAU_CLOSED_COUNT", 0),
        (2, "BUREAU_CLOSED_AMT_CREDIT_SUM_SUM", np.nan),  # no closed credit
        (3, "BUREAU_COUNT", 0),
        (3, "BUREAU_ACTIVE_SHARE", np.nan),
    ],
)
def test_bureau_aggregates(history: pd.DataFrame, client: int, feature: str, expected: float):
    assert history.loc[client, feature] == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("client", "feature", "expected"),
    [
        (1, "BUREAU_BAL_MONTHS_COUNT", 6),
        (1, "BUREAU_BAL_LATE_COUNT", 2),
        (1, "BUREAU_BAL_LATE_SHARE", 2 / 6),
        (1, "BUREAU_BAL_WORST_STATUS", 3),
        (1, "BUREAU_BAL_LATE_CREDIT_COUNT", 1),
        (1, "BUREAU_BAL_MONTHS_MEAN", 3),
        (1, "BUREAU_BAL_RECENT_MONTHS_COUNT", 5),
        (1, "BUREAU_BAL_RECENT_LATE_SHARE", 1 / 5),
        (1, "BUREAU_BAL_RECENT_WORST_STATUS", 1),
        (2, "BUREAU_BAL_WORST_STATUS", 5),
        (2, "BUREAU_BAL_LATE_SHARE", 1.0),
        (2, "BUREAU_BAL_RECENT_MONTHS_COUNT", 0),
        (2, "BUREAU_BAL_RECENT_LATE_SHARE", np.nan),
        (3, "BUREAU_BAL_MONTHS_COUNT", 0),
    ],
)
def test_bureau_balance_rollup(history: pd.DataFrame, client: int, feature: str, expected):
    assert history.loc[client, feature] == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("client", "feature", "expected"),
    [
        (1, "PREV_COUNT", 3),
        (1, "PREV_APPROVED_COUNT", 1),
        (1, "PREV_REFUSED_COUNT", 2),
        (1, "PREV_REFUSED_SHARE", 2 / 3),
        (1, "PREV_APPROVED_SHARE", 1 / 3),
        (1, "PREV_REJECT_HC_COUNT", 1),
        (1, "PREV_APPLICATION_CREDIT_RATIO_MEAN", (0.9 + 2.0) / 2),  # credit 0 -> skipped
        (1, "PREV_APPLICATION_CREDIT_RATIO_MAX", 2.0),
        (1, "PREV_CNT_PAYMENT_MEAN", 18),
        (1, "PREV_APPROVED_AMT_CREDIT_SUM", 1_000),
        (1, "PREV_REFUSED_DAYS_DECISION_MAX", -50),
        (1, "PREV_DAYS_TERMINATION_MAX", -30),  # 365243 placeholder ignored
        (1, "PREV_RECENT_COUNT", 2),
        (1, "PREV_RECENT_REFUSED_SHARE", 0.5),
        (1, "PREV_APPROVED_AMT_APPLICATION_MEAN", 900),
        (1, "PREV_APPROVED_AMT_ANNUITY_MEAN", 100),
        (1, "PREV_APPROVED_APPLICATION_CREDIT_RATIO_MEAN", 0.9),
        (1, "PREV_APPROVED_CNT_PAYMENT_MEAN", 12),
        (1, "PREV_APPROVED_DAYS_DECISION_MAX", -100),
        (1, "PREV_REFUSED_AMT_APPLICATION_MEAN", 1_250),
        (1, "PREV_REFUSED_AMT_APPLICATION_MAX", 2_000),
        (1, "PREV_REFUSED_AMT_ANNUITY_MEAN", 100),
        (1, "PREV_REFUSED_APPLICATION_CREDIT_RATIO_MEAN", 2.0),  # credit 0 -> skipped
        (1, "PREV_REFUSED_CNT_PAYMENT_MEAN", 24),
        (1, "PREV_CONTRACT_CASH_LOANS_SHARE", 2 / 3),
        (1, "PREV_CONTRACT_CONSUMER_LOANS_SHARE", 1 / 3),
        (1, "PREV_YIELD_HIGH_SHARE", 1 / 3),
        (1, "PREV_YIELD_MIDDLE_SHARE", 1 / 3),
        (1, "PREV_YIELD_LOW_NORMAL_SHARE", 0),
        (1, "PREV_CLIENT_REPEATER_SHARE", 2 / 3),
        (1, "PREV_CLIENT_NEW_SHARE", 1 / 3),
        (1, "PREV_PRODUCT_X_SELL_SHARE", 0),  # not given: missing
        (1, "PREV_DAYS_FIRST_DRAWING_MAX", np.nan),  # 365243 placeholder only
        (1, "PREV_DAYS_FIRST_DUE_MIN", -90),
        (1, "PREV_DAYS_LAST_DUE_MAX", -20),  # 365243 placeholder ignored
        (1, "PREV_DAYS_LAST_DUE_MEAN", -20),
        (3, "PREV_COUNT", 1),
        (3, "PREV_CANCELED_COUNT", 1),
        (3, "PREV_REFUSED_SHARE", 0.0),
        (3, "PREV_CONTRACT_CASH_LOANS_SHARE", 0.0),
        (3, "PREV_APPROVED_AMT_CREDIT_MEAN", np.nan),
        (2, "PREV_COUNT", 0),
        (2, "PREV_REFUSED_SHARE", np.nan),
        (2, "PREV_YIELD_HIGH_SHARE", np.nan),
    ],
)
def test_previous_application_aggregates(history: pd.DataFrame, client: int, feature, expected):
    assert history.loc[client, feature] == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ("POS_MONTHS_COUNT", 4),
        ("POS_LOANS_COUNT", 2),
        ("POS_SK_DPD_MAX", 30),
        ("POS_SK_DPD_MEAN", 35 / 4),
        ("POS_DPD_SHARE", 0.5),
        ("POS_COMPLETED_COUNT", 1),
        ("POS_REMAINING_INSTALMENTS_SUM", 6),  # last month of each loan: 0 + 6
        ("POS_MONTHS_BALANCE_MIN", -20),
        ("POS_RECENT_MONTHS_COUNT", 3),
        ("POS_RECENT_SK_DPD_MAX", 5),
        ("POS_RECENT_DPD_SHARE", 1 / 3),
    ],
)
def test_pos_cash_aggregates(history: pd.DataFrame, feature: str, expected: float) -> None:
    assert history.loc[1, feature] == pytest.approx(expected)
    assert history.loc[2, "POS_MONTHS_COUNT"] == 0


@pytest.mark.parametrize(
    ("client", "feature", "expected"),
    [
        (1, "INST_COUNT", 3),
        (1, "INST_PAYMENT_RATIO_MEAN", 2.5 / 3),
        (1, "INST_PAYMENT_RATIO_MIN", 0.5),
        (1, "INST_PAYMENT_DIFF_MAX", 50),
        (1, "INST_DAYS_LATE_MEAN", 5),
        (1, "INST_DAYS_LATE_MAX", 10),
        (1, "INST_DAYS_EARLY_MEAN", 2 / 3),
        (1, "INST_LATE_COUNT", 2),
        (1, "INST_LATE_SHARE", 2 / 3),
        (1, "INST_UNDERPAID_SHARE", 1 / 3),
        (1, "INST_TOTAL_PAYMENT_RATIO", 350 / 400),
        (1, "INST_RECENT_COUNT", 2),
        (1, "INST_RECENT_PAYMENT_RATIO_MEAN", 0.75),
        (1, "INST_RECENT_DAYS_LATE_MEAN", 2.5),
        (1, "INST_RECENT_LATE_SHARE", 0.5),
        (1, "INST_MISSED_COUNT", 0),
        (2, "INST_COUNT", 1),
        (2, "INST_PAYMENT_RATIO_MEAN", np.nan),  # instalment of 0
        (2, "INST_LATE_SHARE", np.nan),  # nothing due: neither late nor missed
        (2, "INST_LATE_COUNT", 0),
        (2, "INST_MISSED_COUNT", 0),
        (2, "INST_TOTAL_PAYMENT_RATIO", np.nan),
    ],
)
def test_installments_aggregates(history: pd.DataFrame, client: int, feature, expected):
    assert history.loc[client, feature] == pytest.approx(expected, nan_ok=True)


def instalment_payments(rows: list[tuple]) -> pd.DataFrame:
    """installments_payments of one client and credit from (number, version, due, paid, day
    due, day paid) payment rows; rows of one (number, version) are one split instalment."""
    return make_frame(
        "installments_payments",
        [
            {
                "SK_ID_CURR": 1,
                "SK_ID_PREV": 10,
                "NUM_INSTALMENT_NUMBER": number,
                "NUM_INSTALMENT_VERSION": version,
                "AMT_INSTALMENT": due,
                "AMT_PAYMENT": paid,
                "DAYS_INSTALMENT": day_due,
                "DAYS_ENTRY_PAYMENT": day_paid,
            }
            for number, version, due, paid, day_due, day_paid in rows
        ],
    )


def instalment_features(rows: list[tuple]) -> pd.Series:
    """The INST_ features of the one client of :func:`instalment_payments`."""
    return installments_features(instalment_payments(rows), CONFIG).loc[1]


def test_split_payment_that_adds_up_is_not_an_underpayment() -> None:
    # 449.505 + 8966.97 is 9416.474999999999 in floats: still the whole instalment.
    features = instalment_features(
        [(1, 1.0, 9416.475, 449.505, -30.0, -32.0), (1, 1.0, 9416.475, 8966.97, -30.0, -27.0)]
    )
    assert features["INST_COUNT"] == 1
    assert features["INST_UNDERPAID_SHARE"] == 0
    assert features["INST_PAYMENT_RATIO_MEAN"] == pytest.approx(1.0)
    assert features["INST_AMT_PAYMENT_SUM"] == pytest.approx(9416.475)
    assert features["INST_DAYS_LATE_MAX"] == 3  # the last payment is the one that counts
    assert features["INST_MISSED_COUNT"] == 0


def test_split_payment_that_falls_short_is_one_underpaid_instalment() -> None:
    features = instalment_features(
        [(1, 1.0, 100.0, 30.0, -30.0, -40.0), (1, 1.0, 100.0, 20.0, -30.0, -35.0)]
    )
    assert features["INST_COUNT"] == 1
    assert features["INST_UNDERPAID_SHARE"] == 1
    assert features["INST_PAYMENT_RATIO_MIN"] == pytest.approx(0.5)
    assert features["INST_PAYMENT_DIFF_MAX"] == pytest.approx(50.0)
    assert features["INST_LATE_COUNT"] == 0
    assert features["INST_DAYS_EARLY_MEAN"] == 5


def test_amount_due_of_a_split_instalment_is_counted_once() -> None:
    features = instalment_features(
        [
            (1, 1.0, 300.0, 100.0, -60.0, -61.0),
            (1, 1.0, 300.0, 100.0, -60.0, -61.0),
            (1, 1.0, 300.0, 100.0, -60.0, -60.0),
            (2, 1.0, 300.0, 300.0, -30.0, -30.0),
        ]
    )
    assert features["INST_COUNT"] == 2
    assert features["INST_AMT_INSTALMENT_SUM"] == 600
    assert features["INST_AMT_PAYMENT_SUM"] == 600
    assert features["INST_TOTAL_PAYMENT_RATIO"] == 1
    assert features["INST_UNDERPAID_SHARE"] == 0


def test_unpaid_instalment_is_missed_late_and_underpaid() -> None:
    features = instalment_features(
        [(1, 1.0, 100.0, 100.0, -60.0, -60.0), (2, 1.0, 100.0, np.nan, -30.0, np.nan)]
    )
    assert features["INST_COUNT"] == 2
    assert features["INST_MISSED_COUNT"] == 1
    assert features["INST_MISSED_SHARE"] == 0.5
    assert features["INST_LATE_COUNT"] == 1
    assert features["INST_LATE_SHARE"] == 0.5
    assert features["INST_UNDERPAID_SHARE"] == 0.5
    assert features["INST_PAYMENT_RATIO_MIN"] == 0
    assert features["INST_TOTAL_PAYMENT_RATIO"] == 0.5
    assert features["INST_DAYS_LATE_MAX"] == 0  # days late of the paid instalment only
    assert features["INST_RECENT_MISSED_COUNT"] == 1


def test_new_version_of_an_instalment_is_another_instalment() -> None:
    features = instalment_features(
        [(1, 1.0, 100.0, 100.0, -60.0, -60.0), (1, 2.0, 80.0, 80.0, -50.0, -50.0)]
    )
    assert features["INST_COUNT"] == 2
    assert features["INST_AMT_INSTALMENT_SUM"] == 180


@pytest.mark.parametrize(
    ("feature", "expected"),
    [
        ("CC_MONTHS_COUNT", 3),
        ("CC_UTILISATION_MEAN", 0.7),  # limit 0 -> skipped
        ("CC_UTILISATION_MAX", 0.9),
        ("CC_AMT_BALANCE_MAX", 900),
        ("CC_SK_DPD_MAX", 3),
        ("CC_DPD_SHARE", 1 / 3),
        ("CC_RECENT_MONTHS_COUNT", 2),
        ("CC_RECENT_UTILISATION_MEAN", 0.7),
        ("CC_RECENT_SK_DPD_MAX", 3),
    ],
)
def test_credit_card_aggregates(history: pd.DataFrame, feature: str, expected: float) -> None:
    assert history.loc[2, feature] == pytest.approx(expected)
    assert history.loc[1, "CC_MONTHS_COUNT"] == 0


def test_recent_window_follows_config() -> None:
    wide = build_history_features(
        history_tables(), FeaturesConfig(recent_months=24, recent_days=500)
    )
    assert wide.loc[2, "BUREAU_RECENT_COUNT"] == 1
    assert wide.loc[1, "INST_RECENT_COUNT"] == 3
    assert wide.loc[1, "POS_RECENT_MONTHS_COUNT"] == 4
    assert wide.loc[2, "CC_RECENT_MONTHS_COUNT"] == 3


def test_history_index_and_values(history: pd.DataFrame) -> None:
    assert history.index.name == schema.CLIENT_ID
    assert history.index.tolist() == [1, 2, 3]
    assert (history.dtypes == "float64").all()
    assert not np.isinf(history.to_numpy()).any()
    counts = [c for c in history.columns if c.endswith("_COUNT")]
    assert not history[counts].isna().any().any()


def _only(tables: dict[str, pd.DataFrame], client: int) -> dict[str, pd.DataFrame]:
    """Return the rows of one client (bureau_balance through its bureau credits)."""
    out = {
        name: t[t[schema.CLIENT_ID] == client]
        for name, t in tables.items()
        if name != "bureau_balance"
    }
    credits = out["bureau"][schema.BUREAU_ID]
    balance = tables["bureau_balance"]
    out["bureau_balance"] = balance[balance[schema.BUREAU_ID].isin(credits)]
    return out


def _empty_frames() -> dict[str, pd.DataFrame]:
    return {name: make_frame(name, []) for name in schema.HISTORY_TABLES}


@pytest.mark.parametrize(
    "tables",
    [
        pytest.param(history_tables, id="all-tables"),
        pytest.param(dict, id="no-tables"),
        pytest.param(_empty_frames, id="empty-frames"),
        pytest.param(lambda: dict.fromkeys(schema.HISTORY_TABLES, pd.DataFrame()), id="bare"),
        pytest.param(lambda: {"bureau": history_tables()["bureau"].iloc[[2]]}, id="bureau-only"),
        pytest.param(lambda: _only(history_tables(), 1), id="one-client"),
    ],
)
def test_history_columns_never_depend_on_data(tables) -> None:
    history = build_history_features(tables(), CONFIG)
    assert list(history.columns) == history_feature_columns(CONFIG)
    assert (history.dtypes == "float64").all()
    assert not np.isinf(history.to_numpy()).any()


def test_history_feature_columns_fixed() -> None:
    columns = history_feature_columns(CONFIG)
    assert columns == history_feature_columns(FeaturesConfig(recent_months=3, recent_days=90))
    assert len(columns) == len(set(columns))
    assert 150 <= len(columns) <= 300
    prefixes = {c.split("_")[0] for c in columns}
    assert prefixes == {"BUREAU", "PREV", "POS", "INST", "CC"}
    assert schema.TARGET not in columns


def test_one_client_alone_equals_batch_row(history: pd.DataFrame) -> None:
    alone = build_history_features(_only(history_tables(), 1), CONFIG)
    pd.testing.assert_frame_equal(alone, history.loc[[1]])


# --------------------------------------------------------------------------------------------
# build_features
# --------------------------------------------------------------------------------------------


def _applications() -> pd.DataFrame:
    """Four applicants in a non-sorted order; client 4 has no history; TARGET present."""
    return make_frame(
        "application_train",
        [app_row(SK_ID_CURR=c, TARGET=c % 2) for c in (3, 1, 4, 2)],
    )


def test_build_features_keeps_rows_and_joins_history(history: pd.DataFrame) -> None:
    app = _applications()
    features = build_features(app, history, CONFIG)
    assert features[schema.CLIENT_ID].tolist() == [3, 1, 4, 2]
    assert features.index.equals(app.index)
    assert schema.TARGET not in features.columns
    app_columns = list(build_application_features(app).columns)
    assert list(features.columns) == app_columns + history_feature_columns(CONFIG)
    by_client = features.set_index(schema.CLIENT_ID)
    assert by_client.loc[1, "BUREAU_COUNT"] == 2
    assert by_client.loc[2, "CC_UTILISATION_MAX"] == pytest.approx(0.9)
    assert by_client.loc[4, "BUREAU_COUNT"] == 0  # no history: counts 0 ...
    assert np.isnan(by_client.loc[4, "BUREAU_DEBT_CREDIT_RATIO"])  # ... aggregates NaN
    assert not np.isinf(features.select_dtypes("number").to_numpy()).any()


def test_build_features_without_history_gives_zero_counts() -> None:
    features = build_features(_applications(), None, CONFIG)
    history_columns = history_feature_columns(CONFIG)
    assert list(features.columns[-len(history_columns) :]) == history_columns
    counts = [c for c in history_columns if c.endswith("_COUNT")]
    others = [c for c in history_columns if not c.endswith("_COUNT")]
    assert (features[counts] == 0).all().all()
    assert features[others].isna().all().all()


def test_build_features_accepts_history_with_id_column(history: pd.DataFrame) -> None:
    app = _applications()
    expected = build_features(app, history, CONFIG)
    pd.testing.assert_frame_equal(build_features(app, history.reset_index(), CONFIG), expected)


def test_build_features_rejects_incomplete_history(history: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="lacks"):
        build_features(_applications(), history.drop(columns=["BUREAU_COUNT"]), CONFIG)


def test_build_features_same_columns_for_one_client(history: pd.DataFrame) -> None:
    batch = build_features(_applications(), history, CONFIG)
    one_app = make_frame("application_test", [app_row(SK_ID_CURR=1)])
    one = build_features(
        one_app, build_history_features(_only(history_tables(), 1), CONFIG), CONFIG
    )
    assert list(one.columns) == list(batch.columns)
    assert list(one.dtypes) == list(batch.dtypes)
    pd.testing.assert_series_equal(
        one.iloc[0], batch.set_index(schema.CLIENT_ID, drop=False).loc[1], check_names=False
    )


def test_build_features_on_api_like_input(history: pd.DataFrame) -> None:
    """A JSON-decoded client: object columns, None for missing, floats for ints, few columns."""
    batch = build_features(_applications(), history, CONFIG)
    payload = {k: (None if v is pd.NA else v) for k, v in app_row(SK_ID_CURR=1).items()}
    payload.update(CODE_GENDER=None, CNT_CHILDREN=2.0)
    one = build_features(pd.DataFrame([payload], dtype=object), history, CONFIG)
    assert list(one.columns) == list(batch.columns)
    assert list(one.dtypes) == list(batch.dtypes)
    assert one.loc[0, "CREDIT_ANNUITY_RATIO"] == pytest.approx(20.0)
    assert one.loc[0, "BUREAU_COUNT"] == 2
    assert np.isnan(one.loc[0, "CODE_GENDER"])


def test_side_table_with_missing_columns_gives_nan() -> None:
    bureau = history_tables()["bureau"][["SK_ID_CURR", "SK_ID_BUREAU", "CREDIT_ACTIVE"]]
    history = build_history_features({"bureau": bureau}, CONFIG)
    assert list(history.columns) == history_feature_columns(CONFIG)
    assert history.loc[1, "BUREAU_ACTIVE_COUNT"] == 1
    assert np.isnan(history.loc[1, "BUREAU_AMT_CREDIT_SUM_SUM"])


def test_split_feature_kinds(history: pd.DataFrame) -> None:
    features = build_features(_applications(), history, CONFIG)
    numeric, categorical = split_feature_kinds(features)
    assert schema.CLIENT_ID not in numeric + categorical
    assert sorted(numeric + categorical) == sorted(
        c for c in features.columns if c != schema.CLIENT_ID
    )
    assert "NAME_CONTRACT_TYPE" in categorical
    assert {"BUREAU_COUNT", "CREDIT_ANNUITY_RATIO", "EXT_SOURCE_MEAN"} <= set(numeric)
    assert all(features[c].dtype == "float64" for c in numeric)


def test_feature_columns_of_records_equal_build_features(history: pd.DataFrame) -> None:
    """The API's path (JSON rows -> numpy columns) gives build_features' features exactly:
    missing keys, None, the DAYS_EMPLOYED placeholder, history and no history."""
    rows = [app_row(SK_ID_CURR=c) for c in (3, 1, 4, 2)]
    rows[1] = {k: v for k, v in rows[1].items() if k != "EXT_SOURCE_1"}
    rows[2]["NAME_CONTRACT_TYPE"] = None
    rows[3]["DAYS_EMPLOYED"] = schema.DAYS_EMPLOYED_ANOMALY
    ids = np.array([row[schema.CLIENT_ID] for row in rows])
    for stored in (history, None):
        frame = build_features(pd.DataFrame(rows), stored, CONFIG)
        columns = build_feature_columns(conform_records(rows, ids), stored, CONFIG)
        assert list(columns) == list(frame.columns)
        for name, values in columns.items():
            expected = frame[name].to_numpy()
            if expected.dtype == object:
                assert pd.isna(values).tolist() == pd.isna(expected).tolist(), name
                assert [v for v in values if not pd.isna(v)] == [
                    v for v in expected if not pd.isna(v)
                ], name
            else:
                np.testing.assert_array_equal(values.astype(float), expected.astype(float), name)


def test_records_with_text_in_a_number_or_none_at_all() -> None:
    coerced = conform_records([{"AMT_CREDIT": "abc", "AMT_ANNUITY": 10.0}], np.array([7]))
    numeric = application_feature_columns(coerced)
    assert np.isnan(numeric["AMT_CREDIT"][0]) and numeric["AMT_ANNUITY"][0] == 10.0
    assert numeric[schema.CLIENT_ID].tolist() == [7]
    empty = application_feature_columns(conform_records([], np.array([], dtype="int64")))
    assert all(len(values) == 0 for values in empty.values())


def test_a_clients_history_depends_on_its_own_rows_only() -> None:
    """What lets an engine aggregate groups of clients apart (the Spark engine): on generated
    tables, each half of the clients alone gets bit for bit the values of the whole."""
    from credit_scoring.config import GenerateConfig
    from credit_scoring.data.synthetic import generate_tables

    split_payments = {"installments_payments": 1.5}  # payments per instalment, on average
    tables = generate_tables(
        GenerateConfig(n_train=600, n_test=100, seed=7, history_scales=split_payments)
    )
    side = {t: tables[t] for t in schema.HISTORY_TABLES}
    whole = build_history_features(side, CONFIG)
    clients = whole.index.to_numpy()
    half = set(np.random.default_rng(0).choice(clients, len(clients) // 2, replace=False))
    bureau = side["bureau"]
    bureau_ids = set(bureau.loc[bureau[schema.CLIENT_ID].isin(half), "SK_ID_BUREAU"])
    for chosen in (half, set(clients) - half):
        ids = bureau_ids if chosen is half else set(bureau["SK_ID_BUREAU"]) - bureau_ids
        part = {
            t: frame[frame["SK_ID_BUREAU"].isin(ids)]
            if t == "bureau_balance"
            else frame[frame[schema.CLIENT_ID].isin(chosen)]
            for t, frame in side.items()
        }
        alone = build_history_features(part, CONFIG)
        pd.testing.assert_frame_equal(alone, whole.loc[alone.index], check_exact=True)
    assert (
        side["installments_payments"]
        .duplicated(["SK_ID_PREV", "NUM_INSTALMENT_NUMBER", "NUM_INSTALMENT_VERSION"])
        .any()
    )  # split payments occur, so the order of their sum is tested
