"""Saving and loading trained candidates (one file per model family in ``models/candidates``)."""

from __future__ import annotations

from pathlib import Path

import joblib

from credit_scoring.train import TrainedCandidate


def candidate_path(models_dir: Path, family: str) -> Path:
    """Where the candidate of ``family`` is stored."""
    return Path(models_dir) / "candidates" / f"{family}.joblib"


def save_candidate(candidate: TrainedCandidate, models_dir: Path) -> Path:
    """Pickle a trained candidate (pipeline, threshold, CV results)."""
    path = candidate_path(models_dir, candidate.family)
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(candidate, path, compress=3)
    return path


def load_candidates(models_dir: Path) -> dict[str, TrainedCandidate]:
    """Every candidate saved in ``models_dir/candidates``, keyed by family, sorted by name."""
    folder = Path(models_dir) / "candidates"
    paths = sorted(folder.glob("*.joblib"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no trained candidate (run stage train: `dvc repro`)")
    return {path.stem: joblib.load(path) for path in paths}
