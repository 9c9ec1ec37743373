"""Stage ingest: validate the raw CSVs and write them as typed parquet tables.

Nothing is replaced unless the whole ingest passes (tables swapped in from a staging folder,
reports written only then); a rejected ingest lists every finding in
reports/rejected/data_findings.csv and fails naming them.
"""

from pathlib import Path

from credit_scoring.cli import run_stage
from credit_scoring.config import EngineConfig, load_params
from credit_scoring.data.ingest import run_ingest


def main() -> None:
    params = load_params()
    paths, raw_dir = params["paths"], Path(params["data"]["raw_dir"])
    reports = Path(paths["reports_dir"])
    result = run_ingest(
        raw_dir,
        Path(paths["interim_dir"]),
        reports,
        params["data"]["source"],
        params["ingest"]["fail_on_warnings"],
        EngineConfig(**params["engine"]),
    )
    n_warnings = sum(f.severity == "warning" for f in result.findings)
    print(
        f"ingested {len(result.manifest)} tables from {raw_dir}: {n_warnings} "
        f"warning(s) listed in {reports / 'data_findings.csv'}"
    )


if __name__ == "__main__":
    run_stage(main)
