"""Governance: MLflow tracking and registry, model card, release, promotion, audit, evidence."""
