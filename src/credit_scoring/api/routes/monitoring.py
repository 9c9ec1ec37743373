"""GET /monitoring/traffic, /monitoring/traffic/report: the latest drift report of the logged
traffic, as ``credit-scoring-monitor`` wrote it in ``CREDIT_API_MONITORING_DIR``.

The files are read at each request (a scheduled monitor run replaces them), never computed here:
a worker does not load Evidently or the training table.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from credit_scoring.api.deps import SettingsDep, require_api_key
from credit_scoring.api.errors import ServiceUnavailableError
from credit_scoring.api.responses import documented
from credit_scoring.monitoring.traffic_files import (
    REPORT,
    NoTrafficReportError,
    UnreadableTrafficReportError,
    read_traffic_drift,
    require_files,
)

router = APIRouter(
    tags=["monitoring"],
    dependencies=[Depends(require_api_key)],
    responses=documented(401, 404, 503),
)


class DriftedColumn(BaseModel):
    """One tested column of the report."""

    column: str
    stattest: str
    score: float | None
    threshold: float | None
    drifted: bool
    severity: float | None = Field(
        description="log of how far the score is past its threshold (positive: drifted)"
    )


class TrafficDrift(BaseModel):
    """The latest traffic drift report: its figures, its window, its columns."""

    written_at: str = Field(description="when the monitor wrote the figures (UTC)")
    metrics: dict[str, Any] = Field(
        description="alert, dataset_drift, drift_share, n_columns, n_drifted_columns, n_rows"
    )
    window: dict[str, Any] = Field(
        description="since, until, first and last decision, rows, rows per model version"
    )
    columns: list[DriftedColumn] = Field(description="the most drifted first")


@router.get("/monitoring/traffic", response_model=TrafficDrift)
def traffic_drift(settings: SettingsDep) -> dict[str, Any]:
    """Drift of the applications the API scored in the monitor's last window, against the
    training applications (404 until ``credit-scoring-monitor`` has written a report)."""
    try:
        return read_traffic_drift(settings.monitoring_dir)
    except NoTrafficReportError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except UnreadableTrafficReportError as exc:
        raise ServiceUnavailableError(f"traffic drift report unreadable: {exc}") from exc


@router.get(
    "/monitoring/traffic/report",
    response_class=FileResponse,
    responses={200: {"content": {"text/html": {}}, "description": "Evidently's HTML report"}},
)
def traffic_drift_report(settings: SettingsDep) -> FileResponse:
    """The Evidently HTML report of the same window."""
    try:
        require_files(settings.monitoring_dir, REPORT)
    except NoTrafficReportError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return FileResponse(settings.monitoring_dir / REPORT, media_type="text/html")
