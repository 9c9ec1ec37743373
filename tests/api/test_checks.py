"""Warnings on valid applications: unknown categories and numbers far outside the profile."""

from __future__ import annotations

import numpy as np

from credit_scoring.api.checks import _profile, application_warnings
from credit_scoring.data import schema
from credit_scoring.features.application import conform_records


def warnings_of(applications: list[dict]) -> list[list[str]]:
    keys = np.arange(len(applications), dtype="int64")
    return application_warnings(conform_records(applications, keys))


def test_each_application_gets_its_own_warnings_in_column_order():
    _, ranges = _profile()
    low, high = ranges["AMT_INCOME_TOTAL"]
    far = high + 10 * (high - low)
    applications = [
        {"SK_ID_CURR": 1, "AMT_INCOME_TOTAL": 1.5e5, "NAME_INCOME_TYPE": "Working"},
        {"SK_ID_CURR": 2, "NAME_INCOME_TYPE": "Astronaut", "AMT_INCOME_TOTAL": far},
        {"SK_ID_CURR": 3, "AMT_INCOME_TOTAL": None, "NAME_INCOME_TYPE": None},
        {"SK_ID_CURR": 99_999_999, "DAYS_BIRTH": -200_000},
    ]
    found = warnings_of(applications)
    assert found[0] == [] and found[2] == []
    columns = schema.table_columns("application_test")
    income_first = columns.index("AMT_INCOME_TOTAL") < columns.index("NAME_INCOME_TYPE")
    income = f"AMT_INCOME_TOTAL: unusual value {far:g}, outside the profiled range"
    astronaut = "NAME_INCOME_TYPE: unknown category 'Astronaut'"
    expected = [income, astronaut] if income_first else [astronaut, income]
    assert [w[: len(e)] for w, e in zip(found[1], expected, strict=True)] == expected
    # An identifier is never "unusual"; an impossible age is.
    assert len(found[3]) == 1 and found[3][0].startswith("DAYS_BIRTH: unusual value -200000")


def test_no_application_no_warning():
    assert warnings_of([]) == []
