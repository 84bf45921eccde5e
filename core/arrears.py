"""补缴核定: declare missed years at the township office, assess (fix and print the amount), track payment.

Years owed run from the later of (the year the person turned 16, the earliest year the policy table allows
arrears for) to last year, minus years already paid or already declared (``rules.arrears_years``). The
enrolment date is no bound: a person registered today may have missed 2017 and paid 2019.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peewee import fn

from core import audit, idcard, policy, regions, roster, rules
from core import special_groups as sg
from core.auth import Actor, check_township, require
from core.errors import UserError
from core.money import fen_to_yuan, format_yuan, to_capital, yuan_text
from dao import bulk
from dao.db import current
from dao.models import (
    ARREARS_ASSESSED,
    ARREARS_DECLARED,
    ARREARS_OPEN_STATES,
    ARREARS_PAID,
    ARREARS_VOID,
    ArrearsAssessment,
    ArrearsLine,
    Contribution,
    PolicyYear,
    Resident,
    Township,
    User,
    now,
)
from reports.tables import write_table

# The channels of the county notice: people pay arrears through the tax side or a bank, never in cash.
PAYMENT_CHANNELS = (
    "税务渠道：“山东税务社保费缴纳”微信小程序、山东省电子税务局、“山东税务”微信公众号、支付宝、税务大厅POS机",
    "银行渠道：中国银行、中国农业银行、中国工商银行、中国建设银行（含裕农通、智慧柜员机）、"
    "农村商业银行（含农金通）、中国邮政储蓄银行、临商银行",
)
MAX_YEARS_PER_SHEET = 15


@dataclass
class YearOwed:
    year: int
    tiers: list[int]  # fen, what may be chosen for that year
    hardship: bool  # the person was in a hardship group that year: the minimum tier is allowed


def _paid_years(resident_id: int) -> set[int]:
    return {
        y
        for (y,) in Contribution.select(Contribution.year)
        .where(Contribution.resident == resident_id)
        .tuples()
    }


def _declared_years(resident_id: int) -> set[int]:
    query = (
        ArrearsLine.select(ArrearsLine.year)
        .join(ArrearsAssessment)
        .where(
            (ArrearsAssessment.resident == resident_id) & ArrearsAssessment.status.in_(ARREARS_OPEN_STATES)
        )
    )
    return {y for (y,) in query.tuples()}


def proposal(actor: Actor, resident_id: int, as_of: dt.date | None = None) -> list[YearOwed]:
    """The years this person may declare, with the tiers each year allows."""
    require(actor, "arrears.view")
    resident = _resident(actor, resident_id)
    as_of = as_of or dt.date.today()
    allowed = {p.year: p for p in PolicyYear.select().where(PolicyYear.arrears_allowed)}
    if not allowed:
        return []
    taken = _paid_years(resident_id) | _declared_years(resident_id)
    owed = []
    for year in rules.arrears_years(resident.birth_date, allowed, taken, as_of):
        policy_year = allowed[year]
        hardship = sg.is_flagged(resident_id, year)
        tiers = [t for t in policy_year.tiers if hardship or t != policy_year.hardship_min_fen]
        owed.append(YearOwed(year, tiers, hardship))
    return owed


@dataclass
class YearsOverview:
    """What 补缴申报 shows: the years that may be declared, the years already declared (shown, not hidden),
    and why nothing can be declared when that is so."""

    owed: list[YearOwed]
    declared: dict[int, str]  # year -> the open assessment's state (已申报 / 已核定)
    reason: str  # "" when some year can be declared


def overview(actor: Actor, resident_id: int, as_of: dt.date | None = None) -> YearsOverview:
    as_of = as_of or dt.date.today()
    owed = proposal(actor, resident_id, as_of)
    resident = _resident(actor, resident_id)
    declared = {
        year: status
        for year, status in ArrearsLine.select(ArrearsLine.year, ArrearsAssessment.status)
        .join(ArrearsAssessment)
        .where(
            (ArrearsAssessment.resident == resident_id) & ArrearsAssessment.status.in_(ARREARS_OPEN_STATES)
        )
        .tuples()
    }
    return YearsOverview(owed, declared, "" if owed else _why_none(resident, declared, as_of))


def _why_none(resident: Resident, declared: dict[int, str], as_of: dt.date) -> str:
    allowed = sorted(p.year for p in PolicyYear.select(PolicyYear.year).where(PolicyYear.arrears_allowed))
    last = as_of.year - 1
    if not allowed:
        return "缴费政策中没有允许补缴的年度（请管理员在“缴费政策”中设置）。"
    turned_16 = resident.birth_date.year + rules.MIN_AGE
    if turned_16 > last:
        return f"该居民 {turned_16} 年才年满 {rules.MIN_AGE} 周岁，没有以前年度可补缴。"
    first = max(turned_16, allowed[0])
    window = [y for y in range(first, last + 1) if y in set(allowed)]
    if not window:
        return f"允许补缴的政策年度（{allowed[0]}—{allowed[-1]} 年）都不在 {first}—{last} 年之间，没有可补缴的年度。"
    paid = _paid_years(resident.id)
    open_years = sorted(y for y in window if y in declared)
    if not open_years:
        return f"{window[0]}—{window[-1]} 年均已缴费，无需补缴。"
    years = "、".join(str(y) for y in open_years)
    if all(y in paid for y in window if y not in declared):
        return f"{window[0]}—{window[-1]} 年均已缴费或已申报（{years} 年已申报，待核定或缴费），没有可再申报的年度。"
    return "没有可补缴的年度。"


def _resident(actor: Actor, resident_id: int) -> Resident:
    resident = Resident.get_or_none(Resident.id == resident_id)
    if resident is None:
        raise UserError("该居民不在花名册中。")
    check_township(actor, resident.township_id)
    return resident


def find_resident(actor: Actor, id_number: str) -> Resident:
    try:
        number = idcard.parse(id_number).number
    except idcard.IdError as exc:
        raise UserError(f"身份证号码无效：{id_number}（{exc.code}）") from exc
    resident = Resident.get_or_none(Resident.id_number == number)
    if resident is None:
        raise UserError(f"花名册中没有身份证号码为 {number} 的居民，请先办理参保登记。")
    check_township(actor, resident.township_id)
    return resident


def declare(
    actor: Actor,
    resident_id: int,
    years: Sequence[int],
    tiers_fen: Sequence[int],
    as_of: dt.date | None = None,
) -> ArrearsAssessment:
    """补缴申报: one assessment with a line per year. Every year and tier is checked against the rules."""
    require(actor, "arrears.declare")
    if not years:
        raise UserError("请至少选择一个补缴年度。")
    if len(years) != len(tiers_fen):
        raise UserError(f"年度（{len(years)} 个）与档次（{len(tiers_fen)} 个）的个数不一致。")
    if len(set(years)) != len(years):
        raise UserError("补缴年度有重复。")
    if len(years) > MAX_YEARS_PER_SHEET:
        raise UserError(f"一张核定单最多 {MAX_YEARS_PER_SHEET} 个年度。")
    resident = _resident(actor, resident_id)
    owed = {y.year: y for y in proposal(actor, resident_id, as_of)}
    paid = _paid_years(resident_id)
    lines = []
    if resident.status == "终止":
        raise UserError(f"{resident.name}已终止参保，不能申报补缴。")
    for year, tier in sorted(zip(years, tiers_fen, strict=True)):
        if rules.paid_after_60(year, resident.birth_date):
            raise UserError(
                f"{year} 年不能补缴：该居民 {rules.turns_60_in(resident.birth_date)} 年满 60 周岁，"
                f"只能补缴 {rules.last_paying_year(resident.birth_date)} 年及以前的年度。"
            )
        if year in paid:
            raise UserError(f"{year} 年已经缴费，不能补缴。")
        if year not in owed:
            span = f"{min(owed)}—{max(owed)}" if owed else "无"
            raise UserError(f"{year} 年不在可补缴的年度范围内（可补缴：{span}，已申报的年度除外）。")
        policy_year = policy.get(year)
        assert policy_year is not None
        if tier not in policy_year.tiers:
            choices = "、".join(yuan_text(t) for t in policy_year.tiers)
            raise UserError(f"{format_yuan(tier)} 元不是 {year} 年的缴费档次（{choices} 元）。")
        if tier not in owed[year].tiers:
            raise UserError(f"{year} 年该居民不属于困难群体，不能选择最低档次 {format_yuan(tier)} 元。")
        subsidy = policy_year.subsidy_for(tier) if policy_year.arrears_subsidy else 0
        lines.append((year, tier, subsidy))
    with current().atomic():
        assessment = ArrearsAssessment.create(resident=resident.id, township=resident.township_id,
                                              status=ARREARS_DECLARED, declared_by=actor.username,
                                              total_fen=sum(t for _, t, _ in lines))  # fmt: skip
        for year, tier, subsidy in lines:
            ArrearsLine.create(
                assessment=assessment.id, year=year, tier_fen=tier, amount_fen=tier, subsidy_fen=subsidy
            )
        audit.record(actor.username, "declare", "arrears_assessment", assessment.id,
                     after={"resident_id": resident.id, "years": [y for y, _, _ in lines],
                            "tiers_fen": [t for _, t, _ in lines], "total_fen": assessment.total_fen})  # fmt: skip
    return assessment


def _get(actor: Actor, assessment_id: int) -> ArrearsAssessment:
    assessment = ArrearsAssessment.get_or_none(ArrearsAssessment.id == assessment_id)
    if assessment is None:
        raise UserError(f"没有编号为 {assessment_id} 的补缴记录。")
    check_township(actor, assessment.township_id)
    return assessment


def _transition(actor: Actor, a: ArrearsAssessment, action: str, **changes: object) -> None:
    """Optimistic locking: the update only applies to the version that was read; audited."""
    before = {k: getattr(a, k) for k in changes}
    updated = (
        ArrearsAssessment.update(**changes, version=ArrearsAssessment.version + 1)
        .where((ArrearsAssessment.id == a.id) & (ArrearsAssessment.version == a.version))
        .execute()
    )
    if updated != 1:
        raise UserError("该补缴记录已被其他用户处理，请刷新后再试。")
    audit.record(actor.username, action, "arrears_assessment", a.id, before=before, after=changes)


def assess(actor: Actor, assessment_id: int) -> ArrearsAssessment:
    """补缴费额核定: fix the amount and give the sheet its number (unique per township and year)."""
    require(actor, "arrears.assess")
    with current().atomic():
        a = _get(actor, assessment_id)
        if a.status != ARREARS_DECLARED:
            raise UserError(f"只有“已申报”的记录可以核定（当前：{a.status}）。")
        moment = now()
        seq = (
            ArrearsAssessment.select(fn.MAX(ArrearsAssessment.sheet_seq))
            .where(
                (ArrearsAssessment.township == a.township_id) & (ArrearsAssessment.sheet_year == moment.year)
            )
            .scalar()
            or 0
        ) + 1  # the unique index makes a concurrent duplicate fail rather than repeat a number
        _transition(actor, a, "assess", status=ARREARS_ASSESSED, assessed_by=actor.username, assessed_at=moment,
                    sheet_year=moment.year, sheet_seq=seq)  # fmt: skip
    return ArrearsAssessment.get_by_id(assessment_id)


def void(actor: Actor, assessment_id: int, reason: str) -> None:
    require(actor, "arrears.declare")
    if not reason.strip():
        raise UserError("作废必须填写原因。")
    with current().atomic():
        a = _get(actor, assessment_id)
        if a.status not in ARREARS_OPEN_STATES:
            raise UserError(f"“{a.status}”的记录不能作废。")
        if any(line.contribution_id for line in a.lines):
            raise UserError("已有年度缴费入账，不能作废。")
        _transition(
            actor, a, "void", status=ARREARS_VOID, void_reason=reason.strip(), voided_by=actor.username
        )


def void_open(actor: Actor, resident_id: int, reason: str) -> list[int]:
    """A terminated person's open declarations and assessments are voided (inside the caller's transaction);
    returns their ids. Lines already paid stay linked to their payments."""
    voided = []
    open_ones = ArrearsAssessment.select().where(
        (ArrearsAssessment.resident == resident_id) & ArrearsAssessment.status.in_(ARREARS_OPEN_STATES)
    )
    for a in open_ones.order_by(ArrearsAssessment.id):
        _transition(actor, a, "void", status=ARREARS_VOID, void_reason=reason[:200], voided_by=actor.username)
        voided.append(a.id)
    return voided


def mark_paid(actor: Actor, resident_id: int, year: int, contribution_id: int, amount_fen: int,
              paid_on: dt.date | None) -> bool:  # fmt: skip
    """Called by the ledger import for an arrears payment: mark the assessed line paid, close the assessment
    when every line is paid. Returns whether a line matched."""
    line = (
        ArrearsLine.select(ArrearsLine, ArrearsAssessment)
        .join(ArrearsAssessment)
        .where((ArrearsAssessment.resident == resident_id) & (ArrearsAssessment.status == ARREARS_ASSESSED)
               & (ArrearsLine.year == year) & ArrearsLine.contribution.is_null() & (ArrearsLine.amount_fen == amount_fen))
        .first()
    )  # fmt: skip
    if line is None:
        return False
    ArrearsLine.update(contribution=contribution_id).where(ArrearsLine.id == line.id).execute()
    audit.record(actor.username, "paid", "arrears_line", line.id, after={"contribution_id": contribution_id})
    a = line.assessment
    if all(x.contribution_id or x.id == line.id for x in a.lines):
        _transition(actor, a, "paid", status=ARREARS_PAID, paid_at=now())
    return True


# --- lists and the printed sheet ------------------------------------------------------------------------


@dataclass
class AssessmentRow:
    id: int
    sheet_no: str
    status: str
    township: str
    id_number: str
    name: str
    years: str
    total_fen: int
    declared_at: dt.datetime
    assessed_at: dt.datetime | None
    days_outstanding: int | None
    paid_years: int
    line_count: int


STATUS_NAMES = {
    "declared": ARREARS_DECLARED,
    "assessed": ARREARS_ASSESSED,
    "paid": ARREARS_PAID,
    "void": ARREARS_VOID,
}


def listing(actor: Actor, status: str | None = None, township_id: int | None = None,
            today: dt.date | None = None) -> list[AssessmentRow]:  # fmt: skip
    require(actor, "arrears.view")
    status = STATUS_NAMES.get(status or "", status)
    today = today or dt.date.today()
    query = (
        ArrearsAssessment.select(ArrearsAssessment, Resident, Township)
        .join(Resident)
        .switch(ArrearsAssessment)
        .join(Township)
        .order_by(Township.sort_order, ArrearsAssessment.id)
    )
    if status:
        query = query.where(ArrearsAssessment.status == status)
    if actor.township_id is not None:
        township_id = actor.township_id
    if township_id is not None:
        query = query.where(ArrearsAssessment.township == township_id)
    assessments = list(query)
    lines: dict[int, list[ArrearsLine]] = {}
    for part in bulk.in_chunks(a.id for a in assessments):
        for line in ArrearsLine.select().where(ArrearsLine.assessment.in_(part)).order_by(ArrearsLine.year):
            lines.setdefault(line.assessment_id, []).append(line)
    show = roster.id_display(actor)  # lists, and the export made from them, follow the masking setting
    rows = []
    for a in assessments:
        own = lines.get(a.id, [])
        outstanding = (
            (today - a.assessed_at.date()).days if a.status == ARREARS_ASSESSED and a.assessed_at else None
        )
        rows.append(AssessmentRow(a.id, a.sheet_no, a.status, a.township.name, show(a.resident.id_number), a.resident.name,
                                  "、".join(str(x.year) for x in own), a.total_fen, a.declared_at, a.assessed_at,
                                  outstanding, sum(1 for x in own if x.contribution_id), len(own)))  # fmt: skip
    return rows


EXPORT_HEADERS = (
    "核定单号",
    "状态",
    "乡镇",
    "身份证号码",
    "姓名",
    "补缴年度",
    "金额（元）",
    "申报时间",
    "核定时间",
    "已欠天数",
    "已缴年度数",
)


def export(actor: Actor, out: str | Path, status: str | None = None, township_id: int | None = None) -> int:
    rows = listing(actor, status, township_id)
    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".csv"):
        raise UserError(f"补缴清单应导出为 .xlsx 或 .csv：{out.name}")
    data = [(r.sheet_no, r.status, r.township, r.id_number, r.name, r.years, fen_to_yuan(r.total_fen),
             f"{r.declared_at:%Y-%m-%d}", f"{r.assessed_at:%Y-%m-%d}" if r.assessed_at else "",
             "" if r.days_outstanding is None else r.days_outstanding, f"{r.paid_years}/{r.line_count}") for r in rows]  # fmt: skip
    write_table(out, EXPORT_HEADERS, data, sheet_title="补缴清单", text_columns=(3,), money_columns=(6,))
    audit.record(
        actor.username, "export", "arrears_assessment", "", after={"file": out.name, "rows": len(rows)}
    )
    return len(rows)


def print_sheets(actor: Actor, assessment_ids: Sequence[int], out: str | Path) -> int:
    """补缴核定单: one A4 page per assessed sheet. Declared (not yet assessed) records cannot be printed."""
    from reports import arrears_sheet  # the PDF library loads only when a sheet is printed

    require(actor, "arrears.view")
    county = regions.county()
    names = dict(User.select(User.username, User.display_name).tuples())
    show = roster.id_display(actor)  # masked per the setting, as everywhere this role sees ID numbers
    sheets = []
    for assessment_id in assessment_ids:
        a = _get(actor, assessment_id)
        if a.status not in (ARREARS_ASSESSED, ARREARS_PAID):
            raise UserError(f"记录 {a.id} 尚未核定（{a.status}），不能打印核定单。")
        r = a.resident
        lines = list(a.lines.order_by(ArrearsLine.year))
        sheets.append(arrears_sheet.Sheet(
            title=f"{county['county_name']}城乡居民基本养老保险补缴费额核定单",
            number=a.sheet_no,
            resident=[("姓名", r.name), ("性别", r.sex), ("身份证号码", show(r.id_number)),
                      ("出生日期", f"{r.birth_date:%Y-%m-%d}"), ("乡镇（街道）", a.township.name),
                      ("村（居）", r.village.name if r.village_id else ""), ("联系电话", r.phone)],
            lines=[(str(x.year), format_yuan(x.tier_fen), format_yuan(x.amount_fen),
                    format_yuan(x.subsidy_fen) if x.subsidy_fen else "—") for x in lines],
            total=format_yuan(a.total_fen),
            total_capital=to_capital(a.total_fen),
            channels=PAYMENT_CHANNELS,
            assessor=names.get(a.assessed_by) or a.assessed_by,  # the person, not the login
            assessed_on=f"{a.assessed_at:%Y年%m月%d日}",
            office=f"{a.township.name}人力资源和社会保障所",
        ))  # fmt: skip
    arrears_sheet.write(out, sheets)
    audit.record(actor.username, "print", "arrears_assessment", ",".join(str(i) for i in assessment_ids))
    return len(sheets)
