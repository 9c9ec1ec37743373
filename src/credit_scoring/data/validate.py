"""Validation of raw Home Credit tables: schema, types, impossible values, keys.

Errors (the stage fails): a missing column, a wrong type, an impossible value (e.g. a positive
DAYS_BIRTH, a negative income), an implausible application
(:mod:`credit_scoring.data.plausibility`: age outside 18-100 years, no income, employment longer
than life...), a duplicated or missing key, an application table without rows, a client in both
application tables. Warnings (reported, the stage goes on): values outside the range profiled
on real data, unknown categories, orphan history rows. Every finding names the file, the
column, the rule and how many rows break it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd

from credit_scoring.data import schema
from credit_scoring.data.errors import DataError
from credit_scoring.data.plausibility import RULES

Severity = Literal["error", "warning"]

# Impossible values: (low, high) bounds any genuine row respects; None is unbounded.
DOMAIN_BOUNDS: dict[str, tuple[float | None, float | None]] = {
    "TARGET": (0, 1),
    "CNT_CHILDREN": (0, None),
    "CNT_FAM_MEMBERS": (1, None),
    "AMT_INCOME_TOTAL": (0, None),
    "AMT_CREDIT": (0, None),
    "AMT_ANNUITY": (0, None),
    "AMT_GOODS_PRICE": (0, None),
    "DAYS_BIRTH": (None, 0),
    "DAYS_REGISTRATION": (None, 0),
    "DAYS_ID_PUBLISH": (None, 0),
    "DAYS_LAST_PHONE_CHANGE": (None, 0),
    "OWN_CAR_AGE": (0, None),
    "EXT_SOURCE_1": (0, 1),
    "EXT_SOURCE_2": (0, 1),
    "EXT_SOURCE_3": (0, 1),
    "REGION_RATING_CLIENT": (1, 3),
    "REGION_RATING_CLIENT_W_CITY": (1, 3),
    "HOUR_APPR_PROCESS_START": (0, 23),
    "MONTHS_BALANCE": (None, 0),
    "DAYS_CREDIT": (None, 0),
    "DAYS_DECISION": (None, 0),
    "CREDIT_DAY_OVERDUE": (0, None),
    "SK_DPD": (0, None),
    "SK_DPD_DEF": (0, None),
    "AMT_INSTALMENT": (0, None),
    "AMT_PAYMENT": (0, None),
    "CNT_INSTALMENT": (0, None),
    "CNT_PAYMENT": (0, None),
}
# Columns that must be unique and present in their table.
PRIMARY_KEYS = {
    "application_train": schema.CLIENT_ID,
    "application_test": schema.CLIENT_ID,
    "bureau": schema.BUREAU_ID,
    "previous_application": schema.PREVIOUS_ID,
}
# The profiled range is widened by this share of its span before a value counts as unusual.
PROFILE_RANGE_MARGIN = 0.5


@dataclass(frozen=True)
class Finding:
    """One broken rule: where (file, column), what, how many rows and an example."""

    severity: Severity
    file: str
    column: str
    problem: str
    rows: int
    example: str = ""

    def __str__(self) -> str:
        example = f" (e.g. {self.example})" if self.example else ""
        where = f"{self.file}: column {self.column}" if self.column else self.file
        count = f" in {self.rows} row(s)" if self.rows else ""
        return f"{self.severity.upper()} {where}: {self.problem}{count}{example}"


class ValidationError(DataError):
    """Raised when a table breaks an error-level rule; carries every finding."""

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        errors = [f for f in findings if f.severity == "error"]
        super().__init__(
            f"{len(errors)} validation error(s):\n" + "\n".join(f"  {f}" for f in errors)
        )


def _example_rows(mask: pd.Series, values: pd.Series, limit: int = 3) -> str:
    """``line N: value`` examples (file line = row index + 2, after the header)."""
    rows = np.flatnonzero(mask.to_numpy())[:limit]
    return ", ".join(f"line {i + 2}: {values.iloc[i]!r}" for i in rows)


def check_columns(frame: pd.DataFrame, table: str, file: str) -> list[Finding]:
    """Missing columns are errors, unexpected ones warnings."""
    expected = schema.table_columns(table)
    if table == "application_test":
        expected = [c for c in expected if c != schema.TARGET]
    missing = [c for c in expected if c not in frame.columns]
    extra = [c for c in frame.columns if c not in expected]
    findings = [Finding("error", file, c, "missing column", len(frame)) for c in missing]
    findings += [Finding("warning", file, c, "unexpected column", len(frame)) for c in extra]
    return findings


def coerce_numeric(
    frame: pd.DataFrame, table: str, file: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """Cast schema-numeric columns to numbers; text where a number is expected is an error."""
    findings, frame = [], frame.copy()
    kinds = schema.column_kinds(table)
    for column in frame.columns.intersection([c for c, k in kinds.items() if k != "category"]):
        raw = frame[column]
        numbers = pd.to_numeric(raw, errors="coerce")
        bad = numbers.isna() & raw.notna()
        if bad.any():
            findings.append(
                Finding(
                    "error",
                    file,
                    column,
                    "wrong type: text where a number is expected",
                    int(bad.sum()),
                    _example_rows(bad, raw),
                )
            )
        elif kinds[column] == "int":
            fractional = numbers.notna() & (numbers != np.round(numbers))
            if fractional.any():
                findings.append(
                    Finding(
                        "error",
                        file,
                        column,
                        "wrong type: fraction in an integer column",
                        int(fractional.sum()),
                        _example_rows(fractional, raw),
                    )
                )
        frame[column] = numbers
    return frame, findings


def domain_bounds(column: str) -> tuple[float | None, float | None]:
    """Impossible-value bounds of a numeric column: DOMAIN_BOUNDS, FLAG_ columns and TARGET 0/1."""
    if column.startswith("FLAG_") or column == "TARGET":
        return 0, 1
    return DOMAIN_BOUNDS.get(column, (None, None))


def outside_domain(column: str, values: pd.Series) -> pd.Series:
    """Rows whose numeric ``values`` of ``column`` are impossible (missing ones are not)."""
    low, high = domain_bounds(column)
    bad = pd.Series(False, index=values.index)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    return bad


def check_domain(frame: pd.DataFrame, file: str) -> list[Finding]:
    """Impossible values (outside DOMAIN_BOUNDS, or a FLAG_ that is not 0/1) are errors."""
    findings = []
    for column in frame.columns:
        values = frame[column]
        if not pd.api.types.is_numeric_dtype(values):
            continue
        low, high = domain_bounds(column)
        bad = outside_domain(column, values)
        if bad.any():
            bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            findings.append(
                Finding(
                    "error",
                    file,
                    column,
                    f"impossible value outside {bounds}",
                    int(bad.sum()),
                    _example_rows(bad, values),
                )
            )
    return findings


def check_profile(frame: pd.DataFrame, table: str, file: str) -> list[Finding]:
    """Values far outside the profiled range and unknown categories are warnings."""
    findings, profile = [], schema.table_profile(table)["profile"]
    for column in frame.columns.intersection(list(profile)):
        facts, values = profile[column], frame[column]
        if facts["dtype"] == "category":
            known = set(facts.get("frequencies", {}))
            unknown = values.notna() & ~values.isin(known)
            if unknown.any():
                findings.append(
                    Finding(
                        "warning",
                        file,
                        column,
                        "unknown category",
                        int(unknown.sum()),
                        _example_rows(unknown, values),
                    )
                )
        elif "quantiles" in facts and pd.api.types.is_numeric_dtype(values):
            low, high = facts["quantiles"]["0"], facts["quantiles"]["1"]
            margin = PROFILE_RANGE_MARGIN * (high - low)
            unusual = (values < low - margin) | (values > high + margin)
            if unusual.any():
                findings.append(
                    Finding(
                        "warning",
                        file,
                        column,
                        f"outside the profiled range [{low:g}, {high:g}] +/- 50%",
                        int(unusual.sum()),
                        _example_rows(unusual, values),
                    )
                )
    return findings


def check_primary_key(frame: pd.DataFrame, table: str, file: str) -> list[Finding]:
    """The table's own id must be present and unique."""
    key = PRIMARY_KEYS.get(table)
    if key is None or key not in frame.columns:
        return []
    findings = []
    missing = frame[key].isna()
    if missing.any():
        findings.append(Finding("error", file, key, "missing key", int(missing.sum())))
    duplicated = frame[key].duplicated(keep=False) & ~missing
    if duplicated.any():
        findings.append(
            Finding(
                "error",
                file,
                key,
                "duplicated key",
                int(duplicated.sum()),
                _example_rows(duplicated, frame[key]),
            )
        )
    return findings


def check_plausibility(frame: pd.DataFrame, table: str, file: str) -> list[Finding]:
    """Applications breaking a plausibility rule are errors (the rules the API applies too)."""
    if table not in schema.APPLICATION_TABLES:
        return []
    findings = []
    for rule in RULES:
        bad = rule.violations(frame)
        if bad is None:
            continue
        for column in rule.reads:  # an impossible value is reported once, by check_domain
            bad &= ~outside_domain(column, pd.to_numeric(frame[column], errors="coerce"))
        if bad.any():
            findings.append(
                Finding(
                    "error",
                    file,
                    rule.column,
                    rule.message,
                    int(bad.sum()),
                    _example_rows(bad, frame[rule.column]),
                )
            )
    return findings


def validate_table(
    frame: pd.DataFrame, table: str, file: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """Run every per-table rule; return the numerically typed frame and all findings."""
    frame, findings = validate_content(frame, table, file)
    return frame, check_columns(frame, table, file) + findings


def validate_content(
    frame: pd.DataFrame, table: str, file: str
) -> tuple[pd.DataFrame, list[Finding]]:
    """The rules on a table's rows (all but :func:`check_columns`, which the structural check
    of the ingest makes from the header); return the numerically typed frame and findings."""
    findings: list[Finding] = []
    if frame.empty:
        if table in schema.APPLICATION_TABLES:
            findings.append(Finding("error", file, "", "no application row (only a header)", 0))
        else:
            findings.append(Finding("warning", file, "", "no row: no client has this history", 0))
    frame, type_findings = coerce_numeric(frame, table, file)
    findings += type_findings
    findings += check_domain(frame, file)
    findings += check_plausibility(frame, table, file)
    findings += check_profile(frame, table, file)
    findings += check_primary_key(frame, table, file)
    return frame, findings


def check_links(tables: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Finding]:
    """A client in both application tables is an error; history rows whose parent (client,
    bureau credit) is unknown are warnings. Tables or key columns that are missing are skipped
    (the structural check reports them)."""
    findings = _overlap(tables, files)
    parents = {}
    if all(schema.CLIENT_ID in tables.get(t, {}) for t in schema.APPLICATION_TABLES):
        parents[schema.CLIENT_ID] = np.concatenate(
            [tables[t][schema.CLIENT_ID].to_numpy() for t in schema.APPLICATION_TABLES]
        )
    if schema.BUREAU_ID in tables.get("bureau", {}):
        parents[schema.BUREAU_ID] = tables["bureau"][schema.BUREAU_ID]
    for table in schema.HISTORY_TABLES:
        link = schema.TABLE_KEYS[table][0]
        if table not in tables or link not in parents or link not in tables[table]:
            continue
        orphans = ~tables[table][link].isin(parents[link])
        if orphans.any():
            findings.append(
                Finding(
                    "warning",
                    files[table],
                    link,
                    f"{link} not found in its parent table",
                    int(orphans.sum()),
                    _example_rows(orphans, tables[table][link]),
                )
            )
    return findings


def _overlap(tables: Mapping[str, pd.DataFrame], files: Mapping[str, str]) -> list[Finding]:
    """Clients of application_test that are also in application_train (labelled): an error."""
    train, test = (tables.get(t) for t in schema.APPLICATION_TABLES)
    if (
        train is None
        or test is None
        or schema.CLIENT_ID not in train
        or schema.CLIENT_ID not in test
    ):
        return []
    both = test[schema.CLIENT_ID].isin(train[schema.CLIENT_ID]) & test[schema.CLIENT_ID].notna()
    if not both.any():
        return []
    return [
        Finding(
            "error",
            files["application_test"],
            schema.CLIENT_ID,
            "client also in application_train (a client is scored or trained on, not both)",
            int(both.sum()),
            _example_rows(both, test[schema.CLIENT_ID]),
        )
    ]


def raise_on_errors(findings: list[Finding]) -> None:
    """Raise :class:`ValidationError` when any finding is an error."""
    if any(f.severity == "error" for f in findings):
        raise ValidationError(findings)


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """Findings as a frame (one row each), for the data-quality report."""
    columns = ["severity", "file", "column", "problem", "rows", "example"]
    return pd.DataFrame([asdict(f) for f in findings], columns=columns)
