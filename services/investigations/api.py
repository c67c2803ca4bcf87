"""investigations: subject-access export, monthly KPIs and the inspector's pages (read-only).

Access is enforced by the route table in shared/access.py (the export and the inspector's child
page are audited reads of the child's record; the KPIs are agency-wide reports)."""

from __future__ import annotations

import asyncio
import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.investigations import commands, rendering, rules
from shared.access import access
from shared.auth import Principal
from shared.policy import Action, Resource
from shared.service import ServiceSpec
from shared.types import MONTH_PATTERN, Instant

router = APIRouter()

# Who may call each route (shared/policy.py decides; shared/access enforces and logs reads).
ChildReader = Annotated[Principal, access(Resource.CHILD, Action.READ, locate="child", param="child_id", audited=True)]
ReportReader = Annotated[Principal, access(Resource.REPORT, Action.READ)]
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM", examples=["2026-08"])]
AsOf = Annotated[Instant | None, Query(description="What the agency knew at this instant (default: the close)")]


class ExportFormat(StrEnum):
    JSON = "json"
    PDF = "pdf"


def _settings(request: Request) -> commands.InvestigationsSettings:
    return commands.settings_from(request.app.state.settings)


@router.get(
    "/v1/children/{child_id}/export",
    tags=["investigations"],
    summary="Subject-access export: the child's whole record (JSON or PDF)",
)
async def export_child(
    request: Request,
    child_id: uuid.UUID,
    _caller: ChildReader,
    format: ExportFormat = ExportFormat.JSON,
    as_of: AsOf = None,
) -> Response:
    settings = _settings(request)
    export = await commands.child_export(
        request.app.state.engine, child_id, as_of=as_of, late_entry_hours=settings.late_entry_hours
    )
    if format == ExportFormat.PDF:
        pdf = await asyncio.to_thread(rendering.export_pdf, export)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="child-{child_id}.pdf"'},
        )
    return Response(commands.canonical(export), media_type="application/json")


@router.get("/v1/reports/kpis", tags=["investigations"], summary="Monthly KPIs (DOMAIN.md §4), reproducible")
async def kpis(
    request: Request,
    month: Month,
    _caller: ReportReader,
    as_of: AsOf = None,
) -> Response:
    report = await commands.kpi_report(
        request.app.state.engine,
        month,
        now=request.app.state.clock.now(),
        as_of=as_of,
        close_days=_settings(request).kpi_close_days,
    )
    return Response(commands.canonical(report), media_type="application/json")


@router.get(
    "/inspect/children/{child_id}",
    tags=["inspector"],
    summary="The child's chronology as a timeline (HTML)",
    response_class=HTMLResponse,
)
async def inspect_child(
    request: Request,
    child_id: uuid.UUID,
    _caller: ChildReader,
    as_of: AsOf = None,
) -> HTMLResponse:
    settings = _settings(request)
    export = await commands.child_export(
        request.app.state.engine, child_id, as_of=as_of, late_entry_hours=settings.late_entry_hours
    )
    return HTMLResponse(rendering.child_page(export))


@router.get(
    "/inspect/kpis", tags=["inspector"], summary="Monthly figures as SVG charts (HTML)", response_class=HTMLResponse
)
async def inspect_kpis(
    request: Request,
    _caller: ReportReader,
    to: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="Last month shown")] = None,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> HTMLResponse:
    now = request.app.state.clock.now()
    last = to or rules.month_of(now)
    wanted = [rules.shift_month(last, -k) for k in range(months - 1, -1, -1)]
    reports: list[dict[str, Any]] = await commands.kpi_series(
        request.app.state.engine, wanted, now=now, close_days=_settings(request).kpi_close_days
    )
    return HTMLResponse(rendering.kpi_page(reports))


SERVICE = ServiceSpec(name="investigations", router=router)
