"""POST /predict, /predict/batch, /predict/batch/csv: score applications.

The answers are built by :class:`~credit_scoring.api.service.ScoringService` with every field of
their response model and sent as they are (:class:`~credit_scoring.api.responses.AnswerResponse`);
the schemathesis contract test checks them against the documented schema.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, UploadFile

from credit_scoring.api.csv_input import parse_applications_csv
from credit_scoring.api.deps import ServiceDep, SettingsDep, require_api_key
from credit_scoring.api.errors import invalid
from credit_scoring.api.json_body import BatchRoute, OrjsonRoute
from credit_scoring.api.responses import AnswerResponse, documented
from credit_scoring.api.schemas import BatchRequest, BatchResponse, PredictRequest, PredictResponse

router = APIRouter(
    route_class=OrjsonRoute,
    tags=["scoring"],
    dependencies=[Depends(require_api_key)],
    responses=documented(401, 413, 503),
)


@router.post("/predict", response_model=PredictResponse)
async def predict(
    body: PredictRequest,
    service: ServiceDep,
    counterfactual: Annotated[
        bool, Query(description="when refused, also say what change of the loan grants it")
    ] = False,
) -> AnswerResponse:
    """Score one application: probability of default, decision, reasons (and, on request,
    the smallest change of the loan's terms that would grant a refused one)."""
    return AnswerResponse((await service.score_async([body], what_if=counterfactual))[0])


def predict_batch(
    body: BatchRequest, service: ServiceDep, settings: SettingsDep
) -> AnswerResponse:
    """Score several applications in one pass (at most ``CREDIT_API_MAX_BATCH``)."""
    # ``body`` is a DecodedBatch when msgspec validated it (BatchRoute): its applications are
    # then their fields, which the service scores as the requests without history rows.
    if len(body.applications) > settings.max_batch:
        raise invalid(("body", "applications"), f"at most {settings.max_batch} applications")
    results = service.score(body.applications)
    return AnswerResponse({"results": results, "n": len(results)})


router.add_api_route(
    "/predict/batch",
    predict_batch,
    methods=["POST"],
    response_model=BatchResponse,
    route_class_override=BatchRoute,
)


@router.post("/predict/batch/csv", response_model=BatchResponse)
def predict_batch_csv(
    file: UploadFile, service: ServiceDep, settings: SettingsDep
) -> AnswerResponse:
    """Score the application rows of an uploaded CSV (history from the store)."""
    requests = parse_applications_csv(file.file.read(), settings.max_batch)
    results = service.score(requests)
    return AnswerResponse({"results": results, "n": len(results)})
