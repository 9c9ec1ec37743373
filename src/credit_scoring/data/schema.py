"""The Home Credit schema: tables, columns, dtypes, keys and value facts.

Everything here comes from ``resources/home_credit_profile.json``, per-column facts (dtype,
missing rate, quantiles, category frequencies, split by TARGET) of a real sample of the Kaggle
data. The figures are aggregates only; no row of the real data is in the project.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, Literal

import pandas as pd

ColumnKind = Literal["int", "float", "category"]

TARGET = "TARGET"
CLIENT_ID = "SK_ID_CURR"
BUREAU_ID = "SK_ID_BUREAU"
PREVIOUS_ID = "SK_ID_PREV"

APPLICATION_TABLES = ("application_train", "application_test")
HISTORY_TABLES = (
    "bureau",
    "bureau_balance",
    "previous_application",
    "POS_CASH_balance",
    "installments_payments",
    "credit_card_balance",
)
TABLES = APPLICATION_TABLES + HISTORY_TABLES

# Key columns of each table; the first one is the table's link to its parent.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "application_train": (CLIENT_ID,),
    "application_test": (CLIENT_ID,),
    "bureau": (CLIENT_ID, BUREAU_ID),
    "bureau_balance": (BUREAU_ID,),
    "previous_application": (CLIENT_ID, PREVIOUS_ID),
    "POS_CASH_balance": (CLIENT_ID, PREVIOUS_ID),
    "installments_payments": (CLIENT_ID, PREVIOUS_ID),
    "credit_card_balance": (CLIENT_ID, PREVIOUS_ID),
}

# The placeholder Home Credit uses for "not employed / pensioner" in DAYS_EMPLOYED (and for
# "never" in the day columns of previous_application).
DAYS_EMPLOYED_ANOMALY = 365243
# Calendar lengths used to turn DAYS_* columns into years and months.
DAYS_PER_YEAR = 365.25
DAYS_PER_MONTH = 30.4375


@cache
def load_profile() -> dict[str, Any]:
    """Return the bundled per-column profile of the Home Credit tables (cached)."""
    text = resources.files("credit_scoring").joinpath("resources/home_credit_profile.json")
    return json.loads(text.read_text(encoding="utf-8"))


def table_profile(table: str) -> dict[str, Any]:
    """Return the profile of one table: rows, columns (ordered), per-column facts."""
    tables = load_profile()["tables"]
    if table not in tables:
        raise KeyError(f"unknown Home Credit table {table!r}; known: {', '.join(tables)}")
    return tables[table]


def table_columns(table: str) -> list[str]:
    """Return the columns of ``table`` in the Kaggle file order."""
    return list(table_profile(table)["columns"])


def column_kinds(table: str) -> dict[str, ColumnKind]:
    """Return ``{column: "int" | "float" | "category"}`` for ``table``."""
    profile = table_profile(table)["profile"]
    return {column: profile[column]["dtype"] for column in table_columns(table)}


def categorical_columns(table: str) -> list[str]:
    """Return the categorical (string) columns of ``table``."""
    return [c for c, kind in column_kinds(table).items() if kind == "category"]


def known_categories(table: str, column: str) -> list[str]:
    """Return the categories seen for ``table.column`` in the profile, most frequent first."""
    facts = table_profile(table)["profile"][column]
    return list(facts.get("frequencies", {}))


def typed_rows(table: str, records: list[dict[str, Any]]) -> pd.DataFrame:
    """JSON-like rows of ``table`` as a frame typed like the ingested tables: every schema column
    (absent ones missing), numbers as numbers, categories as pandas strings; extra keys dropped."""
    frame = pd.DataFrame(records, columns=table_columns(table))
    typed = {
        column: frame[column].astype("string")
        if kind == "category"
        else pd.to_numeric(frame[column], errors="coerce")
        for column, kind in column_kinds(table).items()
    }
    return pd.DataFrame(typed, index=frame.index)  # built at once: no fragmented frame
