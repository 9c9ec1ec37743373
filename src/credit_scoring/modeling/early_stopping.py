"""What both early-stopping boosters share (:mod:`credit_scoring.modeling.boosters`): the inner
validation split of the rows a booster is fitted on, and parameters set for one fit."""

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
