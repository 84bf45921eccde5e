"""One person at a time, at the counter: 新参保登记, 信息变更, 转移 and 暂停/终止/恢复 — each with its reason, in
one transaction, audited, and kept in the person's append-only history (``resident_event``).

Registration runs the roster import's own row checks (``core.roster_import``), so a refusal carries the
same code as the same person in a file. A status change brings its consequences in the same transaction:
the 政府代缴 list (``core.special_groups``: not 正常参保 on 1 January of a year, not on that year's list; a
removal already handed off becomes a 冲正 through the usual handoff), refund candidates for payments of
years after a 终止 (死亡, 参加职工养老保险), and the person's open arrears voided.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import peewee as pw

from core import arrears, audit, idcard, insured, phone, policy, regions, roster, roster_import
from core import special_groups as sg
from core.auth import ADMIN, REVIEWER, Actor, check_township, display_names, require
from core.errors import PermissionDenied, UserError
from core.imports import resident_changes
from core.regions import VillageCache, normalise_text
from core.rowcodes import ImportReport, RowIssue, issue
from core.rowcodes import register as register_code
from core.tabular import Layout
from dao import pg_security
from dao.db import current
from dao.models import (
    CANDIDATE_OPEN,
    EVENT_CHANGE,
    EVENT_MOVE,
    EVENT_REGISTER,
    EVENT_STATUS,
    FLAGGING_STATES,
    Contribution,
    GovernmentPayment,
    RefundCandidate,
    Resident,
    ResidentEvent,
    SpecialList,
    SpecialListEntry,
    Village,
    now,
)

register_code("ALREADY_REGISTERED", True, "该身份证号码已登记参保")

INSURED, SUSPENDED, TERMINATED = "正常参保", "暂停", "终止"
STATUS_REASONS = ("死亡", "参加职工养老保险", "迁出本县", "重复参保", "其他")
REFUND_AFTER = insured.REFUND_AFTER  # 死亡 / 参加职工养老保险: later years' payments become refund candidates
CHANGE_FIELDS = {
    "name": "姓名",
    "sex": "性别",
    "birth_date": "出生日期",
    "village": "村居",
    "phone": "联系电话",
}
IDENTITY_FIELDS = ("name", "sex", "birth_date")
KIND_NAMES = {
    EVENT_REGISTER: "参保登记",
    EVENT_CHANGE: "信息变更",
    EVENT_MOVE: "转移",
    EVENT_STATUS: "参保状态",
}

_REGISTER_HEADERS = ("身份证号码", "姓名", "乡镇", "村居", "联系电话", "是否在校学生", "是否参加其他养老保险")
_REGISTER_FIELDS = ("id_number", "name", "township", "village", "phone", "student", "other_pension")


# --- looking people up ----------------------------------------------------------------------------------


def find(actor: Actor, id_number: str) -> Resident:
    """The resident of an ID number, if the actor may see them; otherwise a UserError naming the number."""
    require(actor, "roster.view")
    try:
        number = idcard.parse(id_number).number
    except idcard.IdError as exc:
        raise UserError(f"身份证号码无效：{id_number}（{exc.detail or exc.code}）") from exc
    resident = Resident.get_or_none(Resident.id_number == number)
    if resident is None:
        if pg_security.registered_elsewhere(current(), [number]):
            raise PermissionDenied(f"身份证号码 {number} 的居民登记在其他乡镇，只能处理本乡镇的居民。")
        raise UserError(f"花名册中没有身份证号码为 {number} 的居民。")
    check_township(actor, resident.township_id)
    return resident


def describe(resident: Resident) -> str:
    """张三（371325…，费城街道东王庄村，正常参保）: how a message names a person."""
    village = resident.village.name if resident.village_id else ""
    return f"{resident.name}（{resident.id_number}，{resident.township.name}{village}，{resident.status}）"


# --- 新参保登记 ------------------------------------------------------------------------------------------


@dataclass
class Registration:
    """The outcome of a registration: the resident (new, or the one already registered) and the refusals."""

    resident_id: int | None
    errors: list[RowIssue] = field(default_factory=list)
    warnings: list[RowIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def codes(self) -> list[str]:
        return [e.code for e in self.errors]

    def message(self) -> str:
        """One Chinese line for a refusal."""
        return "；".join(f"{e.column}：{e.message}" for e in self.errors)

    def as_json(self) -> dict[str, Any]:
        return {
            "resident_id": self.resident_id,
            "errors": [{"code": e.code, "message": e.message, "column": e.column} for e in self.errors],
            "warnings": [{"code": w.code, "message": w.message, "column": w.column} for w in self.warnings],
        }


@dataclass
class IdPreview:
    """What the registration form shows as the ID number is typed."""

    number: str = ""
    sex: str = ""
    birth_date: dt.date | None = None
    problem: str = ""  # why the number cannot be used (empty while it is fine)
    existing: Resident | None = None  # already registered (and visible to the actor)
    elsewhere: bool = False  # registered in a township the actor cannot see


def preview_id(actor: Actor, text: str, on: dt.date | None = None) -> IdPreview:
    """Sex and birth date from an ID number as typed, and whether the person is already registered."""
    require(actor, "roster.view")
    try:
        info = idcard.parse(text, on or dt.date.today())
    except idcard.IdError as exc:
        reason = roster_import_reason(exc.code)
        return IdPreview(problem=f"{reason}（{exc.detail}）" if exc.detail else reason)
    out = IdPreview(info.number, info.sex, info.birth_date)
    existing = Resident.get_or_none(Resident.id_number == info.number)
    if existing is not None and (actor.township_id is None or existing.township_id == actor.township_id):
        out.existing = existing
    elif existing is not None or pg_security.registered_elsewhere(current(), [info.number]):
        out.elsewhere = True
    return out


def roster_import_reason(code: str) -> str:
    from core.rowcodes import CODES

    return CODES.get(code, (True, code))[1]


def register(
    actor: Actor,
    id_number: str,
    name: str,
    township: str,
    village: str = "",
    phone_number: str = "",
    *,
    student: bool = False,
    other_pension: bool = False,
    on: dt.date | None = None,
) -> Registration:
    """新参保登记 of one person. Refusals come back as the roster's row codes (nothing written); an ID number
    already registered gives ALREADY_REGISTERED with that person's ``resident_id`` (None when they are in a
    township the actor may not see). The enrolment date is the registration day ``on`` (default today), on
    which the age is reckoned."""
    require(actor, "roster.edit")
    today = dt.date.today()
    on = on or today
    if on > today:
        raise UserError(f"登记日期 {on:%Y-%m-%d} 晚于今天，不能登记。")
    try:
        number = idcard.parse(id_number, on).number
    except idcard.IdError:
        number = None
    if number is not None:
        found = _already(actor, number)
        if found is not None:
            return found
    if not township and actor.township_id is not None:
        township = regions.township_name(actor.township_id)  # a clerk registers in their own township
    problems: list[RowIssue] = []
    reason = phone.problem(phone_number)
    if reason is not None:
        problems.append(issue(1, "联系电话", "PHONE_INVALID", reason, error=True, reason="联系电话无效"))
    layout = Layout(0, list(_REGISTER_HEADERS), {f: i for i, f in enumerate(_REGISTER_FIELDS)},
                    list(roster_import.COLUMNS))  # fmt: skip
    report = ImportReport()
    checker = roster_import._RowChecker(layout, actor, on, report)
    cells = [id_number, name, township, village, "" if reason else phone_number, "是" if student else "",
             "是" if other_pension else ""]  # fmt: skip
    checked = checker.check(1, cells)
    if isinstance(checked, list):
        return Registration(None, [*checked, *problems], report.warnings)
    if problems:
        return Registration(None, problems, report.warnings)
    valid = checked
    try:
        with current().atomic():
            village_id = VillageCache().get(valid.township_id, valid.village) if valid.village else None
            resident = Resident.create(
                id_number=valid.info.number, name=valid.name, sex=valid.info.sex, birth_date=valid.info.birth_date,
                township=valid.township_id, village=village_id, phone=valid.phone, status=INSURED, enrolled_on=on,
            )  # fmt: skip
            _event(actor, resident, EVENT_REGISTER, new_value=INSURED, reason="新参保登记", day=on)
            audit.record(actor.username, "register", "resident", resident.id,
                         after={"id_number": resident.id_number, "name": resident.name, "township_id": resident.township_id,
                                "village_id": village_id, "phone": valid.phone, "enrolled_on": on})  # fmt: skip
            # A hardship list waiting for this person: on the 代缴 list now, not at the next sync.
            sg.match_registered(actor, resident)
    except pw.IntegrityError:  # another PC registered the same number a moment ago
        found = _already(actor, valid.info.number)
        if found is None:
            raise
        return found
    return Registration(resident.id, [], report.warnings)


def _already(actor: Actor, number: str) -> Registration | None:
    existing = Resident.get_or_none(Resident.id_number == number)
    if existing is not None and (actor.township_id is None or existing.township_id == actor.township_id):
        detail = f"{describe(existing)}，参保日期 {existing.enrolled_on or '不详'}"
        return Registration(existing.id, [issue(1, "身份证号码", "ALREADY_REGISTERED", detail)])
    if existing is not None or pg_security.registered_elsewhere(current(), [number]):
        return Registration(
            None, [issue(1, "身份证号码", "ALREADY_REGISTERED", f"{number} 已在其他乡镇登记")]
        )
    return None


# --- 信息变更 -------------------------------------------------------------------------------------------


def change(
    actor: Actor,
    id_number: str,
    field_name: str,
    value: str,
    reason: str = "",
    id_card_seen: bool = False,
    *,
    version: int | None = None,
) -> Resident:
    """Change one field. Name, sex and birth date say who the person is: a reason and the ID card seen are
    required. ``version`` (what an editor saw) refuses a change made over someone else's."""
    require(actor, "roster.edit")
    if field_name not in CHANGE_FIELDS:
        raise UserError(f"可变更的项目为：{'、'.join(f'{k}（{v}）' for k, v in CHANGE_FIELDS.items())}。")
    label = CHANGE_FIELDS[field_name]
    reason = (reason or "").strip()
    if field_name in IDENTITY_FIELDS and (not reason or not id_card_seen):
        raise UserError(f"变更{label}须填写变更原因，并核对居民身份证原件（--reason、--id-card-seen）。")
    with current().atomic():
        resident = find(actor, id_number)
        if version is not None and version != resident.version:
            raise UserError("该居民的信息已被其他用户修改，请刷新后再改。")
        old_text, new_text, changes = _new_value(resident, field_name, value)
        if old_text == new_text:
            raise UserError(f"{label}与原来相同（{old_text or '空'}），未作变更。")
        updated = (
            Resident.update(**changes, updated_at=now(), version=Resident.version + 1)
            .where((Resident.id == resident.id) & (Resident.version == resident.version))
            .execute()
        )
        if updated != 1:
            raise UserError("该居民的信息已被其他用户修改，请刷新后再改。")
        _event(actor, resident, EVENT_CHANGE, field_name=field_name, old_value=old_text, new_value=new_text,
               reason=reason, day=dt.date.today(), id_card_seen=id_card_seen)  # fmt: skip
        audit.record(actor.username, "change", "resident", resident.id, before={field_name: old_text},
                     after={field_name: new_text, "reason": reason, "id_card_seen": id_card_seen})  # fmt: skip
    return Resident.get_by_id(resident.id)


def _new_value(resident: Resident, field_name: str, value: str) -> tuple[str, str, dict[str, object]]:
    """(old text, new text, the columns to write) for one field, or a UserError saying why not."""
    text = normalise_text(value or "")
    if field_name == "name":
        name = "".join(text.split())
        if not name:
            raise UserError("姓名不能为空。")
        if len(name) > roster_import.NAME_MAX:
            raise UserError(f"姓名最多 {roster_import.NAME_MAX} 个字。")
        return resident.name, name, {"name": name}
    if field_name == "sex":
        sex = {"男": "男", "女": "女", "1": "男", "2": "女"}.get(text)
        if sex is None:
            raise UserError("性别应为“男”或“女”。")
        return resident.sex, sex, {"sex": sex}
    if field_name == "birth_date":
        try:
            born = dt.date.fromisoformat(text)
        except ValueError:
            raise UserError(f"出生日期“{value}”无效，应为 YYYY-MM-DD。") from None
        if born > dt.date.today():
            raise UserError("出生日期不能晚于今天。")
        return resident.birth_date.isoformat(), born.isoformat(), {"birth_date": born}
    if field_name == "village":
        old = resident.village.name if resident.village_id else ""
        if not text:
            return old, "", {"village": None}
        village_id = _village(resident.township_id, text)
        return old, Village.get_by_id(village_id).name, {"village": village_id}
    number = "".join(text.split())
    problem = phone.problem(number)
    if problem is not None:
        raise UserError(f"联系电话无效：{problem}。")
    return resident.phone, number, {"phone": number}


def _village(township_id: int, name: str) -> int:
    village_id = VillageCache().get(township_id, name)
    if village_id is None:
        raise UserError(f"“{name}”不是{regions.township_name(township_id)}的村居（系统管理→区划）。")
    return village_id


# --- 转移 -----------------------------------------------------------------------------------------------


def move(
    actor: Actor,
    id_number: str,
    township: str,
    village: str = "",
    reason: str = "",
    on: dt.date | None = None,
) -> Resident:
    """A move to another township inside the county, by a county user. The person's payments, lists and
    cases stay theirs; both townships see the move in their history."""
    require(actor, "roster.edit")
    if actor.role not in (REVIEWER, ADMIN) or not actor.county_wide:
        raise PermissionDenied("转移须由县局审核人员或管理员办理。")
    reason = (reason or "").strip()
    if not reason:
        raise UserError("转移须填写原因。")
    on = _day(on)
    town_id = regions.township_id_of(township)
    assert town_id is not None
    with current().atomic():
        resident = find(actor, id_number)
        if town_id == resident.township_id:
            raise UserError(
                f"{resident.name}已在{resident.township.name}，无需转移（同乡镇换村请用信息变更）。"
            )
        village_id = _village(town_id, village) if village.strip() else None
        old = f"{resident.township.name}{resident.village.name if resident.village_id else ''}"
        new = f"{regions.township_name(town_id)}{Village.get_by_id(village_id).name if village_id else ''}"
        Resident.update(
            township=town_id, village=village_id, updated_at=now(), version=Resident.version + 1
        ).where(Resident.id == resident.id).execute()
        ResidentEvent.insert(resident=resident.id, township_id=town_id, from_township_id=resident.township_id,
                             id_number=resident.id_number, name=resident.name, kind=EVENT_MOVE, field="township",
                             old_value=old, new_value=new, reason=reason[:200], day=on, username=actor.username,
                             at=now()).execute()  # fmt: skip
        audit.record(actor.username, "move", "resident", resident.id,
                     before={"township_id": resident.township_id, "village_id": resident.village_id},
                     after={"township_id": town_id, "village_id": village_id, "reason": reason, "on": on})  # fmt: skip
    return Resident.get_by_id(resident.id)


# --- 暂停 / 终止 / 恢复 -----------------------------------------------------------------------------------


@dataclass
class StatusOutcome:
    """What followed a status change (the CLI's --json)."""

    status: str
    subsidy_removed: list[int] = field(default_factory=list)  # years taken off the 政府代缴 list
    subsidy_restored: list[int] = field(default_factory=list)
    refund_candidates: list[str] = field(default_factory=list)  # vouchers
    arrears_voided: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "subsidy_removed": self.subsidy_removed,
                "subsidy_restored": self.subsidy_restored, "refund_candidates": self.refund_candidates,
                "arrears_voided": self.arrears_voided}  # fmt: skip


_ALLOWED_FROM = {SUSPENDED: (INSURED,), TERMINATED: (INSURED, SUSPENDED), INSURED: (SUSPENDED, TERMINATED)}


def set_status(
    actor: Actor, id_number: str, to: str, reason: str, on: dt.date | None = None
) -> StatusOutcome:
    """暂停 / 终止 (reason one of STATUS_REASONS) or 恢复 to 正常参保, dated ``on`` (default today)."""
    require(actor, "roster.edit")
    if to not in _ALLOWED_FROM:
        raise UserError(f"参保状态只能变更为：{'、'.join(_ALLOWED_FROM)}。")
    reason = (reason or "").strip()
    if to != INSURED and reason not in STATUS_REASONS:
        raise UserError(f"{to}的原因应为：{'、'.join(STATUS_REASONS)}。")
    if not reason:
        raise UserError("恢复参保须填写原因。")
    on = _day(on)
    outcome = StatusOutcome(to)
    with current().atomic():
        resident = find(actor, id_number)
        if resident.status not in _ALLOWED_FROM[to]:
            verb = "恢复" if to == INSURED else to
            raise UserError(f"{resident.name}当前为“{resident.status}”，不能{verb}。")
        last = (
            ResidentEvent.select(ResidentEvent.day)
            .where((ResidentEvent.resident == resident.id) & (ResidentEvent.kind == EVENT_STATUS))
            .order_by(ResidentEvent.day.desc())
            .first()
        )
        if last is not None and on < _as_date(last.day):
            raise UserError(f"日期 {on:%Y-%m-%d} 早于上一次状态变更（{last.day}），请核对。")
        Resident.update(status=to, updated_at=now(), version=Resident.version + 1).where(
            Resident.id == resident.id
        ).execute()
        _event(actor, resident, EVENT_STATUS, field_name="status", old_value=resident.status, new_value=to,
               reason=reason, day=on)  # fmt: skip
        _resync_subsidies(actor, resident.id, outcome)
        if to == TERMINATED:
            if reason in REFUND_AFTER:
                outcome.refund_candidates = _refund_later_years(resident.id, reason, on)
            outcome.arrears_voided = arrears.void_open(
                actor, resident.id, f"终止参保（{reason}，{on:%Y-%m-%d}）"
            )
        audit.record(actor.username, "status", "resident", resident.id, before={"status": resident.status},
                     after={"status": to, "reason": reason, "on": on, **outcome.as_json()})  # fmt: skip
    return outcome


def _resync_subsidies(actor: Actor, resident_id: int, outcome: StatusOutcome) -> None:
    """The person's 代缴 years (listed, or on a current list) brought in line with the new status."""
    years = {y for (y,) in GovernmentPayment.select(GovernmentPayment.year)
             .where(GovernmentPayment.resident == resident_id).tuples()}  # fmt: skip
    years |= {y for (y,) in SpecialListEntry.select(SpecialList.year).join(SpecialList)
              .where((SpecialListEntry.resident == resident_id) & SpecialList.current
                     & SpecialListEntry.status.in_(FLAGGING_STATES)).tuples()}  # fmt: skip
    for year in sorted(years):
        if policy.get(year) is None:
            continue
        counts = sg.sync_payments(actor, year, [resident_id])
        if counts["cancelled"] or counts["corrections"]:
            outcome.subsidy_removed.append(year)
        if counts["created"] or counts["restored"]:
            outcome.subsidy_restored.append(year)


def _refund_later_years(resident_id: int, reason: str, on: dt.date) -> list[str]:
    """Refund candidates for the person's own payments for years after the year of the termination."""
    code, refund_reason = REFUND_AFTER[reason]
    paid = (
        Contribution.select()
        .where(
            (Contribution.resident == resident_id)
            & (Contribution.payer == "个人")
            & (Contribution.year > on.year)
        )
        .order_by(Contribution.year, Contribution.id)
    )
    vouchers = []
    for c in paid:
        if (
            RefundCandidate.select()
            .where((RefundCandidate.contribution == c.id) & (RefundCandidate.code == code))
            .exists()
        ):
            continue
        message = f"{on:%Y-%m-%d} 终止参保（{refund_reason}），{c.year} 年缴费应退"
        RefundCandidate.create(contribution=c.id, code=code, message=message, amount_fen=c.amount_fen,
                               status=CANDIDATE_OPEN)  # fmt: skip
        vouchers.append(c.voucher)
    return vouchers


# --- history ---------------------------------------------------------------------------------------------


@dataclass
class HistoryLine:
    at: dt.datetime
    day: dt.date | None
    kind: str  # 参保登记 / 信息变更 / 转移 / 参保状态 / 导入
    item: str
    old: str
    new: str
    reason: str
    username: str
    user_name: str = ""  # the user's display name, for the screens

    def as_dict(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(sep=" "), "day": self.day.isoformat() if self.day else "",
                "kind": self.kind, "item": self.item, "old": self.old, "new": self.new, "reason": self.reason,
                "username": self.username}  # fmt: skip


def history(actor: Actor, resident_id: int) -> list[HistoryLine]:
    """Everything recorded about a person, oldest first: counter events and the imports that touched them."""
    require(actor, "roster.view")
    resident = Resident.get_or_none(Resident.id == resident_id)
    if resident is None:
        raise UserError("该居民不存在。")
    check_township(actor, resident.township_id)
    events = ResidentEvent.select().where(ResidentEvent.resident == resident_id).order_by(ResidentEvent.id)
    lines = [HistoryLine(c.at, None, "导入", c.column, c.old, c.new, f"{c.file_name}（导入 {c.import_id}）", c.username)
             for c in resident_changes(actor, resident_id)]  # fmt: skip
    lines += [_line(e) for e in events]
    _name_users(lines)
    return sorted(lines, key=lambda h: h.at)  # stable: within a second, imports before the counter's events


@dataclass
class MoveLine(HistoryLine):
    name: str = ""
    id_number: str = ""


def township_moves(actor: Actor) -> list[MoveLine]:
    """Moves into and out of the actor's township (all moves for county users), newest first. The name and
    ID number come from the move's own record: the township left behind no longer sees the person."""
    require(actor, "roster.view")
    query = ResidentEvent.select().where(ResidentEvent.kind == EVENT_MOVE)
    if actor.township_id is not None:
        query = query.where(
            (ResidentEvent.township_id == actor.township_id)
            | (ResidentEvent.from_township_id == actor.township_id)
        )
    show = roster.id_display(actor)
    lines = [MoveLine(*vars(_line(e)).values(), name=e.name, id_number=show(e.id_number))
             for e in query.order_by(ResidentEvent.id.desc())]  # fmt: skip
    _name_users(lines)
    return lines


def _name_users(lines: Sequence[HistoryLine]) -> None:
    names = display_names(h.username for h in lines)
    for h in lines:
        h.user_name = names.get(h.username, h.username)


def _line(e: ResidentEvent) -> HistoryLine:
    item = CHANGE_FIELDS.get(
        e.field, "乡镇" if e.kind == EVENT_MOVE else "参保状态" if e.field == "status" else ""
    )
    return HistoryLine(e.at, _as_date(e.day), KIND_NAMES.get(e.kind, e.kind), item, e.old_value, e.new_value,
                       e.reason, e.username)  # fmt: skip


# --- helpers ----------------------------------------------------------------------------------------------


def _event(actor: Actor, resident: Resident, kind: str, *, field_name: str = "", old_value: str = "",
           new_value: str = "", reason: str = "", day: dt.date, id_card_seen: bool = False) -> None:  # fmt: skip
    ResidentEvent.insert(resident=resident.id, township_id=resident.township_id, id_number=resident.id_number,
                         name=resident.name, kind=kind, field=field_name,
                         old_value=old_value[:200], new_value=new_value[:200], reason=reason[:200], day=day,
                         id_card_seen=id_card_seen, username=actor.username, at=now()).execute()  # fmt: skip


def _day(on: dt.date | None) -> dt.date:
    today = dt.date.today()
    if on is not None and on > today:
        raise UserError(f"日期 {on:%Y-%m-%d} 晚于今天，不能登记未来的日期。")
    return on or today


def _as_date(value: object) -> dt.date:
    return insured._as_date(value)


# --- 参保登记表 ---------------------------------------------------------------------------------------------


def print_form(actor: Actor, resident_id: int, out: str | Path) -> None:
    """The one-page 参保登记表 of a registered person (the tiers of the enrolment year, or the latest policy
    year when that one has none yet, with a notice on the form saying so)."""
    from core.arrears import PAYMENT_CHANNELS
    from core.money import yuan_text
    from reports import registration_form

    require(actor, "roster.view")
    r = Resident.get_or_none(Resident.id == resident_id)
    if r is None:
        raise UserError("该居民不存在。")
    check_township(actor, r.township_id)
    day = r.enrolled_on or dt.date.today()
    years = [p for p in policy.years() if p.year <= day.year] or policy.years()
    if not years:
        raise UserError("没有缴费政策年度，无法列出缴费档次（系统管理→缴费政策）。")
    year = years[-1]
    # The office prints the form on the day: a year whose tiers are not out yet is said so on the paper.
    notice = (
        ""
        if year.year == day.year
        else f"{day.year} 年度缴费档次尚未公布，以下为 {year.year} 年度档次，以公布的档次为准。"
    )
    county = regions.county()
    town = r.township.name
    form = registration_form.Form(
        title=f"{county['county_name']}城乡居民基本养老保险参保登记表",
        number=f"{r.id:08d}",
        details=[("姓名", r.name), ("性别", r.sex), ("公民身份号码", r.id_number), ("出生日期", f"{r.birth_date:%Y-%m-%d}"),
                 ("乡镇（街道）", town), ("村（居）", r.village.name if r.village_id else ""), ("联系电话", r.phone or "—"),
                 ("参保日期", f"{r.enrolled_on:%Y-%m-%d}" if r.enrolled_on else "不详"), ("参保状态", r.status)],
        eligibility=[("是否在校学生", "否"), ("是否参加其他养老保险", "否")],
        tier_year=year.year,
        tier_notice=notice,
        tiers=[yuan_text(t) for t in year.tiers],
        tier_notes={yuan_text(year.hardship_min_fen): "仅限缴费困难群体"},
        channels=PAYMENT_CHANNELS,
        clerk=actor.display_name or actor.username,
        registered_on=f"{day:%Y年%m月%d日}",
        office=f"{town}人力资源和社会保障所",
    )  # fmt: skip
    registration_form.write(out, [form])
    audit.record(actor.username, "print", "resident", r.id, after={"form": "参保登记表"})
