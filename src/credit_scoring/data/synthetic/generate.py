"""Assembly: the tables as Kaggle-typed DataFrames, and their CSV files."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from credit_scoring.config import GenerateConfig
from credit_scoring.data import schema
from credit_scoring.data.csv_writer import write_csv
from credit_scoring.data.synthetic.application import draw_application, draw_population
from credit_scoring.data.synthetic.distributions import (
    KEYS,
    RANGE_SLACK,
    TEST,
    TRAIN,
    Population,
    column_facts,
)
from credit_scoring.data.synthetic.history import (
    PREV,
    draw_bureau,
    draw_bureau_balance,
    draw_credit_cards,
    draw_pos_cash,
    draw_previous,
)
from credit_scoring.data.synthetic.installments import draw_installments, split_payments
from credit_scoring.data.synthetic.signal import draw_target

logger = logging.getLogger(__name__)


def _decimals(table: str, column: str) -> int:
    """Decimals kept in the CSV: money 2, scores and rates 6, housing 4, counts and days 0."""
    if column.startswith("AMT_"):
        return 2
    if column.startswith(("EXT_SOURCE", "RATE_", "REGION_POPULATION")):
        return 6
    if column.endswith(("_AVG", "_MODE", "_MEDI")):
        return 4
    quantiles = column_facts(table, column).get("quantiles", {})
    return 0 if all(float(v).is_integer() for v in quantiles.values()) else 6


def _within_profile(table: str, column: str, values: np.ndarray) -> np.ndarray:
    """Clip a numeric column to its profiled range widened by ``RANGE_SLACK`` of the span."""
    quantiles = column_facts(table, column).get("quantiles")
    if quantiles is None or column in KEYS:
        return values
    low, high = quantiles["0"], quantiles["1"]
    slack = RANGE_SLACK * (high - low)
    return np.clip(values, low - slack, high + slack)


def _finish(table: str, column: str, kind: str, values: np.ndarray) -> np.ndarray:
    """Cast a column to its schema kind: int64, rounded float64 or object labels."""
    if kind == "category":
        return np.asarray(values, dtype=object)
    values = _within_profile(table, column, np.asarray(values, dtype=float))
    if kind == "int":
        if np.isnan(values).any():
            raise ValueError(f"{table}.{column}: integer column with missing values")
        return np.rint(values).astype(np.int64)
    return np.round(values, _decimals(table, column)) + 0.0


def _frame(table: str, data: dict) -> pd.DataFrame:
    """A table's DataFrame with exactly the schema columns, in order, with their kinds.

    The schema columns are taken out of ``data`` as they are converted (each raw array is freed
    as soon as its typed copy exists) and the frame keeps one block per column (no 2-D copy).
    """
    kinds = schema.column_kinds(table)
    columns = {c: _finish(table, c, kinds[c], data.pop(c)) for c in schema.table_columns(table)}
    frame = pd.DataFrame(columns, copy=False)
    logger.info("generated %s: %d rows x %d columns", table, len(frame), frame.shape[1])
    return frame


def _select(data: dict, rows: np.ndarray) -> dict:
    """Rows of every column array of a column dict."""
    return {column: np.asarray(values)[rows] for column, values in data.items()}


def _client_keys(pop: Population, prev: dict, part: dict) -> dict:
    """Add SK_ID_PREV / SK_ID_CURR to a loan-level table (rows point at previous_application)."""
    rows = part["prev_row"]
    return part | {
        "SK_ID_PREV": prev["SK_ID_PREV"][rows],
        "SK_ID_CURR": pop.ids[prev["owner"][rows]],
    }


def _check(config: GenerateConfig) -> None:
    """Reject configurations that cannot be generated."""
    if config.n_train < 1 or config.n_test < 0:
        raise ValueError(
            f"need n_train >= 1 and n_test >= 0, got {config.n_train}, {config.n_test}"
        )
    if not 0 < config.target_rate < 1:
        raise ValueError(f"target_rate must be in (0, 1), got {config.target_rate}")
    if config.history_scale <= 0:
        raise ValueError(f"history_scale must be > 0, got {config.history_scale}")
    unknown = sorted(set(config.history_scales) - set(schema.HISTORY_TABLES))
    if unknown:
        raise ValueError(f"history_scales: unknown tables {unknown}")
    if any(scale <= 0 for scale in config.history_scales.values()):
        raise ValueError(f"history_scales must be > 0, got {config.history_scales}")


def generate_tables(config: GenerateConfig) -> dict[str, pd.DataFrame]:
    """Generate the eight Home Credit tables.

    Args:
        config: seed, sizes, default rate and side-table scales.

    Returns:
        ``{table: frame}`` keyed by ``schema.TABLES``; each frame has exactly
        ``schema.table_columns(table)`` in order. application_test has no TARGET.

    Raises:
        ValueError: on an impossible configuration.
    """
    tables = dict(iter_tables(config))
    return {table: tables[table] for table in schema.TABLES}


def iter_tables(config: GenerateConfig) -> Iterator[tuple[str, pd.DataFrame]]:
    """Generate the tables one at a time, each as soon as no later draw needs its rows.

    The same tables as :func:`generate_tables` (same draws), but a caller that writes each
    frame and drops it holds the raw arrays of a few tables only, not all eight frames.

    Args:
        config: seed, sizes, default rate and side-table scales.

    Yields:
        ``(table, frame)`` for each of ``schema.TABLES``, in the order they are complete.

    Raises:
        ValueError: on an impossible configuration (before anything is drawn).
    """
    _check(config)
    rng = np.random.default_rng(config.seed)
    scale = config.table_scale
    pop = draw_population(rng, config.n_train, config.n_test)
    cols = draw_application(rng, pop)
    risk = pop.latent["risk"]
    bureau = draw_bureau(rng, pop, cols, scale("bureau"))
    balance = draw_bureau_balance(rng, bureau, risk, scale("bureau_balance"))
    yield "bureau_balance", _frame("bureau_balance", balance)
    prev = draw_previous(rng, pop, cols, scale(PREV))
    pos = draw_pos_cash(rng, prev, risk, scale("POS_CASH_balance"))
    payments = config.history_scales.get("installments_payments", 1.0)
    installments = split_payments(rng, draw_installments(rng, prev, pos), payments)
    pos = _client_keys(pop, prev, pos)  # the only reference left: _frame frees it column by column
    yield "POS_CASH_balance", _frame("POS_CASH_balance", pos)
    del pos
    cards = draw_credit_cards(rng, prev, risk, scale("credit_card_balance"))
    side = {"bureau": bureau, PREV: prev, "installments": installments, "cards": cards}
    cols[schema.TARGET] = draw_target(rng, pop, cols, side, config.target_rate)
    del side
    yield TRAIN, _frame(TRAIN, _select(cols, ~pop.is_test))
    yield TEST, _frame(TEST, _select(cols, pop.is_test))
    del cols
    bureau["SK_ID_CURR"] = pop.ids[bureau["owner"]]
    yield "bureau", _frame("bureau", bureau)
    loan_tables = {"installments_payments": installments, "credit_card_balance": cards}
    del bureau, installments, cards
    for table in list(loan_tables):
        yield table, _frame(table, _client_keys(pop, prev, loan_tables.pop(table)))
    prev["SK_ID_CURR"] = pop.ids[prev["owner"]]
    yield PREV, _frame(PREV, prev)


def write_tables(
    tables: Mapping[str, pd.DataFrame] | Iterable[tuple[str, pd.DataFrame]], out_dir: Path
) -> list[Path]:
    """Write each table to ``out_dir/<table>.csv`` (the bytes of pandas' ``to_csv``, no index).

    Args:
        tables: frames keyed by table name (as returned by :func:`generate_tables`), or
            ``(table, frame)`` pairs (from :func:`iter_tables`: each frame is dropped once
            written).
        out_dir: destination folder, created if needed.

    Returns:
        The written paths, in the order of ``tables``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = tables.items() if isinstance(tables, Mapping) else tables
    paths = []
    for table, frame in pairs:
        path = out_dir / f"{table}.csv"
        write_csv(frame, path)
        logger.info("wrote %s (%d rows)", path, len(frame))
        paths.append(path)
        del frame  # not held while the next table is generated
    return paths
