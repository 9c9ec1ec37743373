"""XGBoost with early stopping on an inner validation split (:mod:`credit_scoring.modeling.
boosters`), apart so that serving a model of another family never imports XGBoost."""

from __future__ import annotations

from typing import Any

from xgboost import XGBClassifier

from credit_scoring.modeling.early_stopping import EXTRA_PARAMS, inner_split, temporarily


class EarlyStoppingXGBClassifier(XGBClassifier):
    """XGBoost classifier that stops on an inner validation split (see
    :mod:`credit_scoring.modeling.boosters`)."""

    def __init__(
        self, *, validation_fraction: float = 0.1, refit_full: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.validation_fraction = validation_fraction
        self.refit_full = refit_full

    def get_xgb_params(self) -> dict[str, Any]:
        params = super().get_xgb_params()
        for name in EXTRA_PARAMS:
            params.pop(name, None)
        return params

    def fit(self, X: Any, y: Any, **fit_params: Any) -> EarlyStoppingXGBClassifier:
        if not self.early_stopping_rounds or not self.validation_fraction:
            return super().fit(X, y, **fit_params)
        X_fit, X_val, y_fit, y_val = inner_split(X, y, self.validation_fraction, self.random_state)
        super().fit(X_fit, y_fit, eval_set=[(X_val, y_val)], verbose=False, **fit_params)
        self.stopped_rounds_ = self.n_rounds
        if not self.refit_full:
            return self
        with temporarily(self, n_estimators=self.stopped_rounds_, early_stopping_rounds=None):
            return super().fit(X, y, **fit_params)

    @property
    def n_rounds(self) -> int:
        """Trees used for predictions (the best iteration when stopped early)."""
        best = getattr(self, "best_iteration", None)
        return int(best) + 1 if best is not None else int(self.get_booster().num_boosted_rounds())
