"""Data drift between the training applications (reference) and new ones (current), by Evidently.

Evidently picks a test per column from its type and the reference size: up to 1000 reference rows,
K-S (numeric) and chi-square / Z-test (categorical) p-values, drift when ``score < threshold``;
above 1000 rows, the normed Wasserstein distance (numeric) and the Jensen-Shannon distance
(categorical), drift when ``score >= threshold``. The per-column verdicts are read from the tests
Evidently attaches to the report, so the direction of each test needs no guessing here.
"""

from __future__ import annotations

import logging
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

from credit_scoring.config import DriftConfig
from credit_scoring.tabular import rounded_metrics, sample_rows

logger = logging.getLogger(__name__)

_VALUE_DRIFT = "evidently:metric_v2:ValueDrift"
_DRIFTED_COUNT = "evidently:metric_v2:DriftedColumnsCount"
_FAILED = "FAIL"


def is_categorical(series: pd.Series) -> bool:
    """Whether a column is compared as categorical: anything not numeric (bool counts as such)."""
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def data_definition(frame: pd.DataFrame, columns: list[str]) -> DataDefinition:
    """Declare ``columns`` numeric or categorical from their dtype in ``frame``."""
    categorical = [c for c in columns if is_categorical(frame[c])]
    numerical = [c for c in columns if c not in set(categorical)]
    return DataDefinition(numerical_columns=numerical, categorical_columns=categorical)


def testable_columns(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str]
) -> list[str]:
    """``columns`` minus those entirely missing on either side (Evidently cannot test them)."""
    empty = [c for c in columns if reference[c].isna().all() or current[c].isna().all()]
    if empty:
        logger.warning("drift not tested for %d all-missing column(s): %s", len(empty), empty)
    return [c for c in columns if c not in set(empty)]


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], config: DriftConfig
) -> Any:
    """Run Evidently's data-drift preset on ``columns`` of reference vs current.

    Args:
        reference: reference rows (training applications).
        current: current rows (new applications).
        columns: columns compared; object/string/bool columns are categorical, the rest numeric.
            Columns entirely missing on either side are skipped (with a warning).
        config: per-column threshold (None: Evidently's per-test defaults), share of drifted
            columns that flags the data set, rows sampled per side and the sampling seed
            (``seed`` for the reference, ``seed + 1`` for the current rows, so that two sides
            of equal length are not sampled at the same positions).

    Returns:
        The Evidently snapshot (``save_html(str)``, ``dict()``), with one drift test per column.
    """
    reference = sample_rows(reference[columns], config.sample_size, config.seed)
    current = sample_rows(current[columns], config.sample_size, config.seed + 1)
    tested = testable_columns(reference, current, columns)
    definition = data_definition(reference, tested)
    preset = DataDriftPreset(
        columns=tested, drift_share=config.drift_share, threshold=config.stattest_threshold
    )
    logger.info(
        "drift of %d columns (%d categorical): %d reference vs %d current rows",
        len(tested),
        len(definition.categorical_columns or []),
        len(reference),
        len(current),
    )
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return Report([preset], include_tests=True).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )


def _column_results(snapshot: Any, columns: list[str]) -> dict[str, dict[str, Any]]:
    """Per tested column: stattest, score, threshold and drifted (from the column's test).

    Raises:
        ValueError: when the snapshot holds no drift tests (not built by :func:`drift_report`).
    """
    content = snapshot.dict()
    failed = {
        test["metric_config"]["metric_id"]: str(getattr(test["status"], "value", test["status"]))
        for test in content["tests"]
    }
    results = {}
    for metric in content["metrics"]:
        config = metric["config"]
        if config["type"] != _VALUE_DRIFT or config["column"] not in columns:
            continue
        if metric["id"] not in failed:
            raise ValueError("the snapshot has no drift tests: build it with drift_report()")
        results[config["column"]] = {
            "stattest": config["method"],
            "score": float(metric["value"]),
            "threshold": float(config["threshold"]),
            "drifted": failed[metric["id"]] == _FAILED,
        }
    return {c: results[c] for c in columns if c in results}


def _drift_share_threshold(snapshot: Any) -> float:
    """The share of drifted columns that flags the data set, as configured in the report."""
    for metric in snapshot.dict()["metrics"]:
        if metric["config"]["type"] == _DRIFTED_COUNT:
            return float(metric["config"]["drift_share"])
    raise ValueError(
        "the snapshot has no DriftedColumnsCount metric: build it with drift_report()"
    )


def drift_metrics(
    snapshot: Any, columns: list[str], alert_share: float | None = None
) -> dict[str, float | int]:
    """The drift summary for ``dvc metrics`` (per-column scores: :func:`drifted_columns_table`).

    Args:
        snapshot: output of :func:`drift_report`.
        columns: the columns asked for; those Evidently did not test are left out.
        alert_share: share of drifted columns that raises ``alert`` (None: no ``alert`` key).

    Returns:
        Keys sorted: ``alert`` (1 when ``drift_share`` reaches ``alert_share``),
        ``dataset_drift`` (1 when ``drift_share`` reaches the report's configured share),
        ``drift_share`` (share of drifted columns), ``n_columns`` and ``n_drifted_columns``;
        rounded like every metrics file (:func:`credit_scoring.tabular.rounded_metrics`).
    """
    results = _column_results(snapshot, columns)
    n_drifted = sum(result["drifted"] for result in results.values())
    share = n_drifted / len(results) if results else 0.0
    metrics: dict[str, float | int] = {
        "drift_share": share,
        "n_drifted_columns": n_drifted,
        "n_columns": len(results),
        "dataset_drift": int(bool(results) and share >= _drift_share_threshold(snapshot)),
    }
    if alert_share is not None:
        metrics["alert"] = int(bool(results) and share >= alert_share)
    return rounded_metrics(dict(sorted(metrics.items())))


def save_drift(
    snapshot: Any, columns: list[str], config: DriftConfig, html: Path, table: Path
) -> dict[str, float | int]:
    """Write the Evidently HTML report and the per-column table (a plot file); return the flat
    metrics (:func:`drift_metrics` with the configured ``alert_share``)."""
    html.parent.mkdir(parents=True, exist_ok=True)
    snapshot.save_html(str(html))  # a Path is silently ignored
    table.parent.mkdir(parents=True, exist_ok=True)
    drifted_columns_table(snapshot, columns).to_csv(table, index=False, float_format="%.6g")
    return drift_metrics(snapshot, columns, config.alert_share)


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    excluded: set[str],
    config: DriftConfig,
    html: Path,
    table: Path,
) -> dict[str, float | int]:
    """Drift of every column the two sides share but ``excluded`` (ids, target): the report
    and per-column table written (:func:`save_drift`), the flat metrics returned."""
    columns = [c for c in reference.columns if c not in excluded and c in current.columns]
    snapshot = drift_report(reference, current, columns, config)
    return save_drift(snapshot, columns, config, html=html, table=table)


def summary_line(metrics: dict[str, float | int]) -> str:
    """One line for the console: drifted columns, share, data set drift and alert."""
    return (
        f"{metrics['n_drifted_columns']} of {metrics['n_columns']} columns drifted "
        f"(share {metrics['drift_share']:.3f}; data set drift: {bool(metrics['dataset_drift'])}; "
        f"alert: {bool(metrics.get('alert', 0))})"
    )


def _severity(row: pd.Series) -> float:
    """How far a column is from the no-drift side of its threshold (larger: more drift).

    A test flags drift either below its threshold (p-values) or above it (distances); which one
    is deduced from the verdict, so p-values and distances sort on one scale.
    """
    score, threshold = max(row["score"], 1e-300), max(row["threshold"], 1e-300)
    p_value_like = bool(row["drifted"]) == (score < threshold)
    ratio = threshold / score if p_value_like else score / threshold
    return math.log(ratio) if math.isfinite(ratio) else 0.0


def drifted_columns_table(snapshot: Any, columns: list[str]) -> pd.DataFrame:
    """One row per tested column: column, stattest, score, threshold, drifted, severity.

    ``severity`` is the log of how far the score sits past its threshold (positive: drifted), one
    scale for p-values and distances: the per-column drift plot (``dvc plots``).

    Returns:
        Drifted columns first, then by decreasing drift (smallest p-value / largest distance).
    """
    results = _column_results(snapshot, columns)
    table = pd.DataFrame(
        [{"column": column, **result} for column, result in results.items()],
        columns=["column", "stattest", "score", "threshold", "drifted"],
    )
    if table.empty:
        return table.assign(severity=pd.Series(dtype=float))
    table["severity"] = table.apply(_severity, axis=1)
    order = np.lexsort((-table["severity"].to_numpy(), ~table["drifted"].to_numpy(dtype=bool)))
    return table.iloc[order].reset_index(drop=True)
