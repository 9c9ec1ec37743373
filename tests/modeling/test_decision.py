"""The refuse/grant rule shared by the metrics, the stages and the API."""

import numpy as np

from credit_scoring.modeling.decision import GRANTED, REFUSED, decide, refused


def test_a_probability_at_the_threshold_is_refused():
    assert decide(0.2, 0.2) == REFUSED
    assert decide(0.1999, 0.2) == GRANTED
    assert decide(np.float64(0.9), 0.5) == REFUSED


def test_refused_broadcasts_over_thresholds():
    proba = np.array([0.1, 0.5, 0.9])
    grid = refused(proba[None, :], np.array([0.0, 0.5, 1.0])[:, None])
    assert grid.tolist() == [[True, True, True], [False, True, True], [False, False, False]]
