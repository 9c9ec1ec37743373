"""The pipeline a registered model serves, importable without imbalanced-learn.

Training pipelines are imbalanced-learn ``Pipeline``s (their ``sampler`` step resamples during
``fit``); imbalanced-learn imports pytest and scikit-learn's test utilities (about 1 s and 20 MB
at API startup). A fitted pipeline needs neither to predict: :class:`ServedPipeline` holds the
same fitted ``preprocess`` and ``model`` steps (and the calibrator) in a scikit-learn
``Pipeline``, and is what stage register stores in the pyfunc.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lightgbm import LGBMClassifier
from sklearn.pipeline import Pipeline

SERVED_STEPS = ("preprocess", "model")
# Below this many rows LightGBM predicts on one thread: an OpenMP team for one row costs more
# than its trees, and its threads spin on the core the server's other work needs.
ONE_THREAD_ROWS = 64


def lightgbm_threads(n_rows: int) -> dict[str, int]:
    """Extra ``Booster.predict`` parameters for ``n_rows`` rows (the same numbers either way:
    threads split rows, not trees)."""
    return {"num_threads": 1} if n_rows < ONE_THREAD_ROWS else {}


class ServedPipeline(Pipeline):
    """Fitted ``preprocess -> model`` steps; ``predict_proba`` calibrated when ``calibrator_``
    is set (the served probability), :meth:`predict_raw_proba` the model's own."""

    calibrator_: Any = None

    @classmethod
    def from_trained(cls, pipeline: Any) -> ServedPipeline:
        """The fitted steps of a trained pipeline (samplers dropped) and its calibrator."""
        steps = dict(pipeline.steps)
        served = cls([(name, steps[name]) for name in SERVED_STEPS])
        served.calibrator_ = getattr(pipeline, "calibrator_", None)
        return served

    def predict_raw_proba(self, X: Any) -> np.ndarray:
        """The model's uncalibrated class probabilities."""
        return super().predict_proba(X)

    def predict_proba(self, X: Any, **params: Any) -> np.ndarray:
        proba = super().predict_proba(X, **params)
        if self.calibrator_ is None:
            return proba
        default = self.calibrator_.transform(proba[:, 1])
        return np.column_stack([1 - default, default])


def default_probability(pipeline: Any, transformed: Any) -> np.ndarray:
    """The pipeline's probability of default from its ``preprocess`` step's output (the steps in
    between are samplers, skipped at prediction), calibrated when the pipeline is: the same
    numbers as ``pipeline.predict_proba(X)[:, 1]`` without preprocessing ``X`` again."""
    model = pipeline.named_steps["model"]
    if isinstance(model, LGBMClassifier) and model.objective_ == "binary":
        # The booster itself gives the same numbers without the classifier's per-call
        # parameter handling (~1 ms a call, as much as the trees on one row).
        default = model.booster_.predict(transformed, **lightgbm_threads(len(transformed)))
    else:
        default = model.predict_proba(transformed)[:, 1]
    calibrator = getattr(pipeline, "calibrator_", None)
    return default if calibrator is None else calibrator.transform(default)
