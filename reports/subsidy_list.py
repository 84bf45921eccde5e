"""The 政府代缴 list: an .xlsx for finance and the tax side, and a printed PDF roster with page totals."""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font

from reports.pdf_kit import Column, Document, Roster, draw_roster
from reports.tables import append_row, neutralise, save_workbook, start_sheet

DETAIL_HEADERS = (
    "序号",
    "乡镇（街道）",
    "村（居）",
    "身份证号码",
    "姓名",
    "性别",
    "人员类别",
    "代缴金额（元）",
    "状态",
)
SUMMARY_HEADERS = ("乡镇（街道）", "村（居）", "人数", "代缴金额（元）")


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def write_xlsx(
    path: str | os.PathLike,
    title: str,
    rows: Sequence[
        tuple[str, str, str, str, str, str, int, str]
    ],  # township, village, ID, name, sex, groups, fen, state
    summary: Sequence[tuple[str, str, int, int]],  # township, village ('' = township subtotal), people, fen
) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "代缴名单"
    start_sheet(ws, DETAIL_HEADERS, title)
    money = {8: "#,##0.00"}
    for n, (town, village, number, name, sex, groups, fen, state) in enumerate(rows, start=1):
        values = [
            n,
            neutralise(town),
            neutralise(village),
            number,
            neutralise(name),
            sex,
            groups,
            _yuan(fen),
            state,
        ]
        append_row(ws, values, {4: "@", **money})
    total = sum(r[6] for r in rows)
    append_row(ws, ["合计", "", "", "", f"{len(rows)} 人", "", "", _yuan(total), ""], money, Font(bold=True))
    for letter, width in zip("ABCDEFGHI", (7, 14, 16, 22, 10, 6, 24, 14, 8), strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A3"

    sheet = wb.create_sheet("汇总")
    start_sheet(sheet, SUMMARY_HEADERS)
    money = {4: "#,##0.00"}
    for town, village, people, fen in summary:
        append_row(
            sheet, [town, village or "小计", people, _yuan(fen)], money, None if village else Font(bold=True)
        )
    append_row(sheet, ["合计", "", len(rows), _yuan(total)], money, Font(bold=True))
    for letter, width in zip("ABCD", (16, 18, 10, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    save_workbook(wb, path)


def write_pdf(
    path: str | os.PathLike,
    title: str,
    rows: Sequence[tuple[str, str, str, str, str, str, int, str]],
    *,
    unit: str,
    printed: str,
    money,  # type: ignore[no-untyped-def]
    capital=None,  # type: ignore[no-untyped-def]
) -> None:
    columns = (
        Column("序号", 14), Column("乡镇（街道）", 30), Column("村（居）", 32), Column("身份证号码", 44),
        Column("姓名", 22), Column("性别", 12), Column("人员类别", 0, "L"), Column("代缴金额（元）", 30, "R"),
    )  # fmt: skip
    doc = Document(landscape=True, footer_note=title)
    fixed = sum(c.width for c in columns)
    columns[6].width = doc.content_width - fixed
    body = [
        (str(n), town, village, number, name, sex, groups, money(fen))
        for n, (town, village, number, name, sex, groups, fen, _state) in enumerate(rows, start=1)
    ]
    draw_roster(doc, Roster(
        title=title, columns=columns, rows=body, subtitle_left=f"填报单位：{unit}", subtitle_right=printed,
        amount_column=7, amounts=[r[6] for r in rows], money=money, capital=capital,
        signatures=("经办人：", "审核人：", "单位负责人：", "（单位盖章）"),
    ))  # fmt: skip
    doc.save(path)
