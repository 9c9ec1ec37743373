"""Stage drift: Evidently data drift of application_test (current) against application_train."""

from pathlib import Path

from credit_scoring.cli import run_stage, write_json
from credit_scoring.config import DriftConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.monitoring.drift import drift_metrics, drift_report, drifted_columns_table


def main() -> None:
    params = load_params()
    config = DriftConfig(**params["drift"])
    interim, reports = Path(params["paths"]["interim_dir"]), Path(params["paths"]["reports_dir"])
    excluded = {params["base"]["id_column"], params["base"]["target"]}

    reference = read_table(interim / "application_train.parquet")
    current = read_table(interim / "application_test.parquet")
    columns = [c for c in reference.columns if c not in excluded and c in current.columns]

    snapshot = drift_report(reference, current, columns, config)
    (reports / "drift").mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(reports / "drift" / "drift_report.html"))  # a Path is silently ignored
    # Per-column scores: a plot file in git (`dvc plots diff`), not one metric per column.
    table = drifted_columns_table(snapshot, columns)
    table.to_csv(reports / "drift_columns.csv", index=False, float_format="%.6g")
    metrics = drift_metrics(snapshot, columns)
    write_json(metrics, reports / "drift_metrics.json")
    print(
        f"drift: {metrics['n_drifted_columns']} of {metrics['n_columns']} columns drifted "
        f"(share {metrics['drift_share']:.3f}; data set drift: {bool(metrics['dataset_drift'])})"
    )


if __name__ == "__main__":
    run_stage(main)
