"""Row outcomes shared by every importer: stable codes, Chinese messages, one JSON summary shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports.error_workbook import RejectedRow, write_error_workbook

# code -> (is_error, Chinese reason). Importers add their own codes with ``register``.
CODES: dict[str, tuple[bool, str]] = {
    "ID_MISSING": (True, "身份证号码为空"),
    "ID_FORMAT": (True, "身份证号码格式不正确"),
    "ID_CHECKSUM": (True, "身份证号码校验位错误"),
    "ID_BIRTHDATE": (True, "身份证号码中的出生日期无效"),
    "ID_PRECISION_LOST": (
        True,
        "身份证号码被 Excel 当作数字保存，后几位已丢失，无法恢复。请将该列设置为“文本”格式后重新录入号码",
    ),
    "NAME_MISSING": (True, "姓名为空"),
    "AGE_UNDER_16": (True, "未满 16 周岁，不符合参保条件"),
    "DUPLICATE_IN_FILE": (True, "与文件中前面的行身份证号码重复"),
    "TOWNSHIP_UNKNOWN": (True, "乡镇（街道）不存在或为空"),
    "TOWNSHIP_OUT_OF_SCOPE": (True, "不属于当前用户所辖乡镇，无权导入"),
    "STUDENT": (True, "在校学生不属于居民养老保险参保范围"),
    "OTHER_PENSION": (True, "已参加其他养老保险（如职工养老保险），不能重复参保"),
    "ID_LEGACY_15": (False, "15 位旧身份证号码，已转换为 18 位"),
    "SEX_MISMATCH": (False, "性别与身份证号码不符，以身份证号码为准"),
    "BIRTHDATE_MISMATCH": (False, "出生日期与身份证号码不符，以身份证号码为准"),
    "TEXT_TOO_LONG": (True, "内容超过该栏允许的长度"),
    "DATE_INVALID": (True, "日期无效"),
}


def register(code: str, is_error: bool, reason: str) -> None:
    CODES.setdefault(code, (is_error, reason))


@dataclass(slots=True)
class RowIssue:
    row: int
    column: str
    code: str
    message: str
    error: bool = True  # rejects the row; False: a warning, the row is kept

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


def issue(row: int, column: str, code: str, detail: str = "", *, error: bool | None = None,
          reason: str | None = None) -> RowIssue:  # fmt: skip
    """A row outcome; ``error`` and ``reason`` override the code's usual severity and wording for one importer
    (NOT_IN_ROSTER is a warning for a department's list but rejects a payment, and says so)."""
    default_error, default_reason = CODES[code]
    reason = default_reason if reason is None else reason
    return RowIssue(row, column, code, f"{reason}（{detail}）" if detail else reason,
                    default_error if error is None else error)  # fmt: skip


def too_long(row: int, column: str, text: str, limit: int) -> RowIssue | None:
    """TEXT_TOO_LONG when ``text`` does not fit a column of ``limit`` characters: the same row error on SQLite
    (which would store it) and PostgreSQL (which would fail the whole file)."""
    if len(text) <= limit:
        return None
    return issue(row, column, "TEXT_TOO_LONG", f"{len(text)} 个字，最多 {limit} 个字")


@dataclass
class ImportReport:
    """The summary every importer returns; ``as_json`` is the CLI's --json contract."""

    rows: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)
    dry_run: bool = False
    file_name: str = ""
    sha256: str = ""
    import_id: int | None = None
    # Rejected rows as they were in the file, for the error workbook: (row number, cells)
    rejected_rows: list[tuple[int, list]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    header_row: int = 0
    text_columns: list[int] = field(default_factory=list)  # e.g. the ID column: kept as text on the way out
    # Fields the import changed (old -> new) and identity changes it held back (core.imports.FieldChange)
    updates: list[Any] = field(default_factory=list)
    held: list[Any] = field(default_factory=list)

    def add(self, found: RowIssue) -> None:
        (self.errors if found.error else self.warnings).append(found)

    def counts_by_code(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for item in (*self.errors, *self.warnings):
            counts[item.code] = counts.get(item.code, 0) + 1
        return counts

    def as_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
            "warnings": [w.as_dict() for w in self.warnings],
            "updates": [u.as_dict() for u in self.updates],
        }


def write_error_report(report: ImportReport, out: str | Path) -> int:
    """The rejected rows of ``report`` as an .xlsx the sender can fix and send back. Returns the row count."""
    problems: dict[int, list[tuple[int | None, str, str]]] = {}
    headers = report.headers
    for e in report.errors:
        col = headers.index(e.column) if e.column in headers else None
        problems.setdefault(e.row, []).append((col, e.code, e.message))
    rows = [RejectedRow(row, cells, problems.get(row, [])) for row, cells in report.rejected_rows]
    write_error_workbook(out, headers, rows, source_name=report.file_name, text_columns=report.text_columns)
    return len(rows)
