"""Instalment payments of previous credits per client (installments_payments)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.features.common import CLIENT_ID, group_agg, numeric_values, safe_ratio


def installments_features(inst: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate instalment payments per client, prefix INST_.

    Each row is one payment of one instalment (ratios are per row, as in the Kaggle table).

    Args:
        inst: installments_payments rows.
        config: recent window (``recent_days`` on DAYS_INSTALMENT).

    Returns:
        One row per client: payment ratio and difference, days late/early, late and underpaid
        shares, totals, recent stats. Rows without a payment date are left out of the late stats.
    """
    due = numeric_values(inst, "AMT_INSTALMENT")
    paid = numeric_values(inst, "AMT_PAYMENT")
    delay = numeric_values(inst, "DAYS_ENTRY_PAYMENT") - numeric_values(inst, "DAYS_INSTALMENT")
    days_late = delay.clip(lower=0)
    late = (delay > 0).astype("float64").where(delay.notna())
    ratio = safe_ratio(paid, due)
    recent = (numeric_values(inst, "DAYS_INSTALMENT") >= -config.recent_days).to_numpy()
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
    out = group_agg(
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
    out["INST_TOTAL_PAYMENT_RATIO"] = safe_ratio(
        out["INST_AMT_PAYMENT_SUM"], out["INST_AMT_INSTALMENT_SUM"]
    )
    return out
