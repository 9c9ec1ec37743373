"""The evaluate stage's metrics: a short headline for `dvc metrics`, every score in a table."""

from __future__ import annotations

import pytest

from credit_scoring.modeling.evaluate import (
    CHAMPION_METRICS,
    FAMILY_METRICS,
    family_table,
    headline_metrics,
)

SCORES = {
    family: {
        "cv_auc": 0.7 + i / 100 + 1.23456e-6,
        "cv_auc_std": 0.01,
        "cv_business_score": 0.6 + i / 100,
        "cv_business_score_std": 0.02,
        "threshold": 0.09,
        "holdout_auc": 0.71 + i / 100,
        "holdout_business_score": 0.61,
        "holdout_f1": 0.3,
        "holdout_ece": 0.012345678,
        "holdout_refusal_rate": 0.25,
        "holdout_brier": 0.07,
        "holdout_precision": 0.2,
    }
    for i, family in enumerate(["logreg", "random_forest", "xgboost", "lightgbm"])
}


def test_headline_holds_the_champion_and_four_figures_per_family_rounded():
    metrics = headline_metrics(SCORES, "xgboost")
    assert len(metrics) == len(CHAMPION_METRICS) + 4 * len(FAMILY_METRICS) == 26
    assert metrics["champion.cv_auc"] == metrics["xgboost.cv_auc"] == 0.72  # 1e-6 noise gone
    assert metrics["champion.holdout_ece"] == 0.0123
    assert "logreg.holdout_brier" not in metrics and "champion.holdout_brier" not in metrics


def test_family_table_keeps_every_score_and_flags_the_champion():
    table = family_table(SCORES, "lightgbm").set_index("family")
    assert set(SCORES["logreg"]) <= set(table.columns)
    assert table["champion"].tolist() == [False, False, False, True]
    assert table.loc["random_forest", "holdout_precision"] == 0.2
    assert table.loc["logreg", "cv_auc"] == pytest.approx(0.7, abs=1e-12)
