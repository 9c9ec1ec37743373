"""Corrupted raw folders never pass silently: each is rejected naming the file (and the line or
column), with nothing written, or accepted with the finding recorded; never a traceback.

The corpus is generated (hypothesis) from one valid synthetic folder; the defects found by
probing the stage from outside are pinned one by one below it.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credit_scoring.config import GenerateConfig
from credit_scoring.data import schema
from credit_scoring.data.ingest import run_ingest
from credit_scoring.data.synthetic import generate_tables, write_tables
from credit_scoring.data.validate import DOMAIN_BOUNDS, PRIMARY_KEYS, ValidationError

SMALL = GenerateConfig(seed=5, n_train=120, n_test=30, history_scale=0.2)
KINDS = (
    "cut", "not_utf8", "reorder", "duplicate_column", "drop_column", "text_in_number",
    "duplicate_key", "missing_table", "empty_file", "header_only", "overlap", "implausible",
    "extra_field", "unexpected_column",
)  # fmt: skip
# Corruptions a careful reader accepts, with a warning naming the file.
ACCEPTED = {"reorder", "unexpected_column"}


def acceptable(kind: str, table: str) -> bool:
    """Whether the corruption leaves valid data (a history table may have no row)."""
    return kind in ACCEPTED or (kind == "header_only" and table in schema.HISTORY_TABLES)


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> dict[str, Path]:
    """A valid raw folder and the outputs of its accepted ingest."""
    root = tmp_path_factory.mktemp("corpus")
    write_tables(generate_tables(SMALL), root / "raw")
    run_ingest(root / "raw", root / "interim", root / "reports", "synthetic", False)
    return {"raw": root / "raw", "interim": root / "interim", "reports": root / "reports"}


def snapshot(*folders: Path) -> dict[str, str]:
    """sha256 of every file under ``folders`` (the rejected findings excepted)."""
    return {
        str(path): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "rejected" not in path.parts
    }


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def corrupt(raw: Path, kind: str, table: str, draw) -> str:
    """Apply one corruption of ``kind`` to ``table``'s file in ``raw``; return its file name."""
    path = raw / f"{table}.csv"
    frame = pd.read_csv(path, low_memory=False, dtype=str, keep_default_na=False)
    columns = list(frame.columns)
    row = draw(st.integers(0, max(len(frame) - 1, 0)))
    if kind == "cut":
        lines = lines_of(path)
        index = draw(st.integers(1, len(lines) - 1))
        cut = draw(st.integers(1, max(len(lines[index]) - 2, 1)))
        path.write_bytes(b"".join(lines[:index]) + lines[index][:cut])
    elif kind == "not_utf8":
        lines = lines_of(path)
        index = draw(st.integers(1, len(lines) - 1))
        lines[index] = lines[index].rstrip(b"\r\n") + "é".encode("latin-1") + b"\n"
        path.write_bytes(b"".join(lines))
    elif kind == "reorder":
        i, j = draw(
            st.lists(st.integers(0, len(columns) - 1), min_size=2, max_size=2, unique=True)
        )
        columns[i], columns[j] = columns[j], columns[i]
        frame[columns].to_csv(path, index=False)
    elif kind == "duplicate_column":
        name = draw(st.sampled_from(columns))
        pd.concat([frame, frame[[name]]], axis=1).to_csv(path, index=False)
    elif kind == "drop_column":
        frame.drop(columns=draw(st.sampled_from(columns))).to_csv(path, index=False)
    elif kind == "text_in_number":
        numeric = [c for c in columns if c not in schema.categorical_columns(table)]
        frame.loc[row, draw(st.sampled_from(numeric))] = draw(
            st.sampled_from(["abc", "1,5", "--"])
        )
        frame.to_csv(path, index=False)
    elif kind == "duplicate_key":
        pd.concat([frame, frame.iloc[[row]]]).to_csv(path, index=False)
    elif kind == "missing_table":
        path.unlink()
    elif kind == "empty_file":
        path.write_bytes(b"")
    elif kind == "header_only":
        frame.head(0).to_csv(path, index=False)
    elif kind == "overlap":
        path = raw / "application_test.csv"
        test = pd.read_csv(path, dtype=str, keep_default_na=False)
        train = pd.read_csv(raw / "application_train.csv", dtype=str, keep_default_na=False)
        test.loc[row % len(test), schema.CLIENT_ID] = train[schema.CLIENT_ID].iloc[row]
        test.to_csv(path, index=False)
    elif kind == "implausible":
        column, value = draw(
            st.sampled_from(
                [("DAYS_BIRTH", "-1000"), ("AMT_INCOME_TOTAL", "0"), ("AMT_CREDIT", "0"),
                 ("DAYS_EMPLOYED", "-60000"), ("DAYS_BIRTH", "-40000")]
            )
        )  # fmt: skip
        frame.loc[row, column] = value
        frame.to_csv(path, index=False)
    elif kind == "extra_field":
        lines = lines_of(path)
        index = draw(st.integers(1, len(lines) - 1))
        lines[index] = lines[index].rstrip(b"\r\n") + b",1\n"
        path.write_bytes(b"".join(lines))
    elif kind == "unexpected_column":
        frame.assign(EXTRA_COLUMN="1").to_csv(path, index=False)
    return path.name


def applicable(kind: str, table: str) -> str:
    """The table a corruption applies to (some only make sense on some tables)."""
    if kind in ("implausible", "overlap"):
        return "application_train" if kind == "implausible" else "application_test"
    if kind == "duplicate_key" and table not in PRIMARY_KEYS:
        return "application_train"
    return table


@settings(
    max_examples=70,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), kind=st.sampled_from(KINDS), table=st.sampled_from(schema.TABLES))
def test_a_corrupted_folder_is_rejected_by_name_or_accepted_with_a_finding(
    valid, tmp_path_factory, data, kind, table
):
    work = tmp_path_factory.mktemp("case")
    for name in ("raw", "interim", "reports"):
        shutil.copytree(valid[name], work / name)
    table = applicable(kind, table)
    file = corrupt(work / "raw", kind, table, data.draw)
    before = snapshot(work / "interim", work / "reports")
    try:
        result = run_ingest(work / "raw", work / "interim", work / "reports", "synthetic", False)
    except ValidationError as error:
        assert not acceptable(kind, table), str(error)
        named = [f for f in error.findings if f.severity == "error" and file in f.file]
        assert named, f"{kind} on {file}: no error names the file:\n{error}"
        if kind not in ("missing_table", "empty_file", "header_only"):
            where = [f for f in named if f.column or "line" in f.problem or "line" in f.example]
            assert where, f"{kind} on {file}: no column or line named:\n{error}"
        assert snapshot(work / "interim", work / "reports") == before  # nothing written
        assert (work / "reports" / "rejected" / "data_findings.csv").is_file()
    else:
        assert acceptable(kind, table), f"{kind} on {file} was accepted: {result.findings}"
        assert any(file in f.file for f in result.findings), result.findings
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- the defects found from outside, one by one ----------------------------------------------


@pytest.fixture
def raw(valid, tmp_path) -> Path:
    shutil.copytree(valid["raw"], tmp_path / "raw")
    return tmp_path / "raw"


def ingest(raw: Path) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        run_ingest(raw, raw.parent / "interim", raw.parent / "reports", "synthetic", False)
    return caught.value


def test_a_row_cut_in_the_middle_names_the_file_and_line(raw):
    path = raw / "application_train.csv"
    lines = lines_of(path)
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][:40])  # 40 bytes: a few fields
    text = str(ingest(raw))
    assert f"{path}: line {len(lines)}: the file ends in the middle of this line" in text


def test_a_short_row_inside_the_file_names_its_line(raw):
    path = raw / "bureau.csv"
    lines = lines_of(path)
    lines[5] = lines[5][:30] + b"\n"  # 6th line: a few fields only
    path.write_bytes(b"".join(lines))
    text = str(ingest(raw))
    assert f"{path}: cannot be read as CSV" not in text
    assert "line 6:" in text and "fields instead of 17" in text, text


def test_a_cut_gzip_file_is_an_error_not_a_traceback(raw):
    path = raw / "bureau.csv"
    data = gzip.compress(path.read_bytes())
    path.unlink()
    (raw / "bureau.csv.gz").write_bytes(data[: len(data) // 2])
    assert "bureau.csv.gz" in str(ingest(raw))


def test_a_labelled_table_without_rows_is_an_error(raw):
    path = raw / "application_train.csv"
    path.write_text(path.read_text().splitlines()[0] + "\n")
    assert "no application row" in str(ingest(raw))


def test_a_client_in_train_and_test_is_an_error(raw):
    train = pd.read_csv(raw / "application_train.csv")
    test = pd.read_csv(raw / "application_test.csv")
    test.loc[0, "SK_ID_CURR"] = train.loc[3, "SK_ID_CURR"]
    test.to_csv(raw / "application_test.csv", index=False)
    assert "client also in application_train" in str(ingest(raw))


def test_a_missing_bureau_is_a_missing_table_not_a_key_error(raw):
    (raw / "bureau.csv").unlink()
    error = ingest(raw)
    assert [f.problem for f in error.findings if f.severity == "error"] == [
        f"{raw / 'bureau.csv'}: missing table 'bureau' (expected bureau.csv or bureau.csv.gz)"
    ]


def test_every_structural_problem_shows_at_once_before_any_content_check(raw):
    (raw / "POS_CASH_balance.csv").unlink()
    bureau = pd.read_csv(raw / "bureau.csv").drop(columns=["SK_ID_CURR"])
    bureau.to_csv(raw / "bureau.csv", index=False)
    (raw / "installments_payments.csv").write_bytes(b"")
    train = pd.read_csv(raw / "application_train.csv")
    train.loc[0, "DAYS_BIRTH"] = 5  # content: not looked at while the structure is broken
    train.to_csv(raw / "application_train.csv", index=False)
    problems = sorted(f"{Path(f.file).name}:{f.column}:{f.problem.split(':')[-1].strip()}"
                      for f in ingest(raw).findings)  # fmt: skip
    assert len(problems) == 3, problems
    assert any(p.startswith("bureau.csv:SK_ID_CURR:missing column") for p in problems)
    assert not any("DAYS_BIRTH" in p for p in problems)


@pytest.mark.parametrize(
    ("column", "value", "words"),
    [
        ("AMT_INCOME_TOTAL", 0, "implausible income"),
        ("AMT_CREDIT", 0, "implausible credit amount"),
        ("DAYS_BIRTH", -1000, "implausible age"),
        ("DAYS_EMPLOYED", -40000, "implausible employment"),
    ],
)
def test_implausible_applications_are_errors(raw, column, value, words):
    train = pd.read_csv(raw / "application_train.csv")
    train.loc[2, column] = value
    train.to_csv(raw / "application_train.csv", index=False)
    errors = [f for f in ingest(raw).findings if f.severity == "error"]
    [finding] = [f for f in errors if f.column == column]  # (a rule reading it may fire too)
    assert finding.rows == 1 and words in finding.problem
    assert finding.example.startswith("line 4:")
    assert DOMAIN_BOUNDS.get(column, (None, None))[0] in (0, None)  # not a domain violation


def test_a_missing_value_breaks_no_rule_but_its_own_column_is_still_checked(raw):
    """DAYS_BIRTH missing: employment cannot be compared with birth (no finding, as in the
    API), but a positive DAYS_EMPLOYED is still implausible on its own."""
    train = pd.read_csv(raw / "application_train.csv")
    train.loc[[2, 3], "DAYS_BIRTH"] = np.nan
    train.loc[2, "DAYS_EMPLOYED"] = 100
    train.loc[3, "DAYS_EMPLOYED"] = -40000
    train.to_csv(raw / "application_train.csv", index=False)
    errors = [f for f in ingest(raw).findings if f.severity == "error"]
    [finding] = [f for f in errors if f.column == "DAYS_EMPLOYED"]
    assert finding.rows == 1 and "must be <= 0 days" in finding.problem
    assert finding.example.startswith("line 4:")


def test_a_rejected_ingest_replaces_nothing(valid, raw):
    for name in ("interim", "reports"):
        shutil.copytree(valid[name], raw.parent / name)
    before = snapshot(raw.parent / "interim", raw.parent / "reports")
    (raw / "previous_application.csv").write_bytes(b"")
    ingest(raw)
    assert snapshot(raw.parent / "interim", raw.parent / "reports") == before
    rejected = pd.read_csv(raw.parent / "reports" / "rejected" / "data_findings.csv")
    assert rejected["problem"].str.contains("empty file").any()
