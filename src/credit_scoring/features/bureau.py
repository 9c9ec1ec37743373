"""Credit bureau history per client: bureau credits and their monthly bureau_balance."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features.common import (
    BUREAU_TOP_CREDIT_TYPES,
    CLIENT_ID,
    Agg,
    SplitStats,
    category_codes,
    category_indicators,
    equals,
    group_agg,
    numeric_values,
    safe_ratio,
    slug,
    split_aggregations,
)

# Statistics of the ACTIVE and CLOSED credits apart: (column, functions) per CREDIT_ACTIVE value.
# The debt of active credits is BUREAU_ACTIVE_DEBT_SUM.
STATUS_SPLIT_STATS: SplitStats = {
    "Active": (
        ("DAYS_CREDIT", ("min", "max", "mean")),
        ("DAYS_CREDIT_ENDDATE", ("max", "mean")),
        ("DAYS_CREDIT_UPDATE", ("mean",)),
        ("AMT_CREDIT_SUM", ("sum", "mean", "max")),
        ("AMT_CREDIT_SUM_DEBT", ("mean", "max")),
        ("AMT_CREDIT_SUM_LIMIT", ("sum",)),
        ("AMT_CREDIT_SUM_OVERDUE", ("sum",)),
        ("AMT_ANNUITY", ("sum",)),
    ),
    "Closed": (
        ("DAYS_CREDIT", ("min", "max", "mean")),
        ("DAYS_ENDDATE_FACT", ("max", "mean")),
        ("DAYS_CREDIT_UPDATE", ("mean",)),
        ("AMT_CREDIT_SUM", ("sum", "mean", "max")),
        ("AMT_CREDIT_SUM_DEBT", ("sum",)),
    ),
}


def bureau_features(bureau: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate bureau (credits at other institutions) per client, prefix BUREAU_.

    Args:
        bureau: bureau rows.
        config: recent window (``recent_days`` on DAYS_CREDIT).

    Returns:
        One row per client with counts, amounts, overdue stats, ratios, recent stats and the
        stats of active and closed credits apart (:data:`STATUS_SPLIT_STATS`).
    """
    status_levels = schema.known_categories("bureau", "CREDIT_ACTIVE")
    status_names = [f"BUREAU_{slug(v)}_COUNT" for v in status_levels]
    type_levels = schema.known_categories("bureau", "CREDIT_TYPE")[:BUREAU_TOP_CREDIT_TYPES]
    type_names = [f"BUREAU_TYPE_{slug(v)}_COUNT" for v in type_levels]
    work: dict[str, pd.Series | np.ndarray] = {
        c: numeric_values(bureau, c)
        for c in (
            "DAYS_CREDIT",
            "DAYS_CREDIT_ENDDATE",
            "DAYS_ENDDATE_FACT",
            "DAYS_CREDIT_UPDATE",
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
    indicators = category_indicators(
        bureau["CREDIT_ACTIVE"], status_levels, status_names, "BUREAU_OTHER_STATUS_COUNT"
    )
    indicators.update(
        category_indicators(
            bureau["CREDIT_TYPE"], type_levels, type_names, "BUREAU_TYPE_OTHER_COUNT"
        )
    )
    for name, values in indicators.items():
        work[name] = values
    active = equals(bureau["CREDIT_ACTIVE"], "Active")
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
        ("BUREAU_DAYS_ENDDATE_FACT_MIN", "DAYS_ENDDATE_FACT", "min"),
        ("BUREAU_DAYS_ENDDATE_FACT_MAX", "DAYS_ENDDATE_FACT", "max"),
        ("BUREAU_DAYS_ENDDATE_FACT_MEAN", "DAYS_ENDDATE_FACT", "mean"),
        ("BUREAU_DAYS_CREDIT_UPDATE_MIN", "DAYS_CREDIT_UPDATE", "min"),
        ("BUREAU_DAYS_CREDIT_UPDATE_MAX", "DAYS_CREDIT_UPDATE", "max"),
        ("BUREAU_DAYS_CREDIT_UPDATE_MEAN", "DAYS_CREDIT_UPDATE", "mean"),
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
    specs += split_aggregations(work, bureau["CREDIT_ACTIVE"], STATUS_SPLIT_STATS, "BUREAU")
    out = group_agg(work, bureau[CLIENT_ID], specs)
    out["BUREAU_ACTIVE_SHARE"] = safe_ratio(out["BUREAU_ACTIVE_COUNT"], out["BUREAU_COUNT"])
    out["BUREAU_RECENT_SHARE"] = safe_ratio(out["BUREAU_RECENT_COUNT"], out["BUREAU_COUNT"])
    out["BUREAU_DEBT_CREDIT_RATIO"] = safe_ratio(
        out["BUREAU_AMT_CREDIT_SUM_DEBT_SUM"], out["BUREAU_AMT_CREDIT_SUM_SUM"]
    )
    out["BUREAU_OVERDUE_DEBT_RATIO"] = safe_ratio(
        out["BUREAU_AMT_CREDIT_SUM_OVERDUE_SUM"], out["BUREAU_AMT_CREDIT_SUM_DEBT_SUM"]
    )
    out["BUREAU_ACTIVE_DEBT_CREDIT_RATIO"] = safe_ratio(
        out["BUREAU_ACTIVE_DEBT_SUM"], out["BUREAU_ACTIVE_AMT_CREDIT_SUM_SUM"]
    )
    return out


def _status_values(levels: Sequence[str]) -> np.ndarray:
    """Numeric DPD bucket of each bureau_balance STATUS level, last slot for unknown (code -1).

    "0".."5" are the DPD buckets, "C" (closed) counts as 0, "X" (unknown) and unseen are NaN.
    """
    values = [float(v) if v.isdigit() else (0.0 if v == "C" else np.nan) for v in levels]
    return np.array([*values, np.nan], dtype=np.float32)


def bureau_balance_features(
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
    status = _status_values(levels)[category_codes(balance["STATUS"], levels)]
    late = status >= 1
    recent = (balance["MONTHS_BALANCE"] >= -config.recent_months).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "LATE": late.astype(np.uint8),
        "STATUS": status,
        "RECENT": recent.astype(np.uint8),
        "RECENT_LATE": (late & recent).astype(np.uint8),
        "RECENT_STATUS": np.where(recent, status, np.nan).astype(np.float32),
    }
    per_credit = group_agg(
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
    out = group_agg(
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
    out["BUREAU_BAL_LATE_SHARE"] = safe_ratio(
        out["BUREAU_BAL_LATE_COUNT"], out["BUREAU_BAL_MONTHS_COUNT"]
    )
    out["BUREAU_BAL_RECENT_LATE_SHARE"] = safe_ratio(
        out["BUREAU_BAL_RECENT_LATE_COUNT"], out["BUREAU_BAL_RECENT_MONTHS_COUNT"]
    )
    return out
