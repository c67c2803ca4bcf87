"""The inspector's pages: server-rendered HTML with inline SVG charts (no JavaScript)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from services.investigations import rules
from services.investigations.rules import ChildExport, ExportEntry, KpiReport
from shared.contracts.deadlines import DeadlineCancelled, DeadlineMet, DeadlineSet
from shared.contracts.notifications import EscalationRaised
from shared.contracts.visits import EntryAmended, IncidentRecorded

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1d1d1f;max-width:1100px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#555;font-size:13px}.legend span{margin-right:12px;font-size:12px}
ol.timeline{list-style:none;padding:0;border-left:3px solid #ccd;margin-left:8px}
ol.timeline li{position:relative;margin:0 0 10px 0;padding:4px 10px 4px 18px}
ol.timeline li::before{content:"";position:absolute;left:-8px;top:9px;width:12px;height:12px;border-radius:50%;
background:#8a9ab0}
ol.timeline li.incident::before{background:#d62828}ol.timeline li.notification::before{background:#f4a261}
ol.timeline li.escalation::before{background:#6a040f}ol.timeline li.amendment::before{background:#457b9d}
ol.timeline li.deadline::before{background:#c9ced6}
li.incident{background:#fdecea}li.escalation{background:#f8d7da}li.notification{background:#fff4e5}
.when{font-variant-numeric:tabular-nums;color:#444;font-size:12px}.badge{display:inline-block;font-size:11px;
padding:1px 6px;border-radius:8px;background:#eef;margin-left:6px}.badge.late{background:#ffe8a3}
.badge.review{background:#fff3cd}.amended{font-size:12px;background:#e8f1fb;padding:3px 6px;margin-top:3px}
table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #dde;padding:3px 6px;text-align:right}
th:first-child,td:first-child{text-align:left}.fail{background:#f8d7da}.ok{background:#e6f4ea}
.chart{display:inline-block;margin:0 18px 18px 0;vertical-align:top}.chart h3{font-size:13px;margin:0 0 4px}
.viewer{float:right;font-size:12px;color:#555;margin:0}
"""

MARKS = {
    IncidentRecorded.event_type: ("incident", "Incident"),
    EscalationRaised.event_type: ("escalation", "Escalation"),
    EntryAmended.event_type: ("amendment", "Amendment"),
    DeadlineSet.event_type: ("deadline", "Clock"),
    DeadlineMet.event_type: ("deadline", "Clock met"),
    DeadlineCancelled.event_type: ("deadline", "Clock stopped"),
}
LEGEND = (
    '<p class="legend"><span style="color:#d62828">● incident</span><span style="color:#f4a261">● notification'
    '</span><span style="color:#6a040f">● escalation</span><span style="color:#457b9d">● amendment</span>'
    '<span style="color:#8a9ab0">● other entry</span></p>'
)
# A figure's cell: in tolerance, out of it, or nothing to measure.
TOLERANCE_CLASSES: dict[bool | None, str] = {True: "ok", False: "fail", None: ""}
e = html.escape


def _mark(event_type: str) -> tuple[str, str]:
    if event_type in MARKS:
        return MARKS[event_type]
    if event_type.startswith("notifications."):
        return "notification", "Notification"
    return "entry", event_type.split(".")[0]


def _when(text: str) -> str:
    return text.replace("T", " ").replace("Z", "")[:16]


def _page(title: str, body: str, viewer: str | None) -> str:
    # Who is reading, on every page they read: a shared screen shows whose session it is.
    signed_in = f'<p class="viewer">Signed in as {e(viewer)} · <a href="/signout">Sign out</a></p>' if viewer else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>'
        f"<style>{STYLE}</style></head><body>{signed_in}{body}</body></html>"
    )


# ---- a child's chronology ----------------------------------------------------------------------
def _entry(x: ExportEntry) -> str:
    cls, label = _mark(x["type"])
    badges = f'<span class="badge">{e(label)}</span>'
    if x["late"]:
        badges += '<span class="badge late">late entry</span>'
    if x["redaction_review"]:
        badges += f'<span class="badge review" title="{e("; ".join(x["redaction_review"]))}">third party</span>'
    amended = "".join(
        f'<div class="amended">Amended {e(_when(a["recorded_at"]))} by {e(str(a["by"]))}: '
        f"{e(str(a['correction']))} (reason: {e(str(a['reason']))})</div>"
        for a in x["amendments"]
    )
    return (
        f'<li class="{cls}" id="e{x["position"]}"><span class="when">{e(_when(x["occurred_at"]))}</span>'
        f"{badges}<div>{e(str(x['summary']))}</div>{amended}</li>"
    )


def _timeline(entries: Sequence[ExportEntry]) -> list[str]:
    """The entries, a list a year."""
    parts: list[str] = []
    year = None
    for x in entries:
        if x["year"] != year:
            if year is not None:
                parts.append("</ol>")
            year = x["year"]
            parts.append(f'<h2 id="y{year}">{year}</h2><ol class="timeline">')
        parts.append(_entry(x))
    if year is not None:
        parts.append("</ol>")
    return parts


def child_page(export: ChildExport, viewer: str | None = None) -> str:
    child = export["child"]
    name = str(child.get("name") or child["child_id"])
    counts = export["counts"]
    marked = {
        k: sum(1 for x in export["entries"] if _mark(x["type"])[0] == k)
        for k in ("incident", "notification", "escalation")
    }
    born = child.get("date_of_birth") or "(destroyed)"  # null once the record was destroyed
    parts = [
        f"<h1>{e(name)}</h1>",
        f'<p class="meta">Born {e(str(born))} · {e(str(child.get("legal_status", "")))} · '
        f"{e(str(child.get('placing_authority', '')))} · {counts['entries']} entries · "
        f"{marked['incident']} incidents · {marked['notification']} notifications · "
        f"{marked['escalation']} escalations · {counts['amendments']} amendments</p>",
        LEGEND,
        *_timeline(export["entries"]),
    ]
    return _page(f"{name}: chronology", "".join(parts), viewer)


# ---- the monthly figures -----------------------------------------------------------------------
def _bar_chart(values: Sequence[float | None], labels: Sequence[str], target: float | None, maximum: float) -> str:
    width, height, pad = 360, 150, 24
    n = max(len(values), 1)
    slot = (width - pad) / n
    top = maximum or 1.0

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * (v / top)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    out.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width}" y2="{height - pad}" stroke="#999"/>')
    for i, (v, label) in enumerate(zip(values, labels, strict=True)):
        x = pad + i * slot + slot * 0.15
        if v is not None:
            fill = "#2a9d8f" if target is None or v >= target else "#e76f51"
            out.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{slot * 0.7:.1f}" height="{height - pad - y(v):.1f}" '
                f'fill="{fill}"><title>{e(label)}: {v}</title></rect>'
            )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 8}" font-size="8" text-anchor="middle">{e(label[2:])}</text>'
        )
    if target is not None:
        out.append(
            f'<line x1="{pad}" y1="{y(target):.1f}" x2="{width}" y2="{y(target):.1f}" stroke="#264653" '
            f'stroke-dasharray="4 3"/><text x="2" y="{y(target) + 3:.1f}" font-size="8">{target:g}</text>'
        )
    out.append("</svg>")
    return "".join(out)


def _line_chart(values: Sequence[float | None], labels: Sequence[str]) -> str:
    width, height, pad = 360, 150, 24
    top = max((v for v in values if v is not None), default=0) or 1
    n = max(len(values) - 1, 1)

    def point(i: int, v: float) -> str:
        return f"{pad + i * (width - 2 * pad) / n:.1f},{height - pad - (height - 2 * pad) * v / top:.1f}"

    pts = [point(i, v) for i, v in enumerate(values) if v is not None]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    out.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width}" y2="{height - pad}" stroke="#999"/>')
    out.append(f'<polyline fill="none" stroke="#e76f51" stroke-width="2" points="{" ".join(pts)}"/>')
    for i, v in enumerate(values):
        if v is not None:
            cx, cy = point(i, v).split(",")
            out.append(f'<circle cx="{cx}" cy="{cy}" r="3" fill="#e76f51"><title>{labels[i]}: {v:g}</title></circle>')
        out.append(
            f'<text x="{pad + i * (width - 2 * pad) / n:.1f}" y="{height - 8}" font-size="8" text-anchor="middle">'
            f"{e(labels[i][2:])}</text>"
        )
    out.append(f'<text x="2" y="{pad}" font-size="8">{top:g}</text></svg>')
    return "".join(out)


def _runs_outside(reports: Sequence[KpiReport]) -> dict[str, int]:
    """Per KPI, how many of the table's months, counting back from its last, were outside tolerance."""
    runs: dict[str, int] = {}
    for kpi in rules.KPIS:
        run = 0
        for r in reversed(reports):
            if r["kpis"][kpi.key]["within_tolerance"] is not False:
                break
            run += 1
        runs[kpi.key] = run
    return runs


def _failures(reports: Sequence[KpiReport]) -> list[str]:
    """The banner says only what the table below it shows: a KPI is named a performance failure when
    the table's own last months show it outside tolerance 3 (or more) in a row, with how many."""
    n = rules.CONSECUTIVE_MONTHS_FOR_FAILURE
    runs = _runs_outside(reports)
    failures = [(kpi, runs[kpi.key]) for kpi in rules.KPIS if runs[kpi.key] >= n]
    if not failures:
        return []
    return [
        f'<p class="fail"><b>Performance failure</b> (outside tolerance for {n} or more consecutive months to '
        f"{e(reports[-1]['month'])}, as the table shows): "
        + ", ".join(f"{e(kpi.label)} ({run} months)" for kpi, run in failures)
        + "</p>"
    ]


def _chart(kpi: rules.Kpi, reports: Sequence[KpiReport], months: list[str]) -> str:
    values = [r["kpis"][kpi.key]["value"] for r in reports]
    if kpi.unit == "percent":
        chart = _bar_chart(values, months, kpi.target, 100.0)
    else:
        chart = _line_chart([float(v) if v is not None else None for v in values], months)
    return f'<div class="chart" id="{kpi.key}"><h3>{e(kpi.label)}</h3>{chart}</div>'


def _figures(reports: Sequence[KpiReport], months: list[str]) -> list[str]:
    """The table: a KPI a row, a month a column (* provisional), the target last."""
    parts = ["<h2>Figures</h2><table><tr><th>KPI</th>"]
    parts += [f"<th>{e(m)}{'*' if r['provisional'] else ''}</th>" for m, r in zip(months, reports, strict=True)]
    parts.append("<th>target</th></tr>")
    for kpi in rules.KPIS:
        parts.append(f"<tr><td>{e(kpi.label)}</td>")
        for r in reports:
            fig = r["kpis"][kpi.key]
            cls = TOLERANCE_CLASSES[fig["within_tolerance"]]
            shown = "–" if fig["value"] is None else f"{fig['value']:g}"
            parts.append(f'<td class="{cls}">{shown}</td>')
        parts.append(f"<td>{'' if kpi.target is None else f'{kpi.target:g}'}</td></tr>")
    parts.append("</table><p class='meta'>* provisional: the month has not closed yet.</p>")
    return parts


def kpi_page(reports: Sequence[KpiReport], viewer: str | None = None) -> str:
    months = [r["month"] for r in reports]
    parts = [
        "<h1>Monthly KPIs</h1>",
        f'<p class="meta">{e(months[0])} to {e(months[-1])}. Each month as of its close (provisional months are '
        "marked); computed only from the log, so the same month gives the same figures when re-run.</p>",
        *_failures(reports),
        "<div>",
        *(_chart(kpi, reports, months) for kpi in rules.KPIS),
        "</div>",
        *_figures(reports, months),
    ]
    return _page("carelog: monthly KPIs", "".join(parts), viewer)
