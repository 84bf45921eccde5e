"""参保登记表: one A4 page for a person registered at the counter — their details, the year's tiers to choose
from, the channels to pay through (as the county notice lists them), the clerk and a signature line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from fpdf.enums import XPos, YPos

from reports.pdf_kit import FAMILY, Document

ROW = 8.5
LABEL_W = 40.0  # one label column for every row, so the rules line up (是否参加其他养老保险 fits)
TICK = 4.0  # mm: a box to tick with a pen


@dataclass
class Form:
    title: str
    number: str  # 登记编号 (the resident's number in the roster)
    details: Sequence[tuple[str, str]]  # (label, value), two pairs a row
    eligibility: Sequence[tuple[str, str]]  # (question, answer)
    tier_year: int
    tiers: Sequence[str]  # yuan, ascending
    tier_notes: dict[str, str]  # tier -> note (e.g. 100 -> 仅限缴费困难群体)
    channels: Sequence[str]
    clerk: str
    registered_on: str
    office: str
    tier_notice: str = ""  # e.g. the registration year has no tiers yet, and which year's are shown instead


def _pairs(doc: Document, pairs: Sequence[tuple[str, str]]) -> None:
    """Label/value boxes two pairs a row (a last lone pair spans the row), every row on the same rules."""
    for i in range(0, len(pairs), 2):
        doc.label_row(pairs[i : i + 2], LABEL_W, ROW)


def _tick_box(doc: Document, x: float, y: float, width: float, height: float, text: str) -> None:
    """A ruled cell with a box big enough to tick with a pen, and its text beside it."""
    doc.rect(x, y, width, height)
    doc.rect(x + 3, y + (height - TICK) / 2, TICK, TICK)
    doc.set_xy(x + 3 + TICK + 1, y)
    doc.cell(width - TICK - 5, height, text)


def _page(doc: Document, form: Form) -> None:
    doc.add_page()
    width = doc.content_width
    doc.title_block(form.title, f"经办机构：{form.office}", f"登记编号：{form.number}")
    doc.ln(2)
    _pairs(doc, form.details)
    _pairs(doc, form.eligibility)

    doc.ln(4)
    doc.set_font(FAMILY, size=11)
    doc.cell(width, 7, f"{form.tier_year} 年度缴费档次（元/年，请在选定的档次前打“√”）", new_x=XPos.LMARGIN,
             new_y=YPos.NEXT)  # fmt: skip
    if form.tier_notice:  # another year's tiers: the resident and the clerk must both see it
        doc.set_font(FAMILY, size=10)
        doc.set_text_color(160, 0, 0)
        doc.text_block(f"注意：{form.tier_notice}", 6)
        doc.set_text_color(0, 0, 0)
    doc.set_font(FAMILY, size=10)
    per_row = 6
    box_w = width / per_row
    tiers = list(form.tiers)
    for i in range(0, len(tiers), per_row):
        y = doc.get_y()
        for n in range(per_row):
            x = doc.l_margin + n * box_w
            if i + n < len(tiers):
                tier = tiers[i + n]
                _tick_box(doc, x, y, box_w, ROW + 2, f"{tier} 元{' *' if form.tier_notes.get(tier) else ''}")
            else:
                doc.rect(x, y, box_w, ROW + 2)
        doc.set_xy(doc.l_margin, y + ROW + 2)
    notes = "；".join(f"* {tier} 元档次{note}" for tier, note in form.tier_notes.items())
    doc.set_font(FAMILY, size=8.5)
    doc.multi_cell(width, 5, f"{notes}；个人缴费每年不超过最高档次。" if notes else "个人缴费每年不超过最高档次。",
                   new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip

    doc.ln(3)
    doc.set_font(FAMILY, size=11)
    doc.cell(width, 7, "缴费渠道（登记后请通过以下渠道缴费，村居及代办人员一律不得收取现金）：",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    doc.set_font(FAMILY, size=9.5)
    for line in form.channels:
        doc.text_block(line, 5.5)  # each channel whole on its line (税务大厅POS机, 农村商业银行（含农金通）)

    doc.ln(4)
    doc.set_font(FAMILY, size=10)
    doc.multi_cell(width, 6, "本人承诺：以上信息真实准确；本人为本县户籍，年满16周岁，不是在校学生，未参加职工基本养老保险"
                             "等其他社会养老保险。如有不实，本人承担相应责任。", new_x=XPos.LMARGIN, new_y=YPos.NEXT)  # fmt: skip
    doc.ln(4)
    y = doc.get_y()
    half = width / 2
    height = 34
    doc.rect(doc.l_margin, y, half, height)
    doc.rect(doc.l_margin + half, y, half, height)
    doc.set_xy(doc.l_margin + 2, y + 3)
    doc.cell(half - 4, 7, "参保人签字（按手印）：")
    doc.set_xy(doc.l_margin + 2, y + 18)
    doc.cell(half - 4, 7, "________________________")
    doc.set_xy(doc.l_margin + 2, y + 26)
    doc.cell(half - 4, 7, "日期：        年    月    日")
    doc.set_xy(doc.l_margin + half + 2, y + 3)
    doc.cell(half - 4, 7, f"经办人：{form.clerk}")
    doc.set_xy(doc.l_margin + half + 2, y + 11)
    doc.cell(half - 4, 7, f"登记日期：{form.registered_on}")
    doc.set_xy(doc.l_margin + half + 2, y + 26)
    doc.cell(half - 4, 7, "经办机构（盖章）", align="R")
    doc.set_xy(doc.l_margin, y + height + 3)
    doc.set_font(FAMILY, size=8)
    doc.cell(width, 5, "本表一式两份，参保人与乡镇人社所各执一份。")
    doc.set_font(FAMILY, size=10)


def write(path: str | os.PathLike, forms: Sequence[Form]) -> None:
    doc = Document()
    for form in forms:
        _page(doc, form)
    doc.save(path)
