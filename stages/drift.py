"""Stage drift: Evidently data drift of application_test (current) against application_train."""

from pathlib import Path

from credit_scoring.cli import run_stage, write_json
from credit_scoring.config import DriftConfig, load_params
from credit_scoring.data.io import read_table
from credit_scoring.monitoring.drift import compare, summary_line


def main() -> None:
    params = load_params()
    config = DriftConfig(**params["drift"])
    interim, reports = Path(params["paths"]["interim_dir"]), Path(params["paths"]["reports_dir"])
    excluded = {params["base"]["id_column"], params["base"]["target"]}

    # Per-column scores: a plot file in git (`dvc plots diff`), not one metric per column.
    metrics = compare(
        read_table(interim / "application_train.parquet"),
        read_table(interim / "application_test.parquet"),
        excluded,
        config,
        html=reports / "drift" / "drift_report.html",
        table=reports / "drift_columns.csv",
    )
    write_json(metrics, reports / "drift_metrics.json")
    print(f"drift: {summary_line(metrics)}")


if __name__ == "__main__":
    run_stage(main)
