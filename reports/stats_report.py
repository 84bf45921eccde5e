"""The statistics report: the area table and, on a page of their own, the charts (PNG images the GUI renders
for paper) on A4 landscape."""

from __future__ import annotations

import datetime as dt
import os
import struct
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

from fpdf.enums import XPos, YPos

from reports.pdf_kit import FAMILY, Document

# The chart page of A4 landscape (267 x 183 mm inside the margins and footer, less its heading): the areas
# compared, tall, on the left; 征缴进度 and 档次分布 stacked on the right. Width and height in mm; the GUI
# renders each chart in these proportions.
CHART_GAP = 5.0
CHART_BOXES = ((131.0, 160.0), (131.0, 77.5), (131.0, 77.5))


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
        doc.set_font(FAMILY, size=9)  # as readable as the figures: a long heading wraps onto two lines
        doc.set_fill_color(230, 236, 245)
        doc.row(list(headers), widths, 7, fill=True)

    header()
    for values in rows:
        if doc.get_y() + 7 > doc.h - doc.b_margin - 12:
            doc.add_page()
            header()
        doc.row([_cell(v) for v in values], widths, 6.5, ["L", *["R"] * (len(headers) - 1)])
    doc.set_font(FAMILY, size=10)
    doc.ln(3)
    doc.cell(doc.content_width, 6, f"制表人：{maker or '　' * 6}　　　　制表日期：{made_on or dt.date.today():%Y年%m月%d日}",
             align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    if images:
        doc.add_page()
        doc.set_font(FAMILY, size=12)
        doc.cell(doc.content_width, 8, f"{title}——统计图表", align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        top = doc.get_y() + 2
        for image, (x, y, w, h) in zip(images, _chart_slots(doc.l_margin, top), strict=False):
            # Each image in its box, in its own proportions (the GUI renders them in the box's).
            pw, ph = _png_size(image)
            scale = min(w / pw, h / ph)
            doc.image(str(image), x=x + (w - pw * scale) / 2, y=y, w=pw * scale, h=ph * scale)
    doc.save(path)


def _chart_slots(left: float, top: float) -> list[tuple[float, float, float, float]]:
    """x, y, width and height (mm) of the chart boxes: the first on the left, the others stacked on the right."""
    (w0, h0), *rest = CHART_BOXES
    slots, y = [(left, top, w0, h0)], top
    for w, h in rest:
        slots.append((left + w0 + CHART_GAP, y, w, h))
        y += h + CHART_GAP
    return slots


def _png_size(path: Path) -> tuple[int, int]:
    """Pixel width and height from a PNG's header (the charts the GUI renders are PNG)."""
    with open(path, "rb") as fh:
        head = fh.read(24)
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"not a PNG image: {path}")
    return struct.unpack(">II", head[16:24])
