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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from starlette.concurrency import run_in_threadpool

from credit_scoring.api.checks import application_warnings
from credit_scoring.api.collector import collector_paused
from credit_scoring.api.decision_log import (
    DecisionLog,
    DecisionRecord,
    canonical_json,
    text_hash,
)
from credit_scoring.api.history_store import HistoryStore
from credit_scoring.api.model_loader import LoadedModel
from credit_scoring.api.request_ids import request_ids
from credit_scoring.api.schemas import PredictRequest
from credit_scoring.config import FeaturesConfig
from credit_scoring.data import schema
from credit_scoring.features import build_history_features, feature_matrix
from credit_scoring.features.application import (
    PROTECTED_FEATURES,
    ApplicationBlocks,
    conform_records,
)
from credit_scoring.features.build import build_feature_columns, history_block
from credit_scoring.modeling import counterfactual
from credit_scoring.modeling.counterfactual import CounterfactualConfig
from credit_scoring.modeling.decision import GRANTED, decide
from credit_scoring.modeling.fast_preprocess import fast_preprocessor
from credit_scoring.modeling.served import default_probability

logger = logging.getLogger(__name__)

CLIENT_ID = schema.CLIENT_ID
# Keys renumbered per request so that the rows of different requests never mix in a batch.
RENUMBERED_KEYS = (schema.BUREAU_ID, schema.PREVIOUS_ID)
# A validated request, or the fields of an application without history rows (every column, None
# where missing: a batch decoded by ``api.batch_decoder``).
ScoringRequest = PredictRequest | dict[str, Any]


@dataclass
class Scored:
    """Scored requests before their answers are returned.

    Attributes:
        responses: one answer per request.
        records: their decision-log rows.
        applications: the applications' fields (None where not given).
        history: their history aggregates, one row per request (None: nobody has any).
        columns: their features, for the reasons (:meth:`ScoringService.explain`).
        transformed: the features preprocessed.
    """

    responses: list[dict[str, Any]]
    records: list[DecisionRecord]
    applications: list[dict[str, Any]]
    history: np.ndarray | None
    columns: dict[str, np.ndarray]
    transformed: Any


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
        _, columns = self.feature_columns([{}], None)
        X = self.model_frame(columns)
        self.model.pipeline.predict_proba(X)
        self.check_fast_path(X)
        if self.explainer is not None:
            self.explainer.reasons(X, self.top_k, exclude=PROTECTED_FEATURES)

    def check_fast_path(self, X: pd.DataFrame) -> None:
        """Compare the numpy preprocess with scikit-learn's on ``X`` and on the model's SHAP
        background; on any difference, log it and serve with scikit-learn's. Tables of the
        trees' SHAP values are used when they give the booster's on the background."""
        if self.explainer is not None and self.explainer.look_up_trees():
            logger.info("SHAP values of the trees by table look-up")
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

    def score(self, requests: list[ScoringRequest], what_if: bool = False) -> list[dict[str, Any]]:
        """Score, explain and log ``requests`` (one vectorised pass for the whole list).

        The decisions are submitted to the log first; their reasons are computed while the
        log's writer thread commits them, and nothing is answered before that commit. The
        garbage collector is paused meanwhile (:func:`~credit_scoring.api.collector.
        collector_paused`).

        Args:
            requests: validated applications with optional history rows (:data:`ScoringRequest`).
            what_if: add ``counterfactual`` (:meth:`what_if`, after the decisions are logged)
                to each refused answer.

        Returns:
            One response dict per request (the fields of ``PredictResponse``), in order.

        Raises:
            DecisionLogError: when the decisions cannot be logged.
        """
        with collector_paused():
            scored = self.decide(requests)
            committed = self.decision_log.submit(scored.records)
            self.explain(scored)  # while the writer thread commits
            try:
                committed.result()
            except Exception as exc:
                raise self._log_error(scored) from exc
            return self.finish(scored, what_if)

    async def score_async(
        self, requests: list[ScoringRequest], what_if: bool = False
    ) -> list[dict[str, Any]]:
        """:meth:`score` for an event loop: scores and explains in the loop's thread (no thread
        hop), then awaits the commit of the decisions, so that other requests are scored
        meanwhile and share that commit (the reasons of one request take too little time to
        hide a commit behind them; the thread hand-offs would cost more). A counterfactual
        search (dozens of variants scored, about 80 ms) runs in a worker thread, so the loop
        goes on answering meanwhile."""
        scored = self.decide(requests)
        self.explain(scored)
        try:
            await self.decision_log.record_async(scored.records)
        except Exception as exc:
            raise self._log_error(scored) from exc
        if what_if and any(answer["decision"] != GRANTED for answer in scored.responses):
            return await run_in_threadpool(self.finish, scored, what_if)
        return self.finish(scored, what_if)

    def decide(self, requests: list[ScoringRequest]) -> Scored:
        """Probability and decision of each request, and its decision-log row; the answers'
        reasons are left empty (:meth:`explain`)."""
        start = time.perf_counter()
        # Rows are keyed by position (SK_ID_CURR may be absent or repeated in a batch).
        history, sources = self.history_features(requests)
        applications = [application_fields(request) for request in requests]
        blocks, columns = self.feature_columns(applications, history)
        warnings = application_warnings(blocks)
        transformed = self.preprocess(columns)  # once, for the probability and the reasons
        probabilities = default_probability(self.model.pipeline, transformed).tolist()
        latency_ms = (time.perf_counter() - start) * 1000.0
        now = datetime.now(UTC)
        model = self.model_info()
        threshold = self.model.threshold
        base_value = None if self.explainer is None else self.explainer.expected_value
        units = None if self.explainer is None else self.explainer.units
        responses, records = [], []
        # time-ordered: the log's index grows at its end
        ids = request_ids(len(requests))
        for request, fields, probability, source, warned, request_id in zip(
            requests, applications, probabilities, sources, warnings, ids, strict=True
        ):
            response = {
                "sk_id_curr": fields.get(CLIENT_ID),
                "probability": probability,
                "decision": decide(probability, threshold),
                "threshold": threshold,
                "model": dict(model),
                "reasons": [],
                "base_value": base_value,
                "units": units,
                "history_source": source,
                "request_id": request_id,
                "warnings": warned,
                "counterfactual": None,
            }
            responses.append(response)
            records.append(self._record(request, fields, response, now, latency_ms))
        return Scored(responses, records, applications, history, columns, transformed)

    def explain(self, scored: Scored) -> None:
        """Put each answer's top-k SHAP reasons in (none, and a warning, when they cannot be
        computed)."""
        reasons, warning = self._reasons(scored.columns, scored.transformed)
        for response, own in zip(scored.responses, reasons, strict=True):
            response["reasons"] = own
            if warning:
                response["warnings"] = [*response["warnings"], *warning]

    def finish(self, scored: Scored, what_if: bool) -> list[dict[str, Any]]:
        """The answers of logged decisions, with a counterfactual for each refused one when
        ``what_if``."""
        if what_if:
            for key, response in enumerate(scored.responses):
                if response["decision"] != GRANTED:
                    own = None if scored.history is None else scored.history[key]
                    response["counterfactual"] = self.what_if(scored.applications[key], own)
        return scored.responses

    @staticmethod
    def _log_error(scored: Scored) -> DecisionLogError:
        logger.exception("decision log write failed for %d decision(s)", len(scored.records))
        return DecisionLogError("decision log unavailable: decision not recorded")

    def _record(
        self,
        request: ScoringRequest,
        fields: dict[str, Any],
        response: dict[str, Any],
        now: datetime,
        latency_ms: float,
    ) -> DecisionRecord:
        """The decision-log row of one scored request (``fields``: its application's)."""
        application_json = getattr(fields, "canonical", None)  # the batch decoder's
        if application_json is None:
            application_json = canonical_json({k: v for k, v in fields.items() if v is not None})
        if history_rows(request) is None:  # canonical_json of the request, not encoding twice
            request_json = f'{{"application":{application_json}}}'
        else:
            request_json = canonical_json(request.model_dump(exclude_none=True))
        return DecisionRecord(
            request_id=response["request_id"],
            created_at=now,
            sk_id_curr=response["sk_id_curr"],
            input_hash=text_hash(request_json),
            probability=response["probability"],
            decision=response["decision"],
            threshold=response["threshold"],
            model_name=self.model.name,
            model_version=self.model.version,
            history_source=response["history_source"],
            latency_ms=latency_ms,
            application=application_json,
        )

    def _reasons(
        self, columns: Mapping[str, np.ndarray], transformed: Any
    ) -> tuple[list[list[dict[str, Any]]], list[str]]:
        """Top-k SHAP reasons per row (JSON-safe: ``explain.reasons``); an explainer failure
        gives none and a warning."""
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
        return rows, []

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
        self, applications: list[dict[str, Any]], history: np.ndarray | None
    ) -> tuple[ApplicationBlocks, dict[str, np.ndarray]]:
        """The applications conformed (:func:`~credit_scoring.features.application.
        conform_records`) and every feature of them (:func:`~credit_scoring.features.build.
        build_feature_columns`, the pipeline's feature functions without a frame), with their
        history aggregates row by row (:meth:`history_features`; None: nobody has any)."""
        blocks = conform_records(applications, np.arange(len(applications), dtype="int64"))
        return blocks, build_feature_columns(blocks, history, self.config)

    def history_features(
        self, requests: list[ScoringRequest]
    ) -> tuple[np.ndarray | None, list[str]]:
        """History aggregates of the requests, one row per request in order
        (``history_feature_columns``, NaN rows for none; None: nobody has any), and where each
        came from: ``request`` rows, the ``store`` or ``none``."""
        given = [(k, own) for k, own in enumerate(map(history_rows, requests)) if own is not None]
        positions = self.history.positions(
            [application_fields(request)[CLIENT_ID] for request in requests]
        )
        for key, _ in given:  # a request's own rows come first
            positions[key] = -1
        sources = np.where(positions >= 0, "store", "none").tolist()
        for key, _ in given:
            sources[key] = "request"
        stored = np.flatnonzero(positions >= 0)
        if not len(stored) and not given:
            return None, sources
        values = np.full((len(requests), len(self.history.columns)), np.nan)
        if len(stored):
            values[stored] = self.history.values[positions[stored]]
        if given:
            built = build_history_features(history_tables(given), self.config)
            keys = [key for key, _ in given]
            # the store holds history_feature_columns(config), the columns history_block gives
            values[keys] = history_block(built, np.asarray(keys, dtype="int64"), self.config)[1]
        return values, sources

    def what_if(
        self,
        application: dict[str, Any],
        history: np.ndarray | None,
        config: CounterfactualConfig | None = None,
    ) -> dict[str, Any]:
        """The smallest changes of the loan's terms that grant ``application`` (nothing logged):
        :func:`credit_scoring.modeling.counterfactual.search` with this model and features, and
        the client's history aggregates as scored (one row; None: no history)."""

        def score(variants: list[dict[str, Any]]) -> np.ndarray:
            repeated = None if history is None else np.tile(history, (len(variants), 1))
            _, columns = self.feature_columns(variants, repeated)
            return default_probability(self.model.pipeline, self.preprocess(columns))

        return counterfactual.search(application, score, self.model.threshold, config)


def application_fields(request: ScoringRequest) -> dict[str, Any]:
    """The application's fields, every column (None where missing), to be read only: a row
    model's fields are flat, so its ``__dict__`` is its dump without the serializer."""
    return request if isinstance(request, dict) else vars(request.application)


def history_rows(request: ScoringRequest) -> Any | None:
    """The request's own history rows (``HistoryIn``), or None."""
    return None if isinstance(request, dict) else request.history


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
