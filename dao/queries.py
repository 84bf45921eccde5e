"""Queries the GUI pages through: WHERE, ORDER BY and LIMIT pushed into the database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import peewee as pw

from dao.models import Resident, Township, Village


@dataclass(frozen=True)
class ResidentFilter:
    township_id: int | None = None
    village_id: int | None = None
    id_query: str = ""  # a full ID number, or its last digits
    name_query: str = ""  # a name, or its beginning
    status: str = ""


SORTABLE = {
    "id_number": Resident.id_number,
    "name": Resident.name,
    "sex": Resident.sex,
    "birth_date": Resident.birth_date,
    "township": Resident.township,
    "village": Resident.village,
    "phone": Resident.phone,
    "status": Resident.status,
    "updated_at": Resident.updated_at,
}


def _where(query: pw.ModelSelect, flt: ResidentFilter) -> pw.ModelSelect:
    if flt.township_id is not None:
        query = query.where(Resident.township == flt.township_id)
    if flt.village_id is not None:
        query = query.where(Resident.village == flt.village_id)
    if flt.status:
        query = query.where(Resident.status == flt.status)
    digits = flt.id_query.strip().upper()
    if digits:
        query = query.where(
            Resident.id_number == digits if len(digits) == 18 else Resident.id_number.endswith(digits)
        )
    name = flt.name_query.strip()
    if name:
        query = query.where(Resident.name.startswith(name))
    return query


def count_residents(flt: ResidentFilter) -> int:
    return _where(Resident.select(), flt).count()


ROW_FIELDS = (
    Resident.id,
    Resident.id_number,
    Resident.name,
    Resident.sex,
    Resident.birth_date,
    Resident.township,
    Resident.village,
    Resident.phone,
    Resident.status,
)


def _with_names(rows: list[tuple]) -> list[tuple]:
    """Township and village ids -> names. Looked up per page: a join would let the planner sort the
    whole roster before applying LIMIT."""
    towns = dict(Township.select(Township.id, Township.name).tuples())
    village_ids = {r[6] for r in rows if r[6] is not None}
    villages = (
        dict(Village.select(Village.id, Village.name).where(Village.id.in_(village_ids)).tuples())
        if village_ids
        else {}
    )
    return [(*r[:5], towns.get(r[5], ""), villages.get(r[6], ""), *r[7:]) for r in rows]


def resident_page(
    flt: ResidentFilter, *, order: str = "id", descending: bool = False, offset: int = 0, limit: int = 200
) -> list[tuple]:
    """One page of rows: (id, 身份证号码, 姓名, 性别, 出生日期, 乡镇名, 村居名, 电话, 状态)."""
    column = SORTABLE.get(order, Resident.id)
    keys = [column.desc() if descending else column.asc()]
    if column is not Resident.id:
        keys.append(Resident.id.desc() if descending else Resident.id.asc())  # stable pages
    query = _where(Resident.select(*ROW_FIELDS), flt).order_by(*keys).offset(offset).limit(limit)
    return _with_names(list(query.tuples()))


def iter_residents(flt: ResidentFilter, batch: int = 5000) -> Iterator[tuple]:
    """Every matching row in id order, read in keyset batches (bounded memory for exports)."""
    last = 0
    while True:
        query = _where(Resident.select(*ROW_FIELDS), flt).where(Resident.id > last).order_by(Resident.id)
        rows = list(query.limit(batch).tuples())
        if not rows:
            return
        yield from _with_names(rows)
        last = rows[-1][0]
