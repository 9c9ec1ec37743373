"""Today's champion against an earlier revision's, on the same rows and the same folds (a script).

Runs the stages ingest → evaluate of two revisions of the project on the same raw data (by
default the real Home Credit sample): the working tree and ``--baseline-rev`` (a git revision,
e.g. the commit whose README gave 0.786 / 0.714), each in a temporary copy with its own code
(``PYTHONPATH``) and params (``data=home_credit`` pointed at ``--data``). Then, paired:

- **out of fold**: both champions' chosen configurations on the same repeated stratified folds
  (today's ``train.cv_repeats`` × ``cv_folds``, seeded like the train stage); today's out-of-fold
  predictions are the ones its train stage stored, the baseline's are fitted here with its own
  code on its own features. Per fold: AUC, and the business score at the threshold tuned on the
  other folds of the repeat. The difference is given with a 90% interval from the corrected
  (Nadeau-Bengio) standard error of the paired fold differences.
- **held out**: both served pipelines on the same held-out rows, AUC and business score at each
  one's own threshold, with paired stratified bootstrap 90% intervals of the difference.

Usage::

    python benchmarks/bench_baseline.py --baseline-rev 3eaae1b
    python benchmarks/bench_baseline.py --baseline-rev 3eaae1b --reuse-baseline
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml
from scipy import stats
from sklearn.metrics import roc_auc_score

from credit_scoring.config import CostConfig
from credit_scoring.modeling.cost import business_score_curve
from credit_scoring.modeling.selection import corrected_standard_error
from credit_scoring.modeling.train import assessment_scores, make_repeated_folds

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "home-credit-sample"
PROJECT_FILES = ("conf", "stages", "src", "params.yaml", "pyproject.toml")
STAGES = ("ingest", "featurize", "train", "evaluate")
COSTS = CostConfig(fn_cost=10, fp_cost=1)
THRESHOLDS = 199  # as train.threshold_grid

# Run inside each side's code (PYTHONPATH=side/src): its champion's held-out probabilities and,
# given folds, its chosen configuration's out-of-fold probabilities on them.
SIDE_SCRIPT = r"""
import json, pickle, sys
import numpy as np, pandas as pd
from sklearn.base import clone
try:
    from credit_scoring.features import feature_matrix
except ImportError:
    from credit_scoring.datasets import feature_matrix
side, folds_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
family = json.load(open(f"{side}/reports/champion.json"))["family"]
candidate = pickle.load(open(f"{side}/models/candidates/{family}.pkl", "rb"))
columns = json.load(open(f"{side}/data/processed/feature_columns.json"))
train = pd.read_parquet(f"{side}/data/processed/train.parquet")
holdout = pd.read_parquet(f"{side}/data/processed/holdout.parquet")
result = {
    "family": np.array(family),
    "threshold": np.array(candidate.threshold),
    "train_ids": train["SK_ID_CURR"].to_numpy(), "train_y": train["TARGET"].to_numpy(),
    "holdout_ids": holdout["SK_ID_CURR"].to_numpy(), "holdout_y": holdout["TARGET"].to_numpy(),
    "holdout_proba": candidate.pipeline.predict_proba(feature_matrix(holdout, columns))[:, 1],
}
if folds_path != "-":
    folds = np.load(folds_path)["fold_of_row"]  # repeats x rows: the fold that scores each row
    X, y = feature_matrix(train, columns), train["TARGET"]
    pipeline = getattr(candidate.pipeline, "pipeline", candidate.pipeline)  # uncalibrated
    oof = np.empty(folds.shape)
    for r, assignment in enumerate(folds):
        for k in np.unique(assignment):
            scored = assignment == k
            model = clone(pipeline).fit(X[~scored], y[~scored])
            oof[r, scored] = model.predict_proba(X[scored])[:, 1]
            print(f"  {family}: repeat {r + 1}, fold {k + 1} done", flush=True)
    result["oof"] = oof
elif getattr(candidate, "oof", None) is not None:
    result["oof"] = np.asarray(candidate.oof)
np.savez(out, **result)
"""


def prepare(side: Path, source: Path, data: Path, rev: str | None) -> None:
    """A copy of the project (the working tree, or ``rev`` via git archive) set to ``data``."""
    if side.exists():
        shutil.rmtree(side)
    side.mkdir(parents=True)
    if rev is None:
        for name in PROJECT_FILES:
            item = source / name
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, side / name)
    else:
        archive = subprocess.run(
            ["git", "-C", str(source), "archive", rev, *PROJECT_FILES],
            check=True,
            capture_output=True,
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(side)], input=archive, check=True)
    params = yaml.safe_load((side / "params.yaml").read_text())
    params["data"] = {"source": "home_credit", "raw_dir": str(data)}
    (side / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def run_stages(side: Path) -> float:
    """Run the stages in ``side`` with its own code; return the wall seconds."""
    env = os.environ | {"PYTHONPATH": str(side / "src"), "PYTHONHASHSEED": "0"}
    started = time.perf_counter()
    for stage in STAGES:
        print(f"[{side.name}] stage {stage}", flush=True)
        subprocess.run([sys.executable, f"stages/{stage}.py"], cwd=side, env=env, check=True)
    return time.perf_counter() - started


def side_results(side: Path, folds: Path | None, out: Path) -> dict[str, np.ndarray]:
    """Run SIDE_SCRIPT in ``side``'s code and load what it wrote."""
    env = os.environ | {"PYTHONPATH": str(side / "src")}
    command = [sys.executable, "-c", SIDE_SCRIPT, str(side), str(folds or "-"), str(out)]
    subprocess.run(command, env=env, check=True)
    with np.load(out) as saved:
        return {key: saved[key] for key in saved.files}


def corrected_interval(diff: np.ndarray, test_share: float) -> tuple[float, float]:
    """90% interval of the mean paired fold difference, Nadeau-Bengio corrected variance."""
    n = len(diff)
    se = corrected_standard_error(diff, test_share / (1 - test_share))
    half = stats.t.ppf(0.95, n - 1) * se
    return float(diff.mean() - half), float(diff.mean() + half)


def bootstrap_interval(
    y: np.ndarray, scores: list[np.ndarray], n_boot: int = 2000, seed: int = 0
) -> np.ndarray:
    """90% stratified bootstrap intervals of each score difference (today − baseline)."""
    rng = np.random.default_rng(seed)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    draws = []
    for _ in range(n_boot):
        rows = np.concatenate(
            [rng.choice(positives, len(positives)), rng.choice(negatives, len(negatives))]
        )
        draws.append([score(rows) for score in scores])
    return np.percentile(np.array(draws), [5, 95], axis=0).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-rev", required=True, help="git revision of the baseline")
    parser.add_argument("--data", type=Path, default=SAMPLE, help="folder of the raw CSVs")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "versus")
    parser.add_argument(
        "--reuse-baseline", action="store_true", help="keep the baseline's stage outputs"
    )
    args = parser.parse_args()
    if (
        not (args.data / "application_train.csv.gz").is_file()
        and not (args.data / "application_train.csv").is_file()
    ):
        sys.exit(f"no Home Credit tables in {args.data}")

    sides = {"today": args.work / "today", "baseline": args.work / "baseline"}
    walls = {}
    for name, side in sides.items():
        reuse = args.reuse_baseline and name == "baseline"
        if not (reuse and (side / "reports" / "champion.json").is_file()):
            prepare(side, ROOT, args.data, None if name == "today" else args.baseline_rev)
            walls[name] = run_stages(side)

    today = side_results(sides["today"], None, args.work / "today.npz")
    params = yaml.safe_load((sides["today"] / "params.yaml").read_text())["train"]
    y = today["train_y"]
    repeats = make_repeated_folds(y, params["cv_folds"], params["cv_repeats"], params["seed"])
    fold_of_row = np.empty((len(repeats), len(y)), dtype=int)
    for r, folds in enumerate(repeats):
        for k, (_, scored) in enumerate(folds):
            fold_of_row[r, scored] = k
    np.savez(args.work / "folds.npz", fold_of_row=fold_of_row)
    base = side_results(sides["baseline"], args.work / "folds.npz", args.work / "baseline.npz")
    for key in ("train_ids", "train_y", "holdout_ids", "holdout_y"):
        if not np.array_equal(today[key], base[key]):
            sys.exit(f"the two sides do not hold the same rows ({key} differ)")

    # Per (repeat, fold): AUC and the business score at the threshold tuned on the other folds,
    # as the train stage assesses a family.
    per_fold = {
        name: assessment_scores(y, side["oof"], repeats, COSTS, THRESHOLDS)[
            ["auc", "business_score"]
        ].to_numpy()
        for name, side in (("today", today), ("baseline", base))
    }
    test_share = 1 / params["cv_folds"]
    print(f"\nout of fold, {len(repeats)}x{params['cv_folds']} shared folds, {len(y)} rows")
    print(f"{'':10}{'AUC':>22}{'business score':>24}")
    for name, side in (("today", today), ("baseline", base)):
        scores = per_fold[name]
        print(
            f"{name:10}{scores[:, 0].mean():>14.4f} ± {scores[:, 0].std(ddof=1):.4f}"
            f"{scores[:, 1].mean():>16.4f} ± {scores[:, 1].std(ddof=1):.4f}   ({side['family']})"
        )
    diff = per_fold["today"] - per_fold["baseline"]
    for column, label in ((0, "AUC"), (1, "business score")):
        low, high = corrected_interval(diff[:, column], test_share)
        mean = diff[:, column].mean()
        print(f"difference {label}: {mean:+.4f} (90% CI {low:+.4f} to {high:+.4f})")

    held_y = today["holdout_y"]
    print(f"\nheld out, {len(held_y)} rows, {int(held_y.sum())} defaults")
    figures = {}
    for name, side in (("today", today), ("baseline", base)):
        proba, threshold = side["holdout_proba"], float(side["threshold"])
        auc = roc_auc_score(held_y, proba)
        business = business_score_curve(held_y, proba, np.array([threshold]), COSTS)[0]
        figures[name] = (proba, threshold)
        print(f"{name:10} AUC {auc:.4f}  business {business:.4f} at threshold {threshold:.3f}")

    def paired(metric):
        def score(rows):
            values = []
            for proba, threshold in (figures["today"], figures["baseline"]):
                values.append(metric(held_y[rows], proba[rows], threshold))
            return values[0] - values[1]

        return score

    auc_diff = paired(lambda y_, p, t: roc_auc_score(y_, p))
    business_diff = paired(lambda y_, p, t: business_score_curve(y_, p, np.array([t]), COSTS)[0])
    everything = np.arange(len(held_y))
    intervals = bootstrap_interval(held_y, [auc_diff, business_diff])
    for (label, score), (low, high) in zip(
        (("AUC", auc_diff), ("business score", business_diff)), intervals, strict=True
    ):
        print(
            f"difference {label}: {score(everything):+.4f} "
            f"(paired bootstrap 90% CI {low:+.4f} to {high:+.4f})"
        )
    if walls:
        print("\nstage wall seconds:", json.dumps({k: round(v) for k, v in walls.items()}))


if __name__ == "__main__":
    main()
