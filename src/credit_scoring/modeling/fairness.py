"""Fairness of the champion's decisions across gender and age bands, with fairlearn.

On labelled rows at the champion's threshold, per group of ``CODE_GENDER`` and of age band (from
``DAYS_BIRTH``): rows, default rate, refusal rate, false-negative rate (granted defaulters among
defaulters), false-positive rate (refused among reliable clients) and business score; per
attribute, fairlearn's demographic-parity difference (largest gap in refusal rate), its
equalized-odds difference (largest gap in false-negative or false-positive rate) and the ratio of
the highest to the lowest refusal rate.

The differences and the ratio only compare groups with at least ``min_outcomes`` defaulters and
as many reliable clients: a false-negative rate over one or two defaulters is noise (and fairlearn
counts an undefined rate, a group without defaulter, as 0). Every group stays in the table.

:func:`retrain` trains the champion's configuration again, exactly as stage train does, on other
columns (e.g. without the protected attributes, :data:`PROTECTED_FEATURES`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    equalized_odds_difference,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
)
from sklearn.metrics import roc_auc_score
from threadpoolctl import threadpool_limits

from credit_scoring.config import CostConfig, ModelGrid, TrainConfig
from credit_scoring.data.schema import DAYS_PER_YEAR
from credit_scoring.features.application import PROTECTED_FEATURES
from credit_scoring.modeling.cost import business_score
from credit_scoring.modeling.decision import refused
from credit_scoring.modeling.models import describe_params, resolve_grid
from credit_scoring.modeling.train import (
    TrainedCandidate,
    make_folds,
    make_repeated_folds,
    train_family,
)
from credit_scoring.plots import save_figure

GENDER, AGE_BAND = "CODE_GENDER", "age_band"
MISSING_GROUP = "missing"
DISPARITIES = ("demographic_parity_difference", "equalized_odds_difference", "refusal_rate_ratio")
RATES = {
    "refusal_rate": "refusal rate",
    "false_negative_rate": "false-negative rate (defaulters granted)",
    "false_positive_rate": "false-positive rate (reliable clients refused)",
}


# --- groups -------------------------------------------------------------------------------------


def age_band_labels(edges: Sequence[float]) -> list[str]:
    """``<25``, ``25-35``, ..., ``65+`` for the edges ``25, 35, ..., 65``."""
    inner = [f"{low:g}-{high:g}" for low, high in zip(edges[:-1], edges[1:], strict=True)]
    return [f"<{edges[0]:g}", *inner, f"{edges[-1]:g}+"]


def age_bands(days_birth: pd.Series, edges: Sequence[float]) -> pd.Series:
    """Age band of each applicant (a band holds its lower edge); missing age: ``missing``."""
    age = -days_birth.astype("float64") / DAYS_PER_YEAR
    labels = age_band_labels(edges)
    bands = pd.cut(age, [-np.inf, *edges, np.inf], right=False, labels=labels)
    bands = bands.cat.add_categories(MISSING_GROUP).fillna(MISSING_GROUP)
    return bands.cat.remove_unused_categories()


def sensitive_groups(frame: pd.DataFrame, age_band_edges: Sequence[float]) -> pd.DataFrame:
    """The group of each row: ``CODE_GENDER`` (as given, ``missing`` when absent) and age band.

    Args:
        frame: application rows with ``CODE_GENDER`` and ``DAYS_BIRTH``.
        age_band_edges: increasing ages (years) between the bands.

    Returns:
        Categorical columns ``CODE_GENDER`` and ``age_band``, same index as ``frame``; the
        categories are the groups present, in display order.
    """
    gender = frame[GENDER].astype(object)
    gender = gender.where(gender.notna(), MISSING_GROUP).astype(str)
    return pd.DataFrame(
        {
            GENDER: gender.astype(pd.CategoricalDtype(sorted(gender.unique()))),
            AGE_BAND: age_bands(frame["DAYS_BIRTH"], age_band_edges),
        },
        index=frame.index,
    )


# --- metrics ------------------------------------------------------------------------------------


def _defaulters(y_true: np.ndarray, y_pred: np.ndarray) -> int:
    return int(np.sum(y_true == 1))


def _default_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    return float(np.mean(y_true))


def _false_negative_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Granted defaulters among defaulters; NaN without defaulter (fairlearn would say 0)."""
    return false_negative_rate(y_true, y_pred, pos_label=1) if np.any(y_true == 1) else np.nan


def _false_positive_rate(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Refused among reliable clients; NaN without reliable client."""
    return false_positive_rate(y_true, y_pred, pos_label=1) if np.any(y_true == 0) else np.nan


def group_metrics(costs: CostConfig) -> dict[str, Any]:
    """The per-group metrics of a MetricFrame (decisions: 1 = refused)."""
    return {
        "rows": count,
        "defaulters": _defaulters,
        "default_rate": _default_rate,
        "refusal_rate": partial(selection_rate, pos_label=1),
        "false_negative_rate": _false_negative_rate,
        "false_positive_rate": _false_positive_rate,
        "business_score": partial(business_score, fn_cost=costs.fn_cost, fp_cost=costs.fp_cost),
    }


def group_table(
    y_true: np.ndarray,
    refusals: np.ndarray,
    groups: pd.DataFrame,
    costs: CostConfig,
    min_outcomes: int,
) -> pd.DataFrame:
    """One row per (attribute, group): the metrics of :func:`group_metrics` and ``compared``.

    Args:
        y_true: observed defaults (1) and repayments (0).
        refusals: the decisions, True (or 1) = refused.
        groups: output of :func:`sensitive_groups`, same rows.
        min_outcomes: see :func:`compared_rows`; ``compared`` says whether the group enters
            the differences and the ratio of :func:`disparities`.
    """
    y_true, refusals = np.asarray(y_true), np.asarray(refusals).astype(int)
    parts = []
    for attribute in groups.columns:
        labels = groups[attribute].astype(str).rename(attribute)
        frame = MetricFrame(
            metrics=group_metrics(costs), y_true=y_true, y_pred=refusals, sensitive_features=labels
        )
        by_group = frame.by_group.reindex(list(groups[attribute].cat.categories))
        part = by_group.rename_axis("group").reset_index()
        part.insert(0, "attribute", attribute)
        compared = set(labels[compared_rows(y_true, labels, min_outcomes)])
        part["compared"] = part["group"].isin(compared)
        parts.append(part)
    table = pd.concat(parts, ignore_index=True)
    return table.astype({"rows": int, "defaulters": int})


def compared_rows(y_true: np.ndarray, groups: pd.Series, min_outcomes: int) -> np.ndarray:
    """Rows of the groups with at least ``min_outcomes`` defaulters and as many reliable clients
    (and at least one of each)."""
    defaults = pd.Series(np.asarray(y_true) == 1).groupby(groups.astype(str).to_numpy())
    least = np.minimum(defaults.sum(), defaults.size() - defaults.sum())
    kept = least >= max(min_outcomes, 1)
    return groups.astype(str).isin(kept.index[kept]).to_numpy()


def disparities(
    y_true: np.ndarray, refusals: np.ndarray, groups: pd.DataFrame, min_outcomes: int
) -> dict[str, float | None]:
    """Per attribute: demographic-parity and equalized-odds differences, refusal-rate ratio.

    Returns:
        ``{"<attribute>.demographic_parity_difference", ".equalized_odds_difference",
        ".refusal_rate_ratio"}`` (highest over lowest refusal rate): None when fewer than two
        groups can be compared (see :func:`compared_rows`), or for the ratio when a compared
        group is never refused.
    """
    y_true, refusals = np.asarray(y_true), np.asarray(refusals).astype(int)
    metrics: dict[str, float | None] = {}
    for attribute in groups.columns:
        keep = compared_rows(y_true, groups[attribute], min_outcomes)
        labels = groups[attribute].astype(str).to_numpy()[keep]
        names = [f"{attribute}.{name}" for name in DISPARITIES]
        if len(set(labels)) < 2:
            metrics |= dict.fromkeys(names, None)
            continue
        y, decisions = y_true[keep], refusals[keep]
        rates = MetricFrame(
            metrics=selection_rate, y_true=y, y_pred=decisions, sensitive_features=labels
        )
        lowest = float(rates.group_min())
        parity = demographic_parity_difference(y, decisions, sensitive_features=labels)
        odds = equalized_odds_difference(y, decisions, sensitive_features=labels)
        metrics |= {
            names[0]: float(parity),
            names[1]: float(odds),
            names[2]: float(rates.group_max()) / lowest if lowest > 0 else None,
        }
    return metrics


def held_out_scores(
    y_true: np.ndarray, proba: np.ndarray, threshold: float, costs: CostConfig
) -> dict[str, float]:
    """AUC and business score at ``threshold`` of probabilities of default."""
    return {
        "auc": float(roc_auc_score(y_true, proba)),
        "business_score": business_score(
            y_true, refused(proba, threshold).astype(int), costs.fn_cost, costs.fp_cost
        ),
    }


def without_protected_metrics(
    y_true: np.ndarray,
    champion: tuple[np.ndarray, float],
    without: tuple[np.ndarray, float],
    groups: pd.DataFrame,
    costs: CostConfig,
    min_outcomes: int,
) -> dict[str, float | None]:
    """What the model without the protected attributes scores, and its disparities.

    Args:
        champion: the champion's (probabilities, threshold) on the rows.
        without: the same for the model trained without the protected attributes.

    Returns:
        ``without_protected.{auc, business_score, threshold}``, the deltas to the champion
        (``delta_auc``, ``delta_business_score``: without minus champion) and the
        :func:`disparities` of its decisions, all prefixed ``without_protected.``.
    """
    base = held_out_scores(y_true, *champion, costs)
    scores = held_out_scores(y_true, *without, costs)
    metrics = scores | {"threshold": without[1]}
    metrics |= {f"delta_{name}": scores[name] - base[name] for name in scores}
    metrics |= disparities(y_true, refused(*without), groups, min_outcomes)
    return {f"without_protected.{name}": value for name, value in metrics.items()}


# --- the champion without the protected attributes ----------------------------------------------


def without_protected(columns: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The feature columns (``numeric``, ``categorical``) minus :data:`PROTECTED_FEATURES`."""
    return {
        kind: [name for name in names if name not in PROTECTED_FEATURES]
        for kind, names in columns.items()
    }


def chosen_point(grid: ModelGrid, best_params: Mapping[str, str], seed: int) -> ModelGrid:
    """The family's grid cut down to one point: the config values of ``best_params``.

    Args:
        grid: the family's grid as configured (section ``train.models.<family>``).
        best_params: the candidate's chosen point, readable (``describe_params``).

    Raises:
        ValueError: a chosen value is not in the configured grid (params changed since train).
    """
    parts = grid.grid if isinstance(grid.grid, list) else [grid.grid]
    chosen = [part for part in parts if set(part) <= set(best_params)]
    for part in chosen:  # the sub-grid (of a list of grids) that holds the chosen point
        resolved = resolve_grid(part, seed)
        point = {}
        for key, values in part.items():
            matches = [
                value
                for value, option in zip(values, resolved[key], strict=True)
                if describe_params({key: option})[key] == best_params.get(key)
            ]
            if not matches:
                break
            point[key] = matches[:1]
        else:
            return replace(grid, grid=point)
    raise ValueError(
        f"{grid.name}: the chosen point {dict(best_params)} is not in the grid {grid.grid}: "
        "train.models changed since stage train ran (`dvc repro`)"
    )


def retrain(
    candidate: TrainedCandidate,
    grid: ModelGrid,
    X: pd.DataFrame,
    y: pd.Series,
    columns: Mapping[str, list[str]],
    costs: CostConfig,
    config: TrainConfig,
) -> TrainedCandidate:
    """The candidate's configuration trained as stage train does, on ``columns`` of ``X`` only.

    Same folds, same out-of-fold threshold tuning and refit (``train_family`` on a grid of the
    candidate's chosen point): with the candidate's own columns it gives the candidate back.
    """
    folds = make_folds(y, config.cv_folds, config.seed)
    repeats = make_repeated_folds(y, config.cv_folds, config.cv_repeats, config.seed)
    with threadpool_limits(limits=1):
        return train_family(
            chosen_point(grid, candidate.best_params, config.seed),
            X,
            y,
            folds,
            costs,
            config,
            numeric=list(columns["numeric"]),
            categorical=list(columns["categorical"]),
            repeats=repeats,
        )


# --- figure -------------------------------------------------------------------------------------


def plot_group_rates(table: pd.DataFrame, threshold: float, path: Path) -> Path:
    """Refusal, false-negative and false-positive rates per group, one panel per attribute."""
    attributes = list(dict.fromkeys(table["attribute"]))
    sizes = [int((table["attribute"] == a).sum()) for a in attributes]
    fig, axes = plt.subplots(
        1,
        len(attributes),
        figsize=(3 + 1.1 * sum(sizes), 4.8),
        sharey=True,
        gridspec_kw={"width_ratios": sizes},
        squeeze=False,
    )
    width = 0.8 / len(RATES)
    for ax, attribute in zip(axes[0], attributes, strict=True):
        part = table[table["attribute"] == attribute]
        x = np.arange(len(part))
        for i, (column, label) in enumerate(RATES.items()):
            ax.bar(x + (i - (len(RATES) - 1) / 2) * width, part[column], width, label=label)
        ax.set_xticks(x, [_tick_label(row) for row in part.itertuples()])
        ax.set_title(attribute)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("rate")
    axes[0][0].legend(fontsize=8, loc="upper left")
    fig.suptitle(
        "Champion's decisions per group, held-out set "
        f"(refused when P(default) >= {threshold:.3f})"
    )
    return save_figure(fig, path)


def _tick_label(group: Any) -> str:
    """Group name, rows and defaulters, and whether the group is compared."""
    plural = "" if group.defaulters == 1 else "s"
    label = f"{group.group}\n{group.rows} rows\n{group.defaulters} defaulter{plural}"
    return label if group.compared else f"{label}\n(not compared)"
