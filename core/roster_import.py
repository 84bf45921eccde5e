"""参保登记导入: a roster file in, validated residents out.

One pass over the rows, in chunks: validate each row, look the chunk's ID numbers up in the database,
insert the new residents and update the changed ones. Everything is written in one transaction, so a
cancel, Ctrl-C or lost connection leaves the database as it was.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core import audit, idcard
from core.auth import Actor, require
from core.progress import Job, Progress
from core.regions import TownshipMatcher, VillageCache, normalise_text
from core.rowcodes import ImportReport, RowIssue, issue
from core.tabular import Column, Layout, is_blank, is_footer, open_table, text_of
from dao import bulk
from dao.db import current
from dao.models import ImportLog, Resident, now

ID_ALIASES = (
    "身份证号码",
    "身份证号",
    "公民身份号码",
    "证件号码",
    "社会保障号码",
    "身份证",
    "社会保障号",
    "公民身份证号码",
)
NAME_ALIASES = ("姓名", "参保人姓名", "参保人", "缴费人姓名")
TOWNSHIP_ALIASES = ("乡镇", "乡镇(街道)", "所属乡镇", "镇街", "乡镇街道", "乡镇名称", "乡镇/街道", "街道")
VILLAGE_ALIASES = (
    "村", "村(社区)", "村(居)", "村居", "社区", "村(居)委会", "村居委会", "村委会", "居委会", "村名", "村(居)名称",
)  # fmt: skip

COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号码", ID_ALIASES, required=True),
    Column("name", "姓名", NAME_ALIASES, required=True),
    Column("sex", "性别", ("性别",)),
    Column("birth", "出生日期", ("出生日期", "出生年月", "出生年月日")),
    Column("township", "乡镇", TOWNSHIP_ALIASES, required=True),
    Column("village", "村居", VILLAGE_ALIASES),
    Column("phone", "联系电话", ("联系电话", "手机号码", "电话", "手机", "联系方式", "手机号")),
    Column("student", "是否在校学生", ("是否在校学生", "在校学生", "是否学生")),
    Column(
        "other_pension",
        "是否参加其他养老保险",
        ("是否参加其他养老保险", "其他养老保险", "是否参加职工养老保险"),
    ),
)

_YES = {"是", "Y", "YES", "1", "√", "✓", "TRUE", "在校", "已参加", "参加"}
_DATE_TEXT = re.compile(r"^(\d{4})\D{0,2}(\d{1,2})(?:\D{0,2}(\d{1,2}))?\D{0,2}$")
CHUNK = 5000
TICK = 1000


@dataclass(frozen=True, slots=True)
class _Valid:
    row: int
    info: idcard.IdInfo
    name: str
    township_id: int
    village: str
    phone: str
    cells: list


def _yes(value: object) -> bool:
    return not is_blank(value) and normalise_text(text_of(value)).upper() in _YES


def _sex_of(value: object) -> str | None:
    text = normalise_text(text_of(value)).upper()
    if text in ("男", "1", "M", "男性"):
        return "男"
    if text in ("女", "2", "F", "女性"):
        return "女"
    return None


def _date_parts(value: object) -> tuple[int, int, int | None] | None:
    """A birth-date cell as (year, month, day or None for 出生年月); None when unreadable."""
    if isinstance(value, dt.datetime):
        return value.year, value.month, value.day
    if isinstance(value, dt.date):
        return value.year, value.month, value.day
    text = text_of(value)
    if text.isdigit() and len(text) in (6, 8):
        return int(text[:4]), int(text[4:6]), int(text[6:8]) if len(text) == 8 else None
    match = _DATE_TEXT.match(text)
    if not match:
        return None
    year, month, day = match.groups()
    return int(year), int(month), int(day) if day else None


def _check_birth(value: object, born: dt.date) -> bool:
    parts = _date_parts(value)
    if parts is None:
        return False
    year, month, day = parts
    return (year, month) == (born.year, born.month) and (day is None or day == born.day)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _RowChecker:
    """Validates single rows; keeps the state that spans rows (IDs seen, township matcher)."""

    def __init__(self, layout: Layout, actor: Actor, as_of: dt.date, report: ImportReport) -> None:
        m = layout.mapping
        self.idx = {f: m.get(f) for f in ("id_number", "name", "sex", "birth", "township", "village", "phone",
                                          "student", "other_pension")}  # fmt: skip
        self.label = {f: layout.label(f) for f in self.idx}
        self.actor = actor
        self.as_of = as_of
        self.report = report
        self.towns = TownshipMatcher.load()
        self.seen: dict[str, int] = {}
        self.width = max(i for i in self.idx.values() if i is not None) + 1

    def _cell(self, cells: list, field: str) -> object:
        i = self.idx[field]
        return cells[i] if i is not None and i < len(cells) else None

    def is_data(self, cells: list) -> bool:
        return any(not is_blank(c) for c in cells[: self.width]) and not is_footer(cells)

    def check(self, row: int, cells: list) -> _Valid | list[RowIssue]:
        """A valid row, or the issues that reject it. Warnings go to the report directly."""
        errors: list[RowIssue] = []
        col = self.label
        info = None
        try:
            info = idcard.parse(self._cell(cells, "id_number"), self.as_of)
        except idcard.IdError as exc:
            errors.append(issue(row, col["id_number"], exc.code, exc.detail))
        name = normalise_text(text_of(self._cell(cells, "name")))
        if not name:
            errors.append(issue(row, col["name"], "NAME_MISSING"))
        township_cell = self._cell(cells, "township")
        township_id = self.towns.match(township_cell)
        if township_id is None:
            errors.append(issue(row, col["township"], "TOWNSHIP_UNKNOWN", text_of(township_cell) or "空"))
        elif self.actor.township_id is not None and township_id != self.actor.township_id:
            errors.append(issue(row, col["township"], "TOWNSHIP_OUT_OF_SCOPE", text_of(township_cell)))
        if self.idx["student"] is not None and _yes(self._cell(cells, "student")):
            errors.append(issue(row, col["student"], "STUDENT"))
        if self.idx["other_pension"] is not None and _yes(self._cell(cells, "other_pension")):
            errors.append(issue(row, col["other_pension"], "OTHER_PENSION"))
        if info is not None:
            first = self.seen.get(info.number)
            if first is not None:
                errors.append(issue(row, col["id_number"], "DUPLICATE_IN_FILE", f"与第 {first} 行相同"))
            else:
                self.seen[info.number] = row
            age = idcard.age_on(info.birth_date, self.as_of)
            if age < 16:
                errors.append(
                    issue(row, col["id_number"], "AGE_UNDER_16", f"{self.as_of:%Y-%m-%d} 时 {age} 岁")
                )
        if errors:
            return errors
        assert info is not None and township_id is not None
        self._warnings(row, cells, info)
        return _Valid(
            row,
            info,
            name,
            township_id,
            text_of(self._cell(cells, "village")),
            normalise_text(text_of(self._cell(cells, "phone"))),
            cells,
        )

    def _warnings(self, row: int, cells: list, info: idcard.IdInfo) -> None:
        add = self.report.add
        if info.legacy15:
            add(issue(row, self.label["id_number"], "ID_LEGACY_15", info.number))
        if self.idx["sex"] is not None:
            sex = _sex_of(self._cell(cells, "sex"))
            if sex is not None and sex != info.sex:
                add(issue(row, self.label["sex"], "SEX_MISMATCH", f"身份证号码为{info.sex}"))
        if self.idx["birth"] is not None:
            value = self._cell(cells, "birth")
            if not is_blank(value) and not _check_birth(value, info.birth_date):
                add(
                    issue(
                        row,
                        self.label["birth"],
                        "BIRTHDATE_MISMATCH",
                        f"身份证号码为 {info.birth_date:%Y-%m-%d}",
                    )
                )


_EXISTING_FIELDS = (Resident.id, Resident.name, Resident.phone, Resident.township, Resident.village)
_INSERT_COLUMNS = (
    "id_number", "name", "sex", "birth_date", "township_id", "village_id", "phone", "household_type",
    "status", "enrolled_on", "import_log_id", "created_at", "updated_at", "version",
)  # fmt: skip
_UPDATE_COLUMNS = ("name", "phone", "township_id", "village_id", "updated_at")


class _Writer:
    """Classifies a chunk of valid rows against the database and writes it (unless dry run)."""

    def __init__(self, actor: Actor, report: ImportReport, as_of: dt.date, log_id: int | None) -> None:
        self.actor = actor
        self.report = report
        self.as_of = as_of
        self.log_id = log_id
        self.dry_run = log_id is None
        self.villages = VillageCache(dry_run=self.dry_run)

    def flush(self, chunk: Sequence[_Valid]) -> None:
        if not chunk:
            return
        existing = bulk.fetch_by_keys(
            Resident, Resident.id_number, _EXISTING_FIELDS, (v.info.number for v in chunk)
        )
        moment = now()
        inserts: list[tuple] = []
        updates: list[tuple] = []
        changes: list[tuple[object, dict, dict]] = []
        scope = self.actor.township_id
        for v in chunk:
            village_id = self.villages.get(v.township_id, v.village) if v.village else None
            old = existing.get(v.info.number)
            if old is None:
                inserts.append((
                    v.info.number, v.name, v.info.sex, v.info.birth_date, v.township_id, village_id, v.phone, "",
                    "正常参保", self.as_of, self.log_id, moment, moment, 1,
                ))  # fmt: skip
                continue
            pk, old_name, old_phone, old_town, old_village = old
            if scope is not None and old_town != scope:
                self.report.rejected += 1
                self.report.add(issue(v.row, "乡镇", "TOWNSHIP_OUT_OF_SCOPE", "该居民已登记在其他乡镇"))
                self.report.rejected_rows.append((v.row, list(v.cells)))
                continue
            # An empty cell in the file carries no information: it does not blank a stored value.
            new = {
                "name": v.name,
                "phone": v.phone or old_phone,
                "township_id": v.township_id,
                "village_id": village_id if v.village else old_village,
            }
            before = {
                "name": old_name,
                "phone": old_phone,
                "township_id": old_town,
                "village_id": old_village,
            }
            if new == before:
                self.report.unchanged += 1
                continue
            updates.append((new["name"], new["phone"], new["township_id"], new["village_id"], moment, pk))
            diff = {k for k in new if new[k] != before[k]}
            changes.append((pk, {k: before[k] for k in diff}, {k: new[k] for k in diff}))
        self.report.imported += len(inserts)
        self.report.updated += len(updates)
        if not self.dry_run:
            bulk.insert_rows(Resident, _INSERT_COLUMNS, inserts)
            bulk.update_rows(Resident, _UPDATE_COLUMNS, updates, bump_version=True)
            if changes:
                audit.record_many(self.actor.username, "import_update", "resident", changes)


def import_roster(
    path: str | Path,
    actor: Actor,
    *,
    sheet: str | None = None,
    as_of: dt.date | None = None,
    dry_run: bool = False,
    overrides: dict[str, int] | None = None,
) -> Job[ImportReport]:
    """Validate (and unless ``dry_run`` write) a roster file. A generator: see ``core.progress``.

    Raises FileUnusable (a UserError) when the file as a whole cannot be used.
    """
    require(actor, "roster.import")
    path = Path(path)
    as_of = as_of or dt.date.today()
    table = open_table(path, COLUMNS, sheet=sheet, overrides=overrides)
    report = ImportReport(
        dry_run=dry_run,
        file_name=path.name,
        sha256=file_sha256(path),
        headers=table.layout.headers,
        header_row=table.layout.header_row,
        text_columns=[table.layout.mapping["id_number"]],
    )
    checker = _RowChecker(table.layout, actor, as_of, report)
    try:
        with current().atomic():
            log_id = None
            if not dry_run:
                log_id = ImportLog.create(
                    kind="roster",
                    file_name=path.name,
                    sha256=report.sha256,
                    username=actor.username,
                    township=actor.township_id,
                ).id
            writer = _Writer(actor, report, as_of, log_id)
            chunk: list[_Valid] = []
            total = table.source.estimated_rows
            for row, cells in table.rows:
                if not checker.is_data(cells):
                    continue
                report.rows += 1
                result = checker.check(row, cells)
                if isinstance(result, _Valid):
                    chunk.append(result)
                    if len(chunk) >= CHUNK:
                        writer.flush(chunk)
                        chunk = []
                else:
                    report.rejected += 1
                    for found in result:
                        report.add(found)
                    report.rejected_rows.append((row, list(cells)))
                if report.rows % TICK == 0:
                    yield Progress(row, max(total, row), "导入中")
            writer.flush(chunk)
            yield Progress(total, total, "写入数据库")
            report.errors.sort(key=lambda e: e.row)
            report.warnings.sort(key=lambda w: w.row)
            report.rejected_rows.sort(key=lambda r: r[0])
            if log_id is not None:
                ImportLog.update(
                    rows=report.rows,
                    imported=report.imported,
                    updated=report.updated,
                    unchanged=report.unchanged,
                    rejected=report.rejected,
                    warnings=len(report.warnings),
                ).where(ImportLog.id == log_id).execute()
                audit.record(actor.username, "import", "import_log", log_id, after={
                    "file": path.name, "sha256": report.sha256, **{k: v for k, v in report.as_json().items()
                                                                  if isinstance(v, int)}})  # fmt: skip
                report.import_id = log_id
    finally:
        table.source.close()
    return report


def history(actor: Actor, limit: int = 200) -> list[ImportLog]:
    """Past imports; a township clerk sees the imports made for their township."""
    require(actor, "roster.view")
    query = ImportLog.select().where(ImportLog.kind == "roster").order_by(ImportLog.id.desc()).limit(limit)
    if actor.township_id is not None:
        query = query.where(ImportLog.township == actor.township_id)
    return list(query)
