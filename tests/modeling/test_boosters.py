"""Early stopping on an inner split, then a refit on every row with the rounds it found."""

import subprocess
import sys

import numpy as np
import pytest
from lightgbm import LGBMClassifier
from sklearn.base import clone
from sklearn.datasets import make_classification
from xgboost import XGBClassifier

from credit_scoring.modeling.boosters import (
    EarlyStoppingLGBMClassifier,
    EarlyStoppingXGBClassifier,
)

BOOSTERS = [
    (EarlyStoppingXGBClassifier, XGBClassifier, {"n_jobs": 1}),
    (EarlyStoppingLGBMClassifier, LGBMClassifier, {"n_jobs": 1, "verbose": -1}),
]


@pytest.mark.parametrize(("booster", "plain", "extra"), BOOSTERS)
def test_refit_full_fits_every_row_with_the_stopped_rounds(booster, plain, extra):
    X, y = make_classification(n_samples=1500, n_features=8, flip_y=0.2, random_state=0)
    common = {"learning_rate": 0.3, "random_state": 0, **extra}
    refitted = booster(
        n_estimators=500, early_stopping_rounds=10, validation_fraction=0.2, **common
    ).fit(X, y)
    kept = clone(refitted).set_params(refit_full=False).fit(X, y)

    rounds = refitted.stopped_rounds_
    assert rounds == kept.stopped_rounds_ < 500  # the same inner split stopped both
    assert refitted.n_rounds == rounds
    # The configuration is unchanged: a clone searches and stops again from the same ceiling.
    assert refitted.get_params()["n_estimators"] == 500
    assert refitted.get_params()["early_stopping_rounds"] == 10
    # The refit is a plain fit on every row with that many rounds; the kept model never saw
    # the inner validation rows.
    expected = plain(n_estimators=rounds, **common).fit(X, y).predict_proba(X)
    np.testing.assert_allclose(refitted.predict_proba(X), expected, rtol=1e-6)
    assert not np.allclose(kept.predict_proba(X), expected)


def test_a_lightgbm_model_loads_without_xgboost_and_old_pickles_still_find_xgboost():
    """Importing the boosters module imports no XGBoost; the XGBoost class is still found under
    that module's name, as models pickled before it moved refer to it."""
    script = (
        "import io, pickle, sys\n"
        "import credit_scoring.modeling.boosters\n"
        "print('xgboost' in sys.modules)\n"
        "found = pickle.Unpickler(io.BytesIO()).find_class(\n"
        "    'credit_scoring.modeling.boosters', 'EarlyStoppingXGBClassifier')\n"
        "print(f'{found.__module__}.{found.__name__}')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.split() == [
        "False",
        "credit_scoring.modeling.xgb_booster.EarlyStoppingXGBClassifier",
    ]
