"""Officer overrides counted per model version, reason and direction: a rising override rate
says the officers no longer trust the model (a monitoring signal and a retraining trigger).

``credit-scoring-overrides --database-url sqlite:///decisions.db [--output reports/overrides.csv]``
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from credit_scoring.api.decision_log import read_decisions, read_overrides

KEYS = ["model_name", "model_version", "reason", "direction"]
COLUMNS = [*KEYS, "overrides", "officers", "decisions", "override_rate"]


def override_summary(decisions: pd.DataFrame, overrides: pd.DataFrame) -> pd.DataFrame:
    """Per model version, reason and direction (``refused->granted``, ...): overrides, distinct
    officers, the version's logged decisions and the share of them overridden this way."""
    if overrides.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame = overrides.assign(
        model_version=overrides["model_version"].astype(str),
        direction=overrides["decision_before"] + "->" + overrides["decision"],
    )
    summary = (
        frame.groupby(KEYS)
        .agg(overrides=("id", "size"), officers=("officer_id", "nunique"))
        .reset_index()
    )
    per_version = (
        decisions.assign(model_version=decisions["model_version"].astype(str))
        .groupby(["model_name", "model_version"])
        .size()
        .rename("decisions")
        .reset_index()
    )
    summary = summary.merge(per_version, on=["model_name", "model_version"], how="left")
    summary["decisions"] = summary["decisions"].fillna(0).astype(int)
    summary["override_rate"] = (summary["overrides"] / summary["decisions"]).round(4)
    return summary.sort_values(KEYS, ignore_index=True)[COLUMNS]


def main(argv: list[str] | None = None) -> None:
    """CLI: print the summary of a decision log and write it as CSV."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="sqlite:///decisions.db")
    parser.add_argument("--output", type=Path, default=Path("reports/overrides.csv"))
    args = parser.parse_args(argv)
    summary = override_summary(
        read_decisions(args.database_url), read_overrides(args.database_url)
    )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    summary.to_csv(args.output, index=False)
    print(summary.to_string(index=False) if len(summary) else "no override recorded")
    print(f"written {args.output}")


if __name__ == "__main__":
    main()
