"""What both early-stopping boosters share (:mod:`credit_scoring.modeling.boosters`): the inner
validation split of the rows a booster is fitted on, the fit that stops on it then refits, and
parameters set for one fit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split

# Our own arguments, kept out of the boosters' native parameter lists.
EXTRA_PARAMS = ("validation_fraction", "refit_full")


def inner_split(X: Any, y: Any, fraction: float, seed: int | None) -> tuple[Any, Any, Any, Any]:
    """Stratified (train, validation) split of the rows a booster is fitted on."""
    return train_test_split(X, y, test_size=fraction, stratify=np.asarray(y), random_state=seed)


@contextmanager
def temporarily(estimator: Any, **params: Any) -> Iterator[None]:
    """Set ``params`` on ``estimator`` for the block, then restore them (``get_params`` keeps
    reporting the configuration, not the rounds of the last fit)."""
    saved = {name: getattr(estimator, name) for name in params}
    estimator.set_params(**params)
    try:
        yield
    finally:
        estimator.set_params(**saved)


class StopsOnInnerSplit:
    """``fit`` of an early-stopping booster (mixed in before the booster's class): grow on the
    rows left by the inner split until ``early_stopping_rounds`` without improvement on it
    (:meth:`_fit_stopping`, the booster's own API), then with ``refit_full`` fit again on every
    row with the rounds found (``stopped_rounds_``). Needs ``n_rounds``, ``validation_fraction``,
    ``refit_full``, ``early_stopping_rounds`` and ``random_state``."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> Any:
        if not self.early_stopping_rounds or not self.validation_fraction:
            return super().fit(X, y, **fit_params)
        X_fit, X_val, y_fit, y_val = inner_split(X, y, self.validation_fraction, self.random_state)
        self._fit_stopping(X_fit, y_fit, X_val, y_val, **fit_params)
        self.stopped_rounds_ = self.n_rounds
        if not self.refit_full:
            return self
        with temporarily(self, n_estimators=self.stopped_rounds_, early_stopping_rounds=None):
            return super().fit(X, y, **fit_params)

    def _fit_stopping(self, X: Any, y: Any, X_val: Any, y_val: Any, **fit_params: Any) -> None:
        raise NotImplementedError
