"""HTML to PDF with WeasyPrint (HTML and CSS laid out by Pango; no browser): the invoice PDFs
are the invoice's HTML page printed. The output is deterministic: the same HTML gives the same
bytes (no creation date, a content-derived document id), so a PDF's SHA-256 identifies it."""

from __future__ import annotations

import logging


def html_to_pdf(html: str) -> bytes:
    """The PDF of an HTML page (its ``@media print`` rules apply)."""
    import weasyprint  # imported here: loading Pango takes a moment, and only finalization needs it

    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    return weasyprint.HTML(string=html).write_pdf()
