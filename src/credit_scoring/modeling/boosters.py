"""Gradient boosting with early stopping on an inner validation split of the training rows.

``fit`` holds out ``validation_fraction`` of the rows it is given (stratified, seeded), grows trees
on the rest until the validation metric (AUC for XGBoost as configured, log loss for
LightGBM) has not improved for ``early_stopping_rounds`` rounds
(``n_estimators`` is only the ceiling), and predicts with the best iteration. Inside a CV
pipeline the held-out rows come from the training fold, so the scored fold never steers the
stopping. The classes stay XGBoost / LightGBM classifiers (SHAP and the API treat them as such).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from lightgbm import LGBMClassifier
from lightgbm import early_stopping as lgbm_early_stopping
from sklearn.model_selection import train_test_split
from xgboost import XGBClassifier

# Our own arguments, kept out of the boosters' native parameter lists.
_EXTRA = ("validation_fraction",)


def inner_split(X: Any, y: Any, fraction: float, seed: int | None) -> tuple[Any, Any, Any, Any]:
    """Stratified (train, validation) split of the rows a booster is fitted on."""
    return train_test_split(X, y, test_size=fraction, stratify=np.asarray(y), random_state=seed)


class EarlyStoppingXGBClassifier(XGBClassifier):
    """XGBoost classifier that stops on an inner validation split (see the module docstring)."""

    def __init__(self, *, validation_fraction: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validation_fraction = validation_fraction

    def get_xgb_params(self) -> dict[str, Any]:
        params = super().get_xgb_params()
        for name in _EXTRA:
            params.pop(name, None)
        return params

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EarlyStoppingXGBClassifier:
        if not self.early_stopping_rounds or not self.validation_fraction:
            return super().fit(X, y, **fit_params)
        X_fit, X_val, y_fit, y_val = inner_split(X, y, self.validation_fraction, self.random_state)
        return super().fit(X_fit, y_fit, eval_set=[(X_val, y_val)], verbose=False, **fit_params)

    @property
    def n_rounds(self) -> int:
        """Trees used for predictions (the best iteration when stopped early)."""
        best = getattr(self, "best_iteration", None)
        return int(best) + 1 if best is not None else int(self.get_booster().num_boosted_rounds())


class EarlyStoppingLGBMClassifier(LGBMClassifier):
    """LightGBM classifier that stops on an inner validation split (see the module docstring)."""

    def __init__(
        self,
        *,
        validation_fraction: float = 0.1,
        early_stopping_rounds: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.validation_fraction = validation_fraction
        self.early_stopping_rounds = early_stopping_rounds

    def _process_params(self, stage: str) -> dict[str, Any]:
        params = super()._process_params(stage)
        for name in (*_EXTRA, "early_stopping_rounds"):
            params.pop(name, None)
        return params

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EarlyStoppingLGBMClassifier:
        if not self.early_stopping_rounds or not self.validation_fraction:
            return super().fit(X, y, **fit_params)
        X_fit, X_val, y_fit, y_val = inner_split(X, y, self.validation_fraction, self.random_state)
        stop = lgbm_early_stopping(self.early_stopping_rounds, verbose=False)
        return super().fit(
            X_fit, y_fit, eval_X=X_val, eval_y=y_val, callbacks=[stop], **fit_params
        )

    @property
    def n_rounds(self) -> int:
        """Trees used for predictions (the best iteration when stopped early)."""
        best = getattr(self, "best_iteration_", 0)
        return int(best) if best else int(self.booster_.num_trees())
