"""What the 退费审核 screens show: a case in full for the reviewer, who may do each step, the fund month that
is waiting. Read-only; the steps themselves are in core.refunds."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from core import refunds, roster
from core.auth import ADMIN, Actor, require
from dao.models import RefundCase
from reports.refund_forms import CaseForm


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


def case_detail(actor: Actor, case_ref: str | int) -> CaseDetail:
    """One case for the detail view: resident, payments with voucher, channel and date, amount and 大写,
    account, documents received, every event with the user's name and the reason."""
    require(actor, "refund.view")
    case = refunds._load([refunds.get(actor, case_ref).id])[0]
    form = refunds._form(case)
    form = dataclasses.replace(form, id_number=roster.id_display(actor)(form.id_number))
    return CaseDetail(case.id, case.version, case.case_no, case.state, case.resident_id, form, case.note,
                      case.batch_month, case.fund_month, case.bank_ref)  # fmt: skip


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
    to = refunds.TARGET_NAMES.get(target, target)
    sources, roles, _ = refunds.TRANSITIONS[to]
    return actor.role in roles and state in sources


def waiting_fund_month(actor: Actor, default: str) -> str:
    """The month 资金申请 opens on: the earliest fund month with approved cases not yet paid, else
    ``default`` (this month)."""
    if not actor.can("refund.fund"):
        return default
    row = (
        RefundCase.select(RefundCase.fund_month)
        .where((RefundCase.state == refunds.APPROVED) & (RefundCase.fund_month != ""))
        .order_by(RefundCase.fund_month)
        .first()
    )
    return row.fund_month if row is not None else default
