"""Documents as PDF (firm quotes, receipts) with fpdf2, the Chinese font embedded as a subset
so a quote reads the same on any machine. The callers pass text already in the reader's
language; this module only lays it out.

The font is Noto Sans CJK (Debian's fonts-noto-cjk, which CI installs) or PDF_FONT."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from market.core.errors import Unavailable

# Noto Sans CJK's collection: 2 is Simplified Chinese (SC), which also covers Latin text
FONT_CANDIDATES = (("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
                   ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0))


def font_file() -> tuple[str, int]:
    configured = os.environ.get("PDF_FONT")
    if configured:
        return configured, int(os.environ.get("PDF_FONT_INDEX", "0"))
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise Unavailable("PDF documents need the Noto Sans CJK font (apt-get install "
                      "fonts-noto-cjk, or set PDF_FONT).")


@dataclass
class Document:
    """A one-column business document: a title, facts (label: value), one table, notes."""

    title: str
    subtitle: str = ""
    facts: list[tuple[str, str]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    totals: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    footer: str = ""


# CLDR's English times put a narrow no-break space before AM/PM; the CJK font has no glyph
_NO_GLYPH = str.maketrans({"\u202f": " "})


def _plain(doc: Document) -> Document:
    def fix(text: str) -> str:
        return text.translate(_NO_GLYPH)
    return Document(
        title=fix(doc.title), subtitle=fix(doc.subtitle),
        facts=[(fix(a), fix(b)) for a, b in doc.facts], headers=[fix(h) for h in doc.headers],
        rows=[[fix(c) for c in row] for row in doc.rows],
        totals=[(fix(a), fix(b)) for a, b in doc.totals], notes=[fix(n) for n in doc.notes],
        footer=fix(doc.footer))


def render(doc: Document) -> bytes:
    path, index = font_file()
    doc = _plain(doc)
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font("body", "", path, collection_font_number=index)
    # table headings are set in the same face (one font file: no bold to embed)
    pdf.add_font("body", "B", path, collection_font_number=index)
    pdf.set_title(doc.title)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    pdf.set_font("body", size=18)
    pdf.multi_cell(width, 10, doc.title, new_x="LMARGIN", new_y="NEXT")
    if doc.subtitle:
        pdf.set_font("body", size=10)
        pdf.set_text_color(80, 88, 102)
        pdf.multi_cell(width, 6, doc.subtitle, new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.ln(4)
    pdf.set_font("body", size=10)
    for label, value in doc.facts:
        pdf.set_text_color(80, 88, 102)
        pdf.cell(width * 0.32, 6, label)
        pdf.set_text_color(0, 0, 0)
        pdf.multi_cell(width * 0.68, 6, value, new_x="LMARGIN", new_y="NEXT")
    if doc.headers:
        pdf.ln(4)
        widths = [width * 0.62] + [width * 0.38 / (len(doc.headers) - 1)] * (
            len(doc.headers) - 1) if len(doc.headers) > 1 else [width]
        with pdf.table(col_widths=widths, text_align=["LEFT"] + ["RIGHT"] * (
                len(doc.headers) - 1), line_height=6, first_row_as_headings=True) as table:
            for row in [doc.headers, *doc.rows]:
                cells = table.row()
                for value in row:
                    cells.cell(value)
    if doc.totals:
        pdf.ln(2)
        for i, (label, value) in enumerate(doc.totals):
            pdf.set_font("body", size=12 if i == len(doc.totals) - 1 else 10)
            pdf.cell(width * 0.62, 7, label, align="R")
            pdf.cell(width * 0.38, 7, value, align="R", new_x="LMARGIN", new_y="NEXT")
    if doc.notes:
        pdf.ln(6)
        pdf.set_font("body", size=9)
        for note in doc.notes:
            pdf.multi_cell(width, 5, "• " + note, new_x="LMARGIN", new_y="NEXT")
    if doc.footer:
        pdf.ln(6)
        pdf.set_font("body", size=8)
        pdf.set_text_color(80, 88, 102)
        pdf.multi_cell(width, 4, doc.footer, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
