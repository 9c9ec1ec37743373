"""Figures of the SHAP explanations: global importance and one client's contributions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.plots import plt, save_figure


def plot_global_importance(importance: pd.DataFrame, path: Path, top_n: int = 20) -> Path:
    """Horizontal bar chart of the ``top_n`` features by mean |SHAP|, most important on top.

    Args:
        importance: output of :func:`global_importance`.
        path: PNG file to write.
        top_n: bars shown.

    Returns:
        ``path``.
    """
    top = importance.head(top_n).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(top) + 1.5))
    ax.barh(top["feature"], top["mean_abs_shap"], color="#4c72b0")
    ax.set(xlabel="mean |SHAP value|", title=f"Global feature importance (top {len(top)})")
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)


def _reason_label(reason: dict[str, Any]) -> str:
    """``feature = value`` for a bar label."""
    value = reason["value"]
    if value is None:
        shown = "missing"
    elif isinstance(value, float):
        shown = f"{value:.4g}"
    else:
        shown = str(value)
    return f"{reason['feature']} = {shown}"


def plot_local_explanation(
    reason_list: list[dict[str, Any]], base_value: float, path: Path, title: str
) -> Path:
    """Waterfall-like chart of one client: from the base value, each contribution in turn.

    Args:
        reason_list: one row of :meth:`PipelineExplainer.reasons` (largest first).
        base_value: the explainer's base value.
        path: PNG file to write.
        title: figure title (e.g. the client id and decision).

    Returns:
        ``path``.
    """
    contributions = [reason["contribution"] for reason in reason_list]
    starts = base_value + np.concatenate([[0.0], np.cumsum(contributions)[:-1]])
    colors = ["#c44e52" if c > 0 else "#55a868" for c in contributions]
    positions = np.arange(len(reason_list))[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(reason_list) + 1.8))
    ax.barh(positions, contributions, left=starts, color=colors, height=0.6)
    for position, start, contribution in zip(positions, starts, contributions, strict=True):
        ax.annotate(
            f"{contribution:+.3g}",
            (start + contribution, position),
            xytext=(3 if contribution > 0 else -3, 0),
            textcoords="offset points",
            ha="left" if contribution > 0 else "right",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(positions, [_reason_label(reason) for reason in reason_list])
    end = base_value + sum(contributions)
    ax.axvline(base_value, color="grey", linestyle=":", label=f"base value {base_value:.3g}")
    ax.axvline(end, color="black", linestyle="--", label=f"base + shown {end:.3g}")
    ax.use_sticky_edges = False  # let the margin pad the bars that touch the limits
    ax.margins(x=0.15)
    ax.set(xlabel="model output (red raises risk, green lowers it)", title=title)
    ax.legend(loc="best", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path)
