"""What the 退费审核 screens show: a case in full for the reviewer, who may do each step, the fund month that
is waiting. Read-only; the steps themselves are in core.refunds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal

from core import refunds, roster
from core.auth import ADMIN, Actor, require
from core.money import fen_to_yuan
from dao.models import Contribution, RefundCase, RefundItem
from reports.refund_forms import CaseForm

IN_CASE, NOT_IN_CASE = "本案退费", "不在本案"


@dataclass(frozen=True)
class PaymentLine:
    """A payment of the resident in a year this case refunds: in the case, or beside it (the reviewer checks
    重复缴费 or 多缴 against the others)."""

    year: int
    kind: str
    voucher: str
    paid: Decimal  # yuan, so the table right-aligns and formats it as 1,000.00
    paid_on: str
    channel: str
    refund: Decimal | None  # None: not refunded by this case
    note: str  # IN_CASE, or NOT_IN_CASE with the other case holding it


@dataclass(frozen=True)
class CaseDetail:
    id: int
    version: int
    case_no: str
    state: str
    resident_id: int
    form: CaseForm  # the same facts the printed forms carry; the ID number as this user may see it
    note: str  # the last return or failure reason
    batch_month: str
    fund_month: str
    bank_ref: str
    payments: tuple[PaymentLine, ...] = ()


def case_detail(actor: Actor, case_ref: str | int) -> CaseDetail:
    """One case for the detail view: resident, payments with voucher, channel and date, amount and 大写,
    account, documents received, every event with the user's name and the reason."""
    require(actor, "refund.view")
    case = refunds._load([refunds.get(actor, case_ref).id])[0]
    form = refunds._form(case)
    form = dataclasses.replace(form, id_number=roster.id_display(actor)(form.id_number))
    return CaseDetail(case.id, case.version, case.case_no, case.state, case.resident_id, form, case.note,
                      case.batch_month, case.fund_month, case.bank_ref, _payment_lines(case))  # fmt: skip


def _payment_lines(case: RefundCase) -> tuple[PaymentLine, ...]:
    """The payments this case refunds, then the resident's other payments of those years."""
    refunded = {i.contribution_id: i.amount_fen for i in case.loaded_items}
    years = {i.contribution.year for i in case.loaded_items}
    if not years:
        return ()
    others = list(
        Contribution.select()
        .where((Contribution.resident == case.resident_id) & Contribution.year.in_(years))
        .order_by(Contribution.year, Contribution.paid_on, Contribution.id)
    )
    # The live case (other than this one) holding each other payment, so the reviewer sees it is taken.
    held = dict(
        RefundItem.select(RefundItem.contribution, RefundCase.case_no)
        .join(RefundCase)
        .where(
            RefundItem.contribution.in_([c.id for c in others])
            & (RefundCase.id != case.id)
            & RefundCase.state.in_(refunds.LIVE_STATES)
        )
        .tuples()
    )
    lines = []
    for c in others:
        if c.id in refunded:
            note, refund = IN_CASE, fen_to_yuan(refunded[c.id])
        else:
            note, refund = NOT_IN_CASE + (f"（退费案件 {held[c.id]}）" if c.id in held else ""), None
        lines.append(PaymentLine(c.year, c.kind, c.voucher, fen_to_yuan(c.amount_fen),
                                 c.paid_on.isoformat() if c.paid_on else "", c.channel, refund, note))  # fmt: skip
    lines.sort(key=lambda line: (line.note != IN_CASE, line.year))  # the case's own payments first
    return tuple(lines)


def who_may(target: str) -> str:
    """The roles that may move a case to ``target`` (for a disabled button's tooltip)."""
    state = refunds.TARGET_NAMES.get(target, target)
    roles = [r for r in refunds.TRANSITIONS[state][1] if r != ADMIN]
    return "或".join(roles)


def may(actor: Actor, target: str) -> bool:
    state = refunds.TARGET_NAMES.get(target, target)
    return actor.role in refunds.TRANSITIONS[state][1]


def may_step(actor: Actor, target: str, state: str) -> bool:
    """Whether this user may move a case in ``state`` to ``target`` now."""
    if target == "重新发放" and state != refunds.FAILED:
        return False  # core's other name for 复核通过, meant only for a failed payout
    to = refunds.TARGET_NAMES.get(target, target)
    sources, roles, _ = refunds.TRANSITIONS[to]
    return actor.role in roles and state in sources


def waiting_fund_month(actor: Actor, default: str) -> str:
    """The month 资金申请 opens on: the earliest fund month with approved cases not yet paid, else
    ``default`` (this month)."""
    if not actor.can("refund.fund"):
        return default
    waiting = refunds.waiting_months()
    return waiting[0][0] if waiting else default
