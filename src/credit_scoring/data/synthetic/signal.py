"""The default signal: TARGET drawn from the latent risk and non-linear terms on values a
model can see, at the configured default rate."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from credit_scoring.data.schema import DAYS_PER_YEAR
from credit_scoring.data.synthetic.distributions import (
    Population,
    calibrated_intercept,
)
from credit_scoring.data.synthetic.history import PREV

# Logit of default: weight of the latent risk and of the non-linear terms on observed values.
RISK_COEF = 0.7
TARGET_TERMS = {
    "young_and_burdened": 2.2,  # annuity / income > 0.25 and younger than 32
    "mid_term": 1.4,  # AMT_CREDIT / AMT_ANNUITY between 14 and 22 (non-monotone effect)
    "late_instalments": 1.0,  # three or more late instalments
    "bureau_overdue": 0.5,  # an active bureau credit overdue today
    "card_near_limit": 0.5,  # mean credit card utilisation above 0.85
    "refused_twice": 0.3,  # two or more refused previous applications
    "low_ext_source": 0.5,  # EXT_SOURCE_3 below 0.15
}


def _per_client(owner: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum of ``values`` per client index."""
    return np.bincount(owner, weights=values.astype(float), minlength=n)


def _target_terms(cols: dict, side: dict, n: int) -> dict[str, np.ndarray]:
    """0/1 indicators of the non-linear default drivers, on values a model can observe."""
    prev, inst, bureau, card = side[PREV], side["installments"], side["bureau"], side["cards"]
    inst_owner = prev["owner"][inst["prev_row"]]
    late = _per_client(inst_owner, inst["DAYS_ENTRY_PAYMENT"] > inst["DAYS_INSTALMENT"], n)
    card_owner = prev["owner"][card["prev_row"]]
    card_rows = np.bincount(card_owner, minlength=n)
    util = _per_client(card_owner, card["util"], n) / np.maximum(card_rows, 1)
    burden = cols["AMT_ANNUITY"] / cols["AMT_INCOME_TOTAL"]
    term = cols["AMT_CREDIT"] / cols["AMT_ANNUITY"]
    young = cols["DAYS_BIRTH"] > -32 * DAYS_PER_YEAR
    refused = _per_client(prev["owner"], prev["NAME_CONTRACT_STATUS"] == "Refused", n)
    overdue = _per_client(bureau["owner"], bureau["CREDIT_DAY_OVERDUE"] > 0, n)
    return {
        "young_and_burdened": (burden > 0.25) & young,
        "late_instalments": late >= 3,
        "bureau_overdue": overdue > 0,
        "card_near_limit": util > 0.85,
        "refused_twice": refused >= 2,
        "low_ext_source": np.nan_to_num(cols["EXT_SOURCE_3"], nan=1.0) < 0.15,
        "mid_term": (term >= 14) & (term <= 22),
    }


def draw_target(rng: np.random.Generator, pop: Population, cols: dict, side: dict, rate: float):
    """TARGET of every client: realised rate on application_train calibrated to ``rate``."""
    terms = _target_terms(cols, side, pop.size)
    logit = RISK_COEF * pop.latent["risk"]
    for name, weight in TARGET_TERMS.items():
        logit = logit + weight * terms[name]
    u = rng.random(pop.size)
    train = ~pop.is_test
    intercept = calibrated_intercept(logit[train], rate, u[train])
    return (u < expit(intercept + logit)).astype(np.int64)
