"""Choosing the champion among the families without chasing noise.

Every family is scored on the same assessment folds, so the comparison is paired: per fold, the
best family's cross-fitted business score minus the family's. Its standard error uses the
Nadeau–Bengio correction for cross-validation (training sets overlap, so fold scores are not
independent): ``se = std(d) * sqrt(1/n + n_valid/n_train)``. One-standard-error rule: every
family whose mean difference is within one such error of the best is "as good within noise",
and the first of them in the preference order (simplest or cheapest first) becomes champion.
The held-out rows are never used to choose.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.modeling.train import TrainedCandidate

SCORE = "business_score"
SCORE_COLUMN = "cv_business_score"
KEYS = ["repeat", "fold"]


def corrected_standard_error(diff: Any, valid_to_train: float) -> float:
    """Nadeau–Bengio standard error of the mean of per-fold paired differences ``diff``:
    ``std(d) * sqrt(1/n + n_valid/n_train)`` (``valid_to_train``: 1/(k-1) for k folds)."""
    return float(diff.std(ddof=1) * np.sqrt(1 / len(diff) + valid_to_train))


def paired_differences(candidates: Mapping[str, TrainedCandidate]) -> pd.DataFrame:
    """Per family (rows) and assessment fold (columns): the family's cross-fitted business score.

    Raises:
        ValueError: when the families were not assessed on the same folds.
    """
    frames = {}
    reference = next(iter(candidates.values())).fold_scores.set_index(KEYS)["rows"]
    for family, candidate in candidates.items():
        scores = candidate.fold_scores.set_index(KEYS)
        frames[family] = scores[SCORE]
        if not scores["rows"].equals(reference):
            raise ValueError(f"{family} was assessed on other folds than the other families")
    return pd.DataFrame(frames).T


def select_champion(
    candidates: Mapping[str, TrainedCandidate], preference: Sequence[str]
) -> tuple[str, pd.DataFrame]:
    """The champion by the one-standard-error rule, and the comparison table.

    Args:
        candidates: trained families, assessed on the same folds.
        preference: family keys, simplest or cheapest first; families not listed come last.

    Returns:
        The champion and a table per family: mean and std of the fold business scores, the mean
        paired difference to the best family and its corrected standard error, ``within_noise``.
    """
    if not candidates:
        raise ValueError("no trained model to choose from: enable at least one family")
    scores = paired_differences(candidates)
    best = str(scores.mean(axis=1).idxmax())
    n_folds = scores.shape[1]
    first = next(iter(candidates.values())).fold_scores
    n_valid = float(first["rows"].mean())
    folds_per_repeat = int(first.groupby("repeat").size().iloc[0])
    n_train = n_valid * (folds_per_repeat - 1)
    rows = []
    for family in scores.index:
        diff = scores.loc[best] - scores.loc[family]
        se = corrected_standard_error(diff, n_valid / n_train) if n_folds > 1 else 0.0
        rows.append(
            {
                "family": family,
                "cv_business_score": float(scores.loc[family].mean()),
                "cv_business_score_std": float(scores.loc[family].std(ddof=1)),
                "diff_to_best": float(diff.mean()),
                "diff_se": se,
                "within_noise": bool(diff.mean() <= se),
            }
        )
    table = pd.DataFrame(rows).set_index("family")
    order = {family: rank for rank, family in enumerate(preference)}
    eligible = table.index[table["within_noise"]]
    champion = min(eligible, key=lambda f: (order.get(f, len(order)), -table.loc[f, SCORE_COLUMN]))
    table["champion"] = table.index == champion
    return str(champion), table.reset_index()
