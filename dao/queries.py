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
    Township.name,
    Village.name,
    Resident.phone,
    Resident.status,
)


def _joined(flt: ResidentFilter) -> pw.ModelSelect:
    query = (
        Resident.select(*ROW_FIELDS)
        .join(Township, on=(Resident.township == Township.id))
        .switch(Resident)
        .join(Village, pw.JOIN.LEFT_OUTER, on=(Resident.village == Village.id))
    )
    return _where(query, flt)


def resident_page(
    flt: ResidentFilter, *, order: str = "id", descending: bool = False, offset: int = 0, limit: int = 200
) -> list[tuple]:
    """One page of rows shaped like ROW_FIELDS."""
    column = SORTABLE.get(order, Resident.id)
    keys = [column.desc() if descending else column.asc()]
    if column is not Resident.id:
        keys.append(Resident.id.desc() if descending else Resident.id.asc())  # stable pages
    return list(_joined(flt).order_by(*keys).offset(offset).limit(limit).tuples())


def iter_residents(flt: ResidentFilter, batch: int = 5000) -> Iterator[tuple]:
    """Every matching row in id order, read in keyset batches (bounded memory for exports)."""
    last = 0
    while True:
        rows = list(_joined(flt).where(Resident.id > last).order_by(Resident.id).limit(batch).tuples())
        if not rows:
            return
        yield from rows
        last = rows[-1][0]
