"""Bulk reads and writes for importers: executemany (SQLite) or COPY (PostgreSQL) for inserts.

peewee's insert_many builds SQL text per row; at 100,000 rows that cost dominates an import, so the hot
path goes one level down, still inside the caller's peewee transaction.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

import peewee as pw
from peewee import __exception_wrapper__ as driver_errors  # driver errors -> peewee's (IntegrityError, ...)

from dao.db import current, is_postgres

CHUNK = 5000
JSON_ROWS = 20_000  # PostgreSQL under row-level security: up to this many rows in one INSERT over JSON
IN_LIST = 900  # values in one IN (...): under every SQLite build's variable limit (999 before 3.32)
T = TypeVar("T")


def in_chunks(values: Iterable[T], size: int = IN_LIST) -> Iterator[list[T]]:
    """``values`` in lists short enough for one ``IN (...)``; a county-wide list would overflow the limit."""
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _quote(name: str) -> str:
    return f'"{name}"'


def _literal(value: object) -> str:
    """A constant written into the statement once instead of bound for every row."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        value = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"no literal for {type(value).__name__}")


class WriteBehind:
    """One bulk insert at a time in a second thread, while the caller goes on checking the next rows.

    The database work of an insert (SQLite running one INSERT ... SELECT over a JSON text, PostgreSQL's COPY)
    happens in C without the GIL, so on a second core it overlaps the Python row checks. The connection is
    handed over, never shared: every use of it by the caller starts with ``wait()``, which also re-raises
    the insert's error in the caller's thread, inside its transaction.
    """

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def submit(self, work: Callable[[], None]) -> None:
        self.wait()

        def run() -> None:
            try:
                with driver_errors:
                    work()
            except BaseException as exc:  # handed to the caller by wait()
                self._error = exc

        self._thread = threading.Thread(target=run, name="write-behind", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def _json_value(value: object) -> object:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    raise TypeError(f"no JSON for {type(value).__name__}")


def insert_rows(
    model: type[pw.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    constants: Mapping[str, object] | None = None,
    behind: WriteBehind | None = None,
) -> None:
    """Insert plain tuples into ``model``'s table (column names as in the table).

    ``constants`` are columns with the same value in every row (timestamps, status): written once into the
    statement, so the driver converts them once, not 100,000 times. With ``behind`` the statement runs in
    its thread and this returns once the rows are prepared (see ``WriteBehind``).
    """
    if behind is not None:
        behind.wait()
    if not rows:
        return
    db = current()
    constants = dict(constants or {})
    table = _quote(model._meta.table_name)
    cols = ", ".join(_quote(c) for c in (*columns, *constants))
    fixed = "".join(f", {_literal(v)}" for v in constants.values())
    cursor = db.cursor()
    with driver_errors:
        if is_postgres(db):  # COPY: the server parses rows as a stream, no statement per 1,000 rows
            tail = "".join(f"\t{_copy_text(v)}" for v in constants.values()) + "\n"
            buffer = io.StringIO()
            buffer.writelines("\t".join(map(_copy_text, row)) + tail for row in rows)
            buffer.seek(0)
            if _row_security_active(db, cursor, table) and len(rows) <= JSON_ROWS:
                # COPY is refused where row-level security applies (every role but the owner): a few thousand
                # rows go in as one INSERT over JSON records — one round trip, the policies check every row.
                records = json.dumps([dict(zip(columns, row, strict=True)) for row in rows], default=_json_value,
                                     ensure_ascii=False)  # fmt: skip
                named = ", ".join(_quote(c) for c in columns)
                sql = (f"INSERT INTO {table} ({cols}) SELECT {named}{fixed} FROM "
                       f"json_populate_recordset(NULL::{table}, %s) WITH ORDINALITY ORDER BY ordinality")  # fmt: skip

                def copy() -> None:
                    cursor.execute(sql, (records,))
            elif _row_security_active(db, cursor, table):
                # More rows than that: copy into a scratch table, then insert from it (policies checked).
                def copy() -> None:
                    cursor.execute(f"CREATE TEMP TABLE bulk_rows AS SELECT {cols} FROM {table} WITH NO DATA")
                    cursor.copy_expert(f"COPY pg_temp.bulk_rows ({cols}) FROM STDIN", buffer)
                    cursor.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM pg_temp.bulk_rows")
                    cursor.execute("DROP TABLE pg_temp.bulk_rows")
            else:

                def copy() -> None:
                    cursor.copy_expert(f"COPY {table} ({cols}) FROM STDIN", buffer)

            if behind is not None:
                behind.submit(copy)
            else:
                copy()
        elif behind is not None and not _has_insert_triggers(cursor, model._meta.table_name):
            # One statement over the rows as JSON text: the whole insert then runs inside SQLite, GIL-free.
            text = json.dumps(rows, default=_json_value, ensure_ascii=False)
            picks = ", ".join(f"json_extract(value, '$[{n}]')" for n in range(len(columns)))
            sql = f"INSERT INTO {table} ({cols}) SELECT {picks}{fixed} FROM json_each(?) ORDER BY key"
            behind.submit(lambda: cursor.execute(sql, (text,)))
        elif _has_insert_triggers(cursor, model._meta.table_name):
            # Rows go to a scratch table first, then into the table in one statement: with triggers on the
            # table (contribution) SQLite would open a statement journal for each single-row INSERT, which
            # doubled the ledger import. Other tables gain nothing from it (measured), so they skip it.
            scratch = ", ".join(f"c{n}" for n in range(len(columns)))
            cursor.execute("DROP TABLE IF EXISTS temp.bulk_rows")
            cursor.execute(f"CREATE TEMP TABLE bulk_rows ({scratch})")
            cursor.executemany(f"INSERT INTO temp.bulk_rows VALUES ({', '.join('?' for _ in columns)})", rows)
            cursor.execute(
                f"INSERT INTO {table} ({cols}) SELECT {scratch}{fixed} FROM temp.bulk_rows ORDER BY rowid"
            )
            cursor.execute("DROP TABLE temp.bulk_rows")
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks}{fixed})", rows)


_ROW_SECURITY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # connection -> {table: active}


def _row_security_active(db: pw.Database, cursor, table: str) -> bool:  # type: ignore[no-untyped-def]
    """Whether row-level security applies to this connection's role on ``table``: fixed for a connection,
    so asked once (each question is a round trip to a county server)."""
    known = _ROW_SECURITY.setdefault(db.connection(), {})
    if table not in known:
        cursor.execute("SELECT row_security_active(%s)", (table,))
        known[table] = bool(cursor.fetchone()[0])
    return known[table]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: object) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def _has_insert_triggers(cursor: sqlite3.Cursor, table: str) -> bool:
    cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND sql LIKE '% INSERT ON %'",
        (table,),
    )
    return cursor.fetchone() is not None


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
    with driver_errors:
        if is_postgres(db):
            from psycopg2.extras import execute_batch

            execute_batch(cursor, sql, rows, page_size=500)
        else:
            cursor.executemany(sql, rows)


def fetch_by_keys(
    model: type[pw.Model], key: str, columns: Sequence[str], keys: Iterable[object]
) -> dict[object, tuple]:
    """key value -> tuple of ``columns`` for the rows whose ``key`` column is in ``keys`` (chunked IN lists).

    Plain column values, no peewee conversion: fine for text and integer columns.
    """
    db = current()
    table = _quote(model._meta.table_name)
    select = f"SELECT {', '.join(_quote(c) for c in (key, *columns))} FROM {table} WHERE {_quote(key)}"
    found: dict[object, tuple] = {}
    cursor = db.cursor()
    postgres = is_postgres(db)
    for part in in_chunks(keys, 20_000 if postgres else IN_LIST):
        with driver_errors:
            if postgres:  # one array parameter: no statement text 20,000 placeholders long
                cursor.execute(f"{select} = ANY(%s)", (part,))
            else:
                cursor.execute(f"{select} IN ({', '.join('?' for _ in part)})", part)
        for row in cursor.fetchall():
            found[row[0]] = row[1:]
    return found
