"""Business score and threshold search on hand-computed examples."""

import numpy as np
import pytest

from credit_scoring.config import CostConfig
from credit_scoring.modeling.cost import (
    business_cost,
    business_score,
    business_score_curve,
    find_best_threshold,
    max_cost,
)

COSTS = CostConfig(fn_cost=10, fp_cost=1)
Y = np.array([1, 1, 0, 0, 0, 0])  # 2 defaulters, 4 reliable clients: max cost 2*10 + 4*1 = 24


def test_max_cost_is_every_prediction_wrong():
    assert max_cost(Y, COSTS) == 24
    assert business_cost(Y, 1 - Y, COSTS) == 24


@pytest.mark.parametrize(
    ("y_pred", "expected_cost"),
    [
        ([1, 1, 0, 0, 0, 0], 0),  # perfect
        ([0, 1, 0, 0, 0, 0], 10),  # one granted defaulter
        ([1, 1, 1, 0, 0, 0], 1),  # one refused reliable client
        ([0, 0, 0, 0, 0, 0], 20),  # grant everyone
        ([1, 1, 1, 1, 1, 1], 4),  # refuse everyone
    ],
)
def test_business_score_hand_computed(y_pred, expected_cost):
    assert business_cost(Y, np.array(y_pred), COSTS) == expected_cost
    assert business_score(Y, np.array(y_pred)) == pytest.approx(1 - expected_cost / 24)


def test_costs_are_parameters():
    y_pred = np.array([0, 1, 1, 0, 0, 0])  # one FN, one FP
    assert business_score(Y, y_pred, fn_cost=5, fp_cost=2) == pytest.approx(1 - 7 / 18)


def test_curve_matches_pointwise_scores():
    proba = np.array([0.9, 0.35, 0.4, 0.2, 0.1, 0.05])
    thresholds = np.array([0.0, 0.3, 0.38, 0.5, 1.0])
    curve = business_score_curve(Y, proba, thresholds, COSTS)
    expected = [business_score(Y, (proba >= t).astype(int)) for t in thresholds]
    np.testing.assert_allclose(curve, expected)


def test_best_threshold_prefers_refusing_when_misses_are_expensive():
    # Refusing the 0.4 reliable client (cost 1) is cheaper than granting the 0.35 defaulter (10).
    proba = np.array([0.9, 0.35, 0.4, 0.2, 0.1, 0.05])
    threshold, score = find_best_threshold(Y, proba, COSTS, n_thresholds=99)
    assert 0.2 < threshold <= 0.35
    assert score == pytest.approx(1 - 1 / 24)


def test_cost_falls_as_ranking_improves():
    rng = np.random.default_rng(0)
    y = rng.binomial(1, 0.1, 2000)
    noise = rng.normal(size=2000)
    scores = [find_best_threshold(y, y * s + noise, COSTS)[1] for s in (0.0, 1.0, 3.0)]
    assert scores[0] < scores[1] < scores[2]
