"""Calibration: the maps, their choice by cross-fitted log loss, ECE, the served pipeline."""

import numpy as np
import pytest

from credit_scoring.modeling.calibration import (
    CalibratedPipeline,
    ProbabilityCalibrator,
    calibration_scores,
    choose_calibration,
    expected_calibration_error,
    reliability_table,
)
from credit_scoring.modeling.models import build_pipeline
from credit_scoring.modeling.train import make_folds


@pytest.fixture(scope="module")
def overconfident():
    """True default probabilities p, and scores that overstate them (p squashed toward 0/1)."""
    rng = np.random.default_rng(1)
    truth = rng.beta(1.2, 12, size=20_000)
    y = rng.binomial(1, truth)
    logit = np.log(truth / (1 - truth))
    score = 1 / (1 + np.exp(-(2.5 * logit + 3.0)))  # too steep and shifted up
    return y, score, truth


def test_ece_is_zero_for_perfect_probabilities_and_large_for_shifted_ones(overconfident):
    y, score, truth = overconfident
    assert expected_calibration_error(y, truth) < 0.01
    assert expected_calibration_error(y, score) > 0.05
    table = reliability_table(y, truth)
    assert len(table) == 10 and table["rows"].sum() == len(y)
    assert np.allclose(table["mean_predicted"], table["observed_default_rate"], atol=0.02)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrators_repair_a_monotone_distortion(overconfident, method):
    y, score, _ = overconfident
    calibrated = ProbabilityCalibrator(method).fit(score, y).transform(score)
    assert expected_calibration_error(y, calibrated) < 0.01
    assert calibration_scores(y, calibrated)["log_loss"] < calibration_scores(y, score)["log_loss"]
    # Monotone: the ranking (AUC) is kept.
    order = np.argsort(score)
    assert np.all(np.diff(calibrated[order]) >= -1e-12)


def test_platt_maps_exactly_as_its_logistic_regression(overconfident):
    """The closed-form Platt map gives LogisticRegression.predict_proba's numbers bit for bit
    (the served probability must not move when the fast path replaces the sklearn call)."""
    y, score, _ = overconfident
    calibrator = ProbabilityCalibrator("platt").fit(score, y)
    log_odds = np.log(np.clip(score, 1e-6, 1 - 1e-6) / (1 - np.clip(score, 1e-6, 1 - 1e-6)))
    expected = calibrator.model_.predict_proba(log_odds[:, None])[:, 1]
    assert np.array_equal(calibrator.transform(score), np.clip(expected, 1e-6, 1 - 1e-6))


def test_the_method_is_chosen_by_cross_fitted_log_loss(overconfident):
    y, score, _ = overconfident
    folds = make_folds(y, 5, seed=0)
    method, table = choose_calibration(y, score[None, :], [folds])
    assert list(table["method"]) == ["none", "platt", "isotonic"]
    fitted = table.set_index("method")
    assert method == fitted.loc[["platt", "isotonic"], "log_loss"].idxmin()
    assert fitted.loc[method, "ece"] < fitted.loc["none", "ece"]


def test_calibrated_pipeline_keeps_steps_and_maps_probabilities():
    rng = np.random.default_rng(0)
    import pandas as pd

    X = pd.DataFrame({"a": rng.normal(size=400), "b": rng.choice(["x", "y"], size=400)})
    y = (X["a"] + rng.normal(size=400) > 1).astype(int)
    pipeline = build_pipeline("logreg", {}, ["a"], ["b"], seed=0).fit(X, y)
    raw = pipeline.predict_proba(X)[:, 1]
    calibrator = ProbabilityCalibrator("platt").fit(raw, y)
    served = CalibratedPipeline.wrap(pipeline, calibrator)
    assert list(served.named_steps) == ["preprocess", "sampler", "model"]
    np.testing.assert_allclose(served.predict_raw_proba(X)[:, 1], raw)
    np.testing.assert_allclose(served.predict_proba(X)[:, 1], calibrator.transform(raw))
    np.testing.assert_allclose(served.predict_proba(X).sum(axis=1), 1.0)
