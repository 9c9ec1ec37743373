"""The champion's model card: what a credit-risk model validator needs on one markdown page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _table(rows: list[tuple[str, str]]) -> str:
    lines = ["| | |", "|---|---|"] + [f"| {key} | {value} |" for key, value in rows]
    return "\n".join(lines)


def _interval(card: Mapping[str, Any], name: str) -> str:
    low, high = card.get("intervals", {}).get(name, (None, None))
    return f" (90% bootstrap interval {low:.4f} to {high:.4f})" if low is not None else ""


def _candidates(card: Mapping[str, Any]) -> str:
    rows = [
        "| model | CV AUC | CV business score | threshold | held-out AUC | held-out business "
        "| held-out ECE | within noise of the best |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    noise = {row["family"]: row for row in card.get("selection", [])}
    for family, m in card["metrics"].items():
        selection = noise.get(family, {})
        within = "yes" if selection.get("within_noise") else "no"
        if selection.get("champion"):
            within += " (champion)"
        rows.append(
            f"| {family} | {m['cv_auc']:.4f} ± {m.get('cv_auc_std', 0):.4f} "
            f"| {m['cv_business_score']:.4f} ± {m.get('cv_business_score_std', 0):.4f} "
            f"| {m['threshold']:.3f} | {m['holdout_auc']:.4f} | "
            f"{m['holdout_business_score']:.4f} | {m.get('holdout_ece', float('nan')):.4f} | "
            f"{within} |"
        )
    return "\n".join(rows)


def _calibration(card: Mapping[str, Any]) -> str:
    calibration = card.get("calibration") or {}
    champion = card["champion_metrics"]
    lines = [
        f"Method: **{calibration.get('method', 'none')}**, chosen by cross-fitted log loss on the "
        "out-of-fold probabilities (each fold mapped by a calibrator fitted on the other folds):",
        "",
        "| method | Brier | log loss | ECE |",
        "|---|---:|---:|---:|",
    ]
    for row in calibration.get("cross_fitted", []):
        lines.append(
            f"| {row['method']} | {row['brier']:.4f} | {row['log_loss']:.4f} | {row['ece']:.4f} |"
        )
    if "holdout_ece" in champion:
        raw = champion.get("holdout_ece_uncalibrated")
        before = f" (uncalibrated: {raw:.4f})" if raw is not None else ""
        lines += [
            "",
            f"Held-out: ECE {champion['holdout_ece']:.4f}{before}, Brier "
            f"{champion['holdout_brier']:.4f}, log loss {champion['holdout_log_loss']:.4f}. "
            "Reliability diagram: `reports/figures/calibration.png`.",
        ]
    return "\n".join(lines)


def _fairness_section(fairness: Mapping[str, Any]) -> str:
    """Disparities per attribute, of the champion and of the model trained without the
    protected attributes, from the flat metrics of reports/fairness.json."""
    prefix = "without_protected."
    attributes = sorted({key.split(".")[0] for key in fairness} - {prefix[:-1]})
    rows = [
        "| attribute | model | demographic-parity diff. | equalized-odds diff. | "
        "refusal-rate ratio |",
        "|---|---|---:|---:|---:|",
    ]
    models = [("champion", "")]
    if f"{prefix}auc" in fairness:
        models.append(("without protected", prefix))
    for attribute in attributes:
        for model, key in models:
            values = [
                fairness.get(f"{key}{attribute}.{name}")
                for name in (
                    "demographic_parity_difference",
                    "equalized_odds_difference",
                    "refusal_rate_ratio",
                )
            ]
            shown = " | ".join("n/a" if v is None else f"{v:.3f}" for v in values)
            rows.append(f"| {attribute} | {model} | {shown} |")
    parts = [
        "## Fairness (held-out set, `reports/fairness.json`, groups in `reports/fairness/`)",
        "\n".join(rows),
        "Refusal reasons never name a protected attribute (gender, age, age-derived features).",
    ]
    if len(models) > 1:
        parts.append(
            "Without the protected attributes the same configuration scores a held-out AUC of "
            f"{fairness[f'{prefix}auc']:.4f} ({fairness[f'{prefix}delta_auc']:+.4f}) and a "
            f"business score of {fairness[f'{prefix}business_score']:.4f} "
            f"({fairness[f'{prefix}delta_business_score']:+.4f})."
        )
    return "\n\n".join(parts)


def render_model_card(card: Mapping[str, Any]) -> str:
    """Render the model card.

    Args:
        card: keys ``model_name``, ``version``, ``alias``, ``family``, ``threshold``,
            ``best_params``, ``metrics`` (family -> name -> value), ``champion_metrics``,
            ``costs``, ``n_features``, ``data_hash``, ``data_source``, ``release`` (tag or None);
            optional ``population`` (train/holdout rows and default rates), ``intervals``,
            ``selection``, ``calibration`` (from reports/champion.json), ``fairness`` (the flat
            metrics of reports/fairness.json).
    """
    champion = card["champion_metrics"]
    population = card.get("population", {})
    synthetic = card["data_source"] == "synthetic"
    identity = [
        (
            "registered model",
            f"`{card['model_name']}` version {card['version']} (`@{card['alias']}`)",
        ),
        ("release tag", f"`{card['release']}`" if card.get("release") else "not tagged yet"),
        ("family", card["family"]),
        ("hyper-parameters", ", ".join(f"`{k}={v}`" for k, v in card["best_params"].items())),
        ("decision threshold", f"refuse when P(default) >= {card['threshold']:.3f}"),
        ("features", str(card["n_features"])),
        ("data", f"{card['data_source']}, hash `{card['data_hash'][:16]}`"),
        (
            "costs",
            f"false negative {card['costs']['fn_cost']:g}, "
            f"false positive {card['costs']['fp_cost']:g}",
        ),
    ]
    if population:
        identity.append(
            (
                "training population",
                f"{population['train_rows']:,} applications (default rate "
                f"{population['train_default_rate']:.1%}) for CV; {population['holdout_rows']:,} "
                f"held out (default rate {population['holdout_default_rate']:.1%})",
            )
        )
    sections = [
        f"# Model card: {card['model_name']} v{card['version']}",
        "Predicts the probability that an applicant for a consumer loan defaults (Home Credit "
        "schema) and turns it into a decision: **refused** when the calibrated probability is at "
        "or above the threshold, **granted** otherwise, with the reasons (SHAP contributions) "
        "behind it.",
        _table(identity),
        "## Intended use\n"
        "- Decision support for credit officers of a consumer lender granting loans to "
        "applicants with little or no credit history: the officer sees the probability, the "
        "decision at the business threshold and its reasons, and may overrule it.\n"
        "- Out of scope: fully automated refusals without human review; other products "
        "(mortgages, business loans), other countries or populations than the training data; "
        "pricing or limit setting; any use of the score as a statement about a person beyond "
        "this application.",
        "## Performance\n"
        f"Champion on the held-out rows: AUC **{champion['holdout_auc']:.4f}**"
        f"{_interval(card, 'holdout_auc')}, business score "
        f"**{champion['holdout_business_score']:.4f}**"
        f"{_interval(card, 'holdout_business_score')}, F1 {champion['holdout_f1']:.4f}, "
        f"refusal rate {champion['holdout_refusal_rate']:.1%}.\n\n"
        "Candidates, on the same folds (CV: mean ± std over the assessment folds; the business "
        "score is cross-fitted, each fold at the threshold tuned on the others). The champion is "
        "the first family of the preference order among those within one corrected standard "
        "error of the best CV business score; the held-out rows are never used to choose.\n\n"
        + _candidates(card),
        "## Calibration\n" + _calibration(card),
    ]
    if card.get("fairness"):
        sections.append(_fairness_section(card["fairness"]))
    sections += [
        "## Limitations\n"
        "- **Reject inference**: labels exist only for loans that were granted; applicants "
        "refused in the past are missing from the training data, so the model has not seen the "
        "riskiest part of the applicant population.\n"
        "- **No out-of-time test**: the data has no application dates, so every estimate is "
        "out-of-sample but not out-of-time; performance on later applications may be lower.\n"
        "- Probabilities are calibrated to the training mix (its default rate); a change of "
        "the applicant mix shifts them."
        + (
            "\n- **Synthetic data**: this model was trained on the project's synthetic data set "
            "(the Kaggle schema, distributions from a real sample); its figures demonstrate the "
            "pipeline, not a credit model for real clients."
            if synthetic
            else ""
        ),
        "## Monitoring and retraining\n"
        "- Data drift of the application columns against the training data "
        "(`reports/drift/`, Evidently): investigate when the drifted share passes the "
        "configured level.\n"
        "- Retrain when: drift passes that level on the key features; the observed default rate "
        "of granted loans leaves the held-out interval above; calibration (ECE) of matured loans "
        "exceeds 0.02; officers' override rate rises; or a year has passed.\n"
        "- Every decision is logged with its model version for these checks.",
    ]
    return "\n\n".join(sections) + "\n"
