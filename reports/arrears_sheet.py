"""补缴费额核定单: one ruled A4 page per assessment (up to 15 years), with totals in figures and capitals."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf.enums import XPos, YPos

from reports.pdf_kit import FAMILY, Document

ROW = 8.0
MIN_LINE_ROWS = 6  # a form keeps a few empty ruled rows, as the paper one does


@dataclass
class Sheet:
    title: str
    number: str
    resident: Sequence[tuple[str, str]]  # (label, value), drawn two pairs per row
    lines: Sequence[tuple[str, str, str, str]]  # year, tier, amount, subsidy (formatted)
    total: str
    total_capital: str
    channels: Sequence[str]
    assessor: str
    assessed_on: str
    office: str


def _page(doc: Document, sheet: Sheet) -> None:
    doc.add_page()
    width = doc.content_width
    doc.set_font(FAMILY, size=16)
    doc.cell(width, 10, sheet.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(FAMILY, size=10)
    doc.cell(width, 7, f"核定单号：{sheet.number}", align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pairs = list(sheet.resident)
    for i in range(0, len(pairs), 2):  # the last pair alone (联系电话) spans the row
        doc.label_row(pairs[i : i + 2], 28.0, ROW)

    doc.ln(3)
    widths = [16.0, 34.0, 0.0, 0.0, 0.0]
    rest = (width - sum(widths[:2])) / 3
    widths[2:] = [rest, rest, rest]
    doc.set_fill_color(230, 236, 245)
    doc.row(
        ["序号", "补缴年度", "缴费档次（元）", "补缴金额（元）", "政府补贴（元）"], widths, ROW, fill=True
    )
    for n, (year, tier, amount, subsidy) in enumerate(sheet.lines, start=1):
        doc.row([str(n), year, tier, amount, subsidy], widths, ROW, ["C", "C", "R", "R", "R"])
    for _ in range(max(0, MIN_LINE_ROWS - len(sheet.lines))):
        doc.row(["", "", "", "", ""], widths, ROW)
    doc.set_fill_color(245, 245, 245)
    doc.cell(widths[0] + widths[1], ROW, "合计（小写）", border=1, align="C", fill=True)
    doc.cell(sum(widths[2:]), ROW, f"¥{sheet.total}", border=1, align="L")
    doc.ln(ROW)
    doc.cell(widths[0] + widths[1], ROW, "合计（大写）", border=1, align="C", fill=True)
    doc.cell(sum(widths[2:]), ROW, sheet.total_capital, border=1, align="L")
    doc.ln(ROW)

    doc.ln(3)
    doc.cell(
        width,
        6,
        "缴费渠道（请通过以下渠道缴纳，村居及代办人员一律不得代收现金）：",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    doc.set_font(FAMILY, size=9)
    for line in sheet.channels:
        doc.text_block(line, 5)  # each channel whole on its line
    doc.set_font(FAMILY, size=10)

    doc.ln(4)
    y = doc.get_y()
    half = width / 2
    doc.rect(doc.l_margin, y, half, 36)
    doc.rect(doc.l_margin + half, y, half, 36)
    doc.set_xy(doc.l_margin + 2, y + 3)
    doc.cell(half - 4, 7, f"核定人：{sheet.assessor}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_x(doc.l_margin + 2)
    doc.cell(half - 4, 7, f"核定日期：{sheet.assessed_on}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_x(doc.l_margin + 2)
    doc.cell(half - 4, 7, "缴费人签字：", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_xy(doc.l_margin + half + 2, y + 3)
    doc.cell(half - 4, 7, f"经办机构：{sheet.office}")
    doc.set_xy(doc.l_margin + half + 2, y + 26)
    doc.cell(half - 4, 7, "（盖章）", align="R")
    doc.set_xy(doc.l_margin, y + 40)
    doc.set_font(FAMILY, size=8)
    doc.cell(width, 5, "本单一式两份，缴费人与乡镇人社所各执一份。核定金额以本单为准。")
    doc.set_font(FAMILY, size=10)


def write(path: str | os.PathLike, sheets: Sequence[Sheet]) -> None:
    doc = Document()
    for sheet in sheets:
        _page(doc, sheet)
    doc.save(path)
