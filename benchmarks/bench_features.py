"""What each family of features adds to LightGBM on the real Home Credit sample (a script).

Builds the labelled features of the real sample twice: with the package as it is, and with the
package of ``--baseline-ref`` (extracted with ``git archive`` and run in a subprocess), keeps the
training split of both (``split`` params: the holdout is never looked at), then trains LightGBM
(``conf/models/lightgbm.yaml``, its grid reduced to the first value of each key) with
:func:`credit_scoring.modeling.train.train_family` on the SAME 3x5 repeated stratified folds for:

* ``baseline``: the features of ``--baseline-ref``;
* ``+ <family>``: the baseline plus one family of the new columns (the instalment family swaps
  the baseline's INST_ columns for the new per-instalment ones);
* ``+ polynomial step``: the baseline with ``poly_degree: 3`` in the model params;
* ``all new features`` and ``all + polynomial step``.

It prints one markdown row per variant: out-of-fold AUC and cross-fitted business score (mean ±
std over the 15 folds) and the paired per-fold difference against the baseline (mean ± std, and
the folds where the variant is better), and can write every fold score to a CSV.

Usage::

    PATH=.venv/bin:$PATH python benchmarks/bench_features.py
    python benchmarks/bench_features.py --raw-dir /path/to/sample --out-csv /tmp/folds.csv
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DIR = ROOT.parent / "shared" / "data" / "home-credit-sample"
# The feature set before the families measured here were added.
BASELINE_REF = "bc4f82d"
POLY_DEGREE = 3
PLACEBO_SEED = 0
# Nadeau & Bengio's correction of the paired t statistic for overlapping training sets
# (k-fold: test/train = 1/(k-1)): var * (1/folds + 1/(k-1)).
CV_FOLDS, CV_REPEATS = 5, 3
INSTALMENTS = "instalment semantics"
# New columns (absent from the baseline) by family, first matching pattern wins.
FAMILY_PATTERNS = (
    ("debt-to-income", r"_INCOME_RATIO$"),
    ("bureau split", r"^BUREAU_"),
    ("previous split + shares + dates", r"^PREV_"),
    ("POS statuses + card drawings", r"^(POS|CC)_"),
    (INSTALMENTS, r"^INST_"),
)

logger = logging.getLogger("bench_features")


def parse_args() -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--raw-dir", type=Path, default=SAMPLE_DIR, help="the seven .csv(.gz)")
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of the baseline")
    parser.add_argument("--out-csv", type=Path, help="write every fold score here")
    parser.add_argument("--n-jobs", type=int, default=2, help="fits in parallel (threads)")
    parser.add_argument(
        "--only", nargs="*", help="variants to run besides the baseline (`prefix*` for several)"
    )
    parser.add_argument(
        "--from-csv", nargs="*", type=Path, help="print the tables of fold scores written before"
    )
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)  # features -> parquet
    return parser.parse_args()


def training_features(raw_dir: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Labelled training-split features of ``raw_dir`` with the importable package.

    Returns:
        (SK_ID_CURR, TARGET and the features of the training split, {"numeric", "categorical"}).
    """
    from credit_scoring.config import FeaturesConfig
    from credit_scoring.data import schema
    from credit_scoring.data.ingest import ingest_tables
    from credit_scoring.features import (
        attach_target,
        build_features,
        build_history_features,
        split_feature_kinds,
        split_holdout,
    )
    from credit_scoring.params import compose_params

    params = compose_params(ROOT / "conf", ["data=home_credit"])
    tables = ingest_tables(raw_dir).tables
    config = FeaturesConfig(**params["features"])
    history = build_history_features({t: tables[t] for t in schema.HISTORY_TABLES}, config)
    application = tables["application_train"]
    labelled = attach_target(build_features(application, history, config), application)
    train, _ = split_holdout(labelled, **params["split"])
    numeric, categorical = split_feature_kinds(train.drop(columns=[schema.TARGET]))
    return train, {"numeric": numeric, "categorical": categorical}


def dump_features(raw_dir: Path, path: Path) -> None:
    """Write :func:`training_features` to ``path`` (parquet) and its kinds beside it (JSON)."""
    frame, kinds = training_features(raw_dir)
    frame.to_parquet(path, index=False)
    path.with_suffix(".json").write_text(json.dumps(kinds))


def baseline_features(ref: str, raw_dir: Path) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """:func:`training_features` computed by the package of git ``ref`` (in a subprocess)."""
    archive = subprocess.run(
        ["git", "archive", ref, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        out = Path(folder) / "baseline.parquet"
        env = dict(os.environ, PYTHONPATH=str(Path(folder) / "src"))
        command = [sys.executable, __file__, "--raw-dir", str(raw_dir), "--dump", str(out)]
        subprocess.run(command, env=env, check=True)
        return pd.read_parquet(out), json.loads(out.with_suffix(".json").read_text())


def new_column_families(baseline: list[str], current: list[str]) -> dict[str, list[str]]:
    """The columns of ``current`` absent from ``baseline``, by family (every one in one)."""
    families: dict[str, list[str]] = {name: [] for name, _ in FAMILY_PATTERNS}
    known = set(baseline)
    for column in (c for c in current if c not in known):
        family = next((n for n, p in FAMILY_PATTERNS if re.search(p, column)), None)
        if family is None:
            raise ValueError(f"new column {column!r} belongs to no family")
        families[family].append(column)
    return families


@dataclass(frozen=True)
class Variant:
    """A feature set: columns of the baseline frame, columns of the current frame, poly degree."""

    base: list[str]
    new: list[str]
    poly_degree: int = 0
    shuffled: tuple[str, ...] = ()

    def matrix(
        self, base: pd.DataFrame, current: pd.DataFrame, categorical: set[str]
    ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
        """The model input and its {"numeric", "categorical"} columns.

        The ``shuffled`` columns of ``current`` are added as ``<name>_SHUFFLED``, each row order
        permuted (seeded): the same values without their link to the clients (a placebo).
        """
        rng = np.random.default_rng(PLACEBO_SEED)
        placebo = {
            f"{c}_SHUFFLED": current[c].to_numpy()[rng.permutation(len(current))]
            for c in self.shuffled
        }
        X = pd.concat(
            [base[self.base], current[self.new], pd.DataFrame(placebo, index=current.index)],
            axis=1,
        )
        kinds = {
            "numeric": [c for c in X.columns if c not in categorical],
            "categorical": [c for c in X.columns if c in categorical],
        }
        return X[kinds["numeric"] + kinds["categorical"]], kinds


def variants(base: list[str], current: list[str]) -> dict[str, Variant]:
    """The baseline; the baseline plus each family, plus a placebo (the largest family's columns
    shuffled), plus the polynomial step; everything (with the polynomial step, and without each
    family in turn)."""
    families = {f: added for f, added in new_column_families(base, current).items() if added}
    out = {"baseline": Variant(base, [])}
    for family, added in families.items():
        kept = base
        if family == INSTALMENTS:  # new semantics: every INST_ column is replaced
            kept = [c for c in base if not c.startswith("INST_")]
            added = [c for c in current if c.startswith("INST_")]
        out[f"+ {family}"] = Variant(kept, added)
    largest = max(families, key=lambda family: len(families[family]))
    placebo = tuple(families[largest])
    out[f"+ placebo ({len(placebo)} {largest} columns shuffled)"] = Variant(base, [], 0, placebo)
    out["+ polynomial step"] = Variant(base, [], POLY_DEGREE)
    out["all new features"] = Variant([], current)
    out["all + polynomial step"] = Variant([], current, POLY_DEGREE)
    for family, added in families.items():
        if family == INSTALMENTS:  # back to the baseline's INST_ columns
            old = [c for c in base if c.startswith("INST_")]
            kept = [c for c in current if not c.startswith("INST_")]
            out[f"all + polynomial step - {family}"] = Variant(old, kept, POLY_DEGREE)
        else:
            kept = [c for c in current if c not in set(added)]
            out[f"all + polynomial step - {family}"] = Variant([], kept, POLY_DEGREE)
    return out


def lightgbm_grid(poly_degree: int) -> Any:
    """LightGBM of conf/, its grid reduced to one point, with ``poly_degree`` (0: off)."""
    from credit_scoring.config import ModelGrid
    from credit_scoring.params import compose_params

    family = compose_params(ROOT / "conf")["train"]["models"]["lightgbm"]
    params = dict(family["params"]) | {"poly_degree": poly_degree}  # conf's own is overridden
    grid = {key: [values[0]] for key, values in family["grid"].items()}
    return ModelGrid("lightgbm", params=params, grid=grid)


def fold_scores(
    X: pd.DataFrame, y: pd.Series, kinds: dict[str, list[str]], poly_degree: int, n_jobs: int
) -> pd.DataFrame:
    """Per-fold AUC and business score of LightGBM on ``X`` (3x5 repeated folds)."""
    from credit_scoring.config import CostConfig, TrainConfig
    from credit_scoring.modeling.train import make_folds, make_repeated_folds, train_family
    from credit_scoring.params import compose_params

    params = compose_params(ROOT / "conf")
    settings = {k: v for k, v in params["train"].items() if k != "models"}
    config = TrainConfig(
        **(settings | {"cv_repeats": CV_REPEATS, "cv_folds": CV_FOLDS, "n_jobs": n_jobs})
    )
    candidate = train_family(
        lightgbm_grid(poly_degree),
        X,
        y,
        make_folds(y, config.cv_folds, config.seed),
        CostConfig(**params["cost"]),
        config,
        numeric=kinds["numeric"],
        categorical=kinds["categorical"],
        repeats=make_repeated_folds(y, config.cv_folds, config.cv_repeats, config.seed),
    )
    return candidate.fold_scores[["repeat", "fold", "auc", "business_score"]]


def paired_cell(scores: np.ndarray, reference: np.ndarray) -> str:
    """Paired per-fold difference: mean ± std, corrected t, folds where ``scores`` is higher."""
    # imported here: the --dump subprocess runs the module with an older package
    from credit_scoring.modeling.selection import corrected_standard_error

    diff = scores - reference
    spread = diff.std(ddof=1)
    t = diff.mean() / corrected_standard_error(diff, 1 / (CV_FOLDS - 1)) if spread else 0.0
    return f"{diff.mean():+.4f} ± {spread:.4f} (t {t:+.1f}, {int((diff > 0).sum())}/{len(diff)})"


def summary_table(
    results: dict[str, pd.DataFrame], sizes: dict[str, int], reference: str, names: list[str]
) -> str:
    """Markdown rows of ``names``: mean ± std over folds, paired difference to ``reference``."""
    lines = [
        f"| variant | features | AUC | business score | ΔAUC vs {reference} "
        f"| Δ business score vs {reference} |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        scores, cells = results[name], [name, str(sizes[name])]
        for metric in ("auc", "business_score"):
            cells.append(f"{scores[metric].mean():.4f} ± {scores[metric].std():.4f}")
        for metric in ("auc", "business_score"):
            reference_scores = results[reference][metric].to_numpy()
            same = name == reference
            cells.append("-" if same else paired_cell(scores[metric].to_numpy(), reference_scores))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def print_tables(results: dict[str, pd.DataFrame], sizes: dict[str, int]) -> None:
    """Every variant against the baseline; each family left out against the full set."""
    full = "all + polynomial step"
    left_out = [name for name in results if name.startswith(f"{full} - ")]
    others = [name for name in results if name not in left_out]
    print(summary_table(results, sizes, "baseline", others))
    if left_out and full in results:
        print()
        print(summary_table(results, sizes, full, [full, *left_out]))


def selects(pattern: str, name: str) -> bool:
    """``name`` is ``pattern``, or starts with it when it ends with ``*``."""
    return name.startswith(pattern[:-1]) if pattern.endswith("*") else name == pattern


def changed_columns(base: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Columns of both frames whose values differ (NaN equal to NaN)."""
    shared = [c for c in base.columns if c in current.columns]
    return [c for c in shared if not base[c].equals(current[c])]


def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.dump:
        dump_features(args.raw_dir, args.dump)
        return
    if args.from_csv:
        scores = pd.concat([pd.read_csv(path) for path in args.from_csv])
        scores = scores.drop_duplicates(["variant", "repeat", "fold"])
        groups = {
            name: group.sort_values(["repeat", "fold"])
            for name, group in scores.groupby("variant", sort=False)
        }
        print_tables(groups, dict(zip(scores["variant"], scores["features"], strict=False)))
        return
    from credit_scoring.data.schema import CLIENT_ID, TARGET

    current, current_kinds = training_features(args.raw_dir)
    base, base_kinds = baseline_features(args.baseline_ref, args.raw_dir)
    if not base[CLIENT_ID].equals(current[CLIENT_ID]):
        raise RuntimeError("the baseline and current training splits differ")
    print(f"shared columns whose values changed: {changed_columns(base, current)}")
    categorical = set(base_kinds["categorical"]) | set(current_kinds["categorical"])
    all_variants = variants(
        base_kinds["numeric"] + base_kinds["categorical"],
        current_kinds["numeric"] + current_kinds["categorical"],
    )
    results: dict[str, pd.DataFrame] = {}
    sizes: dict[str, int] = {}
    for name, variant in all_variants.items():
        if args.only and name != "baseline" and not any(selects(o, name) for o in args.only):
            continue
        X, kinds = variant.matrix(base, current, categorical)
        started = time.perf_counter()
        scores = fold_scores(X, current[TARGET], kinds, variant.poly_degree, args.n_jobs)
        results[name] = scores.assign(variant=name, features=X.shape[1])
        sizes[name] = X.shape[1]
        logger.info("%s: %d features, %.0f s", name, X.shape[1], time.perf_counter() - started)
        if args.out_csv:  # after each variant: a long run can be read as it goes
            pd.concat(results.values()).to_csv(args.out_csv, index=False)
    print_tables(results, sizes)
    if args.out_csv:
        pd.concat(results.values()).to_csv(args.out_csv, index=False)


if __name__ == "__main__":
    main()
