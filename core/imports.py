"""Every bulk change is a visible batch: each roster, list and ledger import with who, when, the file's
SHA-256, its counts and its changes (old -> new).

Roster updates and list flags are stored as ``ImportChange`` rows when the import writes them; a ledger
import only adds payments, so its changes are the payments it added (read from ``contribution``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from peewee import JOIN

from core import roster
from core.auth import Actor, display_names, require
from core.errors import UserError
from core.money import format_yuan
from dao import bulk
from dao.models import Contribution, ImportChange, ImportLog, Resident
from reports import tables

KIND_NAMES = {"roster": "花名册", "special": "特殊群体名单", "ledger": "缴费明细", "feedback": "税务反馈"}
FIELD_MAX = 200  # old/new values are cut to the column's length


@dataclass(frozen=True)
class FieldChange:
    """One field changed by an import row (the JSON ``updates``/``changes`` item)."""

    row: int
    id_number: str
    column: str
    old: str
    new: str
    resident_id: int | None = None

    def as_dict(self, *, with_row: bool = True) -> dict[str, object]:
        out: dict[str, object] = {"id_number": self.id_number, "column": self.column, "old": self.old,
                                  "new": self.new}  # fmt: skip
        return {"row": self.row, **out} if with_row else out


def record_changes(log_id: int, changes: Sequence[FieldChange]) -> None:
    """Store an import's changes and their count on its log row (inside the import's transaction)."""
    if changes:
        bulk.insert_rows(
            ImportChange,
            ("resident_id", "row", "id_number", "field", "old_value", "new_value"),
            [(c.resident_id, c.row, c.id_number, c.column[:20], c.old[:FIELD_MAX], c.new[:FIELD_MAX])
             for c in changes],
            {"import_log_id": log_id},
        )  # fmt: skip
        ImportLog.update(changes=ImportLog.changes + len(changes)).where(ImportLog.id == log_id).execute()


@dataclass
class ImportRow:
    import_id: int
    kind: str
    file_name: str
    sha256: str
    username: str
    at: dt.datetime
    rows: int
    imported: int
    updated: int
    unchanged: int
    rejected: int
    warnings: int
    changes: int
    user_name: str = ""  # the user's display name, for the screens (``username`` is the login)

    @property
    def kind_name(self) -> str:
        return KIND_NAMES.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, object]:
        return {"import_id": self.import_id, "id": self.import_id, "kind": self.kind, "file": self.file_name,
                "sha256": self.sha256, "user": self.username, "at": self.at.isoformat(), "rows": self.rows,
                "imported": self.imported, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "warnings": self.warnings, "changes": self.changes}  # fmt: skip


def _row(log: ImportLog, names: dict[str, str]) -> ImportRow:
    changes = log.changes
    if log.kind == "ledger":
        changes = log.imported  # each payment added is a change
    return ImportRow(log.id, log.kind, log.file_name, log.sha256, log.username, log.started_at, log.rows,
                     log.imported, log.updated, log.unchanged, log.rejected, log.warnings, changes,
                     names.get(log.username, log.username))  # fmt: skip


def history(actor: Actor, kinds: Iterable[str] | None = None, limit: int = 500) -> list[ImportRow]:
    """Past imports, newest first. A township clerk sees the roster imports made for their township."""
    require(actor, "roster.view")
    query = ImportLog.select().order_by(ImportLog.id.desc()).limit(limit)
    if kinds is not None:
        query = query.where(ImportLog.kind.in_(list(kinds)))
    if actor.township_id is not None:
        query = query.where(ImportLog.township == actor.township_id)
    logs = list(query)
    names = display_names(log.username for log in logs)
    return [_row(log, names) for log in logs]


def get(actor: Actor, import_id: int) -> ImportRow:
    require(actor, "roster.view")
    log = ImportLog.get_or_none(ImportLog.id == import_id)
    if log is None:
        raise UserError(f"没有这条导入记录：{import_id}")
    return _row(log, display_names([log.username]))


def changes(actor: Actor, import_id: int) -> list[FieldChange]:
    """What one import changed, old -> new, in file order. A township clerk sees their township's people; ID
    numbers are masked per the setting, on screen and in the export made from this."""
    require(actor, "roster.view")
    show = roster.id_display(actor)
    log = ImportLog.get_or_none(ImportLog.id == import_id)
    if log is None:
        raise UserError(f"没有这条导入记录：{import_id}")
    if log.kind == "ledger":
        query = (
            Contribution.select(Contribution, Resident.id_number, Resident.township)
            .join(Resident)
            .where(Contribution.import_log == log.id)
            .order_by(Contribution.id)
        )
        if actor.township_id is not None:
            query = query.where(Resident.township == actor.township_id)
        return [
            FieldChange(0, show(c.resident.id_number), "缴费记录", "", _payment_text(c), c.resident_id)
            for c in query
        ]
    query = (
        ImportChange.select(ImportChange)
        .join(Resident, JOIN.LEFT_OUTER, on=(ImportChange.resident == Resident.id))
        .where(ImportChange.import_log == log.id)
        .order_by(ImportChange.id)
    )
    if actor.township_id is not None:
        query = query.where(Resident.township == actor.township_id)
    return [
        FieldChange(c.row, show(c.id_number), c.field, c.old_value, c.new_value, c.resident_id) for c in query
    ]


def _payment_text(c: Contribution) -> str:
    return f"{c.year}年{c.kind} {format_yuan(c.amount_fen)}元 {c.channel} 税票{c.voucher}".replace("  ", " ")


@dataclass
class ResidentChange:
    """One line of a resident's history that came from an import (for the person's change history)."""

    at: dt.datetime
    import_id: int
    kind: str
    file_name: str
    username: str
    column: str
    old: str
    new: str


def resident_changes(actor: Actor, resident_id: int) -> list[ResidentChange]:
    """Everything imports did to one resident, oldest first: the roster import that registered them, and
    every field a later roster or list import changed (old -> new)."""
    require(actor, "roster.view")
    resident = Resident.get_or_none(Resident.id == resident_id)
    if resident is None:
        raise UserError("没有这个居民。")
    if actor.township_id is not None and resident.township_id != actor.township_id:
        raise UserError("只能查看本乡镇居民的记录。")
    out: list[ResidentChange] = []
    if resident.import_log_id:
        log = ImportLog.get_or_none(ImportLog.id == resident.import_log_id)
        if log is not None:
            out.append(ResidentChange(log.started_at, log.id, log.kind, log.file_name, log.username,
                                      "参保登记", "", resident.name))  # fmt: skip
    query = (
        ImportChange.select(ImportChange, ImportLog)
        .join(ImportLog)
        .where((ImportChange.resident == resident_id) | (ImportChange.id_number == resident.id_number))
        .order_by(ImportChange.id)
    )
    for c in query:
        log = c.import_log
        out.append(ResidentChange(log.started_at, log.id, log.kind, log.file_name, log.username, c.field,
                                  c.old_value, c.new_value))  # fmt: skip
    return out


CHANGE_HEADERS = ("行号", "身份证号码", "项目", "原值", "新值")


def export_changes(actor: Actor, import_id: int, out: str | Path) -> int:
    """One import's changes as .xlsx (or .csv): the record a clerk can keep or send. Returns the rows."""
    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise UserError(f"变更清单应导出为 .xlsx 或 .csv：{out.name}")
    if not out.parent.is_dir():
        raise UserError(f"导出文件夹不存在：{out.parent}")
    log = get(actor, import_id)
    rows = changes(actor, import_id)
    title = (f"{log.kind_name}导入 {log.file_name}（{log.at:%Y-%m-%d %H:%M}，{log.username}，"
             f"SHA-256 {log.sha256[:16]}…）的变更")  # fmt: skip
    data = ((c.row or "", c.id_number, c.column, c.old, c.new) for c in rows)
    if out.suffix.lower() == ".xlsx":
        return tables.write_table(out, CHANGE_HEADERS, data, sheet_title="变更", text_columns=[1],
                                  widths=[8, 22, 16, 40, 40], title=title)  # fmt: skip
    return tables.write_table(out, CHANGE_HEADERS, data)
