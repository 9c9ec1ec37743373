"""Plausibility rules of an application, on top of the hard domain bounds of the validator.

One definition for the ingest validator (vectorised on a table: error findings naming the file,
column and lines) and the API (one application: a 422 naming the field; a batch's rows at once).
A rule names the column it blames, the columns it reads, and a test written with operators that
work alike on pandas Series, numpy arrays and plain numbers. A missing value never breaks a
rule: each of the three ways of applying it leaves out the rows where a value it reads is
missing, so that a rule reading a second column does not pass or fail with it by accident (a
check that needs only its own column is a rule of its own).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.data.schema import DAYS_EMPLOYED_ANOMALY

DAYS_PER_YEAR = 365.25
MIN_AGE_YEARS, MAX_AGE_YEARS = 18, 100


@dataclass(frozen=True)
class PlausibilityRule:
    """An application value no genuine applicant has.

    Attributes:
        column: the field blamed.
        reads: every column the test reads (``column`` included).
        message: what a plausible value is.
        test: True where the values are implausible (Series or scalars).
    """

    column: str
    reads: tuple[str, ...]
    message: str
    test: Callable[[Mapping[str, Any]], Any]

    def violated(self, values: Mapping[str, Any]) -> bool:
        """Whether one application's ``values`` break the rule (False when a value is missing)."""
        if any(values.get(column) is None for column in self.reads):
            return False
        return bool(self.test(values))

    def broken(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """:meth:`violated` of many applications at once: ``columns`` holds the values as float
        arrays (NaN where missing); True where the rule is broken."""
        present = np.logical_and.reduce([~np.isnan(columns[column]) for column in self.reads])
        with np.errstate(invalid="ignore"):
            return present & np.asarray(self.test(columns), dtype=bool)

    def violations(self, frame: pd.DataFrame) -> pd.Series | None:
        """Rows of ``frame`` breaking the rule (None when a column it reads is absent)."""
        if any(column not in frame.columns for column in self.reads):
            return None
        columns = {
            c: pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            for c in self.reads
        }
        return pd.Series(self.broken(columns), index=frame.index)


RULES: tuple[PlausibilityRule, ...] = (
    PlausibilityRule(
        "DAYS_BIRTH",
        ("DAYS_BIRTH",),
        f"implausible age: must be {MIN_AGE_YEARS} to {MAX_AGE_YEARS} years (DAYS_BIRTH "
        f"within [{-MAX_AGE_YEARS * DAYS_PER_YEAR:g}, {-MIN_AGE_YEARS * DAYS_PER_YEAR:g}])",
        lambda v: (
            (v["DAYS_BIRTH"] > -MIN_AGE_YEARS * DAYS_PER_YEAR)
            | (v["DAYS_BIRTH"] < -MAX_AGE_YEARS * DAYS_PER_YEAR)
        ),
    ),
    PlausibilityRule(
        "AMT_INCOME_TOTAL",
        ("AMT_INCOME_TOTAL",),
        "implausible income: must be above 0",
        lambda v: v["AMT_INCOME_TOTAL"] <= 0,
    ),
    PlausibilityRule(
        "AMT_CREDIT",
        ("AMT_CREDIT",),
        "implausible credit amount: must be above 0",
        lambda v: v["AMT_CREDIT"] <= 0,
    ),
    PlausibilityRule(
        "AMT_ANNUITY",
        ("AMT_ANNUITY", "AMT_CREDIT"),
        "implausible annuity: must be above 0 and at most the credit amount",
        lambda v: (v["AMT_ANNUITY"] <= 0) | (v["AMT_ANNUITY"] > v["AMT_CREDIT"]),
    ),
    PlausibilityRule(
        "AMT_GOODS_PRICE",
        ("AMT_GOODS_PRICE",),
        "implausible goods price: must be above 0",
        lambda v: v["AMT_GOODS_PRICE"] <= 0,
    ),
    PlausibilityRule(
        "DAYS_EMPLOYED",
        ("DAYS_EMPLOYED",),
        f"implausible employment: must be <= 0 days, or the code {DAYS_EMPLOYED_ANOMALY} "
        "(not employed)",
        lambda v: (v["DAYS_EMPLOYED"] != DAYS_EMPLOYED_ANOMALY) & (v["DAYS_EMPLOYED"] > 0),
    ),
    PlausibilityRule(
        "DAYS_EMPLOYED",
        ("DAYS_EMPLOYED", "DAYS_BIRTH"),
        "implausible employment: must start after birth (DAYS_EMPLOYED >= DAYS_BIRTH)",
        lambda v: (
            (v["DAYS_EMPLOYED"] != DAYS_EMPLOYED_ANOMALY) & (v["DAYS_EMPLOYED"] < v["DAYS_BIRTH"])
        ),
    ),
)


def any_broken(applications: Sequence[Any], rules: tuple[PlausibilityRule, ...] = RULES) -> bool:
    """Whether any of ``applications`` (objects with the columns as attributes, None where
    missing: validated request rows) breaks a rule, every row at once (:meth:`PlausibilityRule.
    broken`, which says what :meth:`PlausibilityRule.violated` says row by row)."""
    read = {column for rule in rules for column in rule.reads}
    columns = {c: np.array([getattr(row, c) for row in applications], float) for c in read}
    return any(rule.broken(columns).any() for rule in rules)
