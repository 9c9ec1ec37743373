"""GET /population: where the training clients stand on each feature, and their default rate."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from credit_scoring.api.deps import PopulationDep, require_api_key
from credit_scoring.api.responses import documented

router = APIRouter(
    tags=["population"], dependencies=[Depends(require_api_key)], responses=documented(401, 503)
)


@router.get("/population")
def population(
    summaries: PopulationDep,
    features: Annotated[str | None, Query(description="comma-separated; default all")] = None,
) -> dict[str, dict[str, Any]]:
    """Distribution and default rates of each requested training feature (unknown ones left out).

    Numeric: quantiles, histogram (edges, counts), default rate per bin; categorical: count and
    default rate per category.
    """
    names = [f.strip() for f in features.split(",") if f.strip()] if features else None
    return summaries.get(names)
