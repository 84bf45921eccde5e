"""The one spreadsheet reader: .xlsx/.xls/.ods through python-calamine, CSV in UTF-8 or GBK/GB18030.

Rows stream as (row number the user sees, cells). The header row is found, not assumed, and columns are
mapped by aliases; every importer (roster, special lists, ledger) describes its columns and reuses this.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import itertools
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import UserError

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
CSV_SUFFIXES = {".csv", ".txt"}
HEADER_SCAN_ROWS = 30
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADER_NOISE = re.compile(r"[\s\u3000*＊:：]+")
_PARENTHETICAL = re.compile(r"\([^)]*\)$")
_TOTAL_PREFIXES = ("合计", "总计", "小计")
_NOTE_PREFIXES = ("制表", "填表", "审核人", "负责人", "备注", "说明", "注：", "注:")


class FileUnusable(UserError):
    """The whole file cannot be used (format, corruption, encoding, missing columns).

    When the header was found but a required column is missing, ``layout`` holds what was found, so the
    import wizard can let the user map the column by hand.
    """

    def __init__(
        self, message: str, *, layout: Layout | None = None, sheet_names: list[str] | None = None,
        sheet: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(message)
        self.layout = layout
        self.sheet_names = sheet_names or []
        self.sheet = sheet


def normalise_header(text: object) -> str:
    s = "" if text is None else str(text)
    return (
        _HEADER_NOISE.sub("", s).replace("（", "(").replace("）", ")").replace("【", "(").replace("】", ")")
    )


@dataclass(frozen=True)
class Column:
    field: str
    label: str  # the name used in messages and exports
    aliases: tuple[str, ...]
    required: bool = False

    def keys(self) -> set[str]:
        return {normalise_header(a) for a in (self.label, *self.aliases)}


@dataclass
class Layout:
    """Where the header is and which sheet column holds each field."""

    header_row: int  # row number the user sees
    headers: list[str]  # the header cells as found
    mapping: dict[str, int]  # field -> 0-based column index
    columns: Sequence[Column] = field(default_factory=list)

    def label(self, field_name: str) -> str:
        idx = self.mapping.get(field_name)
        if idx is not None and idx < len(self.headers) and self.headers[idx]:
            return self.headers[idx]
        return next((c.label for c in self.columns if c.field == field_name), field_name)

    def missing_required(self) -> list[Column]:
        return [c for c in self.columns if c.required and c.field not in self.mapping]


def match_columns(headers: Sequence[object], columns: Sequence[Column]) -> dict[str, int]:
    """Map fields to header positions: exact alias first, then the header without a trailing (note)."""
    keys = {c.field: c.keys() for c in columns}
    mapping: dict[str, int] = {}
    normalised = [normalise_header(h) for h in headers]
    for pass_no in (0, 1):
        for idx, text in enumerate(normalised):
            if not text or idx in mapping.values():
                continue
            probe = text if pass_no == 0 else _PARENTHETICAL.sub("", text)
            for col in columns:
                if col.field not in mapping and probe in keys[col.field]:
                    mapping[col.field] = idx
                    break
    return mapping


class TableSource:
    """An opened file: sheet names, an estimate of the row count, and a row stream."""

    def __init__(self, path: Path, sheet: str | None = None) -> None:
        self.path = Path(path)
        self.sheet_names: list[str] = []
        self.sheet: str | None = None
        self.estimated_rows = 0
        self._excel = None
        self._encoding = ""
        self._dialect: type[csv.Dialect] | csv.Dialect = csv.excel
        self.kind = _detect_kind(self.path)
        if self.kind == "excel":
            self._open_excel(sheet)
        else:
            self._open_csv()

    # -- Excel --------------------------------------------------------------------------------------------
    def _open_excel(self, sheet: str | None) -> None:
        import python_calamine as pc

        try:
            self._excel = pc.CalamineWorkbook.from_path(str(self.path))
            self.sheet_names = [
                m.name for m in self._excel.sheets_metadata if m.typ == pc.SheetTypeEnum.WorkSheet
            ] or list(self._excel.sheet_names)
        except pc.PasswordError as exc:
            raise FileUnusable(
                f"文件已设密码保护，请先在 Excel/WPS 中取消密码再导入：{self.path.name}"
            ) from exc
        except Exception as exc:
            raise FileUnusable(_explain_excel_error(self.path, exc)) from exc
        if not self.sheet_names:
            raise FileUnusable(f"文件里没有工作表：{self.path.name}")
        if sheet is None:
            self.sheet = self.sheet_names[0]
        elif sheet in self.sheet_names:
            self.sheet = sheet
        else:
            raise FileUnusable(f"文件里没有名为“{sheet}”的工作表；现有工作表：{'、'.join(self.sheet_names)}")

    def _excel_rows(self) -> Iterator[tuple[int, list]]:
        try:
            ws = _read_ahead_result(self.path, self.sheet) or self._excel.get_sheet_by_name(self.sheet)
            start_row, start_col = ws.start if ws.start else (0, 0)
            self.estimated_rows = ws.height
            rows = ws.iter_rows()
        except Exception as exc:
            raise FileUnusable(_explain_excel_error(self.path, exc)) from exc
        if start_col:
            pad = [""] * start_col
            rows = (pad + cells for cells in rows)
        return zip(itertools.count(start_row + 1), rows)  # an iterator in C: no Python frame per row

    # -- CSV ----------------------------------------------------------------------------------------------
    def _open_csv(self) -> None:
        size = self.path.stat().st_size
        with self.path.open("rb") as fh:
            sample = fh.read(256 * 1024)
        self._encoding = detect_encoding(sample)
        text = sample.decode(self._encoding, errors="ignore")
        self.sheet_names = [self.path.stem]
        self.sheet = self.path.stem
        try:
            self._dialect = csv.Sniffer().sniff(text[:20000], delimiters=",\t;|")
        except csv.Error:
            self._dialect = csv.excel
        lines = text.count("\n")
        self.estimated_rows = max(1, int(lines * size / max(1, len(sample)))) if lines else 1

    def _csv_rows(self) -> Iterator[tuple[int, list]]:
        with self.path.open("r", encoding=self._encoding, newline="", errors="strict") as fh:
            reader = csv.reader(fh, self._dialect)
            try:
                for cells in reader:
                    yield reader.line_num, [_csv_text(c) for c in cells]
            except UnicodeDecodeError as exc:
                raise FileUnusable(
                    f"第 {reader.line_num + 1} 行附近的文字无法按 {self._encoding} 编码读取，"
                    "文件可能混用了编码或已损坏。请用 Excel/WPS 另存为“CSV UTF-8”后再导入。"
                ) from exc
            except csv.Error as exc:
                raise FileUnusable(f"第 {reader.line_num} 行不是有效的 CSV 格式：{exc}") from exc

    # -- common -------------------------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[int, list]]:
        return self._excel_rows() if self.kind == "excel" else self._csv_rows()

    def close(self) -> None:
        if self._excel is not None:
            try:
                self._excel.close()
            except Exception:
                pass
            self._excel = None


_read_ahead: dict[tuple, tuple[threading.Thread, list]] = {}


def _file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns)


def read_ahead(path: str | os.PathLike, sheet: str | None = None) -> None:
    """Start parsing a workbook's sheet (the first when ``sheet`` is None) in a background thread.

    calamine parses a sheet in Rust without holding the GIL, so the parse of a large roster runs on the
    second core while the program starts and checks the password; ``TableSource`` takes the parsed sheet
    when it opens the same file and sheet unchanged. Only a hint: any failure here is left for the real open
    to report.
    """
    try:
        path = Path(path)
        if path.suffix.lower() not in EXCEL_SUFFIXES or not path.is_file():
            return
        key = _file_key(path)
    except OSError:
        return
    found: list = []

    def parse() -> None:
        import python_calamine as pc

        try:
            book = pc.CalamineWorkbook.from_path(str(path))
            ws = book.get_sheet_by_name(sheet) if sheet else book.get_sheet_by_index(0)
            found.append(ws)
        except Exception:
            pass

    thread = threading.Thread(target=parse, name="read-ahead", daemon=True)
    _read_ahead[key] = (thread, found)
    thread.start()


def _read_ahead_result(path: Path, sheet: str | None) -> object | None:
    """The sheet ``read_ahead`` parsed for this file (waiting for it), if it is the one asked for."""
    try:
        entry = _read_ahead.pop(_file_key(path))
    except (KeyError, OSError):
        return None
    thread, found = entry
    thread.join()
    if found and found[0].name == sheet:
        return found[0]
    return None


def _csv_text(cell: str) -> str:
    """="371325…" is how a CSV keeps an ID number as text in a spreadsheet (reports.tables writes it so):
    the text inside."""
    if cell.startswith('="') and cell.endswith('"') and len(cell) > 3 and '"' not in cell[2:-1]:
        return cell[2:-1]
    return cell


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) when the sample decodes as UTF-8, else GB18030 (a superset of GBK)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("gb18030")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 4:  # not just a character cut at the end of the sample
            raise FileUnusable("文件既不是 UTF-8 也不是 GBK 编码的文本，无法读取。") from exc
    return "gb18030"


def _detect_kind(path: Path) -> str:
    if not path.exists():
        raise FileUnusable(f"文件不存在：{path}")
    if path.is_dir():
        raise FileUnusable(f"这是一个文件夹，不是文件：{path}")
    if not os.access(path, os.R_OK):
        raise FileUnusable(f"没有读取该文件的权限：{path}")
    if path.stat().st_size == 0:
        raise FileUnusable(f"文件是空的（0 字节）：{path.name}")
    with path.open("rb") as fh:
        head = fh.read(8)
    suffix = path.suffix.lower()
    if head.startswith(_ZIP_MAGIC) or head.startswith(_OLE_MAGIC):
        if suffix in CSV_SUFFIXES:
            raise FileUnusable(
                f"文件扩展名是 {suffix}，内容却是 Excel 文件，请改为 .xlsx/.xls 后再导入：{path.name}"
            )
        return "excel"
    if suffix in EXCEL_SUFFIXES:
        raise FileUnusable(
            f"文件扩展名是 {suffix}，但内容不是 Excel 工作簿（可能已损坏，或是改了扩展名的其他文件）：{path.name}"
        )
    if suffix in CSV_SUFFIXES or not suffix:
        if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise FileUnusable(f"文件不是文本表格（CSV）：{path.name}")
        return "csv"
    raise FileUnusable(f"不支持的文件类型 {suffix}：请使用 .xlsx、.xls 或 .csv 文件。")


def _explain_excel_error(path: Path, exc: Exception) -> str:
    text = str(exc)
    if "password" in text.lower() or "encrypt" in text.lower():
        return f"文件已加密或设了密码，请先取消密码再导入：{path.name}"
    with path.open("rb") as fh:
        ole = fh.read(8) == _OLE_MAGIC
    if ole and path.suffix.lower() in (".xlsx", ".xlsm"):
        # Excel/WPS save a password-protected .xlsx inside an OLE container, which no reader can open.
        return f"文件已加密（设了打开密码），或不是真正的 .xlsx 文件：请在 Excel/WPS 中取消密码后另存为 .xlsx 再导入：{path.name}"
    return f"无法读取 Excel 文件（文件可能已损坏或不是有效的工作簿）：{path.name}（{text[:120]}）"


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def is_footer(cells: Sequence[object]) -> bool:
    """A total row (合计/总计/小计) or a signature note (制表人 ...) under the data."""
    for value in cells:
        if is_blank(value):
            continue
        text = normalise_header(value)
        return text.startswith(_TOTAL_PREFIXES) or text.startswith(_NOTE_PREFIXES)
    return False


@dataclass
class OpenedTable:
    source: TableSource
    layout: Layout
    rows: Iterator[tuple[int, list]]  # data rows after the header (blank and footer rows included)


def open_table(
    path: str | os.PathLike,
    columns: Sequence[Column],
    *,
    sheet: str | None = None,
    overrides: dict[str, int] | None = None,
) -> OpenedTable:
    """Open a file, find its header row among the first rows and map the columns.

    ``overrides`` (field -> column index) lets a user fix a mapping by hand. Raises FileUnusable when no
    header is found or a required column is missing.
    """
    source = TableSource(Path(path), sheet)
    stream = source.rows()
    head = list(itertools.islice(stream, HEADER_SCAN_ROWS))
    if not any(not all(is_blank(c) for c in cells) for _, cells in head):
        source.close()
        raise FileUnusable(f"工作表“{source.sheet}”是空的，没有任何数据：{source.path.name}")
    best: tuple[int, int, dict[str, int]] | None = None
    for index, (_, cells) in enumerate(head):
        mapping = match_columns(cells, columns)
        if len(mapping) >= 2 and (best is None or len(mapping) > len(best[2])):
            best = (index, len(mapping), mapping)
    if best is None:
        source.close()
        names = "、".join(c.label for c in columns if c.required)
        raise FileUnusable(
            f"在前 {HEADER_SCAN_ROWS} 行中没有找到表头行（应包含 {names} 等列名）：{source.path.name}"
        )
    index, _, mapping = best
    if overrides:
        mapping = {f: i for f, i in mapping.items() if i not in overrides.values()}
        mapping.update({f: i for f, i in overrides.items() if i is not None and i >= 0})
    row_no, header_cells = head[index]
    layout = Layout(row_no, ["" if c is None else str(c).strip() for c in header_cells], mapping, columns)
    missing = layout.missing_required()
    if missing:
        source.close()
        names = "、".join(f"“{c.label}”" for c in missing)
        raise FileUnusable(
            f"第 {row_no} 行的表头缺少必需的列 {names}（可用列名：{'、'.join(missing[0].aliases)}）。",
            layout=layout,
            sheet_names=source.sheet_names,
            sheet=source.sheet,
        )
    return OpenedTable(source, layout, itertools.chain(head[index + 1 :], stream))


def data_rows(table: OpenedTable) -> Iterator[tuple[int, list, dict[str, object]]]:
    """(row number, cells, field -> cell) for each data row of an opened table: blank rows and total/signature
    rows under the data are skipped; a field whose column the row does not reach is None."""
    mapping = table.layout.mapping
    width = max(mapping.values()) + 1
    for row, cells in table.rows:
        if all(is_blank(c) for c in cells[:width]) or is_footer(cells):
            continue
        yield row, cells, {f: (cells[i] if i < len(cells) else None) for f, i in mapping.items()}


@dataclass
class FilePreview:
    """What an import wizard shows before anything runs: sheets, the header row, the column mapping."""

    sheet_names: list[str]
    sheet: str
    layout: Layout


def inspect(path: str | os.PathLike, columns: Sequence[Column], *, sheet: str | None = None) -> FilePreview:
    """Open a file, find its header and map its columns. A missing required column is not an error
    here (the user can map it by hand); anything else that makes the file unusable raises FileUnusable."""
    try:
        table = open_table(path, columns, sheet=sheet)
    except FileUnusable as exc:
        if exc.layout is None:
            raise
        return FilePreview(exc.sheet_names, exc.sheet or "", exc.layout)
    table.source.close()
    return FilePreview(table.source.sheet_names, table.source.sheet or "", table.layout)


_EXCEL_EPOCH = dt.date(1899, 12, 30)  # day 0 of Excel's 1900 date system (its 1900-02-29 bug included)


def excel_serial_date(value: object) -> dt.date | None:
    """A date cell that lost its date format arrives as Excel's day number (43900 = 2020-03-10): that date,
    or None when the value is not such a number. Only 5-digit day numbers (1954-2119) are taken as dates."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        days = int(value)
    else:
        text = str(value).strip() if isinstance(value, str) else ""
        if not (text.isdigit() and len(text) == 5):
            return None
        days = int(text)
    return _EXCEL_EPOCH + dt.timedelta(days=days) if 20_000 <= days < 80_000 else None


def text_of(value: object) -> str:
    """A cell as trimmed text: integral floats lose their '.0' (phone numbers typed as numbers)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()
