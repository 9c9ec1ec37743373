"""Debt-to-income features: history aggregates of several tables over the applicant's income.

They need the application row and the client's history at once, so
:func:`credit_scoring.features.build_features` adds them after the join (one row or many).
"""

from __future__ import annotations

import pandas as pd

from credit_scoring.features.common import safe_ratio

INCOME = "AMT_INCOME_TOTAL"
# Ratio name -> (numerator column, denominator column); every column is a built feature.
DEBT_INCOME_RATIOS: dict[str, tuple[str, str]] = {
    "BUREAU_ACTIVE_DEBT_INCOME_RATIO": ("BUREAU_ACTIVE_DEBT_SUM", INCOME),
    "BUREAU_ACTIVE_CREDIT_INCOME_RATIO": ("BUREAU_ACTIVE_AMT_CREDIT_SUM_SUM", INCOME),
    "BUREAU_ACTIVE_ANNUITY_INCOME_RATIO": ("BUREAU_ACTIVE_AMT_ANNUITY_SUM", INCOME),
    "PREV_APPROVED_ANNUITY_INCOME_RATIO": ("PREV_APPROVED_AMT_ANNUITY_MEAN", INCOME),
    "CC_BALANCE_INCOME_RATIO": ("CC_AMT_BALANCE_MEAN", INCOME),
    "CC_LIMIT_INCOME_RATIO": ("CC_AMT_CREDIT_LIMIT_ACTUAL_MAX", INCOME),
}
TOTAL_DEBT_INCOME_RATIO = "TOTAL_DEBT_INCOME_RATIO"
DEBT_INCOME_COLUMNS = (*DEBT_INCOME_RATIOS, TOTAL_DEBT_INCOME_RATIO)


def debt_income_features(features: pd.DataFrame) -> pd.DataFrame:
    """Debt, credit, annuity and card balance of the history over AMT_INCOME_TOTAL.

    Args:
        features: application features joined with the history aggregates (one row per
            application).

    Returns:
        Float64 columns :data:`DEBT_INCOME_COLUMNS`, same index as ``features``: NaN for a
        missing or zero income and for a missing aggregate, except TOTAL_DEBT_INCOME_RATIO,
        (this application's AMT_CREDIT + the active bureau debt, 0 when none is known) / income.
    """
    ratios = {
        name: safe_ratio(features[top], features[bottom])
        for name, (top, bottom) in DEBT_INCOME_RATIOS.items()
    }
    total_debt = features["AMT_CREDIT"] + features["BUREAU_ACTIVE_DEBT_SUM"].fillna(0.0)
    ratios[TOTAL_DEBT_INCOME_RATIO] = safe_ratio(total_debt, features[INCOME])
    return pd.DataFrame(ratios, index=features.index, dtype="float64")
