"""Stage ingest: validate the raw CSVs and write them as typed parquet tables."""

from pathlib import Path

from credit_scoring.cli import run_stage, write_json
from credit_scoring.config import load_params
from credit_scoring.data.ingest import ingest_to_parquet, stopping_findings
from credit_scoring.data.validate import findings_table, raise_on_errors


def main() -> None:
    params = load_params()
    paths, raw_dir = params["paths"], Path(params["data"]["raw_dir"])
    reports = Path(paths["reports_dir"])
    fail_on_warnings = params["ingest"]["fail_on_warnings"]
    result = ingest_to_parquet(raw_dir, Path(paths["interim_dir"]), fail_on_warnings)

    reports.mkdir(parents=True, exist_ok=True)
    findings_table(result.findings).to_csv(reports / "data_findings.csv", index=False)
    n_errors = sum(f.severity == "error" for f in result.findings)
    manifest = {"source": params["data"]["source"], "data_hash": result.data_hash}
    write_json(manifest | result.manifest, reports / "data_manifest.json")
    quality = {"n_errors": n_errors, "n_warnings": len(result.findings) - n_errors}
    quality |= {f"rows.{table}": info["rows"] for table, info in result.manifest.items()}
    write_json(quality, reports / "data_quality.json")

    raise_on_errors(stopping_findings(result.findings, fail_on_warnings))
    print(
        f"ingested {len(result.manifest)} tables from {raw_dir}: {quality['n_warnings']} "
        f"warning(s) listed in {reports / 'data_findings.csv'}"
    )


if __name__ == "__main__":
    run_stage(main)
