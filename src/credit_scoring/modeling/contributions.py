"""SHAP values of a fitted model on its transformed input, by the cheapest exact route per family.

* **logistic regression**: closed form, ``coef * (x - background mean)``: what shap's
  ``LinearExplainer`` gives with an independent masker (interventional), without shap;
* **XGBoost, LightGBM**: the booster's own contributions (``pred_contrib``), which are
  TreeSHAP's path-dependent SHAP values (Lundberg et al. 2020, shap's ``TreeExplainer`` with
  ``feature_perturbation="tree_path_dependent"``): exact, in the margin (log-odds), measured
  against the training rows as the trees saw them (their cover), not against a background;
* **random forest**: shap's interventional ``TreeExplainer`` against the background (sklearn
  forests have no native contributions); shap (and numba, some 300 MB) is imported only then.

Each engine gives ``values(X)`` (rows x transformed columns) and ``expected_value`` such that
``expected_value + values(X).sum(axis=1)`` is the model's output.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from credit_scoring.modeling.served import ONE_THREAD_ROWS, lightgbm_threads
from credit_scoring.modeling.tree_tables import TreeTables

logger = logging.getLogger(__name__)

# shap's C++ tree code prints a progress bar on stderr once a call runs over 10 s: explaining
# in chunks keeps every call short (and the stage log clean).
CHUNK_ROWS = 64


class LinearContributions:
    """Interventional SHAP values of a linear model with an independent background."""

    def __init__(self, model: Any, background: np.ndarray) -> None:
        self._coef = np.asarray(model.coef_, dtype=np.float64).ravel()
        self._mean = np.asarray(background, dtype=np.float64).mean(axis=0)
        intercept = float(np.ravel(model.intercept_)[0])
        self.expected_value = intercept + float(self._coef @ self._mean)

    def values(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self._mean) * self._coef


class BoosterContributions:
    """Path-dependent TreeSHAP values from the booster itself (XGBoost or LightGBM)."""

    def __init__(self, model: Any, family: str, background: np.ndarray) -> None:
        self._model = model
        self._family = family
        self._tables: TreeTables | None = None
        self.expected_value = float(self._raw(np.asarray(background[:1]))[0, -1])

    def look_up(self, check_rows: np.ndarray) -> bool:
        """Serve LightGBM's values of :data:`ONE_THREAD_ROWS` rows or more from
        :class:`~credit_scoring.modeling.tree_tables.TreeTables` (3 times faster on a batch;
        for fewer rows ``pred_contrib`` is as fast) when its trees are small enough and the
        tables give ``pred_contrib`` on ``check_rows``; whether they are used."""
        if self._family != "lightgbm":
            return False
        booster = self._model.booster_
        tables = TreeTables.build(booster)
        if tables is None:
            logger.info("SHAP values by pred_contrib: trees too large to table")
            return False
        try:
            tables.check(booster, check_rows)
        except AssertionError:
            logger.exception("SHAP tables disabled: they differ from pred_contrib")
            return False
        self._tables = tables
        return True

    def _raw(self, X: np.ndarray) -> np.ndarray:
        """The booster's contributions, bias last (rows x (columns + 1))."""
        if self._tables is not None and len(X) >= ONE_THREAD_ROWS:  # a few rows: as fast
            return self._tables.values(X)
        if self._family == "lightgbm":  # the booster itself: the same numbers as the
            # classifier's predict(pred_contrib=True) (its best iteration), without the
            # classifier's per-call parameter handling (~1 ms)
            threads = lightgbm_threads(len(X))
            return np.asarray(self._model.booster_.predict(X, pred_contrib=True, **threads), float)
        from xgboost import DMatrix

        booster = self._model.get_booster()
        best = getattr(self._model, "best_iteration", None)
        rounds = int(best) + 1 if best is not None else int(booster.num_boosted_rounds())
        return np.asarray(
            booster.predict(DMatrix(X), pred_contribs=True, iteration_range=(0, rounds)),
            dtype=np.float64,
        )

    def values(self, X: np.ndarray) -> np.ndarray:
        return self._raw(np.asarray(X))[:, :-1]


class ShapTreeContributions:
    """Interventional SHAP values of a tree ensemble by shap (the random forest)."""

    def __init__(self, model: Any, background: np.ndarray) -> None:
        # shap warns about matplotlib deprecations at import and about output formats at call.
        warnings.filterwarnings("ignore", module=r"shap(\.|$)")
        for noisy in ("shap", "numba"):
            if logging.getLogger(noisy).level == logging.NOTSET:
                logging.getLogger(noisy).setLevel(logging.WARNING)
        import shap

        self._explainer = shap.TreeExplainer(
            model, data=background, feature_perturbation="interventional", model_output="raw"
        )
        self.expected_value = float(np.ravel(self._explainer.expected_value)[-1])

    def values(self, X: np.ndarray) -> np.ndarray:
        parts = [
            _positive_class(self._explainer.shap_values(X[start : start + CHUNK_ROWS]))
            for start in range(0, len(X), CHUNK_ROWS)
        ]
        return np.vstack(parts)


def make_contributions(model: Any, family: str, background: np.ndarray) -> Any:
    """The contribution engine of ``family`` (see the module docstring)."""
    if family == "logreg":
        return LinearContributions(model, background)
    if family in ("xgboost", "lightgbm"):
        return BoosterContributions(model, family, background)
    return ShapTreeContributions(model, background)


def _positive_class(values: Any) -> np.ndarray:
    """SHAP values of the positive class as ``(rows, features)``, whatever shap returned."""
    if isinstance(values, list):
        values = values[-1]
    values = np.asarray(values, dtype=np.float64)
    return values[..., -1] if values.ndim == 3 else values
