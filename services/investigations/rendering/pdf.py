"""The subject-access PDF: headed pages (the child's name, page x of y), contents by year,
amendments beside the entries they correct, third-party information marked for review."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
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

from services.investigations.rules import ChildExport, ExportEntry

FONT, FONT_BOLD = "Vera", "VeraBd"
NAVY = "#1d3557"
# An entry with more lines than this is let run across pages instead of kept on one.
KEEP_TOGETHER_LINES = 30


@cache
def _register_fonts() -> None:
    """Bitstream Vera (shipped with reportlab): names with accents and other scripts render."""
    for name in (FONT, FONT_BOLD, "VeraIt", "VeraBI"):
        pdfmetrics.registerFont(TTFont(name, f"{name}.ttf"))
    addMapping(FONT, 0, 0, FONT)
    addMapping(FONT, 1, 0, FONT_BOLD)
    addMapping(FONT, 0, 1, "VeraIt")
    addMapping(FONT, 1, 1, "VeraBI")


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


class _NumberedCanvas(pdfcanvas.Canvas):  # type: ignore[misc]
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


def _following(progress: Callable[[int, int], None]) -> Callable[[str, int], None]:
    """reportlab's progress callback (`SIZE_EST` then `PROGRESS` for each pass) as `progress`."""
    total = 0

    def follow(kind: str, value: int) -> None:
        nonlocal total
        if kind == "SIZE_EST":
            total = value
        elif kind == "PROGRESS" and total:
            progress(value, total)

    return follow


class _Document(BaseDocTemplate):  # type: ignore[misc]
    """Each year's heading is a bookmark, an outline entry and a line of the contents."""

    def afterFlowable(self, flowable: Any) -> None:  # noqa: N802 (reportlab's name)
        if isinstance(flowable, Paragraph) and flowable.style.name == "Year":
            text_ = flowable.getPlainText()
            key = f"year-{text_}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text_, key, level=0)
            self.notify("TOCEntry", (0, text_, self.page, key))


@dataclass(frozen=True)
class _Styles:
    base: ParagraphStyle
    small: ParagraphStyle
    title: ParagraphStyle
    year: ParagraphStyle
    entry_head: ParagraphStyle
    amend: ParagraphStyle
    review: ParagraphStyle


def _styles() -> _Styles:
    base = ParagraphStyle("Body", fontName=FONT, fontSize=9, leading=12)
    small = ParagraphStyle("Small", parent=base, fontSize=8, leading=10, textColor=colors.HexColor("#333333"))
    return _Styles(
        base=base,
        small=small,
        title=ParagraphStyle("Title", parent=base, fontName=FONT_BOLD, fontSize=18, leading=22, spaceAfter=8),
        year=ParagraphStyle(
            "Year", parent=base, fontName=FONT_BOLD, fontSize=15, leading=20, spaceBefore=6, spaceAfter=6
        ),
        entry_head=ParagraphStyle("EntryHead", parent=base, fontName=FONT_BOLD, fontSize=9.5, leading=12),
        amend=ParagraphStyle(
            "Amend", parent=small, backColor=colors.HexColor("#e8f1fb"), borderPadding=3, leftIndent=10, spaceBefore=2
        ),
        review=ParagraphStyle(
            "Review", parent=small, backColor=colors.HexColor("#fff3cd"), borderPadding=3, leftIndent=10, spaceBefore=2
        ),
    )


def _heading(export: ChildExport) -> str:
    child = export["child"]
    born = child.get("date_of_birth")
    return f"Subject access record: {_name(export)}" + (f" (born {born})" if born else "")


def _name(export: ChildExport) -> str:
    return str(export["child"].get("name") or export["child"]["child_id"])


def _front(export: ChildExport, s: _Styles) -> list[Any]:
    """The title, what the record holds, the redaction note and the contents by year."""
    child, counts = export["child"], export["counts"]
    facts = [
        ["Child", _name(export)],
        ["Date of birth", str(child.get("date_of_birth") or "")],
        ["Legal status", str(child.get("legal_status") or "")],
        ["Placing authority", str(child.get("placing_authority") or "")],
        ["Entries", str(counts["entries"])],
        ["Amendments", f"{counts['amendments']} (to {counts['amended_entries']} entries)"],
        ["For redaction review", str(counts["for_redaction_review"])],
        ["Recorded late", str(counts["late_entries"])],
        ["Record as of", export["as_of"] or f"log position {export['log_head']}"],
    ]
    table = Table([[Paragraph(_t(a), s.small), Paragraph(_t(b), s.base)] for a, b in facts], colWidths=[45 * mm, None])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("BOTTOMPADDING", (0, 0), (-1, -1), 2)]))
    toc = TableOfContents()
    toc.levelStyles = [ParagraphStyle("TOC0", parent=s.base, fontSize=11, leading=16, leftIndent=10)]
    return [
        Paragraph(_t(_heading(export)), s.title),
        table,
        Spacer(1, 6),
        Paragraph(_t(export["redaction_note"]), s.review),
        Spacer(1, 10),
        Paragraph("Contents by year", s.year.clone("ContentsTitle")),
        toc,
        PageBreak(),
    ]


def _entry(entry: ExportEntry, s: _Styles) -> list[Any]:
    """An entry, its amendments and why it needs review; kept on one page unless it is long."""
    head = f"{_when(entry['occurred_at'])} · {_t(entry['summary'])}"
    meta = (
        f"{_t(entry['type'])} · recorded {_when(entry['recorded_at'])}"
        f"{' (late entry)' if entry['late'] else ''} by {_t(entry['recorded_by'].get('actor_id'))}"
        f" · #{entry['position']}"
    )
    parts: list[Any] = [Paragraph(head, s.entry_head), Paragraph(meta, s.small)]
    if entry.get("amends_event_id"):
        parts.append(Paragraph(f"Amendment of entry {_t(entry.get('amends_event_id'))}", s.small))
    lines = _data_lines(entry["data"])
    if lines:
        parts.append(Paragraph("<br/>".join(lines), s.small))
    for a in entry["amendments"]:
        parts.append(
            Paragraph(
                f"<b>Amended</b> {_when(a['recorded_at'])} by {_t(a['by'])}: {_t(a['correction'])} "
                f"<i>(reason: {_t(a['reason'])})</i>",
                s.amend,
            )
        )
    if entry["redaction_review"]:
        parts.append(
            Paragraph("<b>Review before disclosure:</b> " + _t("; ".join(entry["redaction_review"])), s.review)
        )
    parts.append(Spacer(1, 6))
    return [KeepTogether(parts)] if len(lines) < KEEP_TOGETHER_LINES else parts


def _entries(export: ChildExport, s: _Styles) -> list[Any]:
    """The entries, a year to a section, each year on a new page."""
    story: list[Any] = []
    year = None
    for entry in export["entries"]:
        if entry["year"] != year:
            if year is not None:
                story.append(PageBreak())
            year = entry["year"]
            story.append(Paragraph(str(year), s.year))
        story += _entry(entry, s)
    return story


def export_pdf(export: ChildExport, progress: Callable[[int, int], None] | None = None) -> bytes:
    """The export as a PDF; `progress(done, total)` follows reportlab's passes over its flowables."""
    _register_fonts()
    heading = _heading(export)

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT_BOLD, 9)
        canvas.setFillColor(colors.HexColor(NAVY))
        canvas.drawString(18 * mm, A4[1] - 12 * mm, heading)
        canvas.setFont(FONT, 8)
        canvas.drawRightString(A4[0] - 18 * mm, A4[1] - 12 * mm, f"child {export['child']['child_id']}")
        canvas.setStrokeColor(colors.HexColor(NAVY))
        canvas.line(18 * mm, A4[1] - 14 * mm, A4[0] - 18 * mm, A4[1] - 14 * mm)
        canvas.restoreState()

    buffer = io.BytesIO()
    margins = {"leftMargin": 18 * mm, "rightMargin": 18 * mm, "topMargin": 20 * mm, "bottomMargin": 18 * mm}
    doc = _Document(buffer, pagesize=A4, title=heading, author="carelog", **margins)
    frame = Frame(doc.leftMargin, doc.bottomMargin, doc.width, doc.height, id="body")
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=on_page)])
    styles = _styles()
    if progress is not None:
        doc.setProgressCallBack(_following(progress))
    doc.multiBuild(_front(export, styles) + _entries(export, styles), canvasmaker=_NumberedCanvas)
    return buffer.getvalue()
