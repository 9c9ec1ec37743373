"""Ingest: the Arrow CSV reader reads what pandas reads, and the table-at-a-time parquet ingest
gives the same tables, findings and manifest as the in-memory one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from credit_scoring.config import GenerateConfig
from credit_scoring.data import schema
from credit_scoring.data.ingest import ingest_tables, ingest_to_parquet
from credit_scoring.data.io import ParquetTables, read_raw_table, read_table
from credit_scoring.data.synthetic import generate_tables, write_tables

SMALL = GenerateConfig(seed=3, n_train=300, n_test=60, history_scale=0.3)


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("raw")
    write_tables(generate_tables(SMALL), folder)
    return folder


def pandas_read(path: Path, table: str) -> pd.DataFrame:
    """The reader ingest used before: pandas' C parser, categorical columns as strings."""
    categorical = schema.categorical_columns(table)
    return pd.read_csv(path, dtype=dict.fromkeys(categorical, "string"), low_memory=False)


def copy_raw(raw_dir: Path, target: Path, edit: tuple[str, str, object] | None = None) -> Path:
    """Copy the raw CSVs, optionally setting ``(table, column, value)`` in the first row."""
    target.mkdir()
    for path in raw_dir.glob("*.csv"):
        frame = pd.read_csv(path, low_memory=False)
        if edit is not None and path.stem == edit[0]:
            frame[edit[1]] = frame[edit[1]].astype(object)
            frame.loc[0, edit[1]] = edit[2]
        frame.to_csv(target / path.name, index=False)
    return target


@pytest.mark.parametrize("table", schema.TABLES)
def test_arrow_reader_reads_what_pandas_reads(raw_dir, table):
    path = raw_dir / f"{table}.csv"
    fast, slow = read_raw_table(path, table), pandas_read(path, table)
    pd.testing.assert_frame_equal(fast, slow, check_dtype=False, check_exact=True)
    categorical = schema.categorical_columns(table)
    for column in fast.columns:
        expected = pd.StringDtype("pyarrow") if column in categorical else slow[column].dtype
        assert fast[column].dtype == expected, column


def test_text_deep_in_a_numeric_column_falls_back_to_pandas(tmp_path):
    """Text past Arrow's first block of rows: pandas reads the file, the validator reports."""
    rows = 200_000
    frame = pd.DataFrame(
        {"SK_ID_BUREAU": np.arange(rows), "MONTHS_BALANCE": -(np.arange(rows) % 90)}
    )
    frame["STATUS"] = "C"
    frame["MONTHS_BALANCE"] = frame["MONTHS_BALANCE"].astype(object)
    frame.loc[rows - 1, "MONTHS_BALANCE"] = "last month"
    path = tmp_path / "bureau_balance.csv"
    frame.to_csv(path, index=False)
    read = read_raw_table(path, "bureau_balance")
    pd.testing.assert_frame_equal(read, pandas_read(path, "bureau_balance"))
    assert read["MONTHS_BALANCE"].iloc[-1] == "last month"


def test_empty_numeric_column_reads_as_float_nan(tmp_path):
    path = tmp_path / "bureau_balance.csv"
    path.write_text("SK_ID_BUREAU,MONTHS_BALANCE,STATUS\n1,,C\n2,,\n")
    read = read_raw_table(path, "bureau_balance")
    pd.testing.assert_frame_equal(read, pandas_read(path, "bureau_balance"), check_dtype=False)
    assert read["MONTHS_BALANCE"].dtype == np.float64 and read["STATUS"].isna().iloc[1]


def test_parquet_ingest_equals_the_in_memory_ingest(raw_dir, tmp_path):
    in_memory = ingest_tables(raw_dir)
    written = ingest_to_parquet(raw_dir, tmp_path / "interim")
    assert written.findings == in_memory.findings
    assert written.manifest == in_memory.manifest and written.data_hash == in_memory.data_hash
    assert written.tables == {}
    assert sorted(p.stem for p in (tmp_path / "interim").iterdir()) == sorted(schema.TABLES)
    for table, frame in in_memory.tables.items():
        back = read_table(tmp_path / "interim" / f"{table}.parquet", arrow_strings=True)
        pd.testing.assert_frame_equal(back, frame, check_exact=True)


def test_orphan_rows_are_found_table_by_table(raw_dir, tmp_path):
    orphan = copy_raw(raw_dir, tmp_path / "raw", ("credit_card_balance", "SK_ID_CURR", 99))
    in_memory = ingest_tables(orphan)
    written = ingest_to_parquet(orphan, tmp_path / "interim")
    links = [f for f in written.findings if "not found in its parent" in f.problem]
    assert [(f.column, f.rows) for f in links] == [("SK_ID_CURR", 1)]
    assert written.findings == in_memory.findings
    assert (tmp_path / "interim" / "credit_card_balance.parquet").is_file()  # a warning only


@pytest.mark.parametrize(
    ("edit", "fail_on_warnings"),
    [
        (("application_train", "DAYS_BIRTH", 100), False),  # an impossible value: error
        (("bureau", "CREDIT_ACTIVE", "Frozen"), True),  # unknown category: warning -> error
    ],
)
def test_a_stopping_finding_leaves_the_previous_tables(raw_dir, tmp_path, edit, fail_on_warnings):
    bad = copy_raw(raw_dir, tmp_path / "raw", edit)
    interim = tmp_path / "interim"
    interim.mkdir()
    (interim / "previous_run.parquet").write_bytes(b"kept")
    result = ingest_to_parquet(bad, interim, fail_on_warnings)
    assert any(f.column == edit[1] for f in result.findings)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("interim")] == ["interim"]
    assert [p.name for p in interim.iterdir()] == ["previous_run.parquet"]


def test_parquet_tables_read_each_table_when_asked(raw_dir, tmp_path):
    ingest_to_parquet(raw_dir, tmp_path / "interim")
    tables = ParquetTables(tmp_path / "interim", schema.HISTORY_TABLES)
    assert list(tables) == list(schema.HISTORY_TABLES) and len(tables) == 6
    first, second = tables["bureau"], tables["bureau"]
    assert first is not second and first.equals(second)  # read again, not kept
    assert first["CREDIT_ACTIVE"].dtype == pd.StringDtype("pyarrow")
    assert tables.get("application_train") is None
    with pytest.raises(KeyError):
        tables["application_train"]
