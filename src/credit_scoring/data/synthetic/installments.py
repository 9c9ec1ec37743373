"""installments_payments: one payment per due POS month, late on late months, sometimes short;
optionally split in partial payments (or thinned) to reach a target row count."""

from __future__ import annotations

import numpy as np

from credit_scoring.data.synthetic.distributions import column_facts, expand, from_frequencies

# Days between two partial payments of the same instalment: uniform in [0, PART_GAP_DAYS).
PART_GAP_DAYS = 10


def draw_installments(rng: np.random.Generator, prev: dict, pos: dict) -> dict:
    """One instalment per due POS month: paid late on late months, sometimes short."""
    rows = np.flatnonzero(pos["live"] & (pos["due"] <= -1))
    due, dpd, n = pos["due"][rows], pos["SK_DPD"][rows], rows.size
    prev_row = pos["prev_row"][rows]
    late = dpd > 0
    entry = np.minimum(due + np.where(late, dpd, -rng.integers(0, 15, n)), -1)
    amount = np.round(prev["AMT_ANNUITY"][prev_row], 2)
    short = (late & (rng.random(n) < 0.4)) | (rng.random(n) < 0.01)
    versions = column_facts("installments_payments", "NUM_INSTALMENT_VERSION")["frequencies"]
    versions = {k: v for k, v in versions.items() if float(k) > 0}
    return {
        "prev_row": prev_row,
        "NUM_INSTALMENT_VERSION": from_frequencies(versions, rng.random(n)),
        "NUM_INSTALMENT_NUMBER": pos["step"][rows] + 1,
        "DAYS_INSTALMENT": due,
        "DAYS_ENTRY_PAYMENT": entry,
        "AMT_INSTALMENT": amount,
        "AMT_PAYMENT": np.where(short, amount * rng.uniform(0.1, 0.95, n), amount),
    }


def split_payments(rng: np.random.Generator, inst: dict, payments: float) -> dict:
    """Rows of ``inst`` with a mean of ``payments`` rows per instalment.

    Above 1, instalment i is paid in ``1 + Poisson(payments - 1)`` parts (random shares of its
    AMT_PAYMENT, paid a few days apart, never after day -1); below 1, a random share
    ``payments`` of the instalments is kept. Exactly 1 returns ``inst`` and draws nothing.
    """
    if payments == 1.0:
        return inst
    n = inst["prev_row"].size
    if payments < 1.0:
        keep = rng.random(n) < payments
        return {column: values[keep] for column, values in inst.items()}
    row, position = expand(1 + rng.poisson(payments - 1.0, n))
    out = {column: values[row] for column, values in inst.items()}
    weight = rng.uniform(0.2, 1.0, row.size)
    share = weight / np.bincount(row, weights=weight, minlength=n)[row]
    out["AMT_PAYMENT"] = out["AMT_PAYMENT"] * share
    gap = position * rng.integers(0, PART_GAP_DAYS, row.size)
    out["DAYS_ENTRY_PAYMENT"] = np.minimum(out["DAYS_ENTRY_PAYMENT"] + gap, -1)
    return out
