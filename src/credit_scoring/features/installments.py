"""Instalment payments of previous credits per client (installments_payments)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features.common import CLIENT_ID, group_agg, numeric_values, safe_ratio

# One instalment of a previous credit. Kaggle splits a partly paid instalment over several rows
# that each repeat AMT_INSTALMENT; a new version of the schedule is another instalment.
INSTALMENT_KEYS = (schema.PREVIOUS_ID, "NUM_INSTALMENT_NUMBER", "NUM_INSTALMENT_VERSION")
# Paid sums of split payments are floats: an instalment short by less than this is fully paid.
AMOUNT_TOLERANCE = 0.01


def _instalment_codes(inst: pd.DataFrame) -> np.ndarray:
    """One int64 code per (client, SK_ID_PREV, number, version) of each row (missing keys too),
    ordered as the key values are: a client's instalments sort the same way whatever other
    clients the table holds (so a part of the table gives the client the same features)."""
    columns = (CLIENT_ID, *INSTALMENT_KEYS)
    codes = [
        pd.factorize(inst[c].to_numpy(), sort=True, use_na_sentinel=False)[0] for c in columns
    ]
    sizes = [int(c.max()) + 1 if len(c) else 1 for c in codes]
    if float(np.prod(sizes, dtype=np.float64)) >= 2.0**62:  # combined key could overflow
        return pd.MultiIndex.from_arrays(codes).factorize(sort=True)[0].astype(np.int64)
    key = np.zeros(len(inst), dtype=np.int64)
    for code, size in zip(codes, sizes, strict=True):
        key = key * size + code
    return key


def per_instalment(inst: pd.DataFrame) -> pd.DataFrame:
    """Roll the payment rows of installments_payments up to one row per instalment.

    One sort of the instalment codes and ``reduceat`` over its runs (no hash groupby: most
    instalments are a single row, so a groupby would build nearly one group per row).

    Args:
        inst: installments_payments rows.

    Returns:
        One row per (SK_ID_CURR, SK_ID_PREV, NUM_INSTALMENT_NUMBER, NUM_INSTALMENT_VERSION):
        SK_ID_CURR, DUE (AMT_INSTALMENT, counted once), DAYS_DUE, PAID (sum of the payments, 0
        when none), LAST_PAYMENT (latest DAYS_ENTRY_PAYMENT) and MISSED (1 when something was
        due and no payment, i.e. a row with a date and a positive amount, was made).
    """
    codes = _instalment_codes(inst)
    order = np.argsort(codes, kind="stable")  # runs of equal codes, each in file order
    codes = codes[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]][: len(codes)])

    def column(name: str) -> np.ndarray:
        return numeric_values(inst, name).to_numpy()[order]

    def run_max(values: np.ndarray) -> np.ndarray:  # NaN-aware max of each run
        return np.fmax.reduceat(values, starts)

    paid, entry = column("AMT_PAYMENT"), column("DAYS_ENTRY_PAYMENT")
    payment = ~np.isnan(entry) & (paid > 0)
    made = np.add.reduceat(payment.astype(np.int64), starts)
    rows = pd.DataFrame(
        {
            CLIENT_ID: inst[CLIENT_ID].to_numpy()[order][starts].astype(np.int64),
            "DUE": run_max(column("AMT_INSTALMENT")),
            "DAYS_DUE": run_max(column("DAYS_INSTALMENT")),
            "PAID": np.add.reduceat(np.where(payment, paid, 0.0), starts),
            "LAST_PAYMENT": run_max(np.where(payment, entry, np.nan)),
        }
    )
    rows["MISSED"] = ((made == 0) & (rows["DUE"] > 0)).astype("float64")
    return rows


def installments_features(inst: pd.DataFrame, config: FeaturesConfig) -> pd.DataFrame:
    """Aggregate instalments per client, prefix INST_ (see :func:`per_instalment`).

    Split payments of one instalment are summed and its amount due counted once. A missed
    instalment (nothing paid) is paid 0: late, underpaid and counted in INST_MISSED_COUNT; its
    days late are unknown (NaN). Days late/early compare the last payment with the due date.

    Args:
        inst: installments_payments rows.
        config: recent window (``recent_days`` on DAYS_INSTALMENT).

    Returns:
        One row per client: instalment count, payment ratio and difference, days late/early,
        late, missed and underpaid counts and shares, totals, recent stats.
    """
    rows = per_instalment(inst)
    due, paid = rows["DUE"], rows["PAID"]
    delay = rows["LAST_PAYMENT"] - rows["DAYS_DUE"]
    missed = rows["MISSED"] == 1
    late = ((delay > 0) | missed).astype("float64").where(delay.notna() | missed)
    days_late = delay.clip(lower=0)
    ratio = safe_ratio(paid, due)
    recent = (rows["DAYS_DUE"] >= -config.recent_days).to_numpy()
    work: dict[str, pd.Series | np.ndarray] = {
        "AMT_INSTALMENT": due,
        "AMT_PAYMENT": paid,
        "PAYMENT_RATIO": ratio,
        "PAYMENT_DIFF": due - paid,
        "DAYS_LATE": days_late,
        "DAYS_EARLY": (-delay).clip(lower=0),
        "LATE": late,
        "LATE_FLAG": late.fillna(0.0),
        "MISSED": rows["MISSED"],
        "UNDERPAID": (paid < due - AMOUNT_TOLERANCE).astype("float64").where(due.notna()),
        "RECENT": recent.astype(np.uint8),
        "RECENT_PAYMENT_RATIO": ratio.where(recent),
        "RECENT_DAYS_LATE": days_late.where(recent),
        "RECENT_LATE": late.where(recent),
        "RECENT_MISSED": rows["MISSED"].where(recent, 0.0),
    }
    out = group_agg(
        work,
        rows[CLIENT_ID],
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
            ("INST_MISSED_COUNT", "MISSED", "sum"),
            ("INST_MISSED_SHARE", "MISSED", "mean"),
            ("INST_UNDERPAID_SHARE", "UNDERPAID", "mean"),
            ("INST_AMT_INSTALMENT_SUM", "AMT_INSTALMENT", "sum"),
            ("INST_AMT_PAYMENT_SUM", "AMT_PAYMENT", "sum"),
            ("INST_RECENT_COUNT", "RECENT", "sum"),
            ("INST_RECENT_PAYMENT_RATIO_MEAN", "RECENT_PAYMENT_RATIO", "mean"),
            ("INST_RECENT_DAYS_LATE_MEAN", "RECENT_DAYS_LATE", "mean"),
            ("INST_RECENT_LATE_SHARE", "RECENT_LATE", "mean"),
            ("INST_RECENT_MISSED_COUNT", "RECENT_MISSED", "sum"),
        ],
    )
    out["INST_TOTAL_PAYMENT_RATIO"] = safe_ratio(
        out["INST_AMT_PAYMENT_SUM"], out["INST_AMT_INSTALMENT_SUM"]
    )
    return out
