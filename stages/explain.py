"""Stage explain: SHAP global importance and local explanations of the champion on the holdout."""

from pathlib import Path
from typing import Any

import pandas as pd

from credit_scoring.api.model_loader import load_from_path
from credit_scoring.cli import read_json, run_stage, write_json
from credit_scoring.config import ExplainConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.features import feature_matrix
from credit_scoring.features.application import PROTECTED_FEATURES
from credit_scoring.modeling.decision import decide
from credit_scoring.modeling.explain import PipelineExplainer, global_importance
from credit_scoring.modeling.explain_plots import plot_global_importance, plot_local_explanation
from credit_scoring.tabular import sample_rows

N_LOCAL_PLOTS = 3


def local_explanations(
    explainer: PipelineExplainer,
    rows: pd.DataFrame,
    ids: pd.Series,
    threshold: float,
    top_k: int,
) -> list[dict[str, Any]]:
    """Probability, decision at ``threshold`` and top reasons (none protected) of each client."""
    probabilities = explainer.pipeline.predict_proba(rows)[:, 1]
    reasons = explainer.reasons(rows, top_k, exclude=PROTECTED_FEATURES)
    return [
        {
            "SK_ID_CURR": int(client),
            "probability": float(probability),
            "decision": decide(probability, threshold),
            "base_value": explainer.expected_value,
            "units": explainer.units,
            "reasons": client_reasons,
        }
        for client, probability, client_reasons in zip(ids, probabilities, reasons, strict=True)
    ]


def write_global(importance: pd.DataFrame, out_dir: Path) -> None:
    """global_importance.csv (a DVC plot) and its bar chart."""
    importance.to_csv(out_dir / "global_importance.csv", index=False)
    plot_global_importance(importance, out_dir / "global_importance.png")


def plot_clients(clients: list[dict[str, Any]], base_value: float, out_dir: Path) -> None:
    """One local_<SK_ID_CURR>.png per client (previous ones removed)."""
    for stale in out_dir.glob("local_*.png"):
        stale.unlink()
    for client in clients:
        title = (
            f"client {client['SK_ID_CURR']}: P(default) {client['probability']:.3f}, "
            f"{client['decision']} ({client['units']})"
        )
        path = out_dir / f"local_{client['SK_ID_CURR']}.png"
        plot_local_explanation(client["reasons"], base_value, path, title)


def main() -> None:
    params = load_params()
    config = ExplainConfig(**params["explain"])
    paths, id_column = params["paths"], params["base"]["id_column"]
    processed, out_dir = Path(paths["processed_dir"]), Path(paths["reports_dir"]) / "shap"

    champion = load_from_path(Path(paths["models_dir"]) / "champion")
    threshold = champion.threshold
    holdout = read_table(processed / "holdout.parquet")
    X = feature_matrix(holdout, read_json(processed / "feature_columns.json"))

    background = sample_rows(X, config.n_background, config.seed)
    explainer = PipelineExplainer(champion.pipeline, background, config.seed)
    explained = sample_rows(X, config.n_explained, config.seed + 1)
    importance = global_importance(explainer.contributions(explained))
    out_dir.mkdir(parents=True, exist_ok=True)
    write_global(importance, out_dir)

    local_rows = explained.head(config.n_local)
    ids = holdout.loc[local_rows.index, id_column]
    clients = local_explanations(explainer, local_rows, ids, threshold, config.top_k)
    family = champion.family
    report = {"family": family, "threshold": threshold, "clients": clients}
    write_json(report, out_dir / "local_explanations.json")
    plot_clients(clients[:N_LOCAL_PLOTS], explainer.expected_value, out_dir)
    print(
        f"explained {len(explained)} holdout rows with {family} SHAP ({explainer.units}); "
        f"top features: {', '.join(importance['feature'].head(3))}; "
        f"{len(clients)} local explanations"
    )


if __name__ == "__main__":
    run_stage(main)
