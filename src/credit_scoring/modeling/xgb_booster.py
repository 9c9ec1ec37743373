"""XGBoost with early stopping on an inner validation split (:mod:`credit_scoring.modeling.
boosters`), apart so that serving a model of another family never imports XGBoost."""

from __future__ import annotations

from typing import Any

from xgboost import XGBClassifier

from credit_scoring.modeling.early_stopping import EXTRA_PARAMS, StopsOnInnerSplit


class EarlyStoppingXGBClassifier(StopsOnInnerSplit, XGBClassifier):
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

    def _fit_stopping(self, X: Any, y: Any, X_val: Any, y_val: Any, **fit_params: Any) -> None:
        XGBClassifier.fit(self, X, y, eval_set=[(X_val, y_val)], verbose=False, **fit_params)

    @property
    def n_rounds(self) -> int:
        """Trees used for predictions (the best iteration when stopped early)."""
        best = getattr(self, "best_iteration", None)
        return int(best) + 1 if best is not None else int(self.get_booster().num_boosted_rounds())
