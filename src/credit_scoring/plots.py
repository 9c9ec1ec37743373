"""Matplotlib figures of the evaluation: cost vs threshold, ROC and precision-recall curves."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def save_figure(fig: plt.Figure, path: Path) -> Path:
    """Write ``fig`` as PNG to ``path`` (creating folders) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_cost_curves(
    curves: Mapping[str, pd.DataFrame], thresholds: Mapping[str, float], path: Path
) -> Path:
    """Business score vs threshold per model, the chosen threshold marked."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for family, curve in curves.items():
        line = ax.plot(curve["threshold"], curve["business_score"], label=family)[0]
        ax.axvline(thresholds[family], color=line.get_color(), linestyle=":", linewidth=1)
    ax.set(xlabel="threshold (refuse when P(default) >= threshold)", ylabel="business score")
    ax.set_title("Business score on the held-out set (dotted: CV-tuned threshold)")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_roc_curves(
    curves: Mapping[str, pd.DataFrame], aucs: Mapping[str, float], path: Path
) -> Path:
    """ROC curves per model with their AUC."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for family, curve in curves.items():
        ax.plot(curve["fpr"], curve["tpr"], label=f"{family} (AUC {aucs[family]:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, held-out set")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_pr_curves(curves: Mapping[str, pd.DataFrame], base_rate: float, path: Path) -> Path:
    """Precision-recall curves per model, with the default rate as the chance line."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for family, curve in curves.items():
        ax.plot(curve["recall"], curve["precision"], label=family)
    ax.axhline(base_rate, color="grey", linestyle="--", linewidth=1, label="default rate")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall, held-out set")
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


def plot_reliability(curves: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Reliability diagram: observed default rate vs mean predicted probability per bin."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    top = 0.0
    for family, curve in curves.items():
        ax.plot(curve["mean_predicted"], curve["observed_default_rate"], marker="o", label=family)
        top = max(top, curve["mean_predicted"].max(), curve["observed_default_rate"].max())
    top = min(1.0, top * 1.1 + 0.01)
    ax.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    ax.set(
        xlabel="mean predicted probability of default",
        ylabel="observed default rate",
        title="Calibration, held-out set (10 equal-count bins)",
        xlim=(0, top),
        ylim=(0, top),
    )
    ax.legend()
    ax.grid(alpha=0.3)
    return save_figure(fig, path)
