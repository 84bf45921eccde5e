"""The 征缴进度 work lists' reads: one aggregate query per list, driven from the resident table.

Who paid which year comes from ``payer_year`` (normal payments, kept by triggers: dao/payer_year.py), looked up
by its primary key (resident_id, year) — an index seek per resident, no scan of the payments. Arrears payments
(补缴) are not in ``payer_year``; they are few, and read here from the covering index ``contribution_year_stats``
(year, kind, resident_id …), one seek per year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from dao import bulk
from dao.db import current, is_postgres
from dao.models import FLAGGING_STATES

ACTIVE = "正常参保"
ARREARS = "补缴"
NO_VILLAGE = 0  # village filter: the residents without a village


@contextmanager
def reading() -> Iterator[None]:
    """One transaction for a list's queries. On PostgreSQL without JIT compilation: these plans cost enough
    to trigger it, and compiling took 0.1–0.2 s of a 0.07 s query."""
    db = current()
    with db.atomic():
        if is_postgres():
            db.execute_sql("SET LOCAL jit = off")
        yield


def _scope(township_id: int | None, village_id: int | None) -> tuple[str, list]:
    p = current().param
    sql, params = "", []
    if township_id is not None:
        sql += f" AND r.township_id = {p}"
        params.append(township_id)
    if village_id == NO_VILLAGE:
        sql += " AND r.village_id IS NULL"
    elif village_id is not None:
        sql += f" AND r.village_id = {p}"
        params.append(village_id)
    return sql, params


def _paid(p: str) -> str:
    """SQL true when r paid for the year (a normal payment or an arrears payment)."""
    return (
        f"(EXISTS (SELECT 1 FROM payer_year py WHERE py.resident_id = r.id AND py.year = {p}) "
        f"OR {_arrears_paid(p)})"
    )


def _arrears_paid(p: str) -> str:
    return (
        f"EXISTS (SELECT 1 FROM contribution ca WHERE ca.resident_id = r.id AND ca.year = {p} "
        f"AND ca.kind = '{ARREARS}')"
    )


def _flagged(p: str) -> str:
    states = ", ".join(f"'{s}'" for s in FLAGGING_STATES)
    return (
        "EXISTS (SELECT 1 FROM special_list_entry e JOIN special_list l ON l.id = e.special_list_id "
        f'WHERE e.resident_id = r.id AND l.year = {p} AND l."current" = {p} AND e.status IN ({states}))'
    )


def _lapsed_from(year: int, township_id: int | None, village_id: int | None) -> tuple[str, str, list]:
    """(the lapsed test, FROM/WHERE of the 未续缴 base, their parameters): the base is the active residents
    who paid for Y-1 and for whom Y is a paying year; lapsed, those of them with no payment for Y.

    This year's normal payment is a LEFT JOIN (an EXISTS in the select list costs SQLite twice as much);
    the rarer tests (an arrears payment for Y) run only where that join found nothing.
    """
    p = current().param
    scope, scope_params = _scope(township_id, village_id)
    lapsed = f"(cur.resident_id IS NULL AND NOT {_arrears_paid(p)})"
    sql = (
        f"FROM resident r LEFT JOIN payer_year cur ON cur.resident_id = r.id AND cur.year = {p} "
        f"WHERE r.status = {p} AND r.birth_date >= {p}{scope} AND {_paid(p)}"
    )
    # a paying year is one before the year the person turns 60: born in year - 59 or later
    params = [year, ACTIVE, dt.date(year - 59, 1, 1).isoformat(), *scope_params, year - 1, year - 1]
    return lapsed, sql, params


def lapsed_villages(year: int, township_id: int | None, village_id: int | None = None) -> list[tuple]:
    """[(township_id, village_id, base, lapsed, of them flagged)]."""
    p = current().param
    lapsed, sql, params = _lapsed_from(year, township_id, village_id)
    # "+ 0": grouping on the bare columns makes SQLite walk the (township, village) index and fetch every
    # resident's row out of order (four times slower than a table scan and a sort)
    rows = (
        current()
        .execute_sql(
            f"SELECT r.township_id + 0, r.village_id + 0, COUNT(*), SUM(CASE WHEN {lapsed} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {lapsed} AND {_flagged(p)} THEN 1 ELSE 0 END) {sql} "
            "GROUP BY r.township_id + 0, r.village_id + 0",
            [year, year, year, True, *params],
        )
        .fetchall()
    )
    return [(t, v, int(base), int(n or 0), int(flagged or 0)) for t, v, base, n, flagged in rows]


def lapsed_people(year: int, township_id: int | None, village_id: int | None) -> list[tuple]:
    """[(resident id, ID number, name, phone, township_id, village_id, flagged, Y-1 tier fen)] of the lapsed."""
    p = current().param
    lapsed, sql, params = _lapsed_from(year, township_id, village_id)
    tier = (
        "(SELECT MAX(COALESCE(c.tier_fen, c.amount_fen)) FROM contribution c "
        f"WHERE c.resident_id = r.id AND c.year = {p})"
    )
    rows = (
        current()
        .execute_sql(
            f"SELECT r.id, r.id_number, r.name, r.phone, r.township_id, r.village_id, "
            f"CASE WHEN {_flagged(p)} THEN 1 ELSE 0 END, {tier} {sql} AND {lapsed}",
            [year, True, year - 1, *params, year],
        )
        .fetchall()
    )
    return [(*row[:6], bool(row[6]), int(row[7]) if row[7] is not None else None) for row in rows]


def _birth_year(column: str) -> str:
    if is_postgres():
        return f"CAST(EXTRACT(YEAR FROM {column}) AS INTEGER)"
    return f"CAST(substr({column}, 1, 4) AS INTEGER)"


def _audience(year: int, township_id: int | None, village_id: int | None) -> tuple[str, list]:
    """Active residents aged 45–59 on 1 January of ``year``, each with the normal years paid and, of those,
    the ones from ``year`` to the year before they turn 60."""
    p = current().param
    scope, scope_params = _scope(township_id, village_id)
    born = _birth_year("r.birth_date")
    sql = (
        f"SELECT r.id, r.township_id, r.village_id, {born} AS born, COUNT(py.year) AS paid, "
        f"SUM(CASE WHEN py.year >= {p} AND py.year <= {born} + 59 THEN 1 ELSE 0 END) AS in_window "
        "FROM resident r LEFT JOIN payer_year py ON py.resident_id = r.id "
        f"WHERE r.status = {p} AND r.birth_date > {p} AND r.birth_date <= {p}{scope} "
        "GROUP BY r.id, r.township_id, r.village_id, r.birth_date"
    )
    params = [
        year,
        ACTIVE,
        dt.date(year - 60, 1, 1).isoformat(),
        dt.date(year - 45, 1, 1).isoformat(),
        *scope_params,
    ]
    return sql, params


def audience_groups(year: int, township_id: int | None, village_id: int | None = None) -> list[tuple]:
    """[(township_id, village_id, birth year, normal years paid, of them from ``year`` on, residents)]."""
    sql, params = _audience(year, township_id, village_id)
    rows = (
        current()
        .execute_sql(
            f"SELECT township_id, village_id, born, paid, in_window, COUNT(*) FROM ({sql}) s "
            "GROUP BY township_id, village_id, born, paid, in_window",
            params,
        )
        .fetchall()
    )
    return [(t, v, int(b), int(paid), int(w or 0), int(n)) for t, v, b, paid, w, n in rows]


def audience_people(year: int, township_id: int | None, village_id: int | None) -> list[tuple]:
    """[(resident id, ID number, name, phone, township_id, village_id, birth date, {normal years paid})] —
    the 45–59 audience of the scope, one row each, in one pass over the residents and payer_year's key."""
    db = current()
    p = db.param
    scope, scope_params = _scope(township_id, village_id)
    years = "string_agg(CAST(py.year AS TEXT), ',')" if is_postgres() else "group_concat(py.year)"
    rows = db.execute_sql(
        f"SELECT r.id, r.id_number, r.name, r.phone, r.township_id, r.village_id, r.birth_date, {years} "
        "FROM resident r LEFT JOIN payer_year py ON py.resident_id = r.id "
        f"WHERE r.status = {p} AND r.birth_date > {p} AND r.birth_date <= {p}{scope} GROUP BY r.id",
        [ACTIVE, dt.date(year - 60, 1, 1).isoformat(), dt.date(year - 45, 1, 1).isoformat(), *scope_params],
    ).fetchall()
    return [
        (*row[:6], _date(row[6]), {int(y) for y in row[7].split(",")} if row[7] else set()) for row in rows
    ]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def audience_arrears(year: int, township_id: int | None, village_id: int | None) -> dict[int, tuple]:
    """{resident id: (township_id, village_id, birth date, years paid by 补缴)} of the 45–59 audience:
    arrears payments are few, found by one seek per year in the covering index (year, kind, resident_id …).
    CROSS JOIN keeps SQLite from walking the township's residents instead (ten times slower)."""
    db = current()
    p = db.param
    low, high = db.execute_sql("SELECT MIN(year), MAX(year) FROM contribution").fetchone()
    if low is None:
        return {}
    years = ", ".join(str(y) for y in range(int(low), int(high) + 1))
    scope, scope_params = _scope(township_id, village_id)
    out: dict[int, tuple] = {}
    for rid, paid, town, village, born in db.execute_sql(
        "SELECT c.resident_id, c.year, r.township_id, r.village_id, r.birth_date FROM contribution c "
        f"CROSS JOIN resident r WHERE r.id = c.resident_id AND c.year IN ({years}) AND c.kind = {p} "
        f"AND r.status = {p} AND r.birth_date > {p} AND r.birth_date <= {p}{scope}",
        [ARREARS, ACTIVE, dt.date(year - 60, 1, 1).isoformat(), dt.date(year - 45, 1, 1).isoformat(),
         *scope_params],
    ):  # fmt: skip
        out.setdefault(rid, (town, village, _date(born), set()))[3].add(int(paid))
    return out


def normal_years(ids: Iterable[int]) -> dict[int, set[int]]:
    """{resident id: years with a normal payment} from ``payer_year``'s primary key."""
    db = current()
    out: dict[int, set[int]] = {}
    for part in bulk.in_chunks(ids):
        marks = ", ".join([db.param] * len(part))
        for rid, year in db.execute_sql(
            f"SELECT resident_id, year FROM payer_year WHERE resident_id IN ({marks})", part
        ):
            out.setdefault(rid, set()).add(int(year))
    return out


def tiers(year: int, ids: Iterable[int]) -> dict[int, int]:
    """{resident id: the highest tier (or amount) paid for ``year``}."""
    db = current()
    out: dict[int, int] = {}
    for part in bulk.in_chunks(ids):
        marks = ", ".join([db.param] * len(part))
        for rid, fen in db.execute_sql(
            "SELECT resident_id, MAX(COALESCE(tier_fen, amount_fen)) FROM contribution "
            f"WHERE year = {db.param} AND resident_id IN ({marks}) GROUP BY resident_id",
            [year, *part],
        ):
            out[rid] = int(fen)
    return out


def open_declarations(ids: Iterable[int], states: tuple[str, ...]) -> dict[int, list[tuple[str, int]]]:
    """{resident id: [(assessment status, year)]} of open arrears declarations (已申报 / 已核定)."""
    db = current()
    out: dict[int, list[tuple[str, int]]] = {}
    marks_states = ", ".join([db.param] * len(states))
    for part in bulk.in_chunks(ids):
        marks = ", ".join([db.param] * len(part))
        for rid, status, year in db.execute_sql(
            "SELECT a.resident_id, a.status, l.year FROM arrears_assessment a "
            "JOIN arrears_line l ON l.assessment_id = a.id "
            f"WHERE a.status IN ({marks_states}) AND a.resident_id IN ({marks}) ORDER BY l.year",
            [*states, *part],
        ):
            out.setdefault(rid, []).append((status, int(year)))
    return out
