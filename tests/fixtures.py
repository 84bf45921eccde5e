"""Builders for input files: tests make their own fixtures (a user's checkout has no ../shared)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from openpyxl import Workbook

from core import idcard

HEADER = ["姓名", "身份证号码", "性别", "出生日期", "乡镇", "村居", "联系电话"]


def person(
    n: int, *, born: dt.date = dt.date(1980, 5, 17), township: str = "费城街道", village: str = "东王庄村"
) -> list:
    """A valid row; ``n`` varies the sequence digits (odd = male)."""
    number = idcard.make("371325", born, n % 1000)
    sex = "男" if n % 2 else "女"
    return [f"居民{n}", number, sex, born.isoformat(), township, village, f"138{n:08d}"]


def write_xlsx(path: Path, rows: Sequence[Sequence[object]], *, title_rows: Sequence[Sequence[object]] = (),
               sheet: str = "花名册", extra_sheets: dict[str, Sequence[Sequence[object]]] | None = None) -> Path:  # fmt: skip
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    for row in [*title_rows, *rows]:
        ws.append(list(row))
    if title_rows:
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(1, len(rows[0]) if rows else 1))
    for name, content in (extra_sheets or {}).items():
        other = wb.create_sheet(name)
        for row in content:
            other.append(list(row))
    wb.save(path)
    return path


def write_xls(
    path: Path, rows: Sequence[Sequence[object]], *, title_rows: Sequence[Sequence[object]] = ()
) -> Path:
    """Excel 97-2003 (.xls), as old WPS/Excel saves it."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册")
    for r, row in enumerate([*title_rows, *rows]):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))
    return path


def write_csv(path: Path, rows: Sequence[Sequence[object]], *, encoding: str = "utf-8") -> Path:
    text = "\n".join(",".join(str(v) for v in row) for row in rows) + "\n"
    path.write_bytes(text.encode(encoding))
    return path
