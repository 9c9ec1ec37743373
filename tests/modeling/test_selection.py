"""Champion selection: paired fold differences and the one-standard-error rule."""

import numpy as np
import pandas as pd
import pytest

from credit_scoring.modeling.selection import select_champion
from credit_scoring.modeling.train import TrainedCandidate


def candidate(family: str, scores: list[float], rows: int = 100) -> TrainedCandidate:
    folds = pd.DataFrame(
        {
            "repeat": [i // 5 for i in range(len(scores))],
            "fold": [i % 5 for i in range(len(scores))],
            "rows": rows,
            "auc": 0.7,
            "threshold": 0.1,
            "business_score": scores,
        }
    )
    return TrainedCandidate(
        family, None, 0.1, {}, 0.7, float(np.mean(scores)), pd.DataFrame(), pd.DataFrame(), folds
    )


BASE = [0.70, 0.72, 0.69, 0.71, 0.73, 0.70, 0.72, 0.71, 0.69, 0.72]


def test_a_simpler_family_within_noise_wins():
    noisy = [s + d for s, d in zip(BASE, [0.01, -0.02, 0.03, -0.01, 0.02] * 2, strict=True)]
    candidates = {"xgboost": candidate("xgboost", noisy), "logreg": candidate("logreg", BASE)}
    champion, table = select_champion(candidates, ["logreg", "lightgbm", "xgboost"])
    rows = table.set_index("family")
    assert rows.loc["xgboost", "diff_to_best"] == 0.0  # xgboost has the best mean
    assert rows.loc["logreg", "within_noise"] and champion == "logreg"
    assert rows["champion"].sum() == 1 and rows.loc["logreg", "champion"]


def test_a_clearly_better_family_wins_whatever_the_preference():
    better = [s + 0.05 + 0.002 * (i % 3) for i, s in enumerate(BASE)]
    candidates = {"xgboost": candidate("xgboost", better), "logreg": candidate("logreg", BASE)}
    champion, table = select_champion(candidates, ["logreg", "xgboost"])
    assert champion == "xgboost"
    assert not table.set_index("family").loc["logreg", "within_noise"]


def test_families_on_other_folds_cannot_be_compared():
    candidates = {"a": candidate("a", BASE, rows=100), "b": candidate("b", BASE, rows=90)}
    with pytest.raises(ValueError, match="other folds"):
        select_champion(candidates, [])
