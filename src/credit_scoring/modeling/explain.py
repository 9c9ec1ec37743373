"""SHAP explanations of a fitted model pipeline, per source column of the model input.

The explainer works on the ``model`` step of a ``preprocess -> sampler -> model`` pipeline, on the
transformed (imputed, scaled, one-hot, polynomial) features, and sums the one-hot columns back
onto their source categorical column; a polynomial term's contribution is shared by its factors
in proportion to their exponents (x1^2*x2: 2/3 to x1, 1/3 to x2). The SHAP values come from
:mod:`credit_scoring.modeling.contributions`: interventional against a background sample of clients
for logistic regression and the random forest (the base value is the model's mean output over
that sample), the boosters' own path-dependent TreeSHAP for XGBoost and LightGBM (the base value
is their mean output over the training rows). For every row
``base value + sum of contributions == model output`` in the units of :attr:`units`:

* ``"log-odds"`` (logistic regression, XGBoost, LightGBM): the margin before the sigmoid;
* ``"probability"`` (random forest): the predicted probability of default itself.

A positive contribution pushes the client towards default ("raises risk").
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.compose import ColumnTransformer
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures

from credit_scoring.modeling.contributions import make_contributions
from credit_scoring.tabular import json_scalar, sample_rows

logger = logging.getLogger(__name__)

LOG_ODDS = "log-odds"
PROBABILITY = "probability"
RAISES_RISK = "raises risk"
LOWERS_RISK = "lowers risk"
# Interventional SHAP costs grow linearly with the background: cap it to keep requests fast.
MAX_BACKGROUND = 1000

# (module, class, family). A model's module is imported by then (unpickling or building the
# model imports it), so the modules of the other families are never imported here: 8 MB less
# resident per API worker without XGBoost and scikit-learn's ensembles.
_FAMILIES: tuple[tuple[str, str, str], ...] = (
    ("sklearn.linear_model", "LogisticRegression", "logreg"),
    ("sklearn.ensemble", "RandomForestClassifier", "random_forest"),
    ("xgboost", "XGBClassifier", "xgboost"),
    ("lightgbm", "LGBMClassifier", "lightgbm"),
)


def model_family(model: Any) -> str:
    """Return the family key of a fitted estimator.

    Raises:
        TypeError: for an estimator of none of the four supported families.
    """
    for module_name, class_name, family in _FAMILIES:
        module = sys.modules.get(module_name)
        if module is not None and isinstance(model, getattr(module, class_name)):
            return family
    raise TypeError(f"cannot explain a {type(model).__name__}: no SHAP explainer for it")


class PipelineExplainer:
    """SHAP contributions of a fitted pipeline's input columns; build once, explain many rows.

    Attributes:
        family: model family key (logreg, random_forest, xgboost, lightgbm).
        units: unit of the contributions and base value, ``"log-odds"`` or ``"probability"``.
        features: the pipeline's input columns, in order (the columns of :meth:`contributions`).
    """

    def __init__(self, pipeline: Any, background: pd.DataFrame, seed: int = 42) -> None:
        """Build the SHAP explainer of ``pipeline``.

        Args:
            pipeline: fitted pipeline with steps ``preprocess`` (ColumnTransformer) and ``model``.
            background: raw feature rows the contributions are measured against (reference
                clients); at most ``MAX_BACKGROUND`` of them are used, sampled with ``seed``.
            seed: sampling seed of the background.
        """
        self.pipeline = pipeline
        self._preprocess = pipeline.named_steps["preprocess"]
        self._model = pipeline.named_steps["model"]
        self.family = model_family(self._model)
        self.units = PROBABILITY if self.family == "random_forest" else LOG_ODDS
        self.features = list(self._preprocess.feature_names_in_)
        # sparse (about one entry a row): no BLAS call, whose thread buffers stay resident
        self._to_source = sparse.csr_matrix(source_matrix(self._preprocess))
        sample = sample_rows(background, MAX_BACKGROUND, seed)
        self._background = self._transform(sample)
        self._engine = make_contributions(self._model, self.family, self._background)
        self._expected_value = self._engine.expected_value
        logger.info(
            "%s explainer on %d background rows, base value %.4f %s",
            self.family,
            len(sample),
            self._expected_value,
            self.units,
        )

    def look_up_trees(self) -> bool:
        """Take a LightGBM booster's SHAP values from tables checked on the background
        (:meth:`~credit_scoring.modeling.contributions.BoosterContributions.look_up`)."""
        look_up = getattr(self._engine, "look_up", None)
        return look_up is not None and look_up(self._background)

    @property
    def expected_value(self) -> float:
        """Base value: the model's mean output over the background, in :attr:`units`."""
        return self._expected_value

    def transform(self, X: pd.DataFrame) -> Any:
        """The model step's input, as the pipeline computes it (its ``preprocess`` output)."""
        return self._preprocess.transform(X[self.features])

    def _transform(self, X: pd.DataFrame, transformed: Any = None) -> np.ndarray:
        """The preprocessed features as a float64 matrix (``transformed``: already computed)."""
        return np.asarray(self.transform(X) if transformed is None else transformed, np.float64)

    def model_output(self, X: pd.DataFrame) -> np.ndarray:
        """The model's output for ``X`` in :attr:`units` (margin, or probability for RF)."""
        Xt = self._transform(X)
        if self.family == "logreg":
            return self._model.decision_function(Xt)
        if self.family == "xgboost":
            return self._model.predict(Xt, output_margin=True)
        if self.family == "lightgbm":
            return self._model.predict(Xt, raw_score=True)
        return self._model.predict_proba(Xt)[:, 1]

    def contributions(self, X: pd.DataFrame, transformed: Any = None) -> pd.DataFrame:
        """SHAP contribution of every input column, one-hot columns summed onto their source.

        Args:
            X: raw feature rows (the pipeline's input columns; extra columns are ignored).
            transformed: :meth:`transform` of ``X`` when the caller has it (not computed again).

        Returns:
            Rows of ``X`` (same index) x :attr:`features`; each row plus :attr:`expected_value`
            sums to :meth:`model_output` of that row.
        """
        values = self._source_contributions(self._transform(X, transformed))
        return pd.DataFrame(values, index=X.index, columns=self.features)

    def shap_values(self, Xt: np.ndarray) -> np.ndarray:
        """SHAP values of preprocessed rows, one per transformed column (rows x outputs)."""
        return self._engine.values(Xt)

    def _source_contributions(self, Xt: np.ndarray) -> np.ndarray:
        """SHAP values of preprocessed rows, summed onto the input columns (rows x features)."""
        return np.asarray(self.shap_values(Xt) @ self._to_source)

    def reasons(
        self,
        X: pd.DataFrame | Mapping[str, np.ndarray],
        top_k: int,
        exclude: Collection[str] = (),
        transformed: Any = None,
    ) -> list[list[dict[str, Any]]]:
        """The ``top_k`` largest contributions (by absolute value) of each row.

        Args:
            X: raw feature rows, as a frame or as ``{column: array}`` (then with
                ``transformed``).
            top_k: contributions kept per row.
            exclude: features never given as a reason (e.g. protected attributes); the
                ``top_k`` are chosen among the others. Their SHAP values are unchanged.
            transformed: :meth:`transform` of ``X`` when the caller has it.

        Returns:
            Per row, a list of ``{"feature", "value", "contribution", "direction"}`` sorted by
            decreasing ``|contribution|``; ``value`` is the raw input (float, str or None when
            missing), ``contribution`` is finite (as ``np.nan_to_num``: NaN 0, infinities the
            largest float), ``direction`` is ``"raises risk"`` or ``"lowers risk"``.
        """
        if transformed is None and not isinstance(X, pd.DataFrame):
            raise ValueError("reasons of columns need their transformed rows")
        contributions = self._source_contributions(self._transform(X, transformed))
        kept = [j for j, feature in enumerate(self.features) if feature not in exclude]
        contributions = contributions[:, kept]
        names = [str(self.features[j]) for j in kept]
        order = top_k_order(contributions, top_k)
        picked = np.nan_to_num(np.take_along_axis(contributions, order, axis=1)).tolist()
        order = order.tolist()
        # the raw inputs of the features given as a reason, as JSON values
        values = {j: json_values(X[names[j]]) for j in {j for row in order for j in row}}
        return [
            [
                {
                    "feature": names[j],
                    "value": values[j][i],
                    "contribution": c,
                    "direction": RAISES_RISK if c > 0 else LOWERS_RISK,
                }
                for j, c in zip(positions, picked[i], strict=True)
            ]
            for i, positions in enumerate(order)
        ]


def top_k_order(values: np.ndarray, k: int) -> np.ndarray:
    """Per row, the positions of the ``k`` largest ``|values|``, largest first, ties by position:
    ``np.argsort(-abs(values), kind="stable")[:, :k]``, sorting only the ``k`` when no tie
    crosses the cut."""
    magnitude = np.abs(values)
    if 0 < k < values.shape[1]:
        cut = -np.partition(-magnitude, k - 1, axis=1)[:, k - 1 : k]
        above = magnitude >= cut  # exactly k per row unless a tie crosses the cut (or NaN)
        if (above.sum(axis=1) == k).all():
            candidates = np.nonzero(above)[1].reshape(len(values), k)  # ascending positions
            near = np.take_along_axis(magnitude, candidates, axis=1)
            return np.take_along_axis(candidates, np.argsort(-near, axis=1, kind="stable"), 1)
    return np.argsort(-magnitude, axis=1, kind="stable")[:, :k]


def json_values(values: Any) -> list[Any]:
    """A column's values as JSON values (:func:`~credit_scoring.tabular.json_scalar`), a float
    column converted at once (non-finite as None)."""
    array = np.asarray(values)
    if array.dtype.kind != "f":
        return [json_scalar(value) for value in array.tolist()]
    plain = array.astype(object)  # Python floats
    plain[~np.isfinite(array)] = None
    return plain.tolist()


def source_matrix(preprocess: ColumnTransformer) -> np.ndarray:
    """Matrix (transformed columns x input columns) of each output's share per source column.

    ``shap_values @ matrix`` sums the one-hot columns of a categorical onto that column and
    shares a polynomial term among its factors; every row sums to 1, so totals are kept.
    """
    features = list(preprocess.feature_names_in_)
    position = {name: i for i, name in enumerate(features)}
    sources = transformed_sources(preprocess)
    matrix = np.zeros((len(sources), len(features)))
    for row, shares in enumerate(sources):
        for source, share in shares.items():
            matrix[row, position[source]] += share
    return matrix


def transformed_sources(preprocess: ColumnTransformer) -> list[dict[str, float]]:
    """The source input columns of each output column of a fitted ColumnTransformer, in order.

    Returns:
        Per output column, ``{input column: share}`` (shares sum to 1): ``{column: 1.0}`` for
        a numeric or one-hot column, the factors of a polynomial term by exponent share.
    """
    sources: list[dict[str, float]] = []
    for name, transformer, columns in preprocess.transformers_:
        width = _width(preprocess.output_indices_[name])
        if width == 0 or transformer == "drop":
            continue
        columns = _column_names(preprocess, columns)
        sources.extend(_sources_of(transformer, columns, width))
    return sources


def _width(indices: slice) -> int:
    """Number of output columns of one transformer."""
    return indices.stop - indices.start


def _column_names(preprocess: ColumnTransformer, columns: Any) -> list[str]:
    """A transformer's column selection as names (it may be given as names or positions)."""
    if isinstance(columns, str):
        return [columns]
    if not isinstance(columns, slice) and all(isinstance(c, str) for c in columns):
        return [str(c) for c in columns]
    return [str(c) for c in np.asarray(preprocess.feature_names_in_)[columns]]


def _sources_of(transformer: Any, columns: list[str], width: int) -> list[dict[str, float]]:
    """Source columns (with shares) of each of the ``width`` outputs of one transformer."""
    steps = [step for _, step in transformer.steps] if hasattr(transformer, "steps") else []
    poly = next((step for step in steps if isinstance(step, PolynomialFeatures)), None)
    if poly is not None and poly.n_output_features_ == width:
        return polynomial_sources(poly.powers_, columns)
    encoder = steps[-1] if steps else transformer
    single: list[str] | None = None
    if isinstance(encoder, OneHotEncoder):
        single = _onehot_sources(encoder, columns)
    if single is None or len(single) != width:
        single = list(columns) if width == len(columns) else None
    if single is None:
        names = [str(name) for name in transformer.get_feature_names_out(columns)]
        single = match_prefixes(names, columns)
    return [{source: 1.0} for source in single]


def polynomial_sources(powers: np.ndarray, columns: list[str]) -> list[dict[str, float]]:
    """Each polynomial term's factors, weighted by their share of its degree.

    Args:
        powers: ``PolynomialFeatures.powers_`` (terms x input columns).
        columns: the input columns.

    Returns:
        Per term, ``{column: exponent / degree}``; a constant term (degree 0) has no source.
    """
    sources = []
    for term in np.asarray(powers):
        degree = term.sum()
        sources.append({columns[i]: term[i] / degree for i in np.flatnonzero(term)})
    return sources


def _onehot_sources(encoder: OneHotEncoder, columns: list[str]) -> list[str]:
    """Source of each one-hot output, from the encoder's categories (no name parsing)."""
    n_columns = len(encoder.categories_)
    infrequent = getattr(encoder, "infrequent_categories_", [None] * n_columns)
    dropped = encoder.drop_idx_ if encoder.drop_idx_ is not None else [None] * n_columns
    sources = []
    for column, categories, rare, drop in zip(
        columns, encoder.categories_, infrequent, dropped, strict=True
    ):
        width = len(categories) - (len(rare) - 1 if rare is not None else 0)
        sources.extend([column] * (width - (drop is not None)))
    return sources


def match_prefixes(names: list[str], columns: list[str]) -> list[str]:
    """Source of each output name ``<column>`` or ``<column>_<suffix>``, longest column first.

    Raises:
        ValueError: when an output name matches no column.
    """
    by_length = sorted(columns, key=len, reverse=True)
    sources = []
    for name in names:
        source = next((c for c in by_length if name == c or name.startswith(f"{c}_")), None)
        if source is None:
            raise ValueError(f"transformed column {name!r} matches no input column")
        sources.append(source)
    return sources


def global_importance(contributions: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute contribution of each feature over the explained rows.

    Returns:
        Columns ``feature``, ``mean_abs_shap``, sorted by decreasing importance.
    """
    importance = contributions.abs().mean(axis=0)
    frame = pd.DataFrame({"feature": importance.index, "mean_abs_shap": importance.to_numpy()})
    return frame.sort_values(
        ["mean_abs_shap", "feature"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)
