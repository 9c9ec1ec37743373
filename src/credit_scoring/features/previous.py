"""Previous Home Credit applications per client (previous_application)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features.common import (
    CLIENT_ID,
    PREV_PLACEHOLDER_DAYS,
    Agg,
    SplitStats,
    category_indicators,
    equals,
    group_agg,
    numeric_values,
    safe_ratio,
    slug,
    split_aggregations,
)

# Statistics of the approved and refused applications apart: (column, functions) per status.
# PREV_APPROVED_AMT_CREDIT_SUM and PREV_REFUSED_DAYS_DECISION_MAX are built separately.
STATUS_SPLIT_STATS: SplitStats = {
    "Approved": (
        ("AMT_ANNUITY", ("mean", "max")),
        ("AMT_APPLICATION", ("mean", "max")),
        ("AMT_CREDIT", ("mean", "max")),
        ("APPLICATION_CREDIT_RATIO", ("mean", "min")),
        ("CNT_PAYMENT", ("mean", "sum")),
        ("DAYS_DECISION", ("max",)),
    ),
    "Refused": (
        ("AMT_ANNUITY", ("mean",)),
        ("AMT_APPLICATION", ("mean", "max")),
        ("AMT_CREDIT", ("mean",)),
        ("APPLICATION_CREDIT_RATIO", ("mean", "max")),
        ("CNT_PAYMENT", ("mean",)),
    ),
}
# Categorical columns whose share of each level (bar "XNA", not applicable) is a feature.
SHARE_COLUMNS = {
    "NAME_YIELD_GROUP": "YIELD",
    "NAME_CLIENT_TYPE": "CLIENT",
    "NAME_PRODUCT_TYPE": "PRODUCT",
}


def _share_indicators(prev: pd.DataFrame) -> dict[str, np.ndarray]:
    """0/1 indicator of each level of :data:`SHARE_COLUMNS` (``PREV_<KIND>_<LEVEL>_SHARE``)."""
    indicators: dict[str, np.ndarray] = {}
    for column, kind in SHARE_COLUMNS.items():
        levels = [v for v in schema.known_categories("previous_application", column) if v != "XNA"]
        names = [f"PREV_{kind}_{slug(v)}_SHARE" for v in levels]
        indicators.update(category_indicators(prev[column], levels, names))
    return indicators


def previous_features(prev: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate previous Home Credit applications per client, prefix PREV_.

    Args:
        prev: previous_application rows.
        config: recent window (``recent_days`` on DAYS_DECISION).

    Returns:
        One row per client: status/contract/reject-reason counts, approved/refused shares,
        amounts, application/credit ratio, CNT_PAYMENT, decision and due dates (365243 read as
        missing), recent stats, the stats of approved and refused applications apart
        (:data:`STATUS_SPLIT_STATS`) and the shares of contract types, yield groups, client
        and product types.
    """
    status_levels = schema.known_categories("previous_application", "NAME_CONTRACT_STATUS")
    status_names = [f"PREV_{slug(v)}_COUNT" for v in status_levels]
    type_levels = [
        v
        for v in schema.known_categories("previous_application", "NAME_CONTRACT_TYPE")
        if v != "XNA"
    ]
    type_names = [f"PREV_CONTRACT_{slug(v)}_COUNT" for v in type_levels]
    reject_levels = [
        v
        for v in schema.known_categories("previous_application", "CODE_REJECT_REASON")
        if v not in ("XAP", "XNA")
    ]
    reject_names = [f"PREV_REJECT_{slug(v)}_COUNT" for v in reject_levels]
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
    work: dict[str, pd.Series | np.ndarray] = {c: numeric_values(prev, c) for c in raw}
    for column in PREV_PLACEHOLDER_DAYS:
        values = numeric_values(prev, column)
        work[column] = values.mask(values == schema.DAYS_EMPLOYED_ANOMALY)
    indicators = category_indicators(prev["NAME_CONTRACT_STATUS"], status_levels, status_names)
    indicators.update(category_indicators(prev["NAME_CONTRACT_TYPE"], type_levels, type_names))
    indicators.update(category_indicators(prev["CODE_REJECT_REASON"], reject_levels, reject_names))
    for name, values in indicators.items():
        work[name] = values
    approved = equals(prev["NAME_CONTRACT_STATUS"], "Approved")
    refused = equals(prev["NAME_CONTRACT_STATUS"], "Refused")
    credit = numeric_values(prev, "AMT_CREDIT")
    decision = numeric_values(prev, "DAYS_DECISION")
    recent = (decision >= -config.recent_days).to_numpy()
    work["APPLICATION_CREDIT_RATIO"] = safe_ratio(numeric_values(prev, "AMT_APPLICATION"), credit)
    work["APPROVED_AMT_CREDIT"] = credit.where(approved)
    work["REFUSED_DAYS_DECISION"] = decision.where(refused)
    work["RECENT"] = recent.astype(np.uint8)
    work["RECENT_REFUSED"] = (recent & refused).astype(np.uint8)
    shares = _share_indicators(prev)
    work.update(shares)

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
        ("PREV_DAYS_FIRST_DRAWING_MIN", "DAYS_FIRST_DRAWING", "min"),
        ("PREV_DAYS_FIRST_DRAWING_MAX", "DAYS_FIRST_DRAWING", "max"),
        ("PREV_DAYS_FIRST_DUE_MIN", "DAYS_FIRST_DUE", "min"),
        ("PREV_DAYS_FIRST_DUE_MAX", "DAYS_FIRST_DUE", "max"),
        ("PREV_DAYS_FIRST_DUE_MEAN", "DAYS_FIRST_DUE", "mean"),
        ("PREV_DAYS_LAST_DUE_MAX", "DAYS_LAST_DUE", "max"),
        ("PREV_DAYS_LAST_DUE_MEAN", "DAYS_LAST_DUE", "mean"),
        ("PREV_NFLAG_INSURED_ON_APPROVAL_MEAN", "NFLAG_INSURED_ON_APPROVAL", "mean"),
        ("PREV_RECENT_COUNT", "RECENT", "sum"),
        ("PREV_RECENT_REFUSED_COUNT", "RECENT_REFUSED", "sum"),
    ]
    specs += split_aggregations(work, prev["NAME_CONTRACT_STATUS"], STATUS_SPLIT_STATS, "PREV")
    specs += [(name, name, "mean") for name in shares]
    out = group_agg(work, prev[CLIENT_ID], specs)
    out["PREV_APPROVED_SHARE"] = safe_ratio(out["PREV_APPROVED_COUNT"], out["PREV_COUNT"])
    out["PREV_REFUSED_SHARE"] = safe_ratio(out["PREV_REFUSED_COUNT"], out["PREV_COUNT"])
    out["PREV_RECENT_REFUSED_SHARE"] = safe_ratio(
        out["PREV_RECENT_REFUSED_COUNT"], out["PREV_RECENT_COUNT"]
    )
    for name in type_names:
        out[name.replace("_COUNT", "_SHARE")] = safe_ratio(out[name], out["PREV_COUNT"])
    return out
