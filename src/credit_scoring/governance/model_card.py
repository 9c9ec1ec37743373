"""The champion's model card: a short markdown page for reviewers, auditors and credit officers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _table(rows: list[tuple[str, str]]) -> str:
    lines = ["| | |", "|---|---|"] + [f"| {key} | {value} |" for key, value in rows]
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
            ``costs``, ``n_features``, ``data_hash``, ``data_source``, ``release`` (tag or None),
            optionally ``fairness`` (the flat metrics of reports/fairness.json).
    """
    champion = card["champion_metrics"]
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
    rows = [
        "| model | cv AUC | cv business | threshold | holdout AUC | holdout F1 | holdout busin. |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for family, m in card["metrics"].items():
        rows.append(
            f"| {family} | {m['cv_auc']:.4f} | {m['cv_business_score']:.4f} | "
            f"{m['threshold']:.3f} | {m['holdout_auc']:.4f} | {m['holdout_f1']:.4f} | "
            f"{m['holdout_business_score']:.4f} |"
        )
    return (
        "\n\n".join(
            [
                f"# Model card: {card['model_name']} v{card['version']}",
                "Predicts the probability that a client defaults on a consumer loan (Home Credit "
                "schema) and turns it into a decision: **refused** when the probability is at or "
                "above the threshold, **granted** otherwise. The threshold minimises the business "
                "cost out of fold; the champion is the family with the best cross-validated "
                "business score.",
                _table(identity),
                "## Candidates (same folds; held-out = 20% of application_train never seen in CV)",
                "\n".join(rows),
                f"Champion on the held-out set: AUC {champion['holdout_auc']:.4f}, business score "
                f"{champion['holdout_business_score']:.4f}, F1 {champion['holdout_f1']:.4f}, "
                f"refusal rate {champion['holdout_refusal_rate']:.1%}.",
                *([_fairness_section(card["fairness"])] if card.get("fairness") else []),
                "## Use and limits\n"
                "- Every decision comes with its top SHAP contributions (`reports/shap/`, API).\n"
                "- Trained on the data named above; drift of production data against it is "
                "tracked in `reports/drift/`.\n"
                "- A probability is a risk score fitted on the training mix, not a promise.",
            ]
        )
        + "\n"
    )
