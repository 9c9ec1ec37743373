"""Validation errors name the file, the column, the rule and the number of rows."""

import pandas as pd
import pytest

from credit_scoring.data import schema
from credit_scoring.data.io import RawDataError, find_raw_file, read_raw_table
from credit_scoring.data.validate import ValidationError, raise_on_errors, validate_table

FILE = "data/raw/application_train.csv"


def valid_application(n_rows: int = 5) -> pd.DataFrame:
    """Rows at the profiled median (numeric) / most frequent category of every column."""
    profile = schema.table_profile("application_train")["profile"]
    row = {}
    for column in schema.table_columns("application_train"):
        facts = profile[column]
        if facts["dtype"] == "category":
            row[column] = next(iter(facts["frequencies"]))
        else:
            row[column] = facts["quantiles"]["0.5"]
    frame = pd.DataFrame([row] * n_rows)
    frame[schema.CLIENT_ID] = range(100002, 100002 + n_rows)
    return frame


def errors_of(frame: pd.DataFrame) -> list:
    return [
        f for f in validate_table(frame, "application_train", FILE)[1] if f.severity == "error"
    ]


def test_valid_rows_have_no_error():
    assert errors_of(valid_application()) == []


def test_missing_column_is_named():
    (error,) = errors_of(valid_application().drop(columns=["AMT_CREDIT"]))
    assert (error.file, error.column, error.problem) == (FILE, "AMT_CREDIT", "missing column")


def test_text_in_numeric_column_is_a_type_error_with_line_numbers():
    frame = valid_application().astype({"AMT_INCOME_TOTAL": object})
    frame.loc[[1, 3], "AMT_INCOME_TOTAL"] = "lots"
    (error,) = errors_of(frame)
    assert error.column == "AMT_INCOME_TOTAL" and error.rows == 2
    assert "wrong type" in error.problem and "line 3: 'lots'" in error.example


@pytest.mark.parametrize(
    ("column", "value"),
    [("DAYS_BIRTH", 1200), ("AMT_INCOME_TOTAL", -5.0), ("EXT_SOURCE_2", 1.5), ("TARGET", 2),
     ("FLAG_MOBIL", 3), ("CNT_CHILDREN", -1)],
)  # fmt: skip
def test_impossible_values_are_errors(column, value):
    frame = valid_application()
    frame.loc[0, column] = value
    (error,) = errors_of(frame)
    assert error.column == column and error.rows == 1 and "impossible value" in error.problem


def test_duplicated_client_id():
    frame = valid_application()
    frame.loc[1, schema.CLIENT_ID] = frame.loc[0, schema.CLIENT_ID]
    (error,) = errors_of(frame)
    assert error.column == schema.CLIENT_ID and error.rows == 2


def test_unusual_values_and_unknown_categories_are_warnings_only():
    frame = valid_application()
    frame.loc[0, "AMT_INCOME_TOTAL"] = 1e9
    frame.loc[1, "CODE_GENDER"] = "XNA"
    _, findings = validate_table(frame, "application_train", FILE)
    assert {(f.severity, f.column) for f in findings} == {
        ("warning", "AMT_INCOME_TOTAL"),
        ("warning", "CODE_GENDER"),
    }
    raise_on_errors(findings)  # warnings never raise


def test_error_message_lists_every_error():
    frame = valid_application().drop(columns=["AMT_CREDIT"])
    frame.loc[0, "DAYS_BIRTH"] = 10
    with pytest.raises(ValidationError) as caught:
        raise_on_errors(validate_table(frame, "application_train", FILE)[1])
    message = str(caught.value)
    assert "2 validation error(s)" in message
    assert f"{FILE}: column AMT_CREDIT: missing column" in message
    assert f"{FILE}: column DAYS_BIRTH: impossible value" in message


def test_malformed_csv_and_missing_file(tmp_path):
    with pytest.raises(RawDataError, match="missing table 'bureau'"):
        find_raw_file(tmp_path, "bureau")
    bad = tmp_path / "bureau.csv"
    bad.write_text('SK_ID_CURR,SK_ID_BUREAU\n1,2\n3,"4\n')
    with pytest.raises(RawDataError, match=r"bureau\.csv: cannot be read as CSV"):
        read_raw_table(find_raw_file(tmp_path, "bureau"), "bureau")
