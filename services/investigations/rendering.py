"""Rendering exports and reports: the subject-access PDF (reportlab) and the inspector's
server-rendered HTML pages with inline SVG charts (no JavaScript)."""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from services.investigations import rules

# ---- the PDF -------------------------------------------------------------------------------------
FONT, FONT_BOLD = "Vera", "VeraBd"
_fonts_registered = False


def _register_fonts() -> None:
    """Bitstream Vera (shipped with reportlab): names with accents and other scripts render."""
    global _fonts_registered
    if _fonts_registered:
        return
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    pdfmetrics.registerFont(TTFont(FONT, "Vera.ttf"))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, "VeraBd.ttf"))
    pdfmetrics.registerFont(TTFont("VeraIt", "VeraIt.ttf"))
    pdfmetrics.registerFont(TTFont("VeraBI", "VeraBI.ttf"))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)
    addMapping(FONT, 0, 1, "VeraIt")
    addMapping(FONT, 1, 1, "VeraBI")
    _fonts_registered = True


def _t(value: Any) -> str:
    return escape(str(value) if value is not None else "")


def _when(text: str) -> str:
    return text.replace("T", " ").replace("Z", "")[:16]


def _data_lines(data: dict[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        if value in (None, "", [], {}):
            continue
        if isinstance(value, list | dict):
            value = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        lines.append(f"<b>{_t(key.replace('_', ' '))}</b>: {_t(value)}")
    return lines


def export_pdf(export: dict[str, Any]) -> bytes:
    """A readable PDF of the export: headed pages (child's name, page x of y), contents by year,
    amendments beside the entries they correct, third-party information marked for review."""
    _register_fonts()
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas as pdfcanvas
    from reportlab.platypus import (
        BaseDocTemplate,
        Frame,
        KeepTogether,
        PageBreak,
        PageTemplate,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )
    from reportlab.platypus.tableofcontents import TableOfContents

    child = export["child"]
    name = str(child.get("name") or export["child"]["child_id"])
    born = child.get("date_of_birth")
    heading = f"Subject access record: {name}" + (f" (born {born})" if born else "")

    class NumberedCanvas(pdfcanvas.Canvas):
        """Draws 'page x of y' once the number of pages is known."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont(FONT, 8)
                self.setFillColor(colors.grey)
                self.drawRightString(A4[0] - 18 * mm, 10 * mm, f"Page {self._pageNumber} of {total}")
                self.drawString(18 * mm, 10 * mm, "carelog: confidential; third-party information marked for review")
                super().showPage()
            super().save()

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT_BOLD, 9)
        canvas.setFillColor(colors.HexColor("#1d3557"))
        canvas.drawString(18 * mm, A4[1] - 12 * mm, heading)
        canvas.setFont(FONT, 8)
        canvas.drawRightString(A4[0] - 18 * mm, A4[1] - 12 * mm, f"child {export['child']['child_id']}")
        canvas.setStrokeColor(colors.HexColor("#1d3557"))
        canvas.line(18 * mm, A4[1] - 14 * mm, A4[0] - 18 * mm, A4[1] - 14 * mm)
        canvas.restoreState()

    class Doc(BaseDocTemplate):
        def afterFlowable(self, flowable: Any) -> None:  # noqa: N802 (reportlab's name)
            if isinstance(flowable, Paragraph) and flowable.style.name == "Year":
                text_ = flowable.getPlainText()
                key = f"year-{text_}"
                self.canv.bookmarkPage(key)
                self.canv.addOutlineEntry(text_, key, level=0)
                self.notify("TOCEntry", (0, text_, self.page, key))

    buffer = io.BytesIO()
    doc = Doc(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=20 * mm,
        bottomMargin=18 * mm,
        title=heading,
        author="carelog",
    )
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])

    base = ParagraphStyle("Body", fontName=FONT, fontSize=9, leading=12)
    small = ParagraphStyle("Small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#333333"))
    title = ParagraphStyle("Title", parent=base, fontName=FONT_BOLD, fontSize=18, leading=22, spaceAfter=8)
    year_style = ParagraphStyle(
        "Year", parent=base, fontName=FONT_BOLD, fontSize=15, leading=20, spaceBefore=6, spaceAfter=6
    )
    entry_head = ParagraphStyle("EntryHead", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=12)
    amend = ParagraphStyle(
        "Amend", parent=small, backColor=colors.HexColor("#e8f1fb"), borderPadding=3, leftIndent=10, spaceBefore=2
    )
    review = ParagraphStyle(
        "Review", parent=small, backColor=colors.HexColor("#fff3cd"), borderPadding=3, leftIndent=10, spaceBefore=2
    )

    story: list[Any] = [Paragraph(_t(heading), title)]
    counts = export["counts"]
    facts = [
        ["Child", name],
        ["Date of birth", str(born or "")],
        ["Legal status", str(child.get("legal_status") or "")],
        ["Placing authority", str(child.get("placing_authority") or "")],
        ["Entries", str(counts["entries"])],
        ["Amendments", f"{counts['amendments']} (to {counts['amended_entries']} entries)"],
        ["For redaction review", str(counts["for_redaction_review"])],
        ["Recorded late", str(counts["late_entries"])],
        ["Record as of", export.get("as_of") or f"log position {export['log_head']}"],
    ]
    table = Table([[Paragraph(_t(a), small), Paragraph(_t(b), base)] for a, b in facts], colWidths=[45 * mm, None])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    story += [table, Spacer(1, 6), Paragraph(_t(export["redaction_note"]), review), Spacer(1, 10)]
    toc = TableOfContents()
    toc.levelStyles = [ParagraphStyle("TOC0", parent=base, fontSize=11, leading=16, leftIndent=10)]
    story += [Paragraph("Contents by year", year_style.clone("ContentsTitle")), toc, PageBreak()]

    current_year = None
    for entry in export["entries"]:
        if entry["year"] != current_year:
            if current_year is not None:
                story.append(PageBreak())
            current_year = entry["year"]
            story.append(Paragraph(str(current_year), year_style))
        head = f"{_when(entry['occurred_at'])} · {_t(entry['summary'])}"
        meta = (
            f"{_t(entry['type'])} · recorded {_when(entry['recorded_at'])}"
            f"{' (late entry)' if entry['late'] else ''} by {_t(entry['recorded_by'].get('actor_id'))}"
            f" · #{entry['position']}"
        )
        parts: list[Any] = [Paragraph(head, entry_head), Paragraph(meta, small)]
        if entry.get("amends_event_id"):
            parts.append(Paragraph(f"Amendment of entry {_t(entry['amends_event_id'])}", small))
        lines = _data_lines(entry["data"])
        if lines:
            parts.append(Paragraph("<br/>".join(lines), small))
        for a in entry["amendments"]:
            parts.append(
                Paragraph(
                    f"<b>Amended</b> {_when(a['recorded_at'])} by {_t(a['by'])}: {_t(a['correction'])} "
                    f"<i>(reason: {_t(a['reason'])})</i>",
                    amend,
                )
            )
        if entry["redaction_review"]:
            parts.append(
                Paragraph("<b>Review before disclosure:</b> " + _t("; ".join(entry["redaction_review"])), review)
            )
        parts.append(Spacer(1, 6))
        story.append(KeepTogether(parts) if len(lines) < 30 else parts[0])
        if len(lines) >= 30:
            story.extend(parts[1:])
    doc.multiBuild(story, canvasmaker=NumberedCanvas)
    return buffer.getvalue()


# ---- HTML pages --------------------------------------------------------------------------------
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
"""

MARKS = {
    "visits.IncidentRecorded": ("incident", "Incident"),
    "notifications.EscalationRaised": ("escalation", "Escalation"),
    "visits.EntryAmended": ("amendment", "Amendment"),
    "DeadlineSet": ("deadline", "Clock"),
    "DeadlineMet": ("deadline", "Clock met"),
    "DeadlineCancelled": ("deadline", "Clock stopped"),
}


def _mark(event_type: str) -> tuple[str, str]:
    if event_type in MARKS:
        return MARKS[event_type]
    if event_type.startswith("notifications."):
        return "notification", "Notification"
    return "entry", event_type.split(".")[0]


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def child_page(export: dict[str, Any]) -> str:
    e = html.escape
    child = export["child"]
    name = str(child.get("name") or child["child_id"])
    counts = export["counts"]
    marked = {
        k: sum(1 for x in export["entries"] if _mark(x["type"])[0] == k)
        for k in ("incident", "notification", "escalation")
    }
    parts = [
        f"<h1>{e(name)}</h1>",
        f'<p class="meta">Born {e(str(child.get("date_of_birth", "")))} · {e(str(child.get("legal_status", "")))} · '
        f"{e(str(child.get('placing_authority', '')))} · {counts['entries']} entries · "
        f"{marked['incident']} incidents · {marked['notification']} notifications · "
        f"{marked['escalation']} escalations · {counts['amendments']} amendments</p>",
        '<p class="legend"><span style="color:#d62828">● incident</span><span style="color:#f4a261">● notification'
        '</span><span style="color:#6a040f">● escalation</span><span style="color:#457b9d">● amendment</span>'
        '<span style="color:#8a9ab0">● other entry</span></p>',
    ]
    year = None
    for x in export["entries"]:
        if x["year"] != year:
            if year is not None:
                parts.append("</ol>")
            year = x["year"]
            parts.append(f'<h2 id="y{year}">{year}</h2><ol class="timeline">')
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
        parts.append(
            f'<li class="{cls}" id="e{x["position"]}"><span class="when">{e(_when(x["occurred_at"]))}</span>'
            f"{badges}<div>{e(str(x['summary']))}</div>{amended}</li>"
        )
    if year is not None:
        parts.append("</ol>")
    return _page(f"{name}: chronology", "".join(parts))


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
                f'fill="{fill}"><title>{html.escape(label)}: {v}</title></rect>'
            )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{height - 8}" font-size="8" text-anchor="middle">'
            f"{html.escape(label[2:])}</text>"
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
            f"{html.escape(labels[i][2:])}</text>"
        )
    out.append(f'<text x="2" y="{pad}" font-size="8">{top:g}</text></svg>')
    return "".join(out)


def kpi_page(reports: Sequence[dict[str, Any]]) -> str:
    e = html.escape
    months = [r["month"] for r in reports]
    parts = [
        "<h1>Monthly KPIs</h1>",
        f'<p class="meta">{e(months[0])} to {e(months[-1])}. Each month as of its close (provisional months are '
        "marked); computed only from the log, so the same month gives the same figures when re-run.</p>",
    ]
    failures = sorted({f for r in reports[-1:] for f in r["performance"]["failures"]})
    if failures:
        parts.append(
            '<p class="fail"><b>Performance failure</b> (outside tolerance for 3 consecutive months): '
            + ", ".join(e(rules.KPI_BY_KEY[f].label) for f in failures)
            + "</p>"
        )
    parts.append("<div>")
    for kpi in rules.KPIS:
        values = [r["kpis"][kpi.key]["value"] for r in reports]
        if kpi.unit == "percent":
            chart = _bar_chart(values, months, kpi.target, 100.0)
        else:
            chart = _line_chart([float(v) if v is not None else None for v in values], months)
        parts.append(f'<div class="chart" id="{kpi.key}"><h3>{e(kpi.label)}</h3>{chart}</div>')
    parts.append("</div><h2>Figures</h2><table><tr><th>KPI</th>")
    parts += [f"<th>{e(m)}{'*' if r['provisional'] else ''}</th>" for m, r in zip(months, reports, strict=True)]
    parts.append("<th>target</th></tr>")
    for kpi in rules.KPIS:
        parts.append(f"<tr><td>{e(kpi.label)}</td>")
        for r in reports:
            fig = r["kpis"][kpi.key]
            cls = {True: "ok", False: "fail"}.get(fig["within_tolerance"], "")
            shown = "–" if fig["value"] is None else f"{fig['value']:g}"
            parts.append(f'<td class="{cls}">{shown}</td>')
        parts.append(f"<td>{'' if kpi.target is None else f'{kpi.target:g}'}</td></tr>")
    parts.append("</table><p class='meta'>* provisional: the month has not closed yet.</p>")
    return _page("carelog: monthly KPIs", "".join(parts))
