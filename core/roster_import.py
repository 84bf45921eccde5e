"""参保登记导入: a roster file in, validated residents out.

One pass over the rows, in chunks: validate each row, look the chunk's ID numbers up in the database,
insert the new residents and update the changed ones. Everything is written in one transaction, so a
cancel, Ctrl-C or lost connection leaves the database as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import peewee as pw

from core import audit, idcard, imports, phone, rules
from core.auth import Actor, require
from core.errors import UserError
from core.imports import FieldChange
from core.progress import Job, Progress
from core.regions import TownshipMatcher, VillageCache, normalise_text, village_register
from core.rowcodes import ImportReport, RowIssue, issue, register, too_long
from core.tabular import Column, Layout, OpenedTable, excel_serial_date, is_blank, open_table, text_of
from dao import bulk, pg_security
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
    # The enrolment date, where the roster has it; without the column it stays unknown, never invented.
    Column(
        "enrolled_on",
        "参保日期",
        ("参保日期", "参保时间", "参保登记日期", "参保登记时间", "首次参保日期", "参保年月", "参保起始日期"),
    ),
)
# Column widths of the resident table: a longer text is a row error (TEXT_TOO_LONG), not a failed file.
NAME_MAX = Resident.name.max_length
PHONE_MAX = Resident.phone.max_length
VILLAGE_MAX = 60

register("VILLAGE_NOT_IN_TOWNSHIP", True, "村居不在该乡镇的区划中（系统管理→区划）")
# A wrong phone does not keep a person out of the scheme: the row is imported without it (an already
# registered person keeps the stored phone), and the warning tells the sender what to correct.
register("PHONE_INVALID", False, "联系电话无效，未导入该电话（手机号码 11 位；固定电话须带区号）")
register(
    "IDENTITY_CHANGED",
    False,
    "已登记居民的身份信息与文件不同，未修改；核对无误后勾选该行（命令行 --apply-changes）再导入即可接受",
)

# Name, sex, birth date, township and village say who and where a person is: a file does not change them
# silently. Other fields (phone) update as the file says.
IDENTITY_FIELDS = ("name", "sex", "birth_date", "township_id", "village_id")
FIELD_LABELS = {"name": "姓名", "sex": "性别", "birth_date": "出生日期", "township_id": "乡镇",
                "village_id": "村居", "phone": "联系电话", "enrolled_on": "参保日期"}  # fmt: skip
_LAYOUT_FIELD = {"name": "name", "sex": "sex", "birth_date": "birth", "township_id": "township",
                 "village_id": "village", "phone": "phone", "enrolled_on": "enrolled_on"}  # fmt: skip

_YES = {"是", "Y", "YES", "1", "√", "✓", "TRUE", "在校", "已参加", "参加"}
_DATE_TEXT = re.compile(r"^(\d{4})\D{0,2}(\d{1,2})(?:\D{0,2}(\d{1,2}))?\D{0,2}$")
CHUNK = 5000
MIN_AGE = rules.MIN_AGE  # 参保范围: at least 16 years old
TICK = 1000


class _Valid(NamedTuple):
    row: int
    info: idcard.IdInfo
    name: str
    township_id: int
    village: str
    phone: str
    cells: list
    enrolled_on: dt.date | None = None


_FOOTER_STARTS = {"合计", "总计", "小计", "制表", "填表", "审核", "负责", "备注", "说明", "注：", "注:"}
_SPACE_CHARS = " \t\r\n\u3000\u00a0"
_INNER_SPACE = re.compile(r"[\s\u3000]+")


def _squash(value: object) -> str:
    """Cell text without any spaces (names typed as 张  三, phones as 138 0000 0000)."""
    if value.__class__ is not str:
        return normalise_text(text_of(value))
    text = value.strip()
    if " " in text or "\u3000" in text or "\t" in text or "\n" in text:
        text = _INNER_SPACE.sub("", text)
    return text


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
    serial = excel_serial_date(value)
    if serial is not None:
        return serial.year, serial.month, serial.day
    text = text_of(value)
    if text.isdigit() and len(text) in (6, 8):
        return int(text[:4]), int(text[4:6]), int(text[6:8]) if len(text) == 8 else None
    match = _DATE_TEXT.match(text)
    if not match:
        return None
    year, month, day = match.groups()
    return int(year), int(month), int(day) if day else None


def _birth_matches(value: object, born: dt.date) -> bool:
    parts = _date_parts(value)
    if parts is None:
        return False
    year, month, day = parts
    return (year, month) == (born.year, born.month) and (day is None or day == born.day)


def _sixteenth(born: dt.date) -> dt.date:
    """The 16th birthday (29 February -> 1 March in a common year)."""
    try:
        return born.replace(year=born.year + MIN_AGE)
    except ValueError:
        return dt.date(born.year + MIN_AGE, 3, 1)


def _as_date(value: object) -> dt.date | None:
    """A stored DATE as the driver returns it (SQLite through a raw look-up gives text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _RowChecker:
    """Validates single rows; keeps the state that spans rows (IDs seen, township matcher)."""

    def __init__(
        self, layout: Layout, actor: Actor, as_of: dt.date, report: ImportReport,
        register: dict[int, set[str]] | None = None,
    ) -> None:  # fmt: skip
        m = layout.mapping
        self.idx = {f: m.get(f) for f in ("id_number", "name", "sex", "birth", "township", "village", "phone",
                                          "student", "other_pension", "enrolled_on")}  # fmt: skip
        self.label = {f: layout.label(f) for f in self.idx}
        self.actor = actor
        self.as_of = as_of
        self.report = report
        self.towns = TownshipMatcher.load()
        self.seen: dict[str, int] = {}
        self.width = max(i for i in self.idx.values() if i is not None) + 1
        self._towns: dict[object, int | None] = {}
        self.born_by = idcard.born_by(as_of, MIN_AGE)  # born on or before this day: old enough
        self.scope = actor.township_id
        self.positions = tuple(self.idx.values())[:9]
        self.i_enrolled = self.idx["enrolled_on"]
        self.register = village_register() if register is None else register

    def data_cells(self, cells: list) -> list | None:
        """The row padded to the mapped width, or None for a blank, total or signature row (not data)."""
        if len(cells) < self.width:
            cells = [*cells, *[""] * (self.width - len(cells))]
        for value in cells[: self.width]:
            if value is None or value == "":
                continue
            if value.__class__ is str:
                text = value.strip()
                if not text:
                    continue
                return None if text[:2] in _FOOTER_STARTS else cells
            return cells
        return None

    def _township(self, value: object) -> int | None:
        try:
            return self._towns[value]
        except KeyError:
            found = self._towns[value] = self.towns.match(value)
            return found
        except TypeError:  # unhashable cell value
            return self.towns.match(value)

    def check(self, row: int, cells: list) -> _Valid | list[RowIssue]:
        """A valid row, or the issues that reject it (``cells`` from ``data_cells``). Warnings go to the report.

        Runs for every row of every import: locals over attribute look-ups, rare cases out of line.
        """
        i_id, i_name, i_sex, i_birth, i_town, i_village, i_phone, i_student, i_other = self.positions
        errors: list[RowIssue] = []
        info = None
        try:
            info = idcard.parse(cells[i_id], self.as_of)
        except idcard.IdError as exc:
            errors.append(issue(row, self.label["id_number"], exc.code, exc.detail))
        name = _squash(cells[i_name])
        if not name:
            errors.append(issue(row, self.label["name"], "NAME_MISSING"))
        elif len(name) > NAME_MAX:
            errors.append(
                issue(row, self.label["name"], "TEXT_TOO_LONG", f"{len(name)} 个字，最多 {NAME_MAX} 个字")
            )
        town_cell = cells[i_town]
        town_id = self._towns.get(town_cell, -1) if town_cell.__class__ is str else -1
        if town_id == -1:
            town_id = self._township(town_cell)
        if town_id is None or (self.scope is not None and town_id != self.scope):
            code = "TOWNSHIP_UNKNOWN" if town_id is None else "TOWNSHIP_OUT_OF_SCOPE"
            errors.append(issue(row, self.label["township"], code, text_of(town_cell) or "空"))
        if i_student is not None and _yes(cells[i_student]):
            errors.append(issue(row, self.label["student"], "STUDENT"))
        if i_other is not None and _yes(cells[i_other]):
            errors.append(issue(row, self.label["other_pension"], "OTHER_PENSION"))
        if info is not None:
            number = info.number
            first = self.seen.setdefault(number, row)
            if first != row:
                errors.append(
                    issue(row, self.label["id_number"], "DUPLICATE_IN_FILE", f"与第 {first} 行相同")
                )
            if info.birth_date > self.born_by:
                age = idcard.age_on(info.birth_date, self.as_of)
                errors.append(
                    issue(row, self.label["id_number"], "AGE_UNDER_16", f"{self.as_of:%Y-%m-%d} 时 {age} 岁")
                )
        village = cells[i_village] if i_village is not None else ""
        if village.__class__ is not str:
            village = text_of(village)
        phone_text = _squash(cells[i_phone]) if i_phone is not None else ""
        if len(village) > VILLAGE_MAX or len(phone_text) > PHONE_MAX:
            self._too_long(row, village, phone_text, errors)
        enrolled_on = None
        if self.i_enrolled is not None and not is_blank(cells[self.i_enrolled]):
            enrolled_on = self._enrolled_on(row, cells[self.i_enrolled], info, errors)
        if errors:
            return errors
        assert info is not None and town_id is not None
        if info.legacy15:
            self.report.add(issue(row, self.label["id_number"], "ID_LEGACY_15", info.number))
        if i_sex is not None and cells[i_sex] != info.sex:  # the common case costs one comparison
            self._check_sex(row, cells[i_sex], info)
        if i_birth is not None and cells[i_birth] != info.birth_date.isoformat():
            self._check_birth(row, cells[i_birth], info)
        if phone_text and phone.problem(phone_text) is not None:
            self.report.add(issue(row, self.label["phone"], "PHONE_INVALID", phone.problem(phone_text) or ""))
            phone_text = ""
        if town_id in self.register and village and normalise_text(village) not in self.register[town_id]:
            town_name = self.towns.names.get(town_id, "")
            return [
                issue(
                    row, self.label["village"], "VILLAGE_NOT_IN_TOWNSHIP", f"“{village}”不是{town_name}的村居"
                )
            ]
        return _Valid(row, info, name, town_id, village, phone_text, cells, enrolled_on)

    def _too_long(self, row: int, village: str, phone: str, errors: list[RowIssue]) -> None:
        for field, text, limit in (("village", village, VILLAGE_MAX), ("phone", phone, PHONE_MAX)):
            found = too_long(row, self.label[field], text, limit)
            if found is not None:
                errors.append(found)

    def _enrolled_on(
        self, row: int, value: object, info: idcard.IdInfo | None, errors: list[RowIssue]
    ) -> dt.date | None:
        """参保日期 as the roster gives it (a year and month means its first day); not in the future, not
        before the person turned 16."""
        parts = _date_parts(value)
        day = None
        if parts is not None:
            try:
                day = dt.date(parts[0], parts[1], parts[2] or 1)
            except ValueError:
                day = None
        label = self.label["enrolled_on"]
        if day is None:
            errors.append(issue(row, label, "DATE_INVALID", text_of(value)))
        elif day > max(self.as_of, dt.date.today()):
            errors.append(issue(row, label, "DATE_INVALID", f"{day:%Y-%m-%d} 晚于今天"))
        elif info is not None and day < _sixteenth(info.birth_date):
            errors.append(issue(row, label, "DATE_INVALID", f"{day:%Y-%m-%d} 早于年满 16 周岁"))
        else:
            return day
        return None

    def _check_sex(self, row: int, value: object, info: idcard.IdInfo) -> None:
        sex = _sex_of(value)
        if sex is not None and sex != info.sex:
            self.report.add(issue(row, self.label["sex"], "SEX_MISMATCH", f"身份证号码为{info.sex}"))

    def _check_birth(self, row: int, value: object, info: idcard.IdInfo) -> None:
        if not is_blank(value) and not _birth_matches(value, info.birth_date):
            born = f"{info.birth_date:%Y-%m-%d}"
            self.report.add(issue(row, self.label["birth"], "BIRTHDATE_MISMATCH", f"身份证号码为 {born}"))


_EXISTING_COLUMNS = ("id", "name", "sex", "birth_date", "phone", "township_id", "village_id", "enrolled_on")
_INSERT_COLUMNS = (
    "id_number",
    "name",
    "sex",
    "birth_date",
    "township_id",
    "village_id",
    "phone",
    "enrolled_on",
)
_UPDATE_COLUMNS = (
    "name",
    "sex",
    "birth_date",
    "phone",
    "township_id",
    "village_id",
    "enrolled_on",
    "updated_at",
)


class _Writer:
    """Classifies a chunk of valid rows against the database and writes it (unless dry run)."""

    def __init__(self, actor: Actor, report: ImportReport, as_of: dt.date, log_id: int | None,
                 layout: Layout, apply_changes: bool | frozenset[str], villages: VillageCache | None = None) -> None:  # fmt: skip
        self.actor = actor
        self.report = report
        self.labels = {f: layout.label(src) for f, src in _LAYOUT_FIELD.items()}
        self.as_of = as_of
        self.log_id = log_id
        self.dry_run = log_id is None
        self.apply_changes = apply_changes
        self.villages = villages or VillageCache(dry_run=self.dry_run)
        self.towns = TownshipMatcher.load().names
        self.changes: list[FieldChange] = []  # applied (the import's record and the JSON ``updates``)
        self.behind = bulk.WriteBehind()  # a chunk's new residents go in while the next chunk is checked

    def _text(self, field: str, value: object) -> str:
        if field == "township_id":
            return self.towns.get(value, "") if value is not None else ""  # type: ignore[arg-type]
        if field == "village_id":
            return self.villages.name_of(value)  # type: ignore[arg-type]
        return "" if value is None else str(value)[:10] if field == "birth_date" else str(value)

    def _accepts(self, number: str) -> bool:
        return self.apply_changes is True or (
            isinstance(self.apply_changes, frozenset) and number in self.apply_changes
        )

    def flush(self, chunk: Sequence[_Valid]) -> None:
        self.behind.wait()  # the previous chunk's insert: the connection is ours again, its errors raised here
        if not chunk:
            return
        existing = bulk.fetch_by_keys(
            Resident, "id_number", _EXISTING_COLUMNS, (v.info.number for v in chunk)
        )
        moment = now()
        inserts: list[tuple] = []
        updates: list[tuple] = []
        audit_rows: list[tuple[object, dict, dict]] = []
        scope = self.actor.township_id
        hidden = set()  # PostgreSQL: a clerk's role does not see other townships' residents at all
        if scope is not None:
            hidden = pg_security.registered_elsewhere(
                current(), [v.info.number for v in chunk if v.info.number not in existing]
            )
        report = self.report
        for v in chunk:
            old = existing.get(v.info.number)
            if old is None and v.info.number in hidden:
                old = (None,) * len(_EXISTING_COLUMNS)  # in a township it cannot see: refused below
            if old is None:
                village_id = self.villages.get(v.township_id, v.village) if v.village else None
                info = v.info
                inserts.append(
                    (info.number, v.name, info.sex, info.birth_date, v.township_id, village_id, v.phone,
                     v.enrolled_on)
                )  # fmt: skip
                continue
            pk, old_name, old_sex, old_birth, old_phone, old_town, old_village, old_enrolled = old
            old_enrolled = _as_date(old_enrolled)
            if scope is not None and old_town != scope:
                report.rejected += 1
                report.add(
                    issue(
                        v.row, self.labels["township_id"], "TOWNSHIP_OUT_OF_SCOPE", "该居民已登记在其他乡镇"
                    )
                )
                report.rejected_rows.append((v.row, list(v.cells)))
                continue
            before = {"name": old_name, "sex": old_sex, "birth_date": str(old_birth)[:10], "township_id": old_town,
                      "village_id": old_village, "phone": old_phone, "enrolled_on": old_enrolled}  # fmt: skip
            # An empty cell carries no information: it does not blank a stored value. But a village belongs
            # to its township: a move to another township with no village leaves the village unknown.
            village_id: int | str | None = old_village if v.township_id == old_town else None
            new_village_text = ""
            if v.village:
                village_id = self.villages.find(v.township_id, v.village)
                if village_id is None:  # a village this township does not have yet: made only if applied
                    village_id, new_village_text = "new", normalise_text(v.village)
            new = {"name": v.name, "sex": v.info.sex, "birth_date": v.info.birth_date.isoformat(),
                   "township_id": v.township_id, "village_id": village_id, "phone": v.phone or old_phone,
                   "enrolled_on": v.enrolled_on or old_enrolled}  # fmt: skip
            diff = [k for k in new if new[k] != before[k]]
            if not diff:
                report.unchanged += 1
                continue
            held = [k for k in diff if k in IDENTITY_FIELDS]
            if held and not self._accepts(v.info.number):
                for k in held:
                    new_text = new_village_text if new[k] == "new" else self._text(k, new[k])
                    old_text = self._text(k, before[k])
                    report.add(issue(v.row, self.labels[k], "IDENTITY_CHANGED",
                                     f"{old_text or '空'} → {new_text or '空'}"))  # fmt: skip
                    report.held.append(
                        FieldChange(v.row, v.info.number, self.labels[k], old_text, new_text, pk)
                    )
                for k in held:
                    new[k] = before[k]
                diff = [k for k in diff if k not in held]
                if not diff:
                    report.unchanged += 1
                    continue
            if new["village_id"] == "new":
                new["village_id"] = self.villages.get(v.township_id, v.village)
            for k in diff:
                self.changes.append(FieldChange(v.row, v.info.number, self.labels[k], self._text(k, before[k]),
                                                new_village_text or self._text(k, new[k]) if k == "village_id"
                                                else self._text(k, new[k]), pk))  # fmt: skip
            updates.append((new["name"], new["sex"], new["birth_date"], new["phone"], new["township_id"],
                            new["village_id"], new["enrolled_on"], moment, pk))  # fmt: skip
            audit_rows.append((pk, {k: before[k] for k in diff}, {k: new[k] for k in diff}))
        report.imported += len(inserts)
        report.updated += len(updates)
        if not self.dry_run:
            constants = {"household_type": "", "status": "正常参保", "import_log_id": self.log_id,
                         "created_at": moment, "updated_at": moment, "version": 1}  # fmt: skip
            bulk.update_rows(Resident, _UPDATE_COLUMNS, updates, bump_version=True)
            if audit_rows:
                audit.record_many(self.actor.username, "import_update", "resident", audit_rows)
            bulk.insert_rows(Resident, _INSERT_COLUMNS, inserts, constants, behind=self.behind)


def _process(table: OpenedTable, checker: _RowChecker, writer: _Writer, report: ImportReport) -> Job[None]:
    """The hot loop: classify each row, write valid ones in chunks."""
    try:
        yield from _check_rows(table, checker, writer, report)
    except BaseException:  # cancelled or failed: the last insert ends before the transaction rolls back
        with contextlib.suppress(Exception):
            writer.behind.wait()
        raise
    writer.behind.wait()


def _check_rows(table: OpenedTable, checker: _RowChecker, writer: _Writer, report: ImportReport) -> Job[None]:
    chunk: list[_Valid] = []
    # Data rows, not file rows: the header and the lines above it are not counted (60,000, not 60,001).
    total = max(0, table.source.estimated_rows - table.layout.header_row)
    data_cells, check, width = checker.data_cells, checker.check, checker.width
    for row, raw in table.rows:
        first = raw[0] if raw else None
        if (
            first.__class__ is str
            and first
            and first[0] not in _SPACE_CHARS
            and first[:2] not in _FOOTER_STARTS
            and len(raw) >= width
        ):
            cells = raw  # the common row: a name (or ID) in the first column
        else:
            cells = data_cells(raw)
            if cells is None:
                continue
        report.rows += 1
        result = check(row, cells)
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
            yield Progress(report.rows, max(total, report.rows), "导入中")
    writer.flush(chunk)


CONCURRENT_IMPORT = (
    "另一台电脑正在同时导入相同的人员（或村居），本次导入已撤销，未写入任何数据：请稍后重新导入这个文件。"
)


def import_roster(
    path: str | Path,
    actor: Actor,
    *,
    sheet: str | None = None,
    as_of: dt.date | None = None,
    dry_run: bool = False,
    overrides: dict[str, int] | None = None,
    apply_changes: bool | Iterable[str] = False,
) -> Job[ImportReport]:
    """Validate (and unless ``dry_run`` write) a roster file. A generator: see ``core.progress``.

    Identity changes of people already registered (name, sex, birth date, township, village) are held as
    IDENTITY_CHANGED warnings unless ``apply_changes`` is True or holds the person's ID number.
    Raises FileUnusable (a UserError) when the file as a whole cannot be used.

    Two offices importing overlapping rosters at once on PostgreSQL: the second to commit finds the first
    one's new residents (or villages) under its unique keys; its transaction is rolled back and the import
    runs once more, now seeing them as existing people. A second clash gives a Chinese message instead of
    the driver's.
    """
    if not isinstance(apply_changes, bool):
        apply_changes = frozenset(apply_changes)  # read once: a second attempt must see the same numbers
    for attempt in (1, 2):
        try:
            return (yield from _import_once(path, actor, sheet=sheet, as_of=as_of, dry_run=dry_run,
                                            overrides=overrides, apply_changes=apply_changes))  # fmt: skip
        except pw.IntegrityError as exc:
            if attempt == 2:
                raise UserError(CONCURRENT_IMPORT) from exc
            yield Progress(0, 1, "其他电脑同时导入了相同人员，重新导入")
    raise AssertionError("unreachable")


def _import_once(
    path: str | Path,
    actor: Actor,
    *,
    sheet: str | None,
    as_of: dt.date | None,
    dry_run: bool,
    overrides: dict[str, int] | None,
    apply_changes: bool | Iterable[str],
) -> Job[ImportReport]:
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
    villages = VillageCache(dry_run=dry_run)  # one read of the villages for the checks and the writes
    checker = _RowChecker(table.layout, actor, as_of, report, villages.register)
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
            accepted = apply_changes if isinstance(apply_changes, bool) else frozenset(apply_changes)
            writer = _Writer(actor, report, as_of, log_id, table.layout, accepted, villages)
            yield from _process(table, checker, writer, report)
            yield Progress(report.rows, report.rows, "写入数据库")
            report.errors.sort(key=lambda e: e.row)
            report.warnings.sort(key=lambda w: w.row)
            report.rejected_rows.sort(key=lambda r: r[0])
            report.updates = writer.changes
            if log_id is not None:
                imports.record_changes(log_id, writer.changes)
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
