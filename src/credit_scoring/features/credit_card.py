"""Credit card monthly balances per client (credit_card_balance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.features.common import CLIENT_ID, group_agg, numeric_values, safe_ratio


def credit_card_features(cc: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate monthly credit card balances per client, prefix CC_.

    Args:
        cc: credit_card_balance rows.
        config: recent window (``recent_months`` on MONTHS_BALANCE).

    Returns:
        One row per client: months count, utilisation (balance / limit), balances, limits,
        drawings, payments vs the minimum instalment, DPD stats, recent stats.
    """
    balance = numeric_values(cc, "AMT_BALANCE")
    limit = numeric_values(cc, "AMT_CREDIT_LIMIT_ACTUAL")
    paid = numeric_values(cc, "AMT_PAYMENT_TOTAL_CURRENT")
    minimum = numeric_values(cc, "AMT_INST_MIN_REGULARITY")
    dpd = numeric_values(cc, "SK_DPD")
    drawings = numeric_values(cc, "AMT_DRAWINGS_CURRENT")
    utilisation = safe_ratio(balance, limit)
    has_minimum = (minimum > 0) & paid.notna()
    recent = (numeric_values(cc, "MONTHS_BALANCE") >= -config.recent_months).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "UTILISATION": utilisation,
        "AMT_BALANCE": balance,
        "AMT_CREDIT_LIMIT_ACTUAL": limit,
        "AMT_DRAWINGS_CURRENT": drawings,
        "AMT_DRAWINGS_ATM_CURRENT": numeric_values(cc, "AMT_DRAWINGS_ATM_CURRENT"),
        "CNT_DRAWINGS_CURRENT": numeric_values(cc, "CNT_DRAWINGS_CURRENT"),
        "AMT_PAYMENT_TOTAL_CURRENT": paid,
        "PAYMENT_MIN_RATIO": safe_ratio(paid, minimum),
        "BELOW_MIN": (paid < minimum).astype("float64").where(has_minimum),
        "AMT_TOTAL_RECEIVABLE": numeric_values(cc, "AMT_TOTAL_RECEIVABLE"),
        "CNT_INSTALMENT_MATURE_CUM": numeric_values(cc, "CNT_INSTALMENT_MATURE_CUM"),
        "SK_DPD": dpd,
        "SK_DPD_DEF": numeric_values(cc, "SK_DPD_DEF"),
        "DPD": (dpd > 0).astype("float64").where(dpd.notna()),
        "RECENT": recent.astype(np.uint8),
        "RECENT_UTILISATION": utilisation.where(recent),
        "RECENT_DRAWINGS": drawings.where(recent),
        "RECENT_SK_DPD": dpd.where(recent),
    }
    return group_agg(
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
