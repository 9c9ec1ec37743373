"""``credit-scoring-promote``: make a registered version the champion, or roll back, as a
recorded human decision with the challenger-vs-champion comparison the approver saw.

The comparison scores both versions, loaded from the registry, on the same held-out rows (the
checkout's ``data/processed/holdout.parquet``): AUC, business score at each version's own
threshold, refusal rate, calibration (Brier, log loss, ECE) and the fairness differences per
gender and age band, then the challenger-minus-champion differences.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.cli import setup_logging
from credit_scoring.config import CostConfig, FairnessConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.data.schema import TARGET
from credit_scoring.governance import registry
from credit_scoring.governance.record import tracking_uri
from credit_scoring.governance.registry import CHAMPION, PromotionError

logger = logging.getLogger(__name__)

COMPARED = (
    "auc",
    "business_score",
    "refusal_rate",
    "brier",
    "log_loss",
    "ece",
    "CODE_GENDER.demographic_parity_difference",
    "CODE_GENDER.equalized_odds_difference",
    "age_band.demographic_parity_difference",
    "age_band.equalized_odds_difference",
)


def version_scores(
    model: Any, holdout: pd.DataFrame, costs: CostConfig, fairness: FairnessConfig
) -> dict[str, Any]:
    """What ``model`` (a loaded registry version) does on the labelled ``holdout`` rows."""
    from credit_scoring.features import feature_matrix
    from credit_scoring.modeling.decision import refused
    from credit_scoring.modeling.evaluate import decision_metrics
    from credit_scoring.modeling.fairness import disparities, sensitive_groups

    y = holdout[TARGET].to_numpy()
    proba = model.pipeline.predict_proba(feature_matrix(holdout, model.features))[:, 1]
    groups = sensitive_groups(holdout, fairness.age_band_edges)
    figures = decision_metrics(y, proba, model.threshold, costs) | disparities(
        y, refused(proba, model.threshold), groups, fairness.min_outcomes_per_group
    )
    return {
        "version": model.version,
        "family": model.family,
        "threshold": model.threshold,
        "data_hash": model.data_hash,
    } | {key: _rounded(figures.get(key)) for key in COMPARED}


def _rounded(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), 6)


def compare(
    name: str,
    challenger: str,
    champion: str | None,
    holdout_path: Path,
    costs: CostConfig,
    fairness: FairnessConfig,
    tracking_uri: str,
) -> dict[str, Any]:
    """Challenger and champion scored on the same held-out rows, and their differences."""
    from credit_scoring.api.model_loader import load_from_registry

    holdout = read_table(holdout_path)
    scores = {
        role: version_scores(
            load_from_registry(f"models:/{name}/{version}", tracking_uri), holdout, costs, fairness
        )
        for role, version in (("challenger", challenger), ("champion", champion))
        if version is not None
    }
    comparison: dict[str, Any] = {
        "held_out_rows": len(holdout),
        "held_out_default_rate": round(float(holdout[TARGET].mean()), 6),
        **scores,
    }
    if "champion" in scores:
        new, old = scores["challenger"], scores["champion"]
        comparison["difference"] = {
            key: None if new[key] is None or old[key] is None else round(new[key] - old[key], 6)
            for key in COMPARED
        }
        comparison["same_training_data"] = new["data_hash"] == old["data_hash"]
    return comparison


def comparison_table(comparison: Mapping[str, Any]) -> str:
    """The comparison as an aligned text table (one row per figure)."""
    roles = [role for role in ("challenger", "champion") if role in comparison]
    columns = [*roles, *(["difference"] if "difference" in comparison else [])]
    header = [
        "figure",
        *[f"{c} v{comparison[c]['version']}" if c in roles else c for c in columns],
    ]
    rows = [["family", *[str(comparison[r]["family"]) for r in roles]]]
    rows.append(["threshold", *[f"{comparison[r]['threshold']:.4f}" for r in roles]])
    for key in COMPARED:
        rows.append([key, *[_cell(comparison[c].get(key), c == "difference") for c in columns]])
    widths = [
        max(len(str(row[i])) for row in [header, *rows] if i < len(row))
        for i in range(len(header))
    ]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
        for row in [header, *rows]
    ]
    footer = f"{comparison['held_out_rows']} held-out rows"
    if comparison.get("same_training_data") is False:
        footer += (
            "; the versions were trained on different data: the champion may have trained on "
            "some of these rows"
        )
    return "\n".join([*lines, footer])


def _cell(value: Any, signed: bool) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def settings(repo: Path) -> dict[str, Any]:
    """Model name, tracking URI, costs, fairness settings and held-out path of a checkout."""
    params = load_params(repo / "params.yaml")
    return {
        "name": params["register"]["model_name"],
        "uri": tracking_uri(repo, params),
        "costs": CostConfig(**params["cost"]),
        "fairness": FairnessConfig(**params["fairness"]),
        "holdout": repo / params["paths"]["processed_dir"] / "holdout.parquet",
    }


def champion_comparison(config: Mapping[str, Any], target: str, current: str | None) -> dict:
    """``target`` against the ``current`` champion on the checkout's held-out rows, as
    :func:`compare` gives it ({} when the checkout has no held-out rows)."""
    if not config["holdout"].is_file():
        return {}
    return compare(
        config["name"], str(target), current, config["holdout"], config["costs"],
        config["fairness"], config["uri"],
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """CLI: ``credit-scoring-promote VERSION --reason R --approver A`` (or ``--rollback``,
    ``--history``, ``--dry-run``)."""
    parser = argparse.ArgumentParser(
        description="Promote a registered version to @champion, or roll back, with a recorded "
        "reason and approver."
    )
    parser.add_argument("version", nargs="?", help="registry version to promote")
    parser.add_argument("--reason", default="", help="why (recorded)")
    parser.add_argument("--approver", default="", help="who decides (recorded)")
    parser.add_argument("--rollback", action="store_true", help="back to the previous champion")
    parser.add_argument("--history", action="store_true", help="print every move of @champion")
    parser.add_argument("--dry-run", action="store_true", help="print the comparison only")
    parser.add_argument("--no-compare", action="store_true", help="skip the held-out comparison")
    parser.add_argument("--repo", type=Path, default=Path("."), help="project folder")
    args = parser.parse_args(argv)
    setup_logging()
    config = settings(args.repo)
    client = registry.client_for(config["uri"])
    try:
        if args.history:
            for move in registry.history(config["name"], CHAMPION, client):
                print(f"{move.at}  {move.action:<8} v{move.previous} -> v{move.version}  "
                      f"by {move.approver}: {move.reason}")  # fmt: skip
            return
        target = (
            registry.rollback_target(config["name"], client) if args.rollback else args.version
        )
        if not target:
            parser.error("give a VERSION, --rollback or --history")
        if not args.dry_run and not (args.reason.strip() and args.approver.strip()):
            raise PromotionError("a move of @champion needs --reason and --approver")
        current = registry.alias_version(client, config["name"], CHAMPION)
        if str(target) == current:
            raise PromotionError(f"{config['name']} version {target} already is @{CHAMPION}")
        if not args.rollback and not args.dry_run:
            registry.check_promotable(config["name"], str(target), client)
        comparison = {} if args.no_compare else champion_comparison(config, target, current)
        if comparison:
            print(comparison_table(comparison))
        if args.dry_run:
            return
        if args.rollback:
            move = registry.move_alias(
                config["name"], str(target), action="rollback", approver=args.approver,
                reason=args.reason, comparison=comparison, client=client,
            )  # fmt: skip
        else:
            move = registry.promote(
                config["name"], str(target), approver=args.approver, reason=args.reason,
                comparison=comparison, client=client,
            )  # fmt: skip
    except PromotionError as exc:
        logger.error("%s", exc)
        sys.exit(1)
    logger.info("%s", {k: v for k, v in asdict(move).items() if k != "comparison"})


if __name__ == "__main__":
    main()
