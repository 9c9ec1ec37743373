"""Saving and loading trained candidates (one file per model family in ``models/candidates``).

Plain pickle, not joblib: joblib restores structured numpy arrays (the nodes of scikit-learn
trees) into uninitialised memory, so a loaded-then-saved model carries random padding bytes and
the champion's file would differ from run to run. Pickle copies the bytes as they were.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from credit_scoring.modeling.train import TrainedCandidate


def candidate_path(models_dir: Path, family: str) -> Path:
    """Where the candidate of ``family`` is stored."""
    return Path(models_dir) / "candidates" / f"{family}.pkl"


def save_candidate(candidate: TrainedCandidate, models_dir: Path) -> Path:
    """Pickle a trained candidate (pipeline, threshold, CV results)."""
    path = candidate_path(models_dir, candidate.family)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        pickle.dump(candidate, handle, protocol=5)
    return path


def load_candidates(models_dir: Path) -> dict[str, TrainedCandidate]:
    """Every candidate saved in ``models_dir/candidates``, keyed by family, sorted by name.

    Unpickles: load only candidates this pipeline wrote.
    """
    folder = Path(models_dir) / "candidates"
    paths = sorted(folder.glob("*.pkl"))
    if not paths:
        raise FileNotFoundError(f"{folder}: no trained candidate (run stage train: `dvc repro`)")
    candidates = {}
    for path in paths:
        with path.open("rb") as handle:
            candidates[path.stem] = pickle.load(handle)
    return candidates
