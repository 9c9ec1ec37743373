"""Override counts per model version and reason, from a real SQLite decision log."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from credit_scoring.api.decision_log import (
    DecisionLog,
    DecisionRecord,
    SameDecisionError,
    UnknownDecisionError,
    read_decisions,
    read_overrides,
)
from credit_scoring.monitoring import overrides


def decision(request_id: str, outcome: str, version: str) -> DecisionRecord:
    return DecisionRecord(
        request_id, datetime.now(UTC), 1, "h", 0.2, outcome, 0.1, "m", version, "none", 1.0, "{}"
    )


def test_overrides_are_counted_per_version_reason_and_direction(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'decisions.db'}"
    log = DecisionLog(url)
    log.record([decision(f"a{i}", "refused", "1") for i in range(4)])
    log.record([decision(f"b{i}", "granted", "2") for i in range(2)])
    assert overrides.override_summary(read_decisions(url), read_overrides(url)).empty
    log.add_override("a0", "ann", "granted", "income_verified", "")
    log.add_override("a1", "bob", "granted", "income_verified", "")
    log.add_override("a1", "cat", "refused", "fraud_suspicion", "second look")
    log.add_override("b0", "ann", "refused", "data_error", "")
    with pytest.raises(SameDecisionError):
        log.add_override("a0", "ann", "granted", "income_verified", "")
    with pytest.raises(UnknownDecisionError):
        log.add_override("zz", "ann", "granted", "income_verified", "")
    log.close()

    summary = overrides.override_summary(read_decisions(url), read_overrides(url))
    rows = {
        (r.model_version, r.reason, r.direction): (
            r.overrides,
            r.officers,
            r.decisions,
            r.override_rate,
        )
        for r in summary.itertuples()
    }
    assert rows == {
        ("1", "fraud_suspicion", "granted->refused"): (1, 1, 4, 0.25),
        ("1", "income_verified", "refused->granted"): (2, 2, 4, 0.5),
        ("2", "data_error", "granted->refused"): (1, 1, 2, 0.5),
    }
    output = tmp_path / "overrides.csv"
    overrides.main(["--database-url", url, "--output", str(output)])
    assert pd.read_csv(output, dtype={"model_version": str}).equals(
        summary.astype({"model_version": str})
    )
    assert "income_verified" in capsys.readouterr().out
