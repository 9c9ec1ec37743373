"""The champion's model card: a short markdown page for reviewers, auditors and credit officers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _table(rows: list[tuple[str, str]]) -> str:
    lines = ["| | |", "|---|---|"] + [f"| {key} | {value} |" for key, value in rows]
    return "\n".join(lines)


def render_model_card(card: Mapping[str, Any]) -> str:
    """Render the model card.

    Args:
        card: keys ``model_name``, ``version``, ``alias``, ``family``, ``threshold``,
            ``best_params``, ``metrics`` (family -> name -> value), ``champion_metrics``,
            ``costs``, ``n_features``, ``data_hash``, ``data_source``, ``release`` (tag or None).
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
                "## Use and limits\n"
                "- Every decision comes with its top SHAP contributions (`reports/shap/`, API).\n"
                "- Trained on the data named above; drift of production data against it is "
                "tracked in `reports/drift/`.\n"
                "- A probability is a risk score fitted on the training mix, not a promise.",
            ]
        )
        + "\n"
    )
