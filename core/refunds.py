"""退费审核: a refund's four steps, with maker-checker, the 25th cut-off and the monthly fund request.

1. 受理 — the township clerk enters the case the tax branch accepted (payments, reason, amount, bank account,
   documents received) and prints the application and payment certificate in three copies.
2. 初审 — the township office passes it; a case passed on or before the 25th goes into this month's batch
   to the county, one passed later into next month's.
3. 复核 — a county reviewer approves or returns it; the reviewer may not be who entered or passed it.
4. 资金申请 and 退款 — approved cases form next month's fund request to the county finance bureau; the
   fund officer records each as paid (date, bank reference) or failed (reason); a failed case is re-issued
   after its account is corrected.

Every transition is a row in the append-only RefundEvent ledger and in the audit log. A transition applies
only to the version of the case that was read, so two PCs moving one case at once cannot both win.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import peewee as pw

from core import audit, regions, roster, rules
from core.auth import ADMIN, CLERK, FINANCE, REVIEWER, Actor, check_township, display_names, require
from core.errors import PermissionDenied, UserError
from core.money import format_yuan, to_capital
from dao import bulk
from dao.db import current
from dao.models import (
    CANDIDATE_CASE,
    CANDIDATE_OPEN,
    INSURANCE_MEDICAL,
    INSURANCE_PENSION,
    REFUND_DOCUMENTS,
    REFUND_REASONS,
    Contribution,
    RefundCandidate,
    RefundCase,
    RefundEvent,
    RefundItem,
    Resident,
    Township,
)

if TYPE_CHECKING:
    from reports import refund_forms

ACCEPTED, PASSED, APPROVED, RETURNED = "已受理", "已初审", "复核通过", "已退回"
PAID, FAILED, WITHDRAWN, TO_MEDICAL = "已退款", "退款失败", "已撤销", "已转医保"
STATES = (ACCEPTED, PASSED, APPROVED, RETURNED, PAID, FAILED, WITHDRAWN, TO_MEDICAL)
LIVE_STATES = (ACCEPTED, PASSED, APPROVED, RETURNED, PAID, FAILED)  # cases that hold their payments
CUTOFF_DAY = rules.CUTOFF_DAY

# target state -> (states it may come from, roles that may do it, action name)
TRANSITIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    PASSED: ((ACCEPTED, RETURNED), (CLERK, ADMIN), "初审"),
    APPROVED: ((PASSED, FAILED), (REVIEWER, ADMIN), "复核通过"),
    RETURNED: ((PASSED,), (REVIEWER, ADMIN), "退回"),
    PAID: ((APPROVED,), (FINANCE, ADMIN), "已退款"),
    FAILED: ((APPROVED,), (FINANCE, ADMIN), "退款失败"),
    WITHDRAWN: ((ACCEPTED, RETURNED), (CLERK, ADMIN), "撤销"),
}
# What the CLI and the GUI call a transition.
TARGET_NAMES = {"初审": PASSED, "复核通过": APPROVED, "退回": RETURNED, "已退款": PAID, "退款失败": FAILED,
                "撤销": WITHDRAWN, "重新发放": APPROVED}  # fmt: skip


month_of = rules.month_of
next_month = rules.next_month
batch_month = rules.refund_batch_month  # the 25th cut-off


def parse_month(text: str) -> str:
    try:
        day = dt.date.fromisoformat(f"{text.strip()}-01")
    except ValueError as exc:
        raise UserError(f"月份格式应为 YYYY-MM：{text}") from exc
    return month_of(day)


@dataclass
class NewCase:
    resident_id: int
    contribution_ids: Sequence[int]
    amounts_fen: Sequence[int]  # refunded per payment, parallel to contribution_ids
    reason: str
    account_name: str
    account_no: str
    bank_name: str
    documents: Sequence[str] = ()
    reason_text: str = ""
    insurance: str = INSURANCE_PENSION
    candidate_id: int | None = None


def _next_case_no(township: Township, year: int) -> str:
    prefix = f"TF{year}-{township.code[-3:]}-"
    last = (
        RefundCase.select(RefundCase.case_no)
        .where(RefundCase.case_no.startswith(prefix))
        .order_by(RefundCase.case_no.desc())
        .scalar()
    )
    return f"{prefix}{int(last[len(prefix) :]) + 1 if last else 1:04d}"


def _event(
    actor: Actor, case: RefundCase, action: str, from_state: str, to_state: str, note: str = "",
    day: dt.date | None = None, bank_ref: str = "",
) -> None:  # fmt: skip
    """The step in the case's history (a payout's note is its bank reference) and in the audit log."""
    RefundEvent.create(case=case.id, username=actor.username, action=action, from_state=from_state,
                       to_state=to_state, note=(note or bank_ref)[:200], day=day)  # fmt: skip
    after: dict[str, object] = {"state": to_state}
    if note:
        after["note"] = note
    if bank_ref:
        after["bank_ref"] = bank_ref
    if day is not None:
        after["day"] = day.isoformat()
    audit.record(actor.username, action, "refund_case", case.id, before={"state": from_state}, after=after)


def _last_step_day(case: RefundCase) -> tuple[dt.date | None, str]:
    """The day of the case's latest step and what it was: a later step may not be dated before it."""
    last = (
        RefundEvent.select()
        .where(
            (RefundEvent.case == case.id) & (RefundEvent.from_state != RefundEvent.to_state)
        )  # steps, not edits
        .order_by(RefundEvent.id.desc())
        .first()
    )
    if last is None:
        return None, ""
    return (last.day or last.at.date()), last.action


def _step_day(on: dt.date | None, today: dt.date, previous: dt.date | None, previous_step: str) -> dt.date:
    day = on or today
    problem = rules.step_date_problem(day, previous, today, previous_step)
    if problem is not None:
        raise UserError(problem + "。")
    return day


def create(actor: Actor, new: NewCase, today: dt.date | None = None, on: dt.date | None = None) -> RefundCase:
    """受理: enter a case. Amounts never exceed what was paid; a payment is never in two live cases; money the
    government paid (政府代缴) is never refunded to the person. ``on`` is the day the tax branch accepted it,
    when the paperwork is entered late (never in the future); ``today`` the real today (tests move it)."""
    require(actor, "refund.enter")
    today = today or dt.date.today()
    day = _step_day(on, today, None, "")
    resident = Resident.get_or_none(Resident.id == new.resident_id)
    if resident is None:
        raise UserError("该居民不在花名册中。")
    check_township(actor, resident.township_id)
    if new.reason not in REFUND_REASONS:
        raise UserError(f"退费原因应为：{'、'.join(REFUND_REASONS)}。")
    if new.reason == "其他" and not new.reason_text.strip():
        raise UserError("退费原因为“其他”时须写明具体原因。")
    if new.insurance not in (INSURANCE_PENSION, INSURANCE_MEDICAL):
        raise UserError(f"险种应为 {INSURANCE_PENSION} 或 {INSURANCE_MEDICAL}。")
    unknown = set(new.documents) - set(REFUND_DOCUMENTS)
    if unknown:
        raise UserError(f"未知的材料：{'、'.join(sorted(unknown))}")
    if not (new.account_name.strip() and new.account_no.strip() and new.bank_name.strip()):
        raise UserError("请填写收款人户名、账号和开户行。")
    if new.insurance == INSURANCE_PENSION and not new.contribution_ids:
        raise UserError("请选择要退的缴费记录。")
    if len(new.contribution_ids) != len(new.amounts_fen) or len(set(new.contribution_ids)) != len(
        new.contribution_ids
    ):
        raise UserError("缴费记录与退费金额不对应。")
    payments = {c.id: c for c in Contribution.select().where(Contribution.id.in_(list(new.contribution_ids)))}
    for cid, amount in zip(new.contribution_ids, new.amounts_fen, strict=True):
        c = payments.get(cid)
        if c is None or c.resident_id != resident.id:
            raise UserError("所选缴费记录不属于该居民。")
        if amount <= 0:
            raise UserError("退费金额必须大于零。")
        if amount > c.amount_fen:
            raise UserError(
                f"税票 {c.voucher} 的退费金额 {format_yuan(amount)} 元超过实缴 {format_yuan(c.amount_fen)} 元。"
            )
        problem = rules.refund_problem(c.payer)
        if problem is not None:
            raise UserError(f"税票 {c.voucher}（{c.year} 年，{c.payer}）：{problem}。")
    total = sum(new.amounts_fen)
    state = TO_MEDICAL if new.insurance == INSURANCE_MEDICAL else ACCEPTED
    township = Township.get_by_id(resident.township_id)
    for _attempt in range(3):
        try:
            return _insert_case(actor, new, township, state, total, day)
        except pw.IntegrityError as exc:
            if "case_no" not in str(exc):  # the payment's lock: it is in another live case
                raise UserError("所选缴费记录已在其他退费案件中（同一笔缴费不能重复退费）。") from exc
            # another PC took the same case number at the same moment: number again
    raise UserError("系统繁忙，案件编号分配失败，请重试。")


def _insert_case(
    actor: Actor, new: NewCase, township: Township, state: str, total: int, day: dt.date
) -> RefundCase:
    with current().atomic():
        case = RefundCase.create(
            case_no=_next_case_no(township, day.year), resident=new.resident_id, township=township.id,
            insurance=new.insurance, reason=new.reason, reason_text=new.reason_text.strip(), amount_fen=total,
            account_name=new.account_name.strip(), account_no=new.account_no.strip().replace(" ", ""),
            bank_name=new.bank_name.strip(), documents="、".join(d for d in REFUND_DOCUMENTS if d in new.documents),
            state=state, entered_by=actor.username, candidate=new.candidate_id,
        )  # fmt: skip
        for cid, amount in zip(new.contribution_ids, new.amounts_fen, strict=True):
            RefundItem.create(
                case=case.id, contribution=cid, amount_fen=amount, lock=cid if state != TO_MEDICAL else None
            )
        if new.candidate_id is not None:
            RefundCandidate.update(status=CANDIDATE_CASE).where(
                RefundCandidate.id == new.candidate_id
            ).execute()
        note = "居民医保退费：转医保局办理，本系统仅登记" if state == TO_MEDICAL else ""
        _event(actor, case, "受理", "", state, note, day)
    return case


def get(actor: Actor, case_ref: str | int) -> RefundCase:
    query = RefundCase.select()
    text = str(case_ref).strip()
    case = (
        query.where(RefundCase.id == int(text)).first() if text.isdigit() else query.where(RefundCase.case_no == text).first()
    )  # fmt: skip
    if case is None:
        raise UserError(f"没有这个退费案件：{case_ref}")
    check_township(actor, case.township_id)
    return case


def advance(
    actor: Actor,
    case_ref: str | int,
    target: str,
    *,
    reason: str = "",
    paid_on: dt.date | None = None,
    bank_ref: str = "",
    today: dt.date | None = None,
    expected_version: int | None = None,
    on: dt.date | None = None,
) -> RefundCase:
    """Move a case to ``target`` (a state or its CLI name). Raises UserError / PermissionDenied.

    ``on`` is the day the step happened when the paperwork is entered late (default today): never in the
    future, never before the case's previous step. The 25th cut-off (初审) and the fund month (复核通过)
    follow it; ``paid_on`` (已退款, default that day) is checked the same way."""
    today = today or dt.date.today()
    target = TARGET_NAMES.get(target, target)
    if target not in TRANSITIONS:
        raise UserError(f"无法转到“{target}”：可选 {'、'.join(TARGET_NAMES)}。")
    sources, roles, action = TRANSITIONS[target]
    case = get(actor, case_ref)
    if expected_version is not None and case.version != expected_version:
        raise UserError(f"案件 {case.case_no} 已被其他用户处理，请刷新后再试。")
    _check_period_open(case)
    if actor.role not in roles:
        raise PermissionDenied(
            f"“{action}”须由{'或'.join(r for r in roles if r != ADMIN)}办理（当前用户：{actor.role}）。"
        )
    if case.state not in sources:
        raise UserError(f"案件 {case.case_no} 当前为“{case.state}”，不能“{action}”。")
    previous, previous_step = _last_step_day(case)
    day = _step_day(on, today, previous, previous_step)
    changes: dict[str, object] = {"state": target}
    note = reason.strip()
    if target == PASSED:
        changes.update(passed_by=actor.username, batch_month=batch_month(day), note="")
    elif target == APPROVED:
        if actor.username in (case.entered_by, case.passed_by):
            raise PermissionDenied(
                f"复核人不能是该案件的受理人或初审人（{actor.username}）：须由另一位县局审核人员复核。"
            )
        changes.update(reviewed_by=actor.username, fund_month=rules.refund_fund_month(day))
        action = "重新发放" if case.state == FAILED else action
    elif target == RETURNED:
        if not note:
            raise UserError("退回必须写明原因。")
        if actor.username in (case.entered_by, case.passed_by):
            raise PermissionDenied("复核人不能是该案件的受理人或初审人。")
        changes.update(note=note, reviewed_by=actor.username)
    elif target == PAID:
        if not bank_ref.strip():
            raise UserError("请填写银行流水号。")
        paid_day = _step_day(paid_on or day, today, previous, previous_step)
        changes.update(paid_on=paid_day, bank_ref=bank_ref.strip())
        day = paid_day
    elif target == FAILED:
        if not note:
            raise UserError("请写明退款失败的原因（如账号错误、银行退回）。")
        changes.update(note=note)
    with current().atomic():
        updated = (
            RefundCase.update(**changes, version=RefundCase.version + 1)
            .where((RefundCase.id == case.id) & (RefundCase.version == case.version))
            .execute()
        )
        if updated != 1:
            raise UserError(f"案件 {case.case_no} 刚被其他用户处理，本次操作未生效。请刷新后再看。")
        if target == WITHDRAWN:
            RefundItem.update(lock=None).where(RefundItem.case == case.id).execute()
        _event(actor, case, action, case.state, target, note, day, bank_ref.strip())
    return RefundCase.get_by_id(case.id)


def advance_many(
    actor: Actor,
    case_refs: Sequence[str | int],
    target: str,
    *,
    expected_versions: Sequence[int] | None = None,
    **options: object,
) -> list[RefundCase]:
    """``advance`` for several cases, all or nothing: if one cannot move, none moves, and the message names
    it (a clerk ticking ten cases must not find seven passed and three silently left behind)."""
    if not case_refs:
        raise UserError("请至少指定一个案件。")
    versions = list(expected_versions) if expected_versions is not None else [None] * len(case_refs)
    moved: list[RefundCase] = []
    with current().atomic():
        for ref, version in zip(case_refs, versions, strict=True):
            try:
                moved.append(advance(actor, ref, target, expected_version=version, **options))  # type: ignore[arg-type]
            except UserError as exc:  # leaving the block rolls back the cases already moved
                raise type(exc)(f"案件 {ref}：{exc} 本次 {len(case_refs)} 件均未办理。") from exc
    return moved


def correct_account(
    actor: Actor, case_ref: str | int, account_name: str, account_no: str, bank_name: str
) -> RefundCase:
    """Fix the payee's account (a case returned, or a refund the bank sent back); audited."""
    require(actor, "refund.enter")
    case = get(actor, case_ref)
    if case.state not in (ACCEPTED, RETURNED, FAILED):
        raise UserError(f"“{case.state}”的案件不能修改收款账户。")
    if not (account_name.strip() and account_no.strip() and bank_name.strip()):
        raise UserError("请填写收款人户名、账号和开户行。")
    new = {"account_name": account_name.strip(), "account_no": account_no.strip().replace(" ", ""),
           "bank_name": bank_name.strip()}  # fmt: skip
    with current().atomic():
        updated = (
            RefundCase.update(**new, version=RefundCase.version + 1)
            .where((RefundCase.id == case.id) & (RefundCase.version == case.version))
            .execute()
        )
        if updated != 1:
            raise UserError("案件刚被其他用户处理，请刷新后再改。")
        RefundEvent.create(case=case.id, username=actor.username, action="修改账户", from_state=case.state,
                           to_state=case.state, note=f"{case.account_no} → {new['account_no']}")  # fmt: skip
        audit.record(actor.username, "update", "refund_case", case.id,
                     before={k: getattr(case, k) for k in new}, after=new)  # fmt: skip
    return RefundCase.get_by_id(case.id)


def _check_period_open(case: RefundCase) -> None:
    """After a month's refunds were handed to the tax side, that month's cases are locked."""
    if case.handoff_batch_id is not None:
        raise UserError(f"案件 {case.case_no} 已随税务传递批次报出，所在月份已锁定，不能再修改。")


# The refund reason a ledger candidate's code stands for; any other code is 其他 with the candidate's message.
CANDIDATE_REASONS = {
    "OVER_ANNUAL_MAX": "多缴/超过最高档次",
    "DUPLICATE_PAYMENT": "重复缴费",
    "SUBSIDY_TIER_PAID_PERSONALLY": "政府代缴后个人重复缴费",
    "PAID_AFTER_SUBSIDY_BEFORE_RESELECT": "政府代缴后个人重复缴费",
    "DIED": "死亡",
    "JOINED_EMPLOYEE_PENSION": "已参加职工养老保险",
}


def candidate_reason(code: str) -> str:
    return CANDIDATE_REASONS.get(code, "其他")


def from_candidate(actor: Actor, candidate_id: int, account_name: str, account_no: str, bank_name: str,
                   documents: Sequence[str] = REFUND_DOCUMENTS) -> RefundCase:  # fmt: skip
    """A refund candidate found by the ledger import, as a pre-filled case."""
    candidate = RefundCandidate.get_or_none(RefundCandidate.id == candidate_id)
    if candidate is None or candidate.status != CANDIDATE_OPEN:
        raise UserError("该退费候选不存在或已处理。")
    reason = candidate_reason(candidate.code)
    c = candidate.contribution
    return create(actor, NewCase(c.resident_id, [c.id], [candidate.amount_fen], reason, account_name, account_no,
                                 bank_name, documents, candidate.message if reason == "其他" else "", candidate_id=candidate_id))  # fmt: skip


# --- listing, months, fund requests ---------------------------------------------------------------------


@dataclass
class CaseRow:
    id: int
    case_no: str
    state: str
    township: str
    id_number: str
    name: str
    reason: str
    amount_fen: int
    batch_month: str
    fund_month: str
    entered_by: str
    entered_at: dt.datetime
    version: int


def listing(actor: Actor, state: str | None = None, month: str | None = None,
            township_id: int | None = None) -> list[CaseRow]:  # fmt: skip
    """Cases, scoped to the clerk's township; ``month`` matches the batch month or the fund month."""
    require(actor, "refund.view")
    query = (
        RefundCase.select(RefundCase, Resident, Township)
        .join(Resident)
        .switch(RefundCase)
        .join(Township)
        .order_by(RefundCase.id)
    )
    if state:
        query = query.where(RefundCase.state == TARGET_NAMES.get(state, state))
    if month:
        month = parse_month(month)
        query = query.where((RefundCase.batch_month == month) | (RefundCase.fund_month == month))
    township_id = actor.township_id if actor.township_id is not None else township_id
    if township_id is not None:
        query = query.where(RefundCase.township == township_id)
    show = roster.id_display(actor)  # masked per the setting, as everywhere the role sees IDs
    found = list(query)
    names = display_names(c.entered_by for c in found)  # the clerk by name, as the case detail names them
    return [
        CaseRow(c.id, c.case_no, c.state, c.township.name, show(c.resident.id_number), c.resident.name, c.reason, c.amount_fen,
                c.batch_month, c.fund_month, names.get(c.entered_by, c.entered_by), c.entered_at, c.version)
        for c in found
    ]  # fmt: skip


@dataclass
class CutOff:
    month: str
    cutoff: dt.date
    unsent: int  # accepted or returned, not yet passed to the county
    in_batch: int  # passed into this month's batch


def cutoff_status(actor: Actor, today: dt.date | None = None) -> CutOff:
    today = today or dt.date.today()
    month = batch_month(today)
    year, mon = (int(x) for x in month.split("-"))
    rows = listing(actor)
    return CutOff(month, dt.date(year, mon, CUTOFF_DAY), sum(1 for r in rows if r.state in (ACCEPTED, RETURNED)),
                  sum(1 for r in rows if r.state == PASSED and r.batch_month == month))  # fmt: skip


@dataclass
class FundRequest:
    month: str
    cases: list[RefundCase]
    by_township: list[tuple[str, int, int]]  # township, cases, fen

    @property
    def total_fen(self) -> int:
        return sum(c.amount_fen for c in self.cases)


def fund_request(actor: Actor, month: str) -> FundRequest:
    """The cases approved for ``month``'s request to the county finance bureau (approved the month before)."""
    require(actor, "refund.fund")
    month = parse_month(month)
    cases = list(
        RefundCase.select(RefundCase, Resident, Township)
        .join(Resident)
        .switch(RefundCase)
        .join(Township)
        .where((RefundCase.fund_month == month) & RefundCase.state.in_((APPROVED, PAID, FAILED)))
        .order_by(Township.sort_order, RefundCase.case_no)
    )
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for c in cases:
        sums[c.township.name][0] += 1
        sums[c.township.name][1] += c.amount_fen
    return FundRequest(month, cases, [(t, n, fen) for t, (n, fen) in sums.items()])


def waiting_months() -> list[tuple[str, int]]:
    """Fund months with approved cases not yet paid, and how many, earliest first."""
    rows = (
        RefundCase.select(RefundCase.fund_month, pw.fn.COUNT(RefundCase.id))
        .where((RefundCase.state == APPROVED) & (RefundCase.fund_month != ""))
        .group_by(RefundCase.fund_month)
        .order_by(RefundCase.fund_month)
        .tuples()
    )
    return [(month, count) for month, count in rows]


def no_cases_message(month: str) -> str:
    """Why there is no fund request for ``month``, and which month has approved cases waiting, if any."""
    text = f"{month} 没有复核通过的退费案件，无须生成资金申请表。"
    waiting = [f"{m}（{n} 件）" for m, n in waiting_months() if m != month]
    if waiting:
        text += f"有复核通过、待申请资金的月份：{'、'.join(waiting)}。"
    return text


def write_fund_request(actor: Actor, month: str, out: str | Path) -> FundRequest:
    from reports import refund_forms  # the PDF library loads only when a form is printed

    request = fund_request(actor, month)
    if not request.cases:  # an empty form reading 零元整 would go to the finance bureau
        raise UserError(no_cases_message(request.month))
    out = Path(out)
    county = regions.county()
    payees = [(c.case_no, c.township.name, c.resident.name, c.resident.id_number, c.account_name, c.account_no,
               c.bank_name, c.amount_fen) for c in request.cases]  # fmt: skip
    title = f"{county['county_name']}城乡居民基本养老保险退费资金申请表（{request.month}）"
    if out.suffix.lower() == ".pdf":
        refund_forms.write_fund_request_pdf(out, title, request.by_township, payees, unit=f"{county['county_name']}人力资源和社会保障局",
                                            money=format_yuan, capital=to_capital(request.total_fen))  # fmt: skip
    elif out.suffix.lower() == ".xlsx":
        refund_forms.write_fund_request_xlsx(out, title, request.by_township, payees)
    else:
        raise UserError(f"资金申请应导出为 .pdf 或 .xlsx：{out.name}")
    audit.record(actor.username, "fund_request", "refund_case", request.month,
                 after={"file": out.name, "cases": len(request.cases), "total_fen": request.total_fen})  # fmt: skip
    return request


# --- printed forms --------------------------------------------------------------------------------------


def _load(case_ids: Iterable[int]) -> list[RefundCase]:
    order = list(case_ids)
    cases: dict[int, RefundCase] = {}
    items: dict[int, list[RefundItem]] = defaultdict(list)
    events: dict[int, list[RefundEvent]] = defaultdict(list)
    for ids in bulk.in_chunks(order):
        cases.update((c.id, c) for c in RefundCase.select(RefundCase, Resident, Township).join(Resident)
                     .switch(RefundCase).join(Township).where(RefundCase.id.in_(ids)))  # fmt: skip
        for item in (
            RefundItem.select(RefundItem, Contribution).join(Contribution).where(RefundItem.case.in_(ids))
        ):
            items[item.case_id].append(item)
        for event in RefundEvent.select().where(RefundEvent.case.in_(ids)).order_by(RefundEvent.id):
            events[event.case_id].append(event)
    names = display_names([e.username for steps in events.values() for e in steps]
                          + [u for c in cases.values() for u in (c.entered_by, c.passed_by, c.reviewed_by)])  # fmt: skip
    for c in cases.values():
        c.loaded_items = items[c.id]
        c.loaded_events = events[c.id]
        c.display = names
    return [cases[i] for i in order if i in cases]


def _form(c: RefundCase) -> refund_forms.CaseForm:
    from reports import refund_forms  # the PDF library loads only when a form is printed

    r = c.resident
    who = lambda name: c.display.get(name) or name  # noqa: E731
    # A step entered late shows the day it happened (the paperwork's date), not the day it was typed in.
    trail = [(f"{e.day:%Y-%m-%d}" if e.day and e.day != e.at.date() else f"{e.at:%Y-%m-%d %H:%M}", e.action,
              who(e.username), e.note) for e in c.loaded_events]  # fmt: skip
    first = next((e for e in c.loaded_events if e.action == "受理"), None)
    accepted = (first.day or first.at.date()) if first is not None else c.entered_at.date()
    paid = sum(i.contribution.amount_fen for i in c.loaded_items)
    return refund_forms.CaseForm(
        case_no=c.case_no, insurance="城乡居民基本养老保险" if c.insurance == INSURANCE_PENSION else "城乡居民医疗保险",
        name=r.name, sex=r.sex, id_number=r.id_number, township=c.township.name, phone=r.phone,
        reason=c.reason + (f"（{c.reason_text}）" if c.reason_text else ""),
        payments=[(str(i.contribution.year), i.contribution.kind, i.contribution.voucher, format_yuan(i.contribution.amount_fen),
                   i.contribution.paid_on.isoformat() if i.contribution.paid_on else "", i.contribution.channel,
                   format_yuan(i.amount_fen)) for i in c.loaded_items],
        amount=format_yuan(c.amount_fen), amount_capital=to_capital(c.amount_fen),
        account=(c.account_name, c.account_no, c.bank_name), documents=c.documents, state=c.state, trail=trail,
        entered_by=who(c.entered_by), passed_by=who(c.passed_by), reviewed_by=who(c.reviewed_by),
        applied_on=f"{accepted:%Y年%m月%d日}", paid_total=format_yuan(paid), paid_total_capital=to_capital(paid),
    )  # fmt: skip


def print_approval_sheets(actor: Actor, case_refs: Sequence[str | int], out: str | Path) -> int:
    """退费审批表: one A4 page per case, in one PDF."""
    from reports import refund_forms  # the PDF library loads only when a form is printed

    require(actor, "refund.view")
    ids = [get(actor, ref).id for ref in case_refs]
    county = regions.county()["county_name"]
    refund_forms.write_approval_sheets(
        out, f"{county}城乡居民基本养老保险退费审批表", [_form(c) for c in _load(ids)]
    )
    audit.record(
        actor.username, "print", "refund_case", ",".join(str(i) for i in ids[:50]), after={"count": len(ids)}
    )
    return len(ids)


def print_application(actor: Actor, case_ref: str | int, out: str | Path) -> None:
    """退费申请表 and 缴费证明, three copies each (税务分局 / 人社所 / 县人社局)."""
    from reports import refund_forms  # the PDF library loads only when a form is printed

    require(actor, "refund.view")
    case = _load([get(actor, case_ref).id])[0]
    county = regions.county()["county_name"]
    refund_forms.write_application(out, county, _form(case))
    audit.record(actor.username, "print_application", "refund_case", case.id)
