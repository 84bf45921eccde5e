"""The 征缴进度 work lists on paper and in Excel: an .xlsx (village table, names, 代缴未到账) and an A4 PDF
with one list per village for the village's assistant (协理员) — 序号, a 联系情况/签字 column to fill in by
hand, and page X of Y counted within each village's list."""

from __future__ import annotations

import os
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font

from reports.pdf_kit import FAMILY, Column, Document, Roster, draw_roster
from reports.tables import header_style, neutralise, save_atomically

SIGN_COLUMN = "联系情况/签字"
ROW_HEIGHT = 9  # mm: room to write by hand in the 联系情况/签字 column


@dataclass
class Sheet:
    name: str
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    widths: Sequence[int]
    text_columns: Sequence[int] = ()  # 0-based: ID and phone numbers stay text
    note: str = ""


def write_xlsx(path: str | os.PathLike, sheets: Sequence[Sheet]) -> None:
    """A streamed workbook (a county's names are tens of thousands of rows), renamed into place when whole."""

    wb = Workbook(write_only=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.name)
        for n, width in enumerate(sheet.widths):
            ws.column_dimensions[chr(ord("A") + n)].width = width
        ws.freeze_panes = "A3" if not sheet.note else "A4"
        title = WriteOnlyCell(ws, value=neutralise(sheet.title))
        title.font = Font(bold=True, size=14)
        ws.append([title])
        if sheet.note:
            ws.append([neutralise(sheet.note)])
        header = []
        for h in sheet.headers:
            cell = WriteOnlyCell(ws, value=neutralise(h))
            cell.fill, cell.font = header_style()
            cell.alignment = Alignment(horizontal="center")
            header.append(cell)
        ws.append(header)
        text = set(sheet.text_columns)
        for row in sheet.rows:
            out: list[object] = []
            for n, value in enumerate(row):
                if n in text and value not in (None, ""):
                    cell = WriteOnlyCell(ws, value=neutralise(str(value)))
                    cell.number_format = "@"
                    out.append(cell)
                else:
                    out.append(neutralise(value))
            ws.append(out)
    save_atomically(wb, path)


@dataclass
class VillageList:
    """One village's printed list: the people to contact and (未续缴) those the government pays for."""

    title: str
    subtitle: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[str]]
    pending_title: str = ""
    pending_rows: Sequence[Sequence[str]] = field(default_factory=list)


class _Numbered(Document):
    """Page numbers counted within each village's list: 第 X 页 共 Y 页 (Y known from a first pass)."""

    def __init__(self, *, landscape: bool, totals: Sequence[int] | None) -> None:
        super().__init__(landscape=landscape)
        self.starts: list[int] = []
        self.totals = totals

    def footer(self) -> None:
        section = bisect_right(self.starts, self.page_no()) - 1
        page = self.page_no() - self.starts[section] + 1
        total = self.totals[section] if self.totals else 0
        self.set_y(-12)
        self.set_font(FAMILY, size=8)
        self.cell(self.content_width, 5, f"第 {page} 页 共 {total} 页", align="C")
        self.set_font(FAMILY, size=10)


def _draw(
    lists: Sequence[VillageList], landscape: bool, printed: str, totals: Sequence[int] | None
) -> _Numbered:
    doc = _Numbered(landscape=landscape, totals=totals)
    for item in lists:
        doc.starts.append(doc.page_no() + 1)
        draw_roster(doc, Roster(title=item.title, columns=item.columns, rows=item.rows, row_height=ROW_HEIGHT,
                                subtitle_left=item.subtitle, subtitle_right=printed,
                                signatures=() if item.pending_rows else ("协理员（签字）：", "经办人：", "日期：")))  # fmt: skip
        if item.pending_rows:
            draw_roster(doc, Roster(title=item.pending_title, columns=item.columns, rows=item.pending_rows, row_height=ROW_HEIGHT,
                                    subtitle_left=item.subtitle, subtitle_right=printed,
                                    signatures=("协理员（签字）：", "经办人：", "日期：")))  # fmt: skip
    return doc


def write_pdf(path: str | os.PathLike, lists: Sequence[VillageList], *, landscape: bool, printed: str) -> int:
    """Every village's list from a new page; returns the pages written."""
    first = _draw(lists, landscape, printed, None)
    ends = [*first.starts[1:], first.page_no() + 1]
    totals = [end - start for start, end in zip(first.starts, ends, strict=True)]
    doc = _draw(lists, landscape, printed, totals)
    doc.save(path)
    return doc.page_no()


# A4 portrait (180 mm of table) for 未续缴; landscape (267 mm) for 补缴动员's wider rows.
LAPSED_COLUMNS = (
    Column("序号", 12), Column("姓名", 22), Column("身份证号码", 42), Column("联系电话", 28),
    Column("上年档次(元)", 24, "R"), Column(SIGN_COLUMN, 52, "L"),
)  # fmt: skip
SHORT_COLUMNS = (
    Column("序号", 12), Column("姓名", 22), Column("身份证号码", 42), Column("联系电话", 28), Column("已缴年数", 17),
    Column("尚可缴费年数", 24), Column("缺口年数", 17), Column("可补缴年度", 36, "L"), Column("补缴申报", 29, "L"),
    Column(SIGN_COLUMN, 40, "L"),
)  # fmt: skip
