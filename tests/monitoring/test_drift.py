"""Evidently data drift: verdicts, flat metrics, the column table, the HTML and sampling."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from credit_scoring.config import DriftConfig
from credit_scoring.monitoring.drift import (
    data_definition,
    drift_metrics,
    drift_report,
    drifted_columns_table,
)

from ..conftest import run_stage_script

COLUMNS = ["AMT_INCOME_TOTAL", "DAYS_BIRTH", "CNT_CHILDREN", "NAME_INCOME_TYPE", "CODE_GENDER"]
SUMMARY_KEYS = {"drift_share", "n_drifted_columns", "n_columns", "dataset_drift"}


def make_frame(n: int, seed: int) -> pd.DataFrame:
    """Application-like rows: float, int, a string categorical with NaN and a binary one."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "AMT_INCOME_TOTAL": rng.lognormal(11.5, 0.5, n),
            "DAYS_BIRTH": -rng.integers(7000, 25000, n),
            "CNT_CHILDREN": rng.poisson(0.4, n),
            "NAME_INCOME_TYPE": rng.choice(["Working", "Commercial associate", "Pensioner"], n),
            "CODE_GENDER": rng.choice(["F", "M"], n),
        }
    ).astype({"NAME_INCOME_TYPE": "string", "CODE_GENDER": object})
    frame.loc[rng.random(n) < 0.1, "NAME_INCOME_TYPE"] = pd.NA
    return frame


def shifted(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``frame`` with AMT_INCOME_TOTAL doubled and the income-type mix changed."""
    rng = np.random.default_rng(seed)
    current = frame.copy()
    current["AMT_INCOME_TOTAL"] = current["AMT_INCOME_TOTAL"] * 2
    mix = rng.choice(
        ["Working", "Commercial associate", "Pensioner"], len(frame), p=[0.1, 0.1, 0.8]
    )
    current["NAME_INCOME_TYPE"] = pd.array(mix, dtype="string")
    return current


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return make_frame(600, seed=0)


@pytest.fixture(scope="module")
def identical(reference):
    return drift_report(reference, reference.copy(), COLUMNS, DriftConfig())


# 600 rows: Evidently's p-value tests (K-S, chi-square, Z); 1500 rows: its distance tests.
@pytest.fixture(scope="module", params=[600, 1500], ids=["p-values", "distances"])
def drifted(request):
    reference = make_frame(request.param, seed=0)
    return drift_report(reference, shifted(reference, seed=1), COLUMNS, DriftConfig())


def test_identical_data_has_no_drift(identical):
    metrics = drift_metrics(identical, COLUMNS)
    assert metrics["drift_share"] == 0.0
    assert metrics["n_drifted_columns"] == 0 and metrics["dataset_drift"] == 0
    assert metrics["n_columns"] == len(COLUMNS)
    assert not drifted_columns_table(identical, COLUMNS)["drifted"].any()


def test_shifted_numeric_and_categorical_mix_are_flagged(drifted):
    metrics = drift_metrics(drifted, COLUMNS)
    table = drifted_columns_table(drifted, COLUMNS)
    assert set(table.loc[table["drifted"], "column"]) == {"AMT_INCOME_TOTAL", "NAME_INCOME_TYPE"}
    assert metrics["n_drifted_columns"] == 2
    assert metrics["drift_share"] == pytest.approx(2 / 5)
    assert metrics["dataset_drift"] == 0  # 40 % < the default 50 %


def test_drift_share_setting_flags_the_data_set(reference):
    config = DriftConfig(drift_share=0.3)
    snapshot = drift_report(reference, shifted(reference, seed=1), COLUMNS, config)
    assert drift_metrics(snapshot, COLUMNS)["dataset_drift"] == 1


def test_metrics_are_the_summary_only_flat_and_sorted(identical, drifted):
    for snapshot in (identical, drifted):
        metrics = drift_metrics(snapshot, COLUMNS)
        assert set(metrics) == SUMMARY_KEYS  # per-column scores live in the plot file
        assert list(metrics) == sorted(metrics)
        assert all(isinstance(value, int | float) for value in metrics.values())
        json.dumps(metrics, allow_nan=False)


def test_drifted_columns_table(drifted):
    table = drifted_columns_table(drifted, COLUMNS)
    assert list(table.columns) == [
        "column", "stattest", "score", "threshold", "drifted", "severity",
    ]  # fmt: skip
    assert sorted(table["column"]) == sorted(COLUMNS)
    assert table["drifted"].tolist() == [True, True, False, False, False]
    # One scale for p-values and distances: positive exactly for the drifted columns.
    assert ((table["severity"] > 0) == table["drifted"]).all()
    assert set(table["column"].head(2)) == {"AMT_INCOME_TOTAL", "NAME_INCOME_TYPE"}
    assert table["stattest"].str.len().gt(0).all()


def test_stattest_threshold_is_honoured(reference):
    config = DriftConfig(stattest_threshold=0.01)
    snapshot = drift_report(reference, reference.copy(), COLUMNS, config)
    assert (drifted_columns_table(snapshot, COLUMNS)["threshold"] == 0.01).all()


def test_html_report_is_written(identical, tmp_path):
    path = tmp_path / "drift_report.html"
    identical.save_html(str(path))  # Evidently writes nothing when given a Path
    text = path.read_text(encoding="utf-8")
    assert len(text) > 10_000 and "<html" in text.lower()


def test_sampling_is_deterministic(reference):
    current = shifted(reference, seed=1)
    config = DriftConfig(sample_size=200, seed=7)

    def scores(config: DriftConfig) -> pd.Series:
        table = drifted_columns_table(drift_report(reference, current, COLUMNS, config), COLUMNS)
        return table.set_index("column")["score"]

    first, again, full = scores(config), scores(config), scores(DriftConfig())
    assert first.equals(again)
    assert first["DAYS_BIRTH"] != full["DAYS_BIRTH"]


def test_all_missing_columns_are_skipped(reference, caplog):
    current = reference.copy()
    current["DAYS_BIRTH"] = np.nan
    with caplog.at_level(logging.WARNING, logger="credit_scoring.monitoring.drift"):
        snapshot = drift_report(reference, current, COLUMNS, DriftConfig())
    metrics = drift_metrics(snapshot, COLUMNS)
    assert "drifted.DAYS_BIRTH" not in metrics and metrics["n_columns"] == len(COLUMNS) - 1
    assert "DAYS_BIRTH" in caplog.text


def test_types_are_declared_from_dtypes(reference):
    frame = reference.assign(FLAG_OWN_CAR=True)
    definition = data_definition(frame, [*COLUMNS, "FLAG_OWN_CAR"])
    assert definition.numerical_columns == ["AMT_INCOME_TOTAL", "DAYS_BIRTH", "CNT_CHILDREN"]
    assert definition.categorical_columns == ["NAME_INCOME_TYPE", "CODE_GENDER", "FLAG_OWN_CAR"]


@pytest.mark.slow
def test_drift_stage_writes_its_outputs(tmp_path, reference):
    """Run stages/drift.py on fake interim tables in a temp folder."""
    interim = tmp_path / "data" / "interim"
    interim.mkdir(parents=True)
    train = reference.assign(SK_ID_CURR=np.arange(len(reference)), TARGET=0)
    test = shifted(reference, seed=1).assign(SK_ID_CURR=np.arange(len(reference)) + 10**6)
    train.to_parquet(interim / "application_train.parquet", index=False)
    test.to_parquet(interim / "application_test.parquet", index=False)
    (tmp_path / "params.yaml").write_text(
        "base: {id_column: SK_ID_CURR, target: TARGET}\n"
        "paths: {interim_dir: data/interim, reports_dir: reports}\n"
        "drift: {stattest_threshold: null, drift_share: 0.5, alert_share: 0.3, sample_size: null,"
        " seed: 42}\n"
    )
    result = run_stage_script("drift", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 of 5 columns drifted" in result.stdout
    metrics = json.loads((tmp_path / "reports" / "drift_metrics.json").read_text())
    assert metrics == {  # 40% drifted: alert (30%), no data set drift (50%)
        "alert": 1, "dataset_drift": 0, "drift_share": 0.4, "n_columns": 5, "n_drifted_columns": 2,
    }  # fmt: skip
    table = pd.read_csv(tmp_path / "reports" / "drift_columns.csv")
    assert set(table["column"]) == set(COLUMNS)
    assert (tmp_path / "reports" / "drift" / "drift_report.html").stat().st_size > 10_000
