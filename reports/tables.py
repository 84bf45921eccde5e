"""Plain tables out to .xlsx or .csv, safe to open in a spreadsheet.

Text that a spreadsheet would run as a formula (starting with = + - @, or a tab/CR) is prefixed with an
apostrophe — text only: a number, such as a negative amount, is written as the number it is. ID numbers and
other code-like columns are written as text so Excel keeps every digit: an xlsx cell formatted as text, in a
CSV the form ="371325…" (a CSV has no cell formats, and Excel or WPS turns a bare 18-digit number into
3.71325E+17, losing the last digits; the importers read that form back, core.tabular). Money columns are
numeric cells with a 0.00 format, so a spreadsheet can sum them.
"""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl loads when a workbook is written, not with every command that might write one
    from openpyxl import Workbook
    from openpyxl.styles import Font

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = "0.00"


def header_style() -> tuple[object, object]:
    """The header row's fill and font."""
    from openpyxl.styles import Font, PatternFill

    return PatternFill("solid", fgColor="DDEBF7"), Font(bold=True)


def neutralise(value: object) -> object:
    """Text a spreadsheet would run as a formula, made inert; anything else (numbers) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def strip_formulas(wb: Workbook) -> None:
    """The last guard before a (normal-mode) workbook is saved: no cell is a live formula, whoever wrote it.

    openpyxl stores any text starting with "=" as a formula; the program never writes formulas on purpose.
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" or (
                    isinstance(cell.value, str) and cell.value.startswith(FORMULA_TRIGGERS)
                ):
                    cell.value = neutralise(str(cell.value))


def csv_text(value: object) -> str:
    """A CSV field: text neutralised, a number as plain digits (-300.00, never '-300.00)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return str(neutralise(value))
    return str(value)


def _atomic_target(path: Path) -> Path:
    """A temporary file beside ``path``; renamed over it once complete so no half file is left."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    return Path(tmp)


def start_sheet(ws, headers: Sequence[str], title: str | None = None, title_size: int = 14) -> None:  # type: ignore[no-untyped-def]
    """A (normal-mode) worksheet's first rows: an optional bold title, then the shaded header row."""
    from openpyxl.styles import Font

    if title is not None:
        ws.append([neutralise(title)])
        ws.cell(row=1, column=1).font = Font(bold=True, size=title_size)
    ws.append([neutralise(h) for h in headers])
    fill, font = header_style()
    for cell in ws[ws._current_row]:
        cell.fill, cell.font = fill, font


def append_row(
    ws, values: Sequence[object], formats: dict[int, str] | None = None, font: Font | None = None
) -> int:  # type: ignore[no-untyped-def]
    """Append to a (normal-mode) worksheet and format cells of the new row (1-based columns).

    ``ws.max_row`` scans every cell: asked once per appended row it makes a long sheet quadratic. The row
    the append just wrote is ``ws._current_row``.
    """
    ws.append([neutralise(v) for v in values])
    row = ws._current_row
    for column, number_format in (formats or {}).items():
        ws.cell(row=row, column=column).number_format = number_format
    if font is not None:
        for cell in ws[row]:
            cell.font = font
    return row


def save_atomically(wb: Workbook, path: str | os.PathLike) -> None:
    """Save under a temporary name, then rename: a crash never leaves a half-written workbook."""
    tmp = _atomic_target(Path(path))
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_workbook(wb: Workbook, path: str | os.PathLike) -> None:
    """A normal-mode workbook, its formulas stripped, saved atomically."""
    strip_formulas(wb)
    save_atomically(wb, path)


class _AtomicFile:
    """Written under a temporary name beside the target; renamed over it only when complete."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.tmp = _atomic_target(self.path)
        self.count = 0

    def __enter__(self):  # type: ignore[no-untyped-def]
        return self

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        try:
            if exc_type is None:
                self._finish()
                os.replace(self.tmp, self.path)
        finally:
            self.tmp.unlink(missing_ok=True)

    def _finish(self) -> None:
        raise NotImplementedError


DIGITS = re.compile(r"[0-9]+[Xx]?")  # ID numbers, phone numbers, codes with leading zeros


def kept_as_text(value: str) -> str:
    """A digit string as a CSV cell a spreadsheet keeps as text: ="0101" (see the module's docstring)."""
    return f'="{value}"' if DIGITS.fullmatch(value) else value


class CsvWriter(_AtomicFile):
    """UTF-8 with BOM, so Excel opens the Chinese text with the right encoding; ``text_columns`` (0-based)
    holding digits are written in the ="…" form."""

    def __init__(
        self,
        path: str | os.PathLike,
        headers: Sequence[str],
        *,
        text_columns: Iterable[int] = (),
        **_xlsx: object,
    ) -> None:
        super().__init__(path)
        self._text_cols = set(text_columns)
        self._fh = self.tmp.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._fh)
        self._writer.writerow([neutralise(h) for h in headers])

    def append(self, row: Sequence[object]) -> None:
        cells = [csv_text(v) for v in row]
        for idx in self._text_cols:
            if idx < len(cells):
                cells[idx] = kept_as_text(cells[idx])
        self._writer.writerow(cells)
        self.count += 1

    def _finish(self) -> None:
        self._fh.close()

    def __exit__(self, exc_type, exc, tb) -> None:  # type: ignore[no-untyped-def]
        self._fh.close()
        super().__exit__(exc_type, exc, tb)


class XlsxWriter(_AtomicFile):
    """A streamed (write-only) workbook: bounded memory for 500,000 rows."""

    def __init__(
        self,
        path: str | os.PathLike,
        headers: Sequence[str],
        *,
        sheet_title: str = "Sheet1",
        text_columns: Iterable[int] = (),
        money_columns: Iterable[int] = (),
        widths: Sequence[int] | None = None,
        title: str | None = None,
    ) -> None:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        super().__init__(path)
        self._cell = WriteOnlyCell
        self._text_cols = set(text_columns)
        self._money_cols = set(money_columns)
        self._wb = Workbook(write_only=True)
        ws = self._ws = self._wb.create_sheet(sheet_title)
        for idx, width in enumerate(widths or [max(10, len(h) * 2 + 2) for h in headers]):
            ws.column_dimensions[get_column_letter(idx + 1)].width = width
        ws.freeze_panes = "A3" if title else "A2"
        if title:
            cell = WriteOnlyCell(ws, value=neutralise(title))
            cell.font = Font(bold=True, size=14)
            ws.append([cell])
        header_cells = []
        fill, font = header_style()
        for h in headers:
            cell = WriteOnlyCell(ws, value=neutralise(h))
            cell.fill, cell.font = fill, font
            cell.alignment = Alignment(horizontal="center")
            header_cells.append(cell)
        ws.append(header_cells)

    def append(self, row: Sequence[object]) -> None:
        out: list[object] = []
        for idx, value in enumerate(row):
            value = neutralise(value)
            if idx in self._text_cols and value is not None:
                cell = self._cell(self._ws, value=str(value))
                cell.number_format = "@"
                out.append(cell)
            elif idx in self._money_cols and value is not None and not isinstance(value, str):
                cell = self._cell(self._ws, value=value)
                cell.number_format = MONEY_FORMAT
                out.append(cell)
            else:
                out.append(value)
        self._ws.append(out)
        self.count += 1

    def _finish(self) -> None:
        self._wb.save(self.tmp)


def open_writer(path: str | os.PathLike, headers: Sequence[str], **xlsx: object) -> CsvWriter | XlsxWriter:
    """By the file's extension: .csv or .xlsx."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        # text_columns matter here too (the ="…" form); money columns need nothing: numbers are written as numbers
        return CsvWriter(path, headers, **xlsx)  # type: ignore[arg-type]
    if suffix == ".xlsx":
        return XlsxWriter(path, headers, **xlsx)  # type: ignore[arg-type]
    raise ValueError(f"unsupported table format: {suffix}")


def write_table(
    path: str | os.PathLike, headers: Sequence[str], rows: Iterable[Sequence[object]], **xlsx: object
) -> int:
    with open_writer(path, headers, **xlsx) as writer:
        for row in rows:
            writer.append(row)
    return writer.count
