"""The resident roster (花名册): browse, open, edit, export — scoped to the acting user's township."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from core import audit, idcard
from core import phone as phones
from core.auth import FULL_ID_ROLES_DEFAULT, ROLES, Actor, check_township, require
from core.errors import UserError
from core.progress import Job, Progress
from dao import queries
from dao.db import current
from dao.models import (
    RESIDENT_STATUSES,
    AppSetting,
    Contribution,
    GovernmentPayment,
    RefundCase,
    Resident,
    Village,
    now,
)
from dao.queries import ResidentFilter
from reports.tables import open_writer

EXPORT_HEADERS = ("身份证号码", "姓名", "性别", "出生日期", "乡镇", "村居", "联系电话", "参保状态")
MASK_SETTING = "id_masked_roles"


def scoped(actor: Actor, flt: ResidentFilter) -> ResidentFilter:
    """A township clerk's filter always carries their township, whatever the caller asked for."""
    require(actor, "roster.view")
    if actor.township_id is not None:
        if flt.township_id not in (None, actor.township_id):
            check_township(actor, flt.township_id)
        return replace(flt, township_id=actor.township_id)
    return flt


# --- ID masking (per role, an admin setting) ----------------------------------------------------------


def masked_roles() -> set[str]:
    row = AppSetting.get_or_none(AppSetting.key == MASK_SETTING)
    if row is None:
        return set(ROLES) - FULL_ID_ROLES_DEFAULT
    return set(json.loads(row.value))


def set_masked_roles(actor: Actor, roles: set[str]) -> None:
    require(actor, "system.manage")
    unknown = roles - set(ROLES)
    if unknown:
        raise UserError(f"未知角色：{'、'.join(sorted(unknown))}")
    before = sorted(masked_roles())
    value = json.dumps(sorted(roles), ensure_ascii=False)
    with current().atomic():
        AppSetting.insert(key=MASK_SETTING, value=value).on_conflict(
            conflict_target=[AppSetting.key], update={AppSetting.value: value}
        ).execute()
        audit.record(actor.username, "update", "setting", MASK_SETTING, before={"roles": before},
                     after={"roles": sorted(roles)})  # fmt: skip


def id_display(actor: Actor) -> Callable[[str], str]:
    """A function that shows an ID number as this actor may see it."""
    return idcard.mask if actor.role in masked_roles() else (lambda number: number)


# --- browsing -----------------------------------------------------------------------------------------


def count(actor: Actor, flt: ResidentFilter) -> int:
    return queries.count_residents(scoped(actor, flt))


def page(
    actor: Actor,
    flt: ResidentFilter,
    *,
    order: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 200,
) -> list[tuple]:
    """Rows (id, 身份证号码, 姓名, 性别, 出生日期, 乡镇, 村居, 电话, 状态), ID numbers masked for the role."""
    rows = queries.resident_page(
        scoped(actor, flt), order=order, descending=descending, offset=offset, limit=limit
    )
    show = id_display(actor)
    return [(r[0], show(r[1]), *r[2:]) for r in rows]


@dataclass
class ResidentDetail:
    resident: Resident
    id_shown: str
    township: str
    village: str
    contributions: list[Contribution]
    subsidies: list[GovernmentPayment]  # 特殊群体 flags by year, as the 代缴 list carries them
    refunds: list[RefundCase]


def detail(actor: Actor, resident_id: int) -> ResidentDetail:
    resident = _get(actor, resident_id)
    contributions = list(
        Contribution.select().where(Contribution.resident == resident.id).order_by(Contribution.year.desc())
    )
    subsidies = list(
        GovernmentPayment.select()
        .where(GovernmentPayment.resident == resident.id)
        .order_by(GovernmentPayment.year.desc())
    )
    cases = list(RefundCase.select().where(RefundCase.resident == resident.id).order_by(RefundCase.id.desc()))
    return ResidentDetail(
        resident,
        id_display(actor)(resident.id_number),
        resident.township.name,
        resident.village.name if resident.village_id else "",
        contributions,
        subsidies,
        cases,
    )


def _get(actor: Actor, resident_id: int) -> Resident:
    require(actor, "roster.view")
    resident = Resident.get_or_none(Resident.id == resident_id)
    if resident is None:
        raise UserError("该居民不存在（可能已被其他用户删除）。")
    check_township(actor, resident.township_id)
    return resident


def update(
    actor: Actor,
    resident_id: int,
    *,
    version: int,
    phone: str | None = None,
    village_id: int | None = None,
    status: str | None = None,
) -> Resident:
    """Edit phone and village (a status change goes through ``core.residents.set_status``). ``version`` is what
    the editor saw: a concurrent edit loses nothing."""
    require(actor, "roster.edit")
    resident = _get(actor, resident_id)
    changes: dict[str, object] = {}
    if phone is not None and phone.strip() != resident.phone:
        problem = phones.problem(phone.strip())
        if problem is not None:
            raise UserError(f"联系电话无效：{problem}。")
        changes["phone"] = phone.strip()
    if village_id is not None and village_id != resident.village_id:
        village = Village.get_or_none(Village.id == village_id)
        if village is None or village.township_id != resident.township_id:
            raise UserError("所选村居不属于该居民所在乡镇。")
        changes["village_id"] = village_id
    if status is not None and status != resident.status:
        if status not in RESIDENT_STATUSES:
            raise UserError(f"参保状态应为：{'、'.join(RESIDENT_STATUSES)}。")
        # a status change has consequences (代缴 list, refunds, arrears) and needs its reason: core.residents
        raise UserError("参保状态请用“暂停/终止/恢复”办理，并填写原因和日期。")
    if not changes:
        return resident
    before = {k: getattr(resident, k) for k in changes}
    with current().atomic():
        updated = (
            Resident.update(**changes, updated_at=now(), version=Resident.version + 1)
            .where((Resident.id == resident_id) & (Resident.version == version))
            .execute()
        )
        if updated != 1:
            raise UserError("该居民的信息已被其他用户修改，请刷新后再改。")
        audit.record(actor.username, "update", "resident", resident_id, before=before, after=changes)
    return Resident.get_by_id(resident_id)


# --- export (花名册) ------------------------------------------------------------------------------------


def export(actor: Actor, out: str | Path, flt: ResidentFilter | None = None) -> Job[int]:
    """Write the roster to .xlsx or .csv (by extension); a job: see ``core.progress``. Returns the row count."""
    require(actor, "roster.export")
    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise UserError(f"导出文件应为 .xlsx 或 .csv：{out.name}")
    if not out.parent.is_dir():
        raise UserError(f"导出文件夹不存在：{out.parent}")
    flt = scoped(actor, flt or ResidentFilter())
    total = queries.count_residents(flt)
    show = id_display(actor)
    with open_writer(out, EXPORT_HEADERS, sheet_title="花名册", text_columns=(0, 6),
                     widths=[22, 10, 6, 12, 12, 14, 15, 10]) as writer:  # fmt: skip
        for n, r in enumerate(queries.iter_residents(flt), start=1):
            born: dt.date | None = r[4]
            writer.append(
                (show(r[1]), r[2], r[3], born.isoformat() if born else "", r[5], r[6] or "", r[7], r[8])
            )
            if n % 5000 == 0:
                yield Progress(n, total, "导出中")
        yield Progress(total, total, "保存文件")
    audit.record(actor.username, "export", "resident", "", after={"file": out.name, "rows": writer.count})
    return writer.count
