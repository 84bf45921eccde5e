"""The whole schema of a database as plain data, for comparing an upgraded database with a fresh one: tables,
columns (type, nullability), indexes (name, uniqueness, columns or expression), foreign keys (column, target,
ON DELETE) and triggers. Defaults are left out: the models' defaults live in Python, while a column added to a
table that has rows needs one in the database."""

from __future__ import annotations

import re

import peewee as pw

from dao import migrations


def describe(db: pw.Database) -> dict[str, dict]:
    return _pg(db) if isinstance(db, pw.PostgresqlDatabase) else _sqlite(db)


def _sqlite(db: pw.Database) -> dict[str, dict]:
    schema: dict[str, dict] = {}
    tables = sorted(
        r[0]
        for r in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    )
    for table in tables:
        columns = {
            name: (_sqlite_type(kind), bool(notnull) or bool(pk))
            for _cid, name, kind, notnull, _default, pk in db.execute_sql(f'PRAGMA table_info("{table}")')
        }
        indexes = {}
        for _seq, name, unique, origin, _partial in db.execute_sql(f'PRAGMA index_list("{table}")'):
            if origin == "pk":
                continue
            cols = tuple(r[2] for r in db.execute_sql(f'PRAGMA index_info("{name}")'))
            if None in cols:  # an expression index: its expression
                sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
                cols = (re.sub(r"\s+", "", sql.split("(", 1)[1]).replace('"', "").lower(),)
            key = f"<unique constraint {cols}>" if origin == "u" else name
            indexes[key] = (bool(unique), cols)
        foreign = sorted(
            (row[3], row[2], row[4], row[6].upper())
            for row in db.execute_sql(f'PRAGMA foreign_key_list("{table}")')
        )
        schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": foreign}
    schema["<triggers>"] = {
        name: (table, re.sub(r"\s+", " ", sql).strip())
        for name, table, sql in db.execute_sql(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"
        )
    }
    return schema


def _sqlite_type(kind: str) -> str:
    return re.sub(r"\s+", "", kind.upper())


def _pg(db: pw.Database) -> dict[str, dict]:
    namespace = db.execute_sql("SELECT current_schema()").fetchone()[0]
    schema: dict[str, dict] = {}
    for table in sorted(migrations.table_names(db)):
        columns = {
            name: (f"{kind}({length})" if length else kind, nullable == "NO")
            for name, kind, length, nullable in db.execute_sql(
                "SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (namespace, table),
            )
        }
        indexes = {}
        for name, definition, constraint in db.execute_sql(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid), c.contype FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid "
            "WHERE n.nspname = %s AND t.relname = %s",
            (namespace, table),
        ):
            if constraint == "p":
                continue
            body = definition.split(" USING ", 1)[1].replace(f"{namespace}.", "").replace('"', "")
            unique = definition.startswith("CREATE UNIQUE")
            key = f"<unique constraint {body}>" if constraint == "u" else name
            indexes[key] = (unique, body)
        foreign = sorted(
            r[0].replace(f"{namespace}.", "").replace('"', "")
            for r in db.execute_sql(
                "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE c.contype = 'f' AND n.nspname = %s "
                "AND t.relname = %s",
                (namespace, table),
            )
        )
        schema[table] = {"columns": columns, "indexes": indexes, "foreign_keys": foreign}
    schema["<triggers>"] = {
        name: (table, definition.replace(f"{namespace}.", "").replace('"', ""))
        for name, table, definition in db.execute_sql(
            "SELECT g.tgname, t.relname, pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class t ON t.oid = g.tgrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE NOT g.tgisinternal AND n.nspname = %s",
            (namespace,),
        )
    }
    return schema


def differences(upgraded: dict, fresh: dict) -> list[str]:
    """Human-readable differences (empty when the schemas are the same)."""
    out = []
    for table in sorted(set(upgraded) | set(fresh)):
        if table not in fresh:
            out.append(f"extra table {table}")
            continue
        if table not in upgraded:
            out.append(f"missing table {table}")
            continue
        a, b = upgraded[table], fresh[table]
        if table == "<triggers>":
            for name in sorted(set(a) | set(b)):
                if a.get(name) != b.get(name):
                    out.append(f"trigger {name}: upgraded {a.get(name)} fresh {b.get(name)}")
            continue
        for part in ("columns", "indexes"):
            for name in sorted(set(a[part]) | set(b[part])):
                if a[part].get(name) != b[part].get(name):
                    out.append(
                        f"{table} {part[:-1]} {name}: upgraded {a[part].get(name)} fresh {b[part].get(name)}"
                    )
        if a["foreign_keys"] != b["foreign_keys"]:
            missing = sorted(set(map(str, b["foreign_keys"])) - set(map(str, a["foreign_keys"])))
            extra = sorted(set(map(str, a["foreign_keys"])) - set(map(str, b["foreign_keys"])))
            out.append(f"{table} foreign keys: missing {missing} extra {extra}")
    return out
