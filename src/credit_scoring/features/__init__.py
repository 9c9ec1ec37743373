"""Features: business features of an application, history aggregates of the six side tables
(one module per table), and the model's input matrix. The pipeline and the API share them."""

from credit_scoring.features.application import build_application_features
from credit_scoring.features.build import (
    build_features,
    build_history_features,
    history_feature_columns,
    split_feature_kinds,
)
from credit_scoring.features.matrix import (
    attach_target,
    feature_matrix,
    read_model_matrix,
    split_holdout,
)

__all__ = [
    "attach_target",
    "build_application_features",
    "build_features",
    "build_history_features",
    "feature_matrix",
    "history_feature_columns",
    "read_model_matrix",
    "split_feature_kinds",
    "split_holdout",
]
