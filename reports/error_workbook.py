"""The error workbook for a village: rejected rows as they were, plus code and reason, bad cells marked."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from reports.tables import neutralise, save_workbook, start_sheet


@dataclass
class RejectedRow:
    row: int  # row number in the original file
    cells: list
    problems: list[tuple[int | None, str, str]]  # (column index or None, code, message)


def write_error_workbook(
    path: str | os.PathLike,
    headers: Sequence[str],
    rows: Sequence[RejectedRow],
    *,
    source_name: str,
    text_columns: Sequence[int] = (),
) -> None:
    from openpyxl import Workbook  # loads when an error workbook is written, not with every import
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    bad_fill, bad_font = PatternFill("solid", fgColor="FFC7CE"), Font(color="9C0006")
    wb = Workbook()
    ws = wb.active
    ws.title = "被拒绝的行"
    width = max([len(headers), *(len(r.cells) for r in rows)])
    out_headers = [*headers, *[""] * (width - len(headers)), "原文件行号", "错误代码", "错误原因"]
    start_sheet(ws, out_headers)
    text_cols = set(text_columns)
    for out_row, rej in enumerate(rows, start=2):
        cells = [*rej.cells, *[""] * (width - len(rej.cells))]
        for col, value in enumerate(cells):
            cell = ws.cell(row=out_row, column=col + 1, value=neutralise(value))
            if col in text_cols:
                cell.number_format = "@"  # so the corrected number stays text
        codes = "；".join(dict.fromkeys(code for _, code, _ in rej.problems))
        reasons = "；".join(dict.fromkeys(msg for _, _, msg in rej.problems))
        ws.cell(row=out_row, column=width + 1, value=rej.row)
        ws.cell(row=out_row, column=width + 2, value=codes)
        reason_cell = ws.cell(row=out_row, column=width + 3, value=reasons)
        reason_cell.alignment = Alignment(wrap_text=True, vertical="top")
        for col, code, message in rej.problems:
            if col is None or col >= width:
                continue
            cell = ws.cell(row=out_row, column=col + 1)
            cell.fill, cell.font = bad_fill, bad_font
            cell.comment = Comment(f"{code}：{message}", "系统")
    for col in range(1, len(out_headers) + 1):
        ws.column_dimensions[get_column_letter(col)].width = 60 if col == len(out_headers) else 18
    ws.freeze_panes = "A2"
    note = wb.create_sheet("说明")
    note.append([f"来源文件：{source_name}"])
    note.append(["红色单元格是出错的位置。请在原表中改正这些行后重新导入；身份证号码列请设置为“文本”格式。"])
    note.column_dimensions["A"].width = 100
    save_workbook(wb, path)
