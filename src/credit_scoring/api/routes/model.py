"""GET /model: the serving model's name, version, threshold, features and metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from credit_scoring.api.deps import ServiceDep, require_api_key
from credit_scoring.api.responses import documented
from credit_scoring.api.schemas import ModelDetails

router = APIRouter(
    tags=["model"], dependencies=[Depends(require_api_key)], responses=documented(401, 503)
)


@router.get("/model", response_model=ModelDetails)
def model_details(service: ServiceDep) -> ModelDetails:
    """Metadata of the champion being served."""
    model = service.model
    return ModelDetails(
        name=model.name,
        version=model.version,
        family=model.family,
        threshold=model.threshold,
        features=model.features,
        metrics=model.metrics,
        data_hash=model.data_hash,
        data_source=model.data_source,
        source=model.source,
        uri=model.uri,
    )
