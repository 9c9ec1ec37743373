"""The model card: its fairness section from the flat metrics of reports/fairness.json."""

from __future__ import annotations

from credit_scoring.governance.model_card import render_model_card

METRICS = {
    "cv_auc": 0.7,
    "cv_business_score": 0.6,
    "threshold": 0.3,
    "holdout_auc": 0.75,
    "holdout_f1": 0.3,
    "holdout_business_score": 0.62,
    "holdout_refusal_rate": 0.2,
}
CARD = {
    "model_name": "credit-scoring",
    "version": "3",
    "alias": "champion",
    "release": None,
    "family": "logreg",
    "best_params": {"C": "0.1"},
    "threshold": 0.3,
    "n_features": 10,
    "data_source": "synthetic",
    "data_hash": "ab" * 32,
    "costs": {"fn_cost": 10, "fp_cost": 1},
    "metrics": {"logreg": METRICS},
    "champion_metrics": METRICS,
}
FAIRNESS = {
    "CODE_GENDER.demographic_parity_difference": 0.0871,
    "CODE_GENDER.equalized_odds_difference": 0.081,
    "CODE_GENDER.refusal_rate_ratio": 1.4041,
    "age_band.demographic_parity_difference": 0.3648,
    "age_band.equalized_odds_difference": 0.3328,
    "age_band.refusal_rate_ratio": None,
    "without_protected.auc": 0.7315,
    "without_protected.business_score": 0.611,
    "without_protected.delta_auc": -0.0185,
    "without_protected.delta_business_score": -0.009,
    "without_protected.threshold": 0.25,
    "without_protected.CODE_GENDER.demographic_parity_difference": 0.1155,
    "without_protected.CODE_GENDER.equalized_odds_difference": 0.1117,
    "without_protected.CODE_GENDER.refusal_rate_ratio": 1.4428,
    "without_protected.age_band.demographic_parity_difference": 0.293,
    "without_protected.age_band.equalized_odds_difference": 0.2568,
    "without_protected.age_band.refusal_rate_ratio": 2.4159,
}


def test_card_without_fairness_report_has_no_fairness_section():
    assert "Fairness" not in render_model_card(CARD)
    assert "Fairness" not in render_model_card(CARD | {"fairness": None})


def test_fairness_section_shows_both_models():
    card = render_model_card(CARD | {"fairness": FAIRNESS})
    section = card[card.index("## Fairness") : card.index("## Limitations")]
    assert "| CODE_GENDER | champion | 0.087 | 0.081 | 1.404 |" in section
    assert "| CODE_GENDER | without protected | 0.116 | 0.112 | 1.443 |" in section
    assert "| age_band | champion | 0.365 | 0.333 | n/a |" in section
    assert "AUC of 0.7315 (-0.0185)" in section and "0.6110 (-0.0090)" in section


def test_fairness_section_without_the_comparison():
    champion_only = {k: v for k, v in FAIRNESS.items() if not k.startswith("without_protected")}
    card = render_model_card(CARD | {"fairness": champion_only})
    assert "| age_band | champion |" in card
    assert "without protected" not in card and "AUC of" not in card
