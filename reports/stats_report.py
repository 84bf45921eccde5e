"""The statistics report: the area table and the charts (PNG images rendered by the GUI) on A4 landscape."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fpdf.enums import XPos, YPos

from reports.pdf_kit import FAMILY, Document


def write_pdf(path: str | os.PathLike, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
              images: Sequence[Path], summary: str) -> None:  # fmt: skip
    doc = Document(landscape=True, footer_note=title)
    doc.add_page()
    doc.title_block(title)
    doc.set_font(FAMILY, size=9)
    doc.multi_cell(doc.content_width, 5, summary, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.ln(2)
    first = 26.0
    rest = (doc.content_width - first) / (len(headers) - 1)
    widths = [first, *[rest] * (len(headers) - 1)]

    def header() -> None:
        doc.set_font(FAMILY, size=7)  # the longest heading must fit its column, never be cut
        doc.set_fill_color(230, 236, 245)
        doc.row(list(headers), widths, 7, fill=True)
        doc.set_font(FAMILY, size=8)

    header()
    for values in rows:
        if doc.get_y() + 7 > doc.h - doc.b_margin - 12:
            doc.add_page()
            header()
        doc.row([str(v) for v in values], widths, 6, ["L", *["R"] * (len(headers) - 1)])
    doc.set_font(FAMILY, size=10)
    doc.add_page()
    width = (doc.content_width - 6) / max(1, len(images))
    y = doc.get_y() + 4
    for n, image in enumerate(images):
        doc.image(str(image), x=doc.l_margin + n * (width + 6), y=y, w=width)
    doc.save(path)
