"""Several independent reads in one round trip.

A township office reaches the county's PostgreSQL over the e-government network, where each statement costs
tens of milliseconds before the server has done anything; a screen that needs ten small aggregates waits ten
round trips. ``read_many`` sends them as one statement: each query becomes a scalar subquery that returns
its rows as a JSON array of arrays, in its column order. On SQLite (a local file, no network) the queries
simply run one after another.

Values come back as JSON gives them: numbers as int (or float for non-integral numerics), dates and times as
ISO text, NULL as None. Callers convert as they would a driver's values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import peewee as pw

from dao.db import current, is_postgres

Read = tuple[str, Sequence[object]]  # SQL with the database's parameter marks, and its parameters


def sql_of(query: pw.Query) -> Read:
    """A peewee query as a Read."""
    sql, params = query.sql()
    return sql, list(params)


def read_many(reads: Sequence[Read]) -> list[list[tuple]]:
    """The rows of each read, in order."""
    db = current()
    if not is_postgres(db) or len(reads) < 2:
        return [[tuple(r) for r in db.execute_sql(sql, list(params)).fetchall()] for sql, params in reads]
    # row_to_json of an anonymous ROW keys its fields f1, f2, ... in column order, whatever the columns are
    # called (several may be named "count" or "sum"); json_agg keeps the row order of each query.
    parts = [
        f"(SELECT COALESCE(json_agg(row_to_json(ROW(t.*))), '[]') FROM ({sql}) AS t)" for sql, _ in reads
    ]
    params = [p for _, ps in reads for p in ps]
    row = db.execute_sql("SELECT " + ", ".join(parts), params).fetchone()
    out: list[list[tuple]] = []
    for value in row:
        rows = json.loads(value) if isinstance(value, str) else value
        out.append([tuple(item.values()) for item in rows])
    return out
