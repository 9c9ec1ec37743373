"""The scoring service: validated requests -> features -> probability, decision, reasons, log.

Features are built by the pipeline's own functions (:func:`credit_scoring.features.build.
build_feature_columns`: the feature functions of ``build_features`` without a frame, and
:func:`~credit_scoring.features.build_history_features`), so a client scored by the API gets
exactly the features the model was trained and evaluated on. A request's history comes from its
own side-table rows when given, else from the history store (clients known to the pipeline),
else is empty (NaN aggregates, 0 counts), as for a client without any history.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from credit_scoring.api.checks import application_warnings
from credit_scoring.api.decision_log import DecisionLog, DecisionRecord, canonical_json, input_hash
from credit_scoring.api.model_loader import LoadedModel
from credit_scoring.api.schemas import PredictRequest
from credit_scoring.api.stores import HistoryStore
from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features import build_history_features, feature_matrix
from credit_scoring.features.application import PROTECTED_FEATURES, conform_records
from credit_scoring.features.build import build_feature_columns
from credit_scoring.modeling import counterfactual
from credit_scoring.modeling.counterfactual import CounterfactualConfig
from credit_scoring.modeling.decision import GRANTED, decide
from credit_scoring.modeling.fast_preprocess import fast_preprocessor
from credit_scoring.modeling.served import default_probability
from credit_scoring.tabular import json_scalar

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID
# Keys renumbered per request so that the rows of different requests never mix in a batch.
RENUMBERED_KEYS = (schema.BUREAU_ID, schema.PREVIOUS_ID)


class DecisionLogError(RuntimeError):
    """A decision could not be written to the decision log (so it is not returned)."""


class ScoringService:
    """Scores applications with the loaded model and logs every decision.

    Attributes:
        model: the serving model and its metadata.
        config: feature parameters of the pipeline run.
        history: stored history aggregates of known clients.
        explainer: SHAP explainer of the model (None: decisions come without reasons).
        decision_log: where decisions are written.
        top_k: reasons returned per decision (never a protected attribute: PROTECTED_FEATURES).
    """

    def __init__(
        self,
        model: LoadedModel,
        config: FeaturesConfig,
        history: HistoryStore,
        explainer: Any | None,
        decision_log: DecisionLog,
        top_k: int,
    ) -> None:
        self.model = model
        self.config = config
        self.history = history
        self.explainer = explainer
        self.decision_log = decision_log
        self.top_k = top_k
        self.fast = fast_preprocessor(model.pipeline)

    def model_info(self) -> dict[str, Any]:
        """``{"name", "version", "family", "source"}`` of the serving model."""
        model = self.model
        return {
            "name": model.name,
            "version": model.version,
            "family": model.family,
            "source": model.source,
        }

    def warm_up(self) -> None:
        """Score one empty application (no logging): checks the features match the model and
        the numpy preprocess equals scikit-learn's (:meth:`check_fast_path`)."""
        columns = self.feature_columns([{}], None)
        X = self.model_frame(columns)
        self.model.pipeline.predict_proba(X)
        self.check_fast_path(X)
        if self.explainer is not None:
            self.explainer.reasons(X, self.top_k, exclude=PROTECTED_FEATURES)

    def check_fast_path(self, X: pd.DataFrame) -> None:
        """Compare the numpy preprocess with scikit-learn's on ``X`` and on the model's SHAP
        background; on any difference, log it and serve with scikit-learn's."""
        if self.fast is None:
            logger.info("preprocess by scikit-learn (its steps are not replayed in numpy)")
            return
        rows = [X]
        if self.model.background is not None:
            rows.append(feature_matrix(self.model.background, self.model.features))
        try:
            for frame in rows:
                self.fast.check(frame)
        except AssertionError:
            logger.exception("numpy preprocess disabled: it differs from scikit-learn's")
            self.fast = None

    def score(self, requests: list[PredictRequest], what_if: bool = False) -> list[dict[str, Any]]:
        """Score, explain and log ``requests`` (one vectorised pass for the whole list).

        Args:
            requests: validated applications with optional history rows.
            what_if: add ``counterfactual`` (:meth:`what_if`, after the decisions are logged)
                to each refused answer.

        Returns:
            One response dict per request (the fields of ``PredictResponse``), in order.

        Raises:
            DecisionLogError: when the decisions cannot be logged.
        """
        start = time.perf_counter()
        # Rows are keyed by position (SK_ID_CURR may be absent or repeated in a batch).
        history, sources = self.history_features(requests)
        applications = [request.application.model_dump() for request in requests]
        columns = self.feature_columns(applications, history)
        transformed = self.preprocess(columns)  # once, for the probability and the reasons
        probabilities = default_probability(self.model.pipeline, transformed)
        reasons, explain_warning = self._reasons(columns, transformed)
        latency_ms = (time.perf_counter() - start) * 1000.0
        now = datetime.now(UTC)
        responses, records = [], []
        for i, request in enumerate(requests):
            application = request.application.model_dump(exclude_none=True)
            probability = float(probabilities[i])
            response = {
                "sk_id_curr": application.get(CLIENT_ID),
                "probability": probability,
                "decision": decide(probability, self.model.threshold),
                "threshold": self.model.threshold,
                "model": self.model_info(),
                "reasons": reasons[i],
                "base_value": None if self.explainer is None else self.explainer.expected_value,
                "units": None if self.explainer is None else self.explainer.units,
                "history_source": sources[i],
                "request_id": str(uuid.uuid4()),
                "warnings": application_warnings(application) + explain_warning,
            }
            responses.append(response)
            records.append(self._record(request, application, response, now, latency_ms))
        try:
            self.decision_log.record(records)
        except Exception as exc:
            logger.exception("decision log write failed for %d decision(s)", len(records))
            raise DecisionLogError("decision log unavailable: decision not recorded") from exc
        if what_if:
            for key, response in enumerate(responses):
                if response["decision"] != GRANTED:
                    own = None if history is None else history[history.index == key]
                    response["counterfactual"] = self.what_if(applications[key], own)
        return responses

    def _record(
        self,
        request: PredictRequest,
        application: dict[str, Any],
        response: dict[str, Any],
        now: datetime,
        latency_ms: float,
    ) -> DecisionRecord:
        """The decision-log row of one scored request."""
        return DecisionRecord(
            request_id=response["request_id"],
            created_at=now,
            sk_id_curr=response["sk_id_curr"],
            input_hash=input_hash(request.model_dump(exclude_none=True)),
            probability=response["probability"],
            decision=response["decision"],
            threshold=response["threshold"],
            model_name=self.model.name,
            model_version=self.model.version,
            history_source=response["history_source"],
            latency_ms=latency_ms,
            application=canonical_json(application),
        )

    def _reasons(
        self, columns: Mapping[str, np.ndarray], transformed: Any
    ) -> tuple[list[list[dict[str, Any]]], list[str]]:
        """Top-k SHAP reasons per row, JSON-safe; an explainer failure gives none and a warning."""
        n_rows = len(transformed)
        if self.explainer is None:
            return [[] for _ in range(n_rows)], ["no explainer loaded: reasons unavailable"]
        try:
            rows = self.explainer.reasons(
                columns, self.top_k, exclude=PROTECTED_FEATURES, transformed=transformed
            )
        except Exception:
            logger.exception("SHAP explanation failed for %d row(s)", n_rows)
            return [[] for _ in range(n_rows)], ["explanation failed: reasons unavailable"]
        return [[_safe_reason(reason) for reason in row] for row in rows], []

    def preprocess(self, columns: Mapping[str, np.ndarray]) -> Any:
        """The pipeline's ``preprocess`` output for the rows of ``columns``: replayed in numpy
        (:mod:`~credit_scoring.modeling.fast_preprocess`, checked at warm-up) or, when it cannot
        be, scikit-learn's on the model frame."""
        if self.fast is not None:
            return self.fast.transform(columns)
        return self.model.pipeline.named_steps["preprocess"].transform(self.model_frame(columns))

    def model_frame(self, columns: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """The model's input columns as the pipeline's frame (``features.feature_matrix``)."""
        features = [*self.model.features["numeric"], *self.model.features["categorical"]]
        return pd.DataFrame({name: columns[name] for name in features})

    def feature_columns(
        self, applications: list[dict[str, Any]], history: pd.DataFrame | None
    ) -> dict[str, np.ndarray]:
        """Every feature of raw applications (:func:`~credit_scoring.features.build.
        build_feature_columns`, the pipeline's feature functions without a frame), keyed by
        position, with history aggregates keyed the same way (None or missing keys: none)."""
        keys = np.arange(len(applications), dtype="int64")
        return build_feature_columns(conform_records(applications, keys), history, self.config)

    def history_features(
        self, requests: list[PredictRequest]
    ) -> tuple[pd.DataFrame | None, list[str]]:
        """History aggregates of the requests keyed by position (None: nobody has any), and
        where each came from: ``request`` rows, the ``store`` or ``none``."""
        sources, stored, given = [], [], []
        for key, request in enumerate(requests):
            sk_id_curr = request.application.SK_ID_CURR
            if request.history is not None:
                sources.append("request")
                given.append((key, request.history))
            elif sk_id_curr in self.history:
                sources.append("store")
                stored.append((key, sk_id_curr))
            else:
                sources.append("none")
        parts = []
        if stored:
            rows = self.history.rows([sk_id_curr for _, sk_id_curr in stored])
            parts.append(rows.set_axis(pd.Index([k for k, _ in stored], name=CLIENT_ID)))
        if given:
            parts.append(build_history_features(history_tables(given), self.config))
        if len(parts) > 1:
            return pd.concat(parts), sources
        return (parts[0] if parts else None), sources

    def what_if(
        self,
        application: dict[str, Any],
        history: pd.DataFrame | None,
        config: CounterfactualConfig | None = None,
    ) -> dict[str, Any]:
        """The smallest changes of the loan's terms that grant ``application`` (nothing logged):
        :func:`credit_scoring.modeling.counterfactual.search` with this model and features, and
        the client's history aggregates as scored (one row, or None / empty: no history)."""

        def score(variants: list[dict[str, Any]]) -> np.ndarray:
            keys = pd.Index(np.arange(len(variants)), name=CLIENT_ID)
            repeated = None
            if history is not None and len(history):
                repeated = history.iloc[np.zeros(len(variants), dtype=int)].set_axis(keys)
            columns = self.feature_columns(variants, repeated)
            return default_probability(self.model.pipeline, self.preprocess(columns))

        return counterfactual.search(application, score, self.model.threshold, config)


def history_tables(histories: list[tuple[int, Any]]) -> dict[str, pd.DataFrame]:
    """The side-table rows of several requests as typed tables, each request's rows keyed apart.

    Args:
        histories: ``(internal client key, HistoryIn)`` pairs; SK_ID_CURR of every row becomes
            the key, and SK_ID_BUREAU / SK_ID_PREV are renumbered per request (links kept).

    Returns:
        ``{table: frame}`` with the schema columns (absent ones NaN) of every non-empty table.
    """
    counter = itertools.count(1)
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in schema.HISTORY_TABLES}
    for key, history in histories:
        renumbered: dict[tuple[str, int], int] = {}
        for table in schema.HISTORY_TABLES:
            for row in getattr(history, table) or ():
                record = row.model_dump()
                if CLIENT_ID in record:
                    record[CLIENT_ID] = key
                for column in RENUMBERED_KEYS:
                    if column in record:
                        record[column] = renumbered.setdefault(
                            (column, record[column]), next(counter)
                        )
                rows[table].append(record)
    return {table: schema.typed_rows(table, records) for table, records in rows.items() if records}


def _safe_reason(reason: dict[str, Any]) -> dict[str, Any]:
    """A reason with JSON-safe value and contribution."""
    return reason | {
        "value": json_scalar(reason["value"]),
        "contribution": float(np.nan_to_num(reason["contribution"])),
    }
