"""A resident's payments as the screens show them (arrears, refunds), read through core's scope checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core import arrears, roster
from core.auth import Actor, check_township, require
from core.errors import UserError
from core.refunds import LIVE_STATES
from dao.models import Contribution, RefundCase, RefundItem, Resident


@dataclass(frozen=True)
class PaymentRow:
    id: int
    year: int
    amount_fen: int
    tier_fen: int | None
    kind: str
    payer: str
    channel: str
    paid_on: dt.date | None
    voucher: str
    live_case: str  # the live refund case that holds this payment, "" when none


@dataclass(frozen=True)
class ResidentCard:
    """Who a screen is working on, with the ID number as this user may see it."""

    id: int
    id_number: str  # shown (masked per the setting)
    name: str
    sex: str
    birth_date: dt.date | None
    township: str
    village: str
    phone: str
    status: str
    enrolled_on: dt.date | None


def card(actor: Actor, resident: Resident) -> ResidentCard:
    return ResidentCard(
        resident.id, roster.id_display(actor)(resident.id_number), resident.name, resident.sex,
        resident.birth_date, resident.township.name, resident.village.name if resident.village_id else "",
        resident.phone or "", resident.status, resident.enrolled_on,
    )  # fmt: skip


def of_resident(actor: Actor, resident_id: int, *, oldest_first: bool = False) -> list[PaymentRow]:
    """Every payment of one resident (the clerk's township only), each with the live case holding it."""
    require(actor, "roster.view")
    resident = Resident.get_or_none(Resident.id == resident_id)
    if resident is None:
        return []
    check_township(actor, resident.township_id)
    return _rows(resident_id, oldest_first)


def _rows(resident_id: int, oldest_first: bool) -> list[PaymentRow]:
    """A resident's payments, the caller having checked that the actor may see the resident."""
    order = Contribution.year if oldest_first else Contribution.year.desc()
    rows = list(
        Contribution.select().where(Contribution.resident == resident_id).order_by(order, Contribution.id)
    )
    held = {
        item.contribution_id: item.case.case_no
        for item in RefundItem.select(RefundItem, RefundCase)
        .join(RefundCase)
        .where(RefundItem.contribution.in_([c.id for c in rows]) & RefundCase.state.in_(LIVE_STATES))
    } if rows else {}  # fmt: skip
    return [
        PaymentRow(c.id, c.year, c.amount_fen, c.tier_fen, c.kind, c.payer, c.channel, c.paid_on, c.voucher,
                   held.get(c.id, ""))
        for c in rows
    ]  # fmt: skip


def lookup(
    actor: Actor, id_number: str, *, oldest_first: bool = False
) -> tuple[ResidentCard, list[PaymentRow]]:
    """A resident by ID number (refused outside the clerk's township) and their payments."""
    resident = arrears.find_resident(actor, id_number)  # checks the township
    require(actor, "roster.view")
    return card(actor, resident), _rows(resident.id, oldest_first)


def lookup_by_id(
    actor: Actor, resident_id: int, *, oldest_first: bool = False
) -> tuple[ResidentCard, list[PaymentRow]]:
    """The same by the resident's row id: a list whose ID numbers are masked opens the person this way."""
    require(actor, "roster.view")
    resident = Resident.get_or_none(Resident.id == resident_id)
    if resident is None:
        raise UserError("该参保人已不存在。")
    check_township(actor, resident.township_id)
    return card(actor, resident), _rows(resident.id, oldest_first)
