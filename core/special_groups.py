"""特殊群体标识: departments' lists in, flags per person and year, the 政府代缴 list out.

Rule (county notice): for 重度残疾人 (县残联), 低保对象 and 特困人员 (县民政局) and 建档立卡贫困人员 (县扶贫办),
the government pays the year's minimum tier on their behalf — once per person per year, however many lists
name them. A flagged person may also pay personally, choosing a tier other than the minimum, from the
year's re-selection date (1 March in 2020).

A person is flagged for a year while an entry of a *current* list of that year names them and is matched
(or confirmed, or enrolled). The 代缴 list (GovernmentPayment) follows the flags through ``sync_payments``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from peewee import JOIN, fn

from core import audit, idcard, imports, insured, policy, regions, roster, rules
from core.auth import Actor, check_township, display_names, require
from core.errors import UserError
from core.imports import FieldChange
from core.money import format_yuan, to_capital
from core.progress import Job, Progress
from core.regions import TownshipMatcher, VillageCache, normalise_text
from core.roster_import import ID_ALIASES, NAME_ALIASES, TOWNSHIP_ALIASES, VILLAGE_ALIASES, file_sha256
from core.rowcodes import ImportReport, issue, register, too_long
from core.tabular import Column, FileUnusable, data_rows, open_table, text_of
from dao import bulk
from dao.db import current
from dao.models import (
    ACTIVE_PAYMENT_STATES,
    BATCH_CANCELLED,
    ENTRY_CONFIRMED,
    ENTRY_ENROLLED,
    ENTRY_MATCHED,
    ENTRY_NAME_MISMATCH,
    ENTRY_NOT_IN_ROSTER,
    ENTRY_REJECTED,
    FLAGGING_STATES,
    PAYMENT_CANCELLED,
    PAYMENT_CORRECTED,
    PAYMENT_CORRECTION,
    PAYMENT_PENDING,
    PAYMENT_SENT,
    SPECIAL_GROUPS,
    GovernmentPayment,
    HandoffBatch,
    HandoffLine,
    ImportChange,
    ImportLog,
    Resident,
    SpecialList,
    SpecialListEntry,
    Township,
    Village,
    now,
)

register("NOT_IN_ROSTER", False, "不在参保花名册中：已列为待处理，可登记参保后标识")
register("NAME_MISMATCH", False, "身份证号码相同但姓名与花名册不一致：待人工核对，核对前不标识")
register("GROUP_UNKNOWN", True, "人员类别无法识别或不属于该部门")

GROUP_ALIASES = (
    "人员类别",
    "类别",
    "群体类别",
    "困难类别",
    "困难群体类别",
    "救助类别",
    "对象类别",
    "特殊群体类别",
    "类型",
    "人员类型",
    "残疾类别",
    "残疾类别及等级",
    "残疾类型",
    "保障类别",
    "供养类别",
)
COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号码", ID_ALIASES, required=True),
    Column("name", "姓名", NAME_ALIASES, required=True),
    Column("group", "人员类别", GROUP_ALIASES),
    Column("township", "乡镇", TOWNSHIP_ALIASES),
    Column("village", "村居", VILLAGE_ALIASES),
)
DEPARTMENT_NAMES = {"残联": "县残联", "民政": "县民政局", "扶贫": "县扶贫办"}
GROUP_ORDER = {g: n for n, g in enumerate(g for groups in SPECIAL_GROUPS.values() for g in groups)}


def normalise_group(value: object) -> str | None:
    """How a department writes its group (农村低保, 二级肢体残疾 …) -> the notice's group, from the table in
    resources/rules/special_groups.json."""
    return rules.group_of(text_of(value))


SCOPE_TOWNSHIPS, SCOPE_COUNTY = "townships", "county"
COUNTY_SCOPE_TEXT = "全县"
REMOVAL_SHARE = 0.2  # removing more than this share of a group within the list's scope needs a confirmation
ON_LIST, OFF_LIST = "列入名单", "移出名单"


@dataclass
class ListChange:
    """What a list changed against the one it replaced: people added, removed, unchanged."""

    group: str
    added: list[tuple[str, str]] = field(default_factory=list)  # (ID number, name)
    removed: list[tuple[str, str]] = field(default_factory=list)
    unchanged: int = 0
    renamed: int = 0
    in_scope: int = 0  # the group's entries within the list's scope before it
    carried: int = 0  # entries outside the scope, kept from the replaced list


@dataclass
class Removal:
    id_number: str
    name: str
    township: str
    group: str


@dataclass
class SpecialImportReport(ImportReport):
    year: int = 0
    department: str = ""
    no_op: bool = False  # the same file as the current list: nothing written
    changes: dict[str, ListChange] = field(default_factory=dict)
    payments: dict[str, int] = field(default_factory=dict)  # what sync_payments did
    scope: str = ""  # the townships the list replaces, or 全县
    removals: list[Removal] = field(default_factory=list)
    needs_confirmation: bool = False
    refused: bool = False  # confirmation needed and not given: nothing written
    lists: list[dict[str, object]] = field(default_factory=list)  # {list_id, group, added, removed}

    def confirmation_text(self) -> str:
        """Why the import needs a confirmation (empty when it does not)."""
        if not self.needs_confirmation:
            return ""
        if self.rows - self.rejected == 0:
            head = "名单中没有可用的数据行"
            if self.removals:
                head += f"，导入将移出{self.scope}的 {len(self.removals)} 人"
            return head
        parts = [f"{g} {len(c.removed)} 人（范围内原有 {c.in_scope} 人）" for g, c in self.changes.items()
                 if c.removed]  # fmt: skip
        return f"导入将从{self.scope}的名单中移出 {len(self.removals)} 人：" + "，".join(parts)

    def as_json(self) -> dict[str, object]:
        data = super().as_json()
        data.update({
            "scope": self.scope,
            "removals": [r.__dict__ for r in self.removals],
            "needs_confirmation": self.needs_confirmation,
            "written": not (self.dry_run or self.refused or self.no_op),
            "lists": self.lists,
        })  # fmt: skip
        return data


@dataclass
class _Row:
    row: int
    number: str
    name: str
    group: str
    township: str
    village: str
    town_id: int | None = None  # the row's township: its 乡镇 cell, else the roster's


def _check_request(actor: Actor, year: int, department: str, group: str | None) -> None:
    require(actor, "special.import")
    if department not in SPECIAL_GROUPS:
        raise UserError(f"部门应为：{'、'.join(SPECIAL_GROUPS)}（收到“{department}”）。")
    if group is not None and group not in SPECIAL_GROUPS[department]:
        raise UserError(
            f"{department}的名单只能是：{'、'.join(SPECIAL_GROUPS[department])}（收到“{group}”）。"
        )
    if policy.get(year) is None:
        raise UserError(f"没有 {year} 年度的缴费政策，无法确定政府代缴金额：请先在系统管理中录入该年度政策。")


def import_special_list(
    path: str | Path,
    actor: Actor,
    *,
    year: int,
    department: str,
    group: str | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    overrides: dict[str, int] | None = None,
    scope: str = SCOPE_TOWNSHIPS,
    confirm_removals: bool = False,
) -> Job[SpecialImportReport]:
    """Import one department's list for a year. Same row codes and summary as the roster importer.

    The list replaces the department's entries of its groups only within its scope: the townships of its
    rows, or the whole county when ``scope`` is ``SCOPE_COUNTY``. When it would remove more than
    ``REMOVAL_SHARE`` of a group within that scope, or has no usable rows, nothing is written unless
    ``confirm_removals`` (the report says ``refused``); a dry run reports the same without writing."""
    if scope not in (SCOPE_TOWNSHIPS, SCOPE_COUNTY):
        raise UserError(f"范围应为 townships（名单涉及的乡镇）或 county（全县）：{scope}")
    if group is not None:
        group = rules.group_of(group) or group
    _check_request(actor, year, department, group)
    path = Path(path)
    table = open_table(path, COLUMNS, sheet=sheet, overrides=overrides)
    layout = table.layout
    if group is None and "group" not in layout.mapping:
        table.source.close()
        raise FileUnusable(
            f"文件中没有“人员类别”列：请指定人员类别（{'、'.join(SPECIAL_GROUPS[department])}）。"
        )
    report = SpecialImportReport(dry_run=dry_run, file_name=path.name, sha256=file_sha256(path), year=year,
                                 department=department, headers=layout.headers, header_row=layout.header_row,
                                 text_columns=[layout.mapping["id_number"]])  # fmt: skip
    label = {f: layout.label(f) for f in ("id_number", "name", "group", "township", "village")}
    rows: list[_Row] = []
    seen: dict[tuple[str, str], int] = {}
    today = dt.date.today()
    try:
        for n, (row, cells, value) in enumerate(data_rows(table)):
            if n % 1000 == 0:
                yield Progress(n, max(n, table.source.estimated_rows - table.layout.header_row), "读取名单")
            report.rows += 1
            problems = []
            number = ""
            legacy = False
            try:
                info = idcard.parse(value.get("id_number"), today)
                number, legacy = info.number, info.legacy15
            except idcard.IdError as exc:
                problems.append(issue(row, label["id_number"], exc.code, exc.detail))
            name = normalise_text(text_of(value.get("name")))
            if not name:
                problems.append(issue(row, label["name"], "NAME_MISSING"))
            township_text, village_text = text_of(value.get("township")), text_of(value.get("village"))
            for field, text, limit in ((label["name"], name, SpecialListEntry.name.max_length),
                                       (label["township"], township_text, SpecialListEntry.township_text.max_length),
                                       (label["village"], village_text, SpecialListEntry.village_text.max_length)):  # fmt: skip
                found_long = too_long(row, field, text, limit)
                if found_long is not None:
                    problems.append(found_long)
            row_group = normalise_group(value.get("group")) if text_of(value.get("group")) else group
            if row_group is None or row_group not in SPECIAL_GROUPS[department]:
                written = text_of(value.get("group")) or "空"
                allowed = rules.accepted_groups(department)
                problems.append(
                    issue(
                        row, label["group"], "GROUP_UNKNOWN", f"“{written}”；{department}名单可写：{allowed}"
                    )
                )
            elif number:
                first = seen.setdefault((number, row_group), row)
                if first != row:
                    problems.append(
                        issue(row, label["id_number"], "DUPLICATE_IN_FILE", f"与第 {first} 行相同")
                    )
            if problems:
                report.rejected += 1
                for found in problems:
                    report.add(found)
                report.rejected_rows.append((row, list(cells)))
                continue
            if legacy:
                report.add(issue(row, label["id_number"], "ID_LEGACY_15", number))
            rows.append(_Row(row, number, name, row_group, township_text, village_text))
    finally:
        table.source.close()
    yield Progress(report.rows, report.rows, "核对花名册")
    with current().atomic() as transaction:
        _apply(report, rows, actor, year, department, group, scope == SCOPE_COUNTY, confirm_removals)
        if dry_run or report.refused:
            transaction.rollback()  # a dry run computes everything and keeps nothing
            report.import_id = None
            for listed in report.lists:
                listed["list_id"] = None
    report.errors.sort(key=lambda e: e.row)
    report.warnings.sort(key=lambda w: w.row)
    return report


def _apply(report: SpecialImportReport, rows: list[_Row], actor: Actor, year: int, department: str,
           group: str | None, county: bool, confirmed: bool) -> None:  # fmt: skip
    residents = bulk.fetch_by_keys(
        Resident, "id_number", ("id", "name", "township_id"), {r.number for r in rows}
    )
    towns = TownshipMatcher.load()
    show = roster.id_display(actor)
    for r in rows:
        found = residents.get(r.number)
        if found is None:
            report.add(issue(r.row, "身份证号码", "NOT_IN_ROSTER", r.name))
        elif found[1] != r.name:
            report.add(issue(r.row, "姓名", "NAME_MISMATCH", f"名单为“{r.name}”，花名册为“{found[1]}”"))
        r.town_id = towns.match(r.township) if r.township else None
        if r.town_id is None and found is not None:
            r.town_id = found[2]
    scope_towns = {r.town_id for r in rows if r.town_id is not None}
    order = {t.id: (t.sort_order, t.code) for t in regions.townships()}
    report.scope = COUNTY_SCOPE_TEXT if county else (
        "、".join(towns.names[t] for t in sorted(scope_towns, key=lambda t: order.get(t, (0, ""))))
        or "（无乡镇）")  # fmt: skip
    covered = {r.group for r in rows} | ({group} if group else set())
    previous = {
        lst.group: lst
        for lst in SpecialList.select().where(
            (SpecialList.year == year) & (SpecialList.department == department) & SpecialList.current
        )
    }
    report.needs_confirmation = not rows
    if (
        covered
        and rows
        and all(
            g in previous and previous[g].sha256 == report.sha256 and previous[g].scope == report.scope
            for g in covered
        )
    ):
        report.no_op = True
        report.unchanged = len(rows)
        return
    by_group: dict[str, list[_Row]] = defaultdict(list)
    for r in rows:
        by_group[r.group].append(r)
    # The plan: for each group, which old entries the list replaces (in scope) and which it carries over.
    plans = []
    for g in sorted(covered, key=lambda g: GROUP_ORDER.get(g, 99)):
        old = previous.get(g)
        old_entries = list(old.entries.order_by(SpecialListEntry.id)) if old else []
        entry_towns = bulk.fetch_by_keys(Resident, "id", ("township_id",),
                                         {e.resident_id for e in old_entries if e.resident_id})  # fmt: skip
        new_rows = by_group.get(g, [])
        new_ids = {r.number for r in new_rows}
        change = ListChange(g)
        carried, scoped = [], {}
        for e in old_entries:
            town = (
                entry_towns[e.resident_id][0]
                if e.resident_id in entry_towns
                else towns.match(e.township_text)
            )
            if county or e.id_number in new_ids or (town is not None and town in scope_towns):
                scoped[e.id_number] = e
                if e.id_number not in new_ids:
                    change.removed.append((e.id_number, e.name))
                    report.removals.append(  # shown to the importer: the number as they may see it
                        Removal(show(e.id_number), e.name, towns.names.get(town, "") if town else "", g)
                    )
            else:
                carried.append(e)
        change.in_scope, change.carried = len(scoped), len(carried)
        if len(change.removed) > REMOVAL_SHARE * len(scoped):
            report.needs_confirmation = True
        for r in new_rows:
            before = scoped.get(r.number)
            if before is None:
                change.added.append((r.number, r.name))
            elif before.name != r.name:
                change.renamed += 1
            else:
                change.unchanged += 1
        report.changes[g] = change
        report.imported += len(change.added)
        report.updated += change.renamed
        report.unchanged += change.unchanged
        report.lists.append(
            {"list_id": None, "group": g, "added": len(change.added), "removed": len(change.removed)}
        )
        plans.append((g, old, new_rows, scoped, carried, change))
    if report.needs_confirmation and not confirmed and not report.dry_run:
        report.refused = True
        return
    log_id = ImportLog.create(kind="special", file_name=report.file_name, sha256=report.sha256,
                              username=actor.username).id  # fmt: skip
    recorded: list[FieldChange] = []
    mark = HandoffLine.select(fn.MAX(HandoffLine.id)).scalar() or 0
    for (g, old, new_rows, scoped, carried, change), listed in zip(plans, report.lists, strict=True):
        lst = SpecialList.create(year=year, department=department, group=g, file_name=report.file_name,
                                 sha256=report.sha256, username=actor.username, people=len(new_rows) + len(carried),
                                 scope=report.scope, replaces=old.id if old else None, import_log=log_id,
                                 handoff_mark=mark,
                                 added=len(change.added), removed=len(change.removed), unchanged=change.unchanged)  # fmt: skip
        listed["list_id"] = lst.id
        entries = []
        added = {number for number, _ in change.added}
        for r in new_rows:
            resident = residents.get(r.number)
            status = _status(resident, r.name, scoped.get(r.number))
            entries.append((lst.id, r.row, r.number, r.name, r.township, r.village,
                            resident[0] if resident else None, status))  # fmt: skip
            if r.number in added:
                recorded.append(
                    FieldChange(r.row, r.number, g, "", ON_LIST, resident[0] if resident else None)
                )
        entries += [(lst.id, 0, e.id_number, e.name, e.township_text, e.village_text, e.resident_id, e.status)
                    for e in carried]  # fmt: skip
        recorded += [FieldChange(0, number, g, ON_LIST, OFF_LIST, scoped[number].resident_id)
                     for number, _ in change.removed]  # fmt: skip
        bulk.insert_rows(SpecialListEntry, ("special_list_id", "row", "id_number", "name", "township_text",
                                            "village_text", "resident_id", "status"), entries)  # fmt: skip
        if old is not None:
            SpecialList.update(current=False, replaced_by=lst.id).where(SpecialList.id == old.id).execute()
        audit.record(actor.username, "import", "special_list", lst.id, before={"replaces": old.id} if old else None,
                     after={"year": year, "department": department, "group": g, "file": report.file_name,
                            "scope": report.scope, "people": len(new_rows) + len(carried), "added": len(change.added),
                            "removed": len(change.removed), "confirmed": confirmed})  # fmt: skip
    ImportLog.update(rows=report.rows, imported=report.imported, updated=report.updated, unchanged=report.unchanged,
                     rejected=report.rejected, warnings=len(report.warnings)).where(ImportLog.id == log_id).execute()  # fmt: skip
    imports.record_changes(log_id, recorded)
    report.import_id = log_id
    report.payments = sync_payments(actor, year)


def _status(resident: tuple | None, name: str, before: SpecialListEntry | None) -> str:
    if resident is None:
        return ENTRY_NOT_IN_ROSTER
    if resident[1] == name:
        return ENTRY_MATCHED
    # A mismatch a person already reviewed for this same spelling stays reviewed.
    if before is not None and before.name == name and before.status in (ENTRY_CONFIRMED, ENTRY_REJECTED):
        return before.status
    return ENTRY_NAME_MISMATCH


# --- flags and the 代缴 list ---------------------------------------------------------------------------


def _current_entries(year: int, *columns):  # type: ignore[no-untyped-def]
    """Entries of the year's current lists, with ``columns`` (default: the entries and their group)."""
    return (
        SpecialListEntry.select(*(columns or (SpecialListEntry, SpecialList.group)))
        .join(SpecialList)
        .where((SpecialList.year == year) & SpecialList.current)
    )


def flagged_groups(year: int, resident_ids: Iterable[int] | None = None) -> dict[int, set[str]]:
    """resident id -> the groups that qualify them in ``year``. A person not 正常参保 on 1 January of the year
    (suspended, terminated: see ``core.insured``) is not flagged for it, whatever the lists say."""
    if resident_ids is not None:
        resident_ids = list(resident_ids)
    query = _current_entries(year, SpecialListEntry.resident, SpecialList.group).where(
        SpecialListEntry.status.in_(FLAGGING_STATES)
    )
    queries = [query] if resident_ids is None else [
        query.where(SpecialListEntry.resident.in_(part)) for part in bulk.in_chunks(resident_ids)
    ]  # fmt: skip
    groups: dict[int, set[str]] = defaultdict(set)
    for resident_id, group in (row for q in queries for row in q.tuples()):
        groups[resident_id].add(group)
    if groups:
        for resident_id in insured.not_insured_on(
            dt.date(year, 1, 1), groups if resident_ids is not None else None
        ):
            groups.pop(resident_id, None)
    return dict(groups)


def is_flagged(resident_id: int, year: int) -> bool:
    return bool(flagged_groups(year, [resident_id]))


def _rematch_pending(year: int) -> int:
    """Entries waiting for enrolment whose person has since been registered by a roster import."""
    pending = list(_current_entries(year).where(SpecialListEntry.status == ENTRY_NOT_IN_ROSTER))
    found = bulk.fetch_by_keys(Resident, "id_number", ("id", "name"), {e.id_number for e in pending})
    for e in pending:
        if e.id_number in found:
            rid, name = found[e.id_number]
            status = ENTRY_MATCHED if name == e.name else ENTRY_NAME_MISMATCH
            SpecialListEntry.update(resident=rid, status=status).where(SpecialListEntry.id == e.id).execute()
    return sum(1 for e in pending if e.id_number in found)


def match_registered(actor: Actor, resident: Resident) -> list[int]:
    """A person just registered at the counter whom a current list names and waits for: matched now, and on
    the year's 代缴 list when the names agree (a different name waits for review) — not at the next sync.
    Returns the years whose 代缴 list now holds the person."""
    entries = list(
        SpecialListEntry.select(SpecialListEntry, SpecialList)
        .join(SpecialList)
        .where(SpecialList.current & (SpecialListEntry.status == ENTRY_NOT_IN_ROSTER)
               & (SpecialListEntry.id_number == resident.id_number))
    )  # fmt: skip
    years = set()
    for e in entries:
        status = ENTRY_MATCHED if e.name == resident.name else ENTRY_NAME_MISMATCH
        SpecialListEntry.update(resident=resident.id, status=status).where(
            SpecialListEntry.id == e.id
        ).execute()
        if status == ENTRY_MATCHED and policy.get(e.special_list.year) is not None:
            years.add(e.special_list.year)
    for year in sorted(years):
        sync_payments(actor, year, [resident.id])
    return sorted(years)


def sync_payments(actor: Actor, year: int, resident_ids: Sequence[int] | None = None) -> dict[str, int]:
    """Bring the year's 代缴 list in line with the flags (of ``resident_ids`` only, when given: a status
    change at the counter). Before handoff a person who no longer qualifies is cancelled; after handoff the
    payment is marked for a correction (冲正) — history is never deleted."""
    rules = policy.get(year)
    if rules is None:
        raise UserError(f"没有 {year} 年度的缴费政策。")
    amount = rules.hardship_min_fen
    payments = GovernmentPayment.select().where(GovernmentPayment.year == year)
    if resident_ids is None:
        _rematch_pending(year)
    else:
        payments = payments.where(GovernmentPayment.resident.in_(list(resident_ids)))
    flags = flagged_groups(year, resident_ids)
    existing = {p.resident_id: p for p in payments}
    counts = {"created": 0, "restored": 0, "cancelled": 0, "corrections": 0, "regrouped": 0}
    moment = now()
    changes: list[tuple[object, dict, dict]] = []

    def change(p: GovernmentPayment, **new: object) -> None:
        before = {k: getattr(p, k) for k in new}
        GovernmentPayment.update(**new, updated_at=moment, version=GovernmentPayment.version + 1).where(
            GovernmentPayment.id == p.id
        ).execute()
        changes.append((p.id, before, dict(new)))

    new_rows = []
    for rid, groups in flags.items():
        text = "、".join(sorted(groups))
        p = existing.get(rid)
        if p is None:
            new_rows.append((rid, year, amount, text, PAYMENT_PENDING, moment, moment, 1))
            counts["created"] += 1
        elif p.state in (PAYMENT_CANCELLED, PAYMENT_CORRECTED):
            change(p, state=PAYMENT_PENDING, groups=text, amount_fen=amount)
            counts["restored"] += 1
        elif p.state == PAYMENT_CORRECTION:  # qualifies again before the correction went out
            change(p, state=PAYMENT_SENT, groups=text)
            counts["restored"] += 1
        elif p.groups != text:
            change(p, groups=text)
            counts["regrouped"] += 1
    for rid, p in existing.items():
        if rid in flags:
            continue
        if p.state == PAYMENT_PENDING:
            change(p, state=PAYMENT_CANCELLED)
            counts["cancelled"] += 1
        elif p.state == PAYMENT_SENT:
            change(p, state=PAYMENT_CORRECTION)
            counts["corrections"] += 1
    bulk.insert_rows(GovernmentPayment, ("resident_id", "year", "amount_fen", "groups", "state", "created_at",
                                         "updated_at", "version"), new_rows)  # fmt: skip
    if new_rows:
        created = GovernmentPayment.select(GovernmentPayment.id, GovernmentPayment.resident).where(
            (GovernmentPayment.year == year) & (GovernmentPayment.created_at == moment)
        )
        changes += [
            (p.id, {}, {"state": PAYMENT_PENDING, "year": year, "resident_id": p.resident_id})
            for p in created
        ]
    if changes:
        audit.record_many(actor.username, "sync", "government_payment", changes)
    return counts


# --- pending entries: enrol, review ---------------------------------------------------------------------


@dataclass
class PendingEntry:
    entry_id: int
    year: int
    department: str
    group: str
    id_number: str
    name: str
    status: str
    township_text: str
    village_text: str
    roster_name: str


def pending(actor: Actor, year: int) -> list[PendingEntry]:
    """Entries that need a person: not in the roster, or a name to check. Clerks see their township."""
    require(actor, "special.view")
    query = (
        SpecialListEntry.select(SpecialListEntry, SpecialList, Resident)
        .join(SpecialList)
        .switch(SpecialListEntry)
        .join(Resident, join_type=JOIN.LEFT_OUTER)
        .where((SpecialList.year == year) & SpecialList.current
               & SpecialListEntry.status.in_([ENTRY_NOT_IN_ROSTER, ENTRY_NAME_MISMATCH]))
        .order_by(SpecialListEntry.status, SpecialListEntry.id)
    )  # fmt: skip
    towns = TownshipMatcher.load()
    show = roster.id_display(actor)
    out = []
    for e in query:
        resident = e.resident if e.resident_id else None
        town = resident.township_id if resident else towns.match(e.township_text)
        if actor.township_id is not None and town != actor.township_id:
            continue
        out.append(PendingEntry(e.id, year, e.special_list.department, e.special_list.group, show(e.id_number), e.name,
                                e.status, e.township_text, e.village_text, resident.name if resident else ""))  # fmt: skip
    return out


@dataclass
class Enrolled:
    enrolled: int  # residents registered
    flagged: int  # people now flagged through these entries (a person already in the roster is only flagged)


def enrol(actor: Actor, entry_ids: Iterable[int], township_id: int | None = None) -> Enrolled:
    """Register people from the lists who are not in the roster yet (eligible by definition when 16+ and
    registered in the county), then flag them. Every entry must be a pending entry of a current list: an
    unknown or already handled one is refused by name, and nothing is written.

    The enrolment date stays unknown (None): the list says who qualifies, not when the person enrolled."""
    require(actor, "special.enrol")
    towns = TownshipMatcher.load()
    today = dt.date.today()
    years: set[int] = set()
    enrolled = 0
    wanted = list(dict.fromkeys(entry_ids))
    with current().atomic():
        villages = VillageCache()
        entries = [e for part in bulk.in_chunks(wanted)
                   for e in SpecialListEntry.select(SpecialListEntry, SpecialList).join(SpecialList)
                   .where(SpecialListEntry.id.in_(part))]  # fmt: skip
        unknown = sorted(set(wanted) - {e.id for e in entries})
        if unknown:
            raise UserError(
                f"没有这些名单记录：{'、'.join(str(i) for i in unknown)}（见 special-pending 或待处理名单）。"
            )
        for entry in sorted(entries, key=lambda e: e.id):
            who = f"记录 {entry.id}（{entry.name}）"
            if not entry.special_list.current:
                raise UserError(
                    f"{who}所在名单已被新名单替换，不能据此登记：请在当前名单的待处理人员中选择。"
                )
            if entry.status != ENTRY_NOT_IN_ROSTER:
                raise UserError(f"{who}不是“未参保待处理”的记录（当前：{entry.status}），无需登记。")
        for entry in sorted(entries, key=lambda e: e.id):
            info = idcard.parse(entry.id_number, today)
            who = f"{entry.name}（{idcard.mask(entry.id_number)}）"
            if idcard.age_on(info.birth_date, today) < rules.MIN_AGE:
                raise UserError(f"{who}未满 16 周岁，不能登记参保。")
            town = township_id or towns.match(entry.township_text)
            if town is None:
                raise UserError(f"{who}的乡镇“{entry.township_text or '空'}”无法识别：请选择乡镇后再登记。")
            check_township(actor, town)
            resident = Resident.get_or_none(Resident.id_number == info.number)
            if resident is None:
                village = villages.get(town, entry.village_text) if entry.village_text else None
                resident = Resident.create(id_number=info.number, name=entry.name, sex=info.sex,
                                           birth_date=info.birth_date, township=town, village=village,
                                           status="正常参保", enrolled_on=None)  # fmt: skip
                audit.record(actor.username, "enrol", "resident", resident.id,
                             after={"id_number": info.number, "name": entry.name, "from_entry": entry.id})  # fmt: skip
                enrolled += 1
            SpecialListEntry.update(resident=resident.id, status=ENTRY_ENROLLED).where(
                (SpecialListEntry.id_number == info.number) & (SpecialListEntry.status == ENTRY_NOT_IN_ROSTER)
            ).execute()
            years.add(entry.special_list.year)
        for year in sorted(years):
            sync_payments(actor, year)
        people = {(e.special_list.year, idcard.parse(e.id_number, today).number) for e in entries}
        flagged = 0
        for year in years:
            numbers = [n for y, n in people if y == year]
            ids = [rid for (rid,) in bulk.fetch_by_keys(Resident, "id_number", ("id",), numbers).values()]
            flagged += len(flagged_groups(year, ids))
    return Enrolled(enrolled, flagged)


def review_name(actor: Actor, entry_id: int, *, accept: bool) -> None:
    """Decide a name mismatch: accept (the person is flagged) or reject (not flagged)."""
    require(actor, "special.enrol")
    entry = SpecialListEntry.get_or_none(SpecialListEntry.id == entry_id)
    if entry is None or entry.status != ENTRY_NAME_MISMATCH:
        raise UserError("该记录不需要核对（可能已被其他用户处理）。")
    check_township(actor, entry.resident.township_id)
    status = ENTRY_CONFIRMED if accept else ENTRY_REJECTED
    with current().atomic():
        SpecialListEntry.update(status=status).where(SpecialListEntry.id == entry_id).execute()
        audit.record(actor.username, "review", "special_list_entry", entry_id,
                     before={"status": ENTRY_NAME_MISMATCH}, after={"status": status})  # fmt: skip
        sync_payments(actor, entry.special_list.year)


# --- the 代缴 list and statistics -----------------------------------------------------------------------


@dataclass
class SubsidyRow:
    township: str
    village: str
    id_number: str
    name: str
    sex: str
    groups: str
    amount_fen: int
    state: str


def subsidy_rows(
    actor: Actor, year: int, township_id: int | None = None, *, full_ids: bool = False
) -> list[SubsidyRow]:
    """The year's 代缴 list (pending and handed off), by township and village. ID numbers are masked per the
    setting, except for the printed 花名册 (``full_ids``): the tax office credits by the full number."""
    require(actor, "special.view")
    if actor.township_id is not None:
        check_township(actor, township_id if township_id is not None else actor.township_id)
        township_id = actor.township_id
    query = (
        GovernmentPayment.select(Township.name, fn.COALESCE(Village.name, ""), Resident.id_number, Resident.name,
                                 Resident.sex, GovernmentPayment.groups, GovernmentPayment.amount_fen,
                                 GovernmentPayment.state)
        .join(Resident)
        .join(Township, on=(Resident.township == Township.id))
        .switch(Resident)
        .join(Village, join_type=JOIN.LEFT_OUTER, on=(Resident.village == Village.id))
        .where((GovernmentPayment.year == year) & GovernmentPayment.state.in_(ACTIVE_PAYMENT_STATES))
        .order_by(Township.sort_order, Village.name, Resident.id_number)
    )  # fmt: skip
    if township_id is not None:
        query = query.where(Resident.township == township_id)
    show = (lambda number: number) if full_ids else roster.id_display(actor)
    # plain rows: a county's list is tens of thousands
    return [SubsidyRow(town, village, show(number), *rest) for town, village, number, *rest in query.tuples()]


@dataclass
class GroupStats:
    by_township: dict[str, dict[str, int]]  # township -> group -> people
    by_group: dict[str, int]
    overlaps: dict[tuple[str, str], int]  # pairs of groups -> people in both
    multi: int  # people in two or more groups
    people: int
    payments: int
    amount_fen: int
    pending: int  # entries waiting for a person


def statistics(actor: Actor, year: int) -> GroupStats:
    require(actor, "special.view")
    flags = flagged_groups(year)
    towns = {
        rid: town for rid, (town,) in bulk.fetch_by_keys(Resident, "id", ("township_id",), flags).items()
    }
    if actor.township_id is not None:
        flags = {rid: g for rid, g in flags.items() if towns.get(rid) == actor.township_id}
    names = {t.id: t.name for t in regions.townships()}
    by_township: dict[str, dict[str, int]] = {n: defaultdict(int) for n in names.values()}
    by_group: dict[str, int] = defaultdict(int)
    overlaps: dict[tuple[str, str], int] = defaultdict(int)
    for rid, groups in flags.items():
        for g in groups:
            by_township[names[towns[rid]]][g] += 1
            by_group[g] += 1
        ordered = sorted(groups)
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                overlaps[(a, b)] += 1
    payments = GovernmentPayment.select(
        fn.COUNT(GovernmentPayment.id), fn.SUM(GovernmentPayment.amount_fen)
    ).where((GovernmentPayment.year == year) & GovernmentPayment.state.in_(ACTIVE_PAYMENT_STATES))
    if actor.township_id is not None:
        payments = payments.join(Resident).where(Resident.township == actor.township_id)
    count, amount = payments.tuples().get()
    return GroupStats(
        {t: dict(g) for t, g in by_township.items() if g},
        dict(sorted(by_group.items(), key=lambda item: GROUP_ORDER.get(item[0], len(GROUP_ORDER)))),
        dict(overlaps),
        sum(1 for g in flags.values() if len(g) > 1),
        len(flags),
        count,
        int(amount or 0),
        len(pending(actor, year)),
    )


def lists(actor: Actor, year: int) -> list[SpecialList]:
    """Every list of the year, newest first (current and replaced): the tab's history."""
    require(actor, "special.view")
    return list(SpecialList.select().where(SpecialList.year == year).order_by(SpecialList.id.desc()))


def list_state(lst: SpecialList) -> str:
    if lst.undone_at is not None:
        return "已撤销"
    return "当前" if lst.current else "已被替换"


def list_history(actor: Actor, year: int | None = None) -> list[dict[str, object]]:
    """The lists imported (every year, or one), newest first, as plain data (``special-list history``)."""
    require(actor, "special.view")
    query = SpecialList.select().order_by(SpecialList.id.desc())
    if year is not None:
        query = query.where(SpecialList.year == year)
    found = list(query)
    names = display_names([x.username for x in found] + [x.undone_by or "" for x in found])
    return [
        {"list_id": x.id, "year": x.year, "department": x.department, "group": x.group, "file": x.file_name,
         "sha256": x.sha256, "user": x.username, "user_name": names.get(x.username, x.username),
         "at": x.imported_at.isoformat(), "scope": x.scope,
         "people": x.people, "added": x.added, "removed": x.removed, "unchanged": x.unchanged,
         "state": list_state(x), "replaces": x.replaces, "replaced_by": x.replaced_by_id,
         "import_id": x.import_log_id, "undone_by": x.undone_by,
         "undone_by_name": names.get(x.undone_by, x.undone_by) if x.undone_by else None,
         "undone_at": x.undone_at.isoformat() if x.undone_at else None}
        for x in found
    ]  # fmt: skip


def _blocking_batch(lst: SpecialList) -> HandoffBatch | None:
    """A live (not cancelled) 代缴 batch made after ``lst`` that carries a payment of a person it changed."""
    if lst.import_log_id:
        numbers = [n for (n,) in ImportChange.select(ImportChange.id_number).where(
            (ImportChange.import_log == lst.import_log_id) & (ImportChange.field == lst.group)).tuples()]  # fmt: skip
    else:  # a list from before changes were recorded: every person on it or on the list it replaced
        numbers = [n for (n,) in SpecialListEntry.select(SpecialListEntry.id_number).where(
            SpecialListEntry.special_list.in_([x for x in (lst.id, lst.replaces) if x is not None])).tuples()]  # fmt: skip
    people = [rid for (rid,) in bulk.fetch_by_keys(Resident, "id_number", ("id",), numbers).values()]
    payments = [p for part in bulk.in_chunks(people) for (p,) in GovernmentPayment.select(GovernmentPayment.id)
                .where((GovernmentPayment.year == lst.year) & GovernmentPayment.resident.in_(part)).tuples()]  # fmt: skip
    for part in bulk.in_chunks(payments):
        batch = (
            HandoffBatch.select()
            .join(HandoffLine)
            .where((HandoffBatch.kind == "subsidy") & (HandoffBatch.state != BATCH_CANCELLED)
                   & (HandoffLine.id > lst.handoff_mark) & HandoffLine.record_id.in_(part))
            .order_by(HandoffBatch.id)
            .first()
        )  # fmt: skip
        if batch is not None:
            return batch
    return None


def undo_list(actor: Actor, list_id: int) -> SpecialList | None:
    """Take back a list: the group's flags return exactly to the list it replaced (or to none), and the
    代缴 list follows. Refused once a live handoff batch carries a change the list made, and for a list a
    later one has replaced. Returns the list restored (None when the undone list replaced none)."""
    require(actor, "special.import")
    lst = SpecialList.get_or_none(SpecialList.id == list_id)
    if lst is None:
        raise UserError(f"没有这份名单：{list_id}")
    label = f"名单 {lst.id}（{lst.year}年 {lst.department} {lst.group}，{lst.file_name}）"
    if lst.undone_at is not None:
        raise UserError(f"{label}已于 {lst.undone_at:%Y-%m-%d %H:%M} 由 {lst.undone_by} 撤销。")
    if not lst.current:
        raise UserError(f"{label}已被名单 {lst.replaced_by_id} 替换：请先撤销后来的名单。")
    batch = _blocking_batch(lst)
    if batch is not None:
        raise UserError(
            f"{label}的变更已进入税务传递批次 {batch.batch_no}（{batch.state}），不能撤销。"
            "如需改正，请导入更正后的名单。"
        )
    with current().atomic():
        done = (
            SpecialList.update(current=False, undone_by=actor.username, undone_at=now())
            .where((SpecialList.id == lst.id) & SpecialList.current)
            .execute()
        )
        if done != 1:
            raise UserError(f"{label}刚被其他用户处理，请刷新后再看。")
        if lst.replaces is not None:
            SpecialList.update(current=True, replaced_by=None).where(SpecialList.id == lst.replaces).execute()
        payments = sync_payments(actor, lst.year)
        audit.record(actor.username, "undo", "special_list", lst.id, before={"current": True},
                     after={"restored": lst.replaces, "group": lst.group, "year": lst.year, "payments": payments})  # fmt: skip
    return SpecialList.get_by_id(lst.replaces) if lst.replaces is not None else None


def export_subsidy_list(actor: Actor, year: int, out: str | Path, township_id: int | None = None) -> int:
    """Write the year's 代缴 list as .xlsx (detail and summary) or .pdf (a printed 花名册). Returns people."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".xlsx", ".pdf"):
        raise UserError(f"代缴名单应导出为 .xlsx 或 .pdf：{out.name}")
    if not out.parent.is_dir():
        raise UserError(f"导出文件夹不存在：{out.parent}")
    rows = subsidy_rows(actor, year, township_id, full_ids=True)
    county = regions.county()
    scope = county["county_name"]
    if township_id is not None or actor.township_id is not None:
        scope = Township.get_by_id(township_id or actor.township_id).name
    title = f"{scope}{year}年度城乡居民基本养老保险政府代缴人员花名册"
    data = [
        (r.township, r.village, r.id_number, r.name, r.sex, r.groups, r.amount_fen, r.state) for r in rows
    ]
    from reports import subsidy_list  # the PDF library loads only when a list is written

    if suffix == ".xlsx":
        subsidy_list.write_xlsx(out, title, data, _summary(rows))
    else:
        unit = f"{county['county_name']}人力资源和社会保障局"
        subsidy_list.write_pdf(out, title, data, unit=unit, printed=f"打印日期：{dt.date.today():%Y-%m-%d}",
                               money=format_yuan, capital=to_capital)  # fmt: skip
    audit.record(actor.username, "export", "government_payment", year,
                 after={"file": out.name, "people": len(rows), "amount_fen": sum(r.amount_fen for r in rows)})  # fmt: skip
    return len(rows)


def _summary(rows: list[SubsidyRow]) -> list[tuple[str, str, int, int]]:
    """(township, village, people, fen) per village, each township followed by its subtotal (village '')."""
    out: list[tuple[str, str, int, int]] = []
    by_town: dict[str, dict[str, list[int]]] = {}
    for r in rows:
        by_town.setdefault(r.township, {}).setdefault(r.village or "（未填村居）", []).append(r.amount_fen)
    for town, villages in by_town.items():
        for village, amounts in villages.items():
            out.append((town, village, len(amounts), sum(amounts)))
        all_amounts = [a for amounts in villages.values() for a in amounts]
        out.append((town, "", len(all_amounts), sum(all_amounts)))
    return out
