"""Stage evaluate: held-out metrics and curves (cost, ROC, PR, calibration); the champion."""

from pathlib import Path

from credit_scoring import plots
from credit_scoring.cli import mlflow_tracking_uri, read_json, run_stage, write_json
from credit_scoring.config import CostConfig, load_params
from credit_scoring.data.io import read_table, write_table
from credit_scoring.data.schema import CLIENT_ID, TARGET
from credit_scoring.features import feature_matrix
from credit_scoring.governance.tracking import configure, log_evaluation
from credit_scoring.modeling.calibration import expected_calibration_error, reliability_table
from credit_scoring.modeling.candidates import load_candidates
from credit_scoring.modeling.decision import refused
from credit_scoring.modeling.evaluate import (
    bootstrap_intervals,
    cost_curve,
    decision_metrics,
    family_table,
    headline_metrics,
    pr_points,
    roc_points,
)
from credit_scoring.modeling.selection import select_champion


def main() -> None:
    params = load_params()
    paths, n_points = params["paths"], params["evaluate"]["curve_points"]
    processed, reports = Path(paths["processed_dir"]), Path(paths["reports_dir"])
    costs = CostConfig(**params["cost"])
    candidates = load_candidates(Path(paths["models_dir"]))
    holdout = read_table(processed / "holdout.parquet")
    X = feature_matrix(holdout, read_json(processed / "feature_columns.json"))
    y = holdout[TARGET].to_numpy()

    scores, curves = {}, {"cost": {}, "roc": {}, "pr": {}, "calibration": {}}
    held_out_scores = holdout[[CLIENT_ID, TARGET]].copy()
    for family, candidate in candidates.items():
        proba = candidate.pipeline.predict_proba(X)[:, 1]
        held_out_scores[f"proba_{family}"] = proba
        held_out = decision_metrics(y, proba, candidate.threshold, costs)
        scores[family] = {
            "cv_auc": candidate.cv_auc,
            "cv_auc_std": candidate.cv_auc_std,
            "cv_business_score": candidate.cv_business_score,
            "cv_business_score_std": candidate.cv_business_score_std,
            "threshold": candidate.threshold,
        } | {f"holdout_{name}": value for name, value in held_out.items()}
        curves["cost"][family] = cost_curve(y, proba, costs, n_points)
        curves["roc"][family] = roc_points(y, proba, n_points)
        curves["pr"][family] = pr_points(y, proba, n_points)
        curves["calibration"][family] = reliability_table(y, proba)
        if hasattr(candidate.pipeline, "predict_raw_proba"):
            raw = candidate.pipeline.predict_raw_proba(X)[:, 1]
            scores[family]["holdout_ece_uncalibrated"] = expected_calibration_error(y, raw)
        for kind, frame in curves.items():
            (reports / "plots" / kind).mkdir(parents=True, exist_ok=True)
            frame[family].to_csv(reports / "plots" / kind / f"{family}.csv", index=False)

    champion, selection = select_champion(candidates, params["evaluate"]["preference"])
    # What the audit compares across machines: every family's held-out probability and the
    # champion's decisions (not the pickles' bytes).
    held_out_scores["champion_refused"] = refused(
        held_out_scores[f"proba_{champion}"].to_numpy(), candidates[champion].threshold
    )
    write_table(held_out_scores, Path(paths["models_dir"]) / "holdout_scores.parquet")
    figures = reports / "figures"
    thresholds = {f: s["threshold"] for f, s in scores.items()}
    plots.plot_cost_curves(curves["cost"], thresholds, figures / "cost_curves.png")
    plots.plot_roc_curves(
        curves["roc"], {f: s["holdout_auc"] for f, s in scores.items()}, figures / "roc.png"
    )
    plots.plot_pr_curves(curves["pr"], float(y.mean()), figures / "pr.png")
    plots.plot_reliability(curves["calibration"], figures / "calibration.png")

    # Every score of every family: a plot file (`dvc plots diff`); the headline: metrics.
    family_table(scores, champion).to_csv(reports / "plots" / "families.csv", index=False)
    write_json(headline_metrics(scores, champion), reports / "metrics.json")
    champion_record = {"family": champion, **scores[champion]}
    champion_record["selection"] = selection.round(6).to_dict(orient="records")
    best = candidates[champion]
    champion_record["intervals"] = bootstrap_intervals(
        y,
        held_out_scores[f"proba_{champion}"].to_numpy(),
        best.threshold,
        costs,
        seed=params["base"]["seed"],
    )
    champion_record["calibration"] = {
        "method": best.calibration_method,
        "cross_fitted": best.calibration.round(6).to_dict(orient="records"),
    }
    write_json(champion_record, reports / "champion.json")

    configure(mlflow_tracking_uri(params), params["mlflow"]["experiment"])
    runs = read_json(reports / "mlflow_runs.json")
    for family, family_scores in scores.items():
        log_evaluation(runs.get(family), family_scores, [figures / "cost_curves.png"])
    for family, s in scores.items():
        marker = "  <- champion" if family == champion else ""
        print(
            f"{family:14s} cv AUC {s['cv_auc']:.4f} | holdout AUC {s['holdout_auc']:.4f} "
            f"F1 {s['holdout_f1']:.4f} business {s['holdout_business_score']:.4f} "
            f"at threshold {s['threshold']:.3f}{marker}"
        )
    print(selection.to_string(index=False))


if __name__ == "__main__":
    run_stage(main)
