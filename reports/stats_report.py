"""The statistics report: the area table and the charts (PNG images rendered by the GUI) on A4 landscape."""

from __future__ import annotations

import datetime as dt
import os
import struct
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from fpdf.enums import XPos, YPos

from reports.pdf_kit import FAMILY, Document


def _cell(value: object) -> str:
    """Counts with thousands separators (12,345), as every other figure the office reads."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)


def write_pdf(path: str | os.PathLike, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
              images: Sequence[Path], summary: str, maker: str = "", made_on: dt.date | None = None) -> None:  # fmt: skip
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
        doc.row([_cell(v) for v in values], widths, 6, ["L", *["R"] * (len(headers) - 1)])
    doc.set_font(FAMILY, size=10)
    doc.ln(3)
    doc.cell(doc.content_width, 6, f"制表人：{maker or '　' * 6}　　　　制表日期：{made_on or dt.date.today():%Y年%m月%d日}",
             align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    doc.add_page()
    # The first chart (the areas compared) on the left, the others stacked on the right, each in its own
    # proportions; both columns shrink together when the taller would not fit the page.
    width = (doc.content_width - 6) / 2
    heights = [width * h / w for w, h in map(_png_size, images)]
    top = doc.get_y() + 4
    right = sum(heights[1:]) + 6 * max(0, len(heights) - 2)
    tallest = max([*heights[:1], right])
    scale = min(1.0, (doc.h - doc.b_margin - 12 - top) / tallest) if heights else 1.0
    y = top
    for n, image in enumerate(images):
        x = doc.l_margin if n == 0 else doc.l_margin + width + 6
        doc.image(str(image), x=x, y=top if n == 0 else y, w=width * scale, h=heights[n] * scale)
        if n:
            y += heights[n] * scale + 6
    doc.save(path)


def _png_size(path: Path) -> tuple[int, int]:
    """Pixel width and height from a PNG's header (the charts the GUI renders are PNG)."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"not a PNG image: {path}")
    return struct.unpack(">II", head[16:24])
