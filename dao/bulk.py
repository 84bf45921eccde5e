"""Bulk reads and writes for importers: the DB-API's executemany (SQLite) or execute_values (PostgreSQL).

peewee's insert_many builds SQL text per row; at 100,000 rows that cost dominates an import, so the hot
path goes one level down, still inside the caller's peewee transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import peewee as pw

from dao.db import current, is_postgres

CHUNK = 5000


def _quote(name: str) -> str:
    return f'"{name}"'


def insert_rows(model: type[pw.Model], columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Insert plain tuples into ``model``'s table (column names as in the table)."""
    if not rows:
        return
    db = current()
    table = _quote(model._meta.table_name)
    cols = ", ".join(_quote(c) for c in columns)
    cursor = db.cursor()
    if is_postgres(db):
        from psycopg2.extras import execute_values

        execute_values(cursor, f"INSERT INTO {table} ({cols}) VALUES %s", rows, page_size=1000)
    else:
        marks = ", ".join("?" for _ in columns)
        cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def update_rows(
    model: type[pw.Model], set_columns: Sequence[str], rows: Sequence[Sequence[object]], *, bump_version: bool
) -> None:
    """UPDATE ... SET set_columns WHERE id = last value of each row."""
    if not rows:
        return
    db = current()
    p = db.param
    sets = ", ".join(f"{_quote(c)} = {p}" for c in set_columns)
    if bump_version:
        sets += ', "version" = "version" + 1'
    sql = f"UPDATE {_quote(model._meta.table_name)} SET {sets} WHERE id = {p}"
    cursor = db.cursor()
    if is_postgres(db):
        from psycopg2.extras import execute_batch

        execute_batch(cursor, sql, rows, page_size=500)
    else:
        cursor.executemany(sql, rows)


def fetch_by_keys(
    model: type[pw.Model], key: pw.Field, fields: Sequence[pw.Field], keys: Iterable[object]
) -> dict[object, tuple]:
    """key value -> tuple of ``fields`` for the rows whose ``key`` is in ``keys`` (chunked IN lists)."""
    keys = list(keys)
    found: dict[object, tuple] = {}
    for start in range(0, len(keys), 900):
        part = keys[start : start + 900]
        query = model.select(key, *fields).where(key.in_(part)).tuples()
        for row in query:
            found[row[0]] = row[1:]
    return found
