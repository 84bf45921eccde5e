"""The one PDF toolkit: A4 government-style forms and rosters with the bundled CJK font (fpdf2).

Tables are drawn with ``cell(..., border=1)`` (about five times faster than fpdf2's ``table()`` helper on
long rosters) and paginated here, so each page can carry its own subtotal row.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT = Path(__file__).resolve().parent.parent / "resources" / "fonts" / "wqy-microhei.ttc"
FAMILY = "cjk"
# A line may break after these (a list's separators, a label's colon, a space) when outside parentheses.
_BREAK_AFTER = "、，；,;：: "
_OPEN, _CLOSE = "（(《“", "）)》”"


def _tokens(text: str) -> list[str]:
    """``text`` cut after each separator outside parentheses and quotes: the items a line keeps whole."""
    tokens, start, depth = [], 0, 0
    for n, char in enumerate(text):
        depth += (char in _OPEN) - (char in _CLOSE)
        if char in _BREAK_AFTER and depth <= 0:
            tokens.append(text[start : n + 1])
            start = n + 1
    tokens.append(text[start:])
    return [t for t in tokens if t]


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

    def wrap(self, text: str, width: float) -> list[str]:
        """``text`` as the lines that fit a ``width`` mm cell (at least one line). Lines break after a list
        separator or a space, never inside a parenthesis or a word (税务大厅POS机, 农村商业银行（含农金通）)
        unless that item alone is wider than the cell: a printed form wraps, it never drops what is written."""
        room = width - 2 * self.c_margin - 0.01
        if self.get_string_width(text) <= room:  # nearly every cell: one measurement, as a long roster needs
            return [text]
        lines: list[str] = []
        line = ""
        for token in _tokens(text):
            # An item wider than the cell breaks first before its parenthesis (金额 / （元）), then anywhere.
            whole = self.get_string_width(token.rstrip()) <= room
            for piece in [token] if whole else re.split(r"(?=[（(])", token):
                if not piece:
                    continue
                if self.get_string_width(line + piece.rstrip()) <= room:
                    line += piece
                elif self.get_string_width(piece.rstrip()) <= room:
                    lines.append(line.rstrip())
                    line = piece
                else:  # fill the line, then go on character by character
                    for char in piece:
                        if self.get_string_width(line + char) > room and line:
                            lines.append(line.rstrip())
                            line = ""
                        line += char
        lines.append(line.rstrip())
        return [x for x in lines if x] or [""]

    @property
    def line_height(self) -> float:
        """The pitch of wrapped lines in a cell, from the current font size."""
        return self.font_size * 1.3

    def row_height(self, values: Sequence[str], widths: Sequence[float], height: float = 7) -> float:
        """How tall :meth:`row` draws these values: ``height``, or more for a cell that wraps."""
        return self._height([self.wrap(str(v), w) for v, w in zip(values, widths, strict=True)], height)

    def _label_cells(self, pairs: Sequence[tuple[str, str]], label_w: float) -> tuple[list[str], list[float]]:
        value_w = (self.content_width - label_w * len(pairs)) / len(pairs)
        return [text for pair in pairs for text in pair], [label_w, value_w] * len(pairs)

    def label_row_height(self, pairs: Sequence[tuple[str, str]], label_w: float, height: float = 7) -> float:
        return self.row_height(*self._label_cells(pairs, label_w), height)

    def label_row(self, pairs: Sequence[tuple[str, str]], label_w: float, height: float = 7) -> float:
        """Label/value pairs sharing the row's width, labels shaded; a lone pair's value spans the rest of the
        row (no empty label cell beside it). Returns the row's height."""
        values, widths = self._label_cells(pairs, label_w)
        self.set_fill_color(240, 240, 240)
        return self.row(values, widths, height, ["C", "L"] * len(pairs), fills=[True, False] * len(pairs))

    def _height(self, wrapped: Sequence[list[str]], height: float) -> float:
        most = max((len(lines) for lines in wrapped), default=1)
        return height if most <= 1 else max(height, most * self.line_height + 2)

    def row(self, values: Sequence[str], widths: Sequence[float], height: float = 7,
            aligns: Sequence[str] | None = None, fill: bool = False,
            fills: Sequence[bool] | None = None) -> float:  # fmt: skip
        """A ruled row; a value too long for its cell wraps and the whole row grows taller. ``fills`` shades
        single cells (a label beside its value). Returns the row's height."""
        wrapped = [self.wrap(str(v), w) for v, w in zip(values, widths, strict=True)]
        tall = self._height(wrapped, height)
        x, y = self.get_x(), self.get_y()
        for i, (lines, width) in enumerate(zip(wrapped, widths, strict=True)):
            align = aligns[i] if aligns else "C"
            shade = fills[i] if fills else fill
            if len(lines) == 1:
                self.set_xy(x, y)
                self.cell(width, tall, lines[0], border=1, align=align, fill=shade)
            else:
                self.rect(x, y, width, tall, style="DF" if shade else "D")
                top = y + (tall - len(lines) * self.line_height) / 2
                for n, line in enumerate(lines):
                    self.set_xy(x, top + n * self.line_height)
                    self.cell(width, self.line_height, line, align=align)
            x += width
        self.set_xy(self.l_margin, y + tall)
        return tall

    def text_block(self, text: str, height: float, width: float | None = None) -> None:
        """A paragraph from the left margin, wrapped like :meth:`row` (items kept whole), no rules. A lead-in
        label ("银行渠道：") hangs: the lines after it start under its first item."""
        width = self.content_width if width is None else width
        label, colon, rest = text.partition("：")
        indent = self.get_string_width(label + colon) if colon and len(label) <= 8 else 0.0
        body = rest if indent else text
        for n, line in enumerate(self.wrap(body, width - indent + 2 * self.c_margin)):
            self.set_x(self.l_margin)
            if indent:
                self.cell(indent, height, label + colon if n == 0 else "")
            self.cell(width - indent, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

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
        # At least one row a page, however tall it wraps, so the loop always ends.
        while index < len(rows) and (
            page_count == 0 or doc.get_y() + doc.row_height(rows[index], widths, spec.row_height) <= bottom
        ):
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
