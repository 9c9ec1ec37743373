"""POS and cash loans' monthly balances per client (POS_CASH_balance)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features.common import CLIENT_ID, equals, group_agg, numeric_values


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
    order = _loan_month_order(clients, loans, numeric_values(pos, "MONTHS_BALANCE").to_numpy())
    clients, loans = clients[order], loans[order]
    starts = np.flatnonzero(
        np.r_[True, (clients[1:] != clients[:-1]) | (loans[1:] != loans[:-1])][: len(order)]
    )
    ends = np.r_[starts[1:], len(order)][: len(starts)] - 1
    completed = equals(pos["NAME_CONTRACT_STATUS"], "Completed")[order].astype(np.uint8)
    loan_columns = {
        "COMPLETED": np.maximum.reduceat(completed, starts) if len(order) else completed,
        "REMAINING": numeric_values(pos, "CNT_INSTALMENT_FUTURE").to_numpy()[order][ends],
    }
    return group_agg(
        loan_columns,
        pd.Series(clients[starts], name=CLIENT_ID),
        [
            ("POS_LOANS_COUNT", None, "size"),
            ("POS_COMPLETED_COUNT", "COMPLETED", "sum"),
            ("POS_REMAINING_INSTALMENTS_SUM", "REMAINING", "sum"),
        ],
    )


def pos_cash_features(pos: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate monthly POS / cash loan balances per client, prefix POS_.

    Args:
        pos: POS_CASH_balance rows.
        config: recent window (``recent_months`` on MONTHS_BALANCE).

    Returns:
        One row per client: months and loans counts, DPD stats and shares, completed loans,
        remaining instalments (at each loan's last month), recent stats.
    """
    keys = pos[CLIENT_ID]
    months = numeric_values(pos, "MONTHS_BALANCE")
    dpd = numeric_values(pos, "SK_DPD")
    dpd_def = numeric_values(pos, "SK_DPD_DEF")
    recent = (months >= -config.recent_months).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "MONTHS_BALANCE": months,
        "SK_DPD": dpd,
        "SK_DPD_DEF": dpd_def,
        "DPD": (dpd > 0).astype("float64").where(dpd.notna()),
        "DPD_DEF": (dpd_def > 0).astype("float64").where(dpd_def.notna()),
        "CNT_INSTALMENT": numeric_values(pos, "CNT_INSTALMENT"),
        "RECENT": recent.astype(np.uint8),
        "RECENT_SK_DPD": dpd.where(recent),
        "RECENT_DPD": (dpd > 0).astype("float64").where(dpd.notna() & recent),
    }
    out = group_agg(
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
