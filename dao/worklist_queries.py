"""The 征缴进度 work lists' reads: one aggregate query per list, driven from the resident table.

Who paid which year comes from ``payer_year`` (normal payments, kept by triggers: dao/payer_year.py), looked up
by its primary key (resident_id, year) — an index seek per resident, no scan of the payments. Arrears payments
(补缴) are not in ``payer_year``; they are few, and read here from the covering index ``contribution_year_stats``
(year, kind, resident_id …), one seek per year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from dao import bulk
from dao.db import current, is_postgres
from dao.models import FLAGGING_STATES

ACTIVE = "正常参保"
ARREARS = "补缴"
NO_VILLAGE = 0  # village filter: the residents without a village


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


def _paid(year_sql: str) -> str:
    """SQL true when r paid for the year (a normal payment or an arrears payment)."""
    return (
        f"(EXISTS (SELECT 1 FROM payer_year py WHERE py.resident_id = r.id AND py.year = {year_sql}) "
        f"OR EXISTS (SELECT 1 FROM contribution ca WHERE ca.resident_id = r.id AND ca.year = {year_sql} "
        f"AND ca.kind = '{ARREARS}'))"
    )


def _flagged(p: str) -> str:
    states = ", ".join(f"'{s}'" for s in FLAGGING_STATES)
    return (
        "EXISTS (SELECT 1 FROM special_list_entry e JOIN special_list l ON l.id = e.special_list_id "
        f'WHERE e.resident_id = r.id AND l.year = {p} AND l."current" = {p} AND e.status IN ({states}))'
    )


def _lapsed_from(year: int, township_id: int | None, village_id: int | None) -> tuple[str, list]:
    """FROM/WHERE of the 未续缴 base (active, paid Y-1, Y a paying year) and the state column:
    0 renewed, 1 lapsed, 2 lapsed but flagged for the government to pay."""
    p = current().param
    scope, scope_params = _scope(township_id, village_id)
    sql = (
        f"CASE WHEN {_paid(p)} THEN 0 WHEN {_flagged(p)} THEN 2 ELSE 1 END AS state "
        f"FROM resident r WHERE r.status = {p} AND r.birth_date >= {p}{scope} AND {_paid(p)}"
    )
    # a paying year is one before the year the person turns 60: born in year - 59 or later
    params = [
        year,
        year,
        year,
        True,
        ACTIVE,
        dt.date(year - 59, 1, 1).isoformat(),
        *scope_params,
        year - 1,
        year - 1,
    ]
    return sql, params


def lapsed_villages(year: int, township_id: int | None, village_id: int | None = None) -> list[tuple]:
    """[(township_id, village_id, base, lapsed, of them flagged)]."""
    sql, params = _lapsed_from(year, township_id, village_id)
    rows = (
        current()
        .execute_sql(
            "SELECT township_id, village_id, COUNT(*), SUM(CASE WHEN state > 0 THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN state = 2 THEN 1 ELSE 0 END) FROM (SELECT r.township_id, r.village_id, {sql}) s "
            "GROUP BY township_id, village_id",
            params,
        )
        .fetchall()
    )
    return [(t, v, int(base), int(lapsed or 0), int(flagged or 0)) for t, v, base, lapsed, flagged in rows]


def lapsed_people(year: int, township_id: int | None, village_id: int | None) -> list[tuple]:
    """[(resident id, ID number, name, phone, township_id, village_id, state, Y-1 tier fen)] of state > 0."""
    p = current().param
    sql, params = _lapsed_from(year, township_id, village_id)
    tier = (
        "(SELECT MAX(COALESCE(c.tier_fen, c.amount_fen)) FROM contribution c "
        f"WHERE c.resident_id = s.id AND c.year = {p})"
    )
    rows = (
        current()
        .execute_sql(
            f"SELECT s.id, s.id_number, s.name, s.phone, s.township_id, s.village_id, s.state, {tier} FROM "
            f"(SELECT r.id, r.id_number, r.name, r.phone, r.township_id, r.village_id, {sql}) s WHERE s.state > 0",
            [year - 1, *params],
        )
        .fetchall()
    )
    return [(*row[:7], int(row[7]) if row[7] is not None else None) for row in rows]


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
    """[(resident id, ID number, name, phone, township_id, village_id, birth date, normal years paid,
    of them from ``year`` on)] — the 45–59 audience of the scope, one row each."""
    sql, params = _audience(year, township_id, village_id)
    rows = (
        current()
        .execute_sql(
            "SELECT s.id, r.id_number, r.name, r.phone, s.township_id, s.village_id, r.birth_date, s.paid, "
            f"s.in_window FROM ({sql}) s JOIN resident r ON r.id = s.id",
            params,
        )
        .fetchall()
    )
    return [(*row[:6], _date(row[6]), int(row[7]), int(row[8] or 0)) for row in rows]


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def arrears_payments() -> dict[int, set[int]]:
    """{resident id: years paid by an arrears payment (补缴)} — every year, one index seek each."""
    db = current()
    low, high = db.execute_sql("SELECT MIN(year), MAX(year) FROM contribution").fetchone()
    if low is None:
        return {}
    years = ", ".join(str(y) for y in range(int(low), int(high) + 1))
    out: dict[int, set[int]] = {}
    for rid, year in db.execute_sql(
        f"SELECT resident_id, year FROM contribution WHERE year IN ({years}) AND kind = {db.param}", [ARREARS]
    ):
        out.setdefault(rid, set()).add(int(year))
    return out


def residents(ids: Iterable[int]) -> dict[int, tuple]:
    """{id: (township_id, village_id, status, birth date)} for a few residents."""
    db = current()
    out = {}
    for part in bulk.in_chunks(ids):
        marks = ", ".join([db.param] * len(part))
        for rid, town, village, status, born in db.execute_sql(
            f"SELECT id, township_id, village_id, status, birth_date FROM resident WHERE id IN ({marks})",
            part,
        ):
            out[rid] = (town, village, status, _date(born))
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
