"""Model families, training, selection, calibration, explanations and the served pipeline."""
