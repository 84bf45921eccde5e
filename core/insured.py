"""Who was 正常参保 on a given day, read from the status changes recorded at the counter (``resident_event``).

A person's status on a day is the one set by their last status change dated on or before it; before their
first change it is what that change started from; a person without any recorded change has their current
status (the roster carries no earlier history). The 政府代缴 list of a year asks for 1 January.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from core.rowcodes import register
from dao import bulk
from dao.models import EVENT_STATUS, Resident, ResidentEvent

INSURED, TERMINATED = "正常参保", "终止"
# A 终止 for these reasons makes the person's own payments for the years after it refundable: candidate code and
# refund reason (core.refunds). The year of the termination itself was a paying year.
REFUND_AFTER = {
    "死亡": ("DIED", "死亡"),
    "参加职工养老保险": ("JOINED_EMPLOYEE_PENSION", "已参加职工养老保险"),
}
register("DIED", False, "已死亡（终止参保）：终止次年及以后年度的个人缴费应退：退费候选")
register(
    "JOINED_EMPLOYEE_PENSION",
    False,
    "已参加职工养老保险（终止参保）：终止次年及以后年度的个人缴费应退：退费候选",
)


def not_insured_on(day: dt.date, resident_ids: Iterable[int] | None = None) -> set[int]:
    """The residents (of ``resident_ids``, or all) whose status on ``day`` was not 正常参保."""
    events = ResidentEvent.select(
        ResidentEvent.resident, ResidentEvent.day, ResidentEvent.old_value, ResidentEvent.new_value
    ).where(ResidentEvent.kind == EVENT_STATUS)
    others = Resident.select(Resident.id).where(Resident.status != INSURED)
    if resident_ids is None:
        event_rows = list(
            events.order_by(ResidentEvent.resident, ResidentEvent.day, ResidentEvent.id).tuples()
        )
        other_ids = {rid for (rid,) in others.tuples()}
    else:
        ids = list(dict.fromkeys(resident_ids))
        event_rows, other_ids = [], set()
        for part in bulk.in_chunks(ids):
            event_rows.extend(
                events.where(ResidentEvent.resident.in_(part))
                .order_by(ResidentEvent.resident, ResidentEvent.day, ResidentEvent.id)
                .tuples()
            )
            other_ids |= {rid for (rid,) in others.where(Resident.id.in_(part)).tuples()}
    status: dict[int, str] = {}
    for rid, when, old, new in event_rows:
        if rid not in status:
            status[rid] = old  # before the first recorded change
        if _as_date(when) <= day:
            status[rid] = new
    out = {rid for rid, value in status.items() if value != INSURED}
    return out | {rid for rid in other_ids if rid not in status}


def insured_on(resident_id: int, day: dt.date) -> bool:
    return resident_id not in not_insured_on(day, [resident_id])


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def refundable_terminations(resident_ids: Iterable[int]) -> dict[int, tuple[dt.date, str]]:
    """Residents (of ``resident_ids``) now terminated for a reason in REFUND_AFTER: id -> (day, reason) of the
    latest termination."""
    found: dict[int, tuple[dt.date, str]] = {}
    for part in bulk.in_chunks(list(dict.fromkeys(resident_ids))):
        query = (
            ResidentEvent.select(ResidentEvent.resident, ResidentEvent.day, ResidentEvent.reason)
            .join(Resident, on=(Resident.id == ResidentEvent.resident))
            .where(ResidentEvent.resident.in_(part) & (ResidentEvent.kind == EVENT_STATUS)
                   & (ResidentEvent.new_value == TERMINATED) & (Resident.status == TERMINATED))
            .order_by(ResidentEvent.id)
        )  # fmt: skip
        for rid, day, reason in query.tuples():
            found[rid] = (_as_date(day), reason)
    return {rid: found[rid] for rid in found if found[rid][1] in REFUND_AFTER}
