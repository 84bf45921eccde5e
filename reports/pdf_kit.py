"""The one PDF toolkit: A4 government-style forms and rosters with the bundled CJK font (fpdf2).

Tables are drawn with ``cell(..., border=1)`` (about five times faster than fpdf2's ``table()`` helper on
long rosters) and paginated here, so each page can carry its own subtotal row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT = Path(__file__).resolve().parent.parent / "resources" / "fonts" / "wqy-microhei.ttc"
FAMILY = "cjk"


class Document(FPDF):
    """A4 with the CJK font, page numbers '第 x 页 共 y 页' and an optional running footer note."""

    def __init__(self, *, landscape: bool = False, footer_note: str = "") -> None:
        super().__init__(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.add_font(FAMILY, "", str(FONT), collection_font_number=0)
        self.set_font(FAMILY, size=10)
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=False)
        self.alias_nb_pages("{total_pages}")  # long enough for a 10,000-page batch
        self.footer_note = footer_note
        self.set_creator("居民养老保险征缴业务系统")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        width = self.w - self.l_margin - self.r_margin
        if self.footer_note:
            self.cell(width / 2, 5, self.footer_note, align="L")
            self.cell(width / 2, 5, f"第 {self.page_no()} 页 共 {{total_pages}} 页", align="R")
        else:
            self.cell(width, 5, f"第 {self.page_no()} 页 共 {{total_pages}} 页", align="C")
        self.set_font(FAMILY, size=10)

    @property
    def content_width(self) -> float:
        return self.w - self.l_margin - self.r_margin

    def title_block(
        self, title: str, subtitle_left: str = "", subtitle_right: str = "", size: int = 16
    ) -> None:
        self.set_font(FAMILY, size=size)
        self.cell(self.content_width, 10, title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(FAMILY, size=10)
        if subtitle_left or subtitle_right:
            half = self.content_width / 2
            self.cell(half, 7, subtitle_left, align="L")
            self.cell(half, 7, subtitle_right, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def fit_text(self, text: str, width: float) -> str:
        """Shorten text that would overflow its cell (a ruled form must never overlap)."""
        if self.get_string_width(text) <= width - 2:
            return text
        while text and self.get_string_width(text + "…") > width - 2:
            text = text[:-1]
        return text + "…"

    def row(self, values: Sequence[str], widths: Sequence[float], height: float = 7,
            aligns: Sequence[str] | None = None, fill: bool = False) -> None:  # fmt: skip
        for i, (value, width) in enumerate(zip(values, widths, strict=True)):
            align = aligns[i] if aligns else "C"
            self.cell(width, height, self.fit_text(str(value), width), border=1, align=align, fill=fill)
        self.ln(height)

    def signature_block(self, labels: Sequence[str], height: float = 16) -> None:
        """A ruled row of signature/stamp boxes: label on top, room to sign below."""
        width = self.content_width / len(labels)
        y = self.get_y()
        for n, label in enumerate(labels):
            x = self.l_margin + n * width
            self.rect(x, y, width, height)
            self.set_xy(x + 1, y + 1)
            self.cell(width - 2, 5, label, align="L")
        self.set_xy(self.l_margin, y + height)

    def save(self, path: str | os.PathLike) -> None:
        """Write under a temporary name, then rename: never a half-written PDF."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.part")
        try:
            self.output(str(tmp))
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)


@dataclass
class Column:
    title: str
    width: float  # mm
    align: str = "C"


@dataclass
class Roster:
    """A long ruled list: header on every page, a subtotal row per page, a grand total at the end."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    subtitle_left: str = ""
    subtitle_right: str = ""
    amount_column: int | None = None  # index of the amount column (values in fen) summed per page
    count_label: str = "人数"  # 本页小计：人数 28
    money: Callable[[int], str] = field(default=lambda fen: f"{Decimal(fen) / 100:,.2f}")  # exact, no float
    amounts: Sequence[int] = ()  # fen per row, parallel to rows, when amount_column is set
    row_height: float = 7
    signatures: Sequence[str] = ()
    capital: Callable[[int], str] | None = None  # the grand total in 大写 too (a list money is paid on)
    landscape: bool = False
    footer_note: str = ""


def draw_roster(doc: Document, spec: Roster) -> None:
    """Draw ``spec`` into ``doc`` from a new page on."""
    widths = [c.width for c in spec.columns]
    aligns = [c.align for c in spec.columns]
    reserve = spec.row_height * 3 + 15  # header, page subtotal, footer
    total_count, total_fen = 0, 0
    rows = list(spec.rows)
    index = 0
    while True:
        doc.add_page()
        doc.title_block(spec.title, spec.subtitle_left, spec.subtitle_right)
        doc.set_fill_color(230, 236, 245)
        doc.row([c.title for c in spec.columns], widths, spec.row_height, None, fill=True)
        bottom = doc.h - doc.b_margin - reserve
        page_count, page_fen = 0, 0
        while index < len(rows) and doc.get_y() + spec.row_height <= bottom:
            doc.row(rows[index], widths, spec.row_height, aligns)
            if spec.amount_column is not None:
                page_fen += spec.amounts[index]
            page_count += 1
            index += 1
        total_count += page_count
        total_fen += page_fen
        _total_row(doc, spec, widths, "本页小计", page_count, page_fen)
        if index >= len(rows):
            _total_row(doc, spec, widths, "合计", total_count, total_fen)
            if spec.capital is not None and spec.amount_column is not None:
                doc.set_fill_color(245, 245, 245)
                doc.cell(sum(widths), spec.row_height, f"合计金额（大写）：{spec.capital(total_fen)}", border=1,
                         align="L", fill=True)  # fmt: skip
                doc.ln(spec.row_height)
            break
    if spec.signatures:
        if doc.get_y() + 24 > doc.h - doc.b_margin - 12:
            doc.add_page()
        doc.ln(4)
        doc.signature_block(spec.signatures)


def _total_row(
    doc: Document, spec: Roster, widths: Sequence[float], label: str, count: int, fen: int
) -> None:
    """'本页小计：人数 N' across the columns before the amount, the amount under its column."""
    doc.set_fill_color(245, 245, 245)
    span = spec.amount_column if spec.amount_column is not None else len(widths)
    doc.cell(
        sum(widths[:span]),
        spec.row_height,
        f"{label}：{spec.count_label} {count}",
        border=1,
        align="L",
        fill=True,
    )
    if spec.amount_column is not None:
        doc.cell(widths[span], spec.row_height, spec.money(fen), border=1, align="R", fill=True)
        rest = sum(widths[span + 1 :])
        if rest:
            doc.cell(rest, spec.row_height, "", border=1, fill=True)
    doc.ln(spec.row_height)
