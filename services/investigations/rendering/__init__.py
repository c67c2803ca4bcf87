"""Rendering exports and reports: the subject-access PDF (reportlab) and the inspector's
server-rendered HTML pages with inline SVG charts (no JavaScript)."""

from collections.abc import Callable

from services.investigations.rendering.html import child_page, kpi_page
from services.investigations.rules import ChildExport


def export_pdf(export: ChildExport, progress: Callable[[int, int], None] | None = None) -> bytes:
    """The export as a PDF (reportlab is imported only when one is asked for)."""
    from services.investigations.rendering.pdf import export_pdf as render

    return render(export, progress)


__all__ = ["child_page", "export_pdf", "kpi_page"]
