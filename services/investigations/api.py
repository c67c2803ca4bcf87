"""investigations: subject-access export, monthly KPIs and the inspector's pages (read-only).

The export and the KPI report answer canonical JSON (RFC 8785: the same question, the same bytes),
so their schemas are declared beside the media types they answer; the inspector's pages are HTML."""

from __future__ import annotations

import asyncio
import uuid
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from services.investigations import projections, rendering, rules, workers
from shared.access import access, children_read
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

PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No record of the child (problem `not-found`)"},
    422: {"description": "Invalid month or as_of (problem `validation`)"},
}
EXPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "model": rules.ChildExport,
        "description": "The record as canonical JSON (RFC 8785), or as a PDF with `format=pdf`.",
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    },
    **PROBLEMS,
}
REPORT: dict[int | str, dict[str, Any]] = {
    200: {"model": rules.KpiReport, "description": "The report as canonical JSON (RFC 8785): rerun, the same bytes."},
    **PROBLEMS,
}


class ExportFormat(StrEnum):
    JSON = "json"
    PDF = "pdf"


async def _export(request: Request, child_id: uuid.UUID, as_of: Any) -> rules.ChildExport:
    state = request.app.state
    return await projections.child_export(
        state.store, child_id, as_of=as_of, late_entry_hours=state.settings.late_entry_hours
    )


@router.get(
    "/v1/children/{child_id}/export",
    tags=["investigations"],
    summary="Subject-access export: the child's whole record (JSON or PDF)",
    responses=EXPORT,
)
async def export_child(
    request: Request,
    child_id: uuid.UUID,
    _caller: ChildReader,
    format: ExportFormat = ExportFormat.JSON,
    as_of: AsOf = None,
) -> Response:
    export = await _export(request, child_id, as_of)
    if format == ExportFormat.PDF:
        pdf = await asyncio.to_thread(rendering.export_pdf, export)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="child-{child_id}.pdf"'},
        )
    return Response(projections.canonical(export), media_type="application/json")


@router.get(
    "/v1/reports/kpis",
    tags=["investigations"],
    summary="Monthly KPIs (docs/domain.md §4), reproducible",
    responses=REPORT,
)
async def kpis(request: Request, month: Month, _caller: ReportReader, as_of: AsOf = None) -> Response:
    state = request.app.state
    report = await projections.kpi_report(
        state.store, month, now=state.clock.now(), as_of=as_of, close_days=state.settings.kpi_close_days
    )
    return Response(projections.canonical(report), media_type="application/json")


OFSTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The return as CSV (section, measure, value): the same as_of, the same bytes.",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    },
    **PROBLEMS,
}


# A statutory return's year: 1 April to 31 March, named by the April it starts in.
CollectionYear = Annotated[int, Query(ge=1990, le=2198, description="The collection year: the April it starts in")]


@router.get(
    "/v1/reports/ofsted-fostering",
    tags=["investigations"],
    summary="Ofsted's annual fostering data collection for a collection year (1 April to 31 March), as CSV",
    responses=OFSTED,
    response_class=Response,
)
async def ofsted_fostering(
    request: Request,
    _caller: ReportReader,
    year: CollectionYear,
    as_of: AsOf = None,
) -> Response:
    at = as_of or request.app.state.clock.now()
    body = await projections.ofsted_fostering(request.app.state.store, year, at)
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="ofsted-fostering-{year}.csv"'},
    )


SSDA903: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The return's six CSV files in a zip, or one of them as CSV with `table`: the same as_of, "
        "the same bytes.",
        "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    },
    **PROBLEMS,
}


class Ssda903Table(StrEnum):
    HEADER = "header"
    EPISODES = "episodes"
    REVIEWS = "reviews"
    MISSING = "missing"
    OC2 = "oc2"
    OC3 = "oc3"


@router.get(
    "/v1/reports/ssda903",
    tags=["investigations"],
    summary="The DfE's SSDA903 return (children looked after) for a collection year (1 April to 31 March)",
    responses=SSDA903,
    response_class=Response,
)
async def ssda903(
    request: Request,
    _caller: ReportReader,
    year: CollectionYear,
    as_of: AsOf = None,
    table: Annotated[Ssda903Table | None, Query(description="One table as CSV (default: all six in a zip)")] = None,
) -> Response:
    at = as_of or request.app.state.clock.now()
    tables = await projections.ssda903(request.app.state.store, year, at)
    # The return names children: each is a read of their record, logged before it is sent.
    await children_read(request, sorted({row["CHILD"] for row in tables["header"]}))
    if table is not None:
        return Response(
            rules.table_csv(table.value, tables[table.value]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="ssda903-{year}-{table.value}.csv"'},
        )
    return Response(
        rules.ssda903_zip(tables, year, at),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="ssda903-{year}.zip"'},
    )


@router.get(
    "/inspect/children/{child_id}",
    tags=["inspector"],
    summary="The child's chronology as a timeline (HTML)",
    response_class=HTMLResponse,
    responses=PROBLEMS,
)
async def inspect_child(request: Request, child_id: uuid.UUID, caller: ChildReader, as_of: AsOf = None) -> HTMLResponse:
    return _page(rendering.child_page(await _export(request, child_id, as_of), _viewer(caller)))


@router.get(
    "/inspect/kpis", tags=["inspector"], summary="Monthly figures as SVG charts (HTML)", response_class=HTMLResponse
)
async def inspect_kpis(
    request: Request,
    caller: ReportReader,
    to: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="Last month shown")] = None,
    months: Annotated[int, Query(ge=1, le=36)] = 12,
) -> HTMLResponse:
    state = request.app.state
    now = state.clock.now()
    last = to or rules.month_of(now)
    wanted = [rules.shift_month(last, -k) for k in range(months - 1, -1, -1)]
    reports = await projections.kpi_series(state.store, wanted, now=now, close_days=state.settings.kpi_close_days)
    return _page(rendering.kpi_page(reports, _viewer(caller)))


def _viewer(caller: Principal) -> str:
    return f"{caller.subject} ({caller.role.value.replace('_', ' ')})"


# A page of a child's record, read in a browser that may be shared: kept in no cache (after sign-out
# the Back button finds nothing), framed by no other site, and running nothing but its own styles.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers=PAGE_HEADERS)


SERVICE = ServiceSpec(name="investigations", router=router, workers=[workers.span_follower])
