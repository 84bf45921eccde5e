"""The ``payer_year`` summary and the triggers that keep it (SQLite and PostgreSQL).

A county-wide view of the year's payers would otherwise group a million payments by person and join half a
million residents every time (2 s on SQLite). The database itself keeps one row per person and year:

* a payment added, changed or removed (``contribution``) moves its person's row — added to on insert,
  taken from on delete (the earliest day looked up again only when the earliest payment goes), both on update;
* a resident moved to another township or village (``resident``) carries their rows along.

Being triggers, the summary is right whoever writes: this program, another office's copy, or a clerk's SQL.
Increments (not a recount) keep two offices importing payments for the same person at once both counted.
"""

from __future__ import annotations

import peewee as pw

NORMAL, PERSONAL, GOVERNMENT = "正常应缴", "个人", "政府代缴"

_ADD = f"""
INSERT INTO payer_year (resident_id, year, township_id, village_id, payments, personal, government, amount_fen,
                        first_day)
SELECT NEW.resident_id, NEW.year, r.township_id, r.village_id, 1,
       CASE WHEN NEW.payer = '{PERSONAL}' THEN 1 ELSE 0 END, CASE WHEN NEW.payer = '{GOVERNMENT}' THEN 1 ELSE 0 END,
       NEW.amount_fen, NEW.paid_on
FROM resident r WHERE r.id = NEW.resident_id AND NEW.kind = '{NORMAL}'
ON CONFLICT (resident_id, year) DO UPDATE SET
    payments = payer_year.payments + 1,
    personal = payer_year.personal + excluded.personal,
    government = payer_year.government + excluded.government,
    amount_fen = payer_year.amount_fen + excluded.amount_fen,
    first_day = CASE WHEN payer_year.first_day IS NULL OR excluded.first_day < payer_year.first_day
                     THEN excluded.first_day ELSE payer_year.first_day END;
"""

_TAKE = f"""
UPDATE payer_year SET
    payments = payments - 1,
    personal = personal - CASE WHEN OLD.payer = '{PERSONAL}' THEN 1 ELSE 0 END,
    government = government - CASE WHEN OLD.payer = '{GOVERNMENT}' THEN 1 ELSE 0 END,
    amount_fen = amount_fen - OLD.amount_fen,
    first_day = CASE WHEN first_day = OLD.paid_on
                     THEN (SELECT MIN(c.paid_on) FROM contribution c
                           WHERE c.resident_id = OLD.resident_id AND c.year = OLD.year AND c.kind = '{NORMAL}')
                     ELSE first_day END
WHERE resident_id = OLD.resident_id AND year = OLD.year AND OLD.kind = '{NORMAL}';
DELETE FROM payer_year WHERE resident_id = OLD.resident_id AND year = OLD.year AND payments <= 0;
"""

_MOVE = """
UPDATE payer_year SET township_id = NEW.township_id, village_id = NEW.village_id WHERE resident_id = NEW.id;
"""

_WATCHED = "resident_id, year, kind, payer, amount_fen, paid_on"

_SQLITE = (
    f"CREATE TRIGGER IF NOT EXISTS payer_year_insert AFTER INSERT ON contribution BEGIN {_ADD} END",
    f"CREATE TRIGGER IF NOT EXISTS payer_year_delete AFTER DELETE ON contribution BEGIN {_TAKE} END",
    f"CREATE TRIGGER IF NOT EXISTS payer_year_update AFTER UPDATE OF {_WATCHED} ON contribution "
    f"BEGIN {_TAKE} {_ADD} END",
    "CREATE TRIGGER IF NOT EXISTS payer_year_move AFTER UPDATE OF township_id, village_id ON resident "
    "WHEN OLD.township_id IS NOT NEW.township_id OR OLD.village_id IS NOT NEW.village_id "
    f"BEGIN {_MOVE} END",
)

_POSTGRES = (
    f"""CREATE OR REPLACE FUNCTION payer_year_sync() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN {_TAKE} END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN {_ADD} END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION payer_year_move() RETURNS trigger AS $$
BEGIN {_MOVE} RETURN NULL; END $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS payer_year_sync ON contribution",
    f"CREATE TRIGGER payer_year_sync AFTER INSERT OR DELETE OR UPDATE OF {_WATCHED} ON contribution "
    "FOR EACH ROW EXECUTE FUNCTION payer_year_sync()",
    "DROP TRIGGER IF EXISTS payer_year_move ON resident",
    "CREATE TRIGGER payer_year_move AFTER UPDATE OF township_id, village_id ON resident FOR EACH ROW "
    "WHEN (OLD.township_id IS DISTINCT FROM NEW.township_id OR OLD.village_id IS DISTINCT FROM NEW.village_id) "
    "EXECUTE FUNCTION payer_year_move()",
)

# The same figures counted from the payments: fills the table once (schema step 8) and checks it (tests).
RECOUNT = f"""
SELECT c.resident_id, c.year, r.township_id, r.village_id, COUNT(*),
       SUM(CASE WHEN c.payer = '{PERSONAL}' THEN 1 ELSE 0 END),
       SUM(CASE WHEN c.payer = '{GOVERNMENT}' THEN 1 ELSE 0 END),
       SUM(c.amount_fen), MIN(c.paid_on)
FROM contribution c JOIN resident r ON r.id = c.resident_id
WHERE c.kind = '{NORMAL}'
GROUP BY c.resident_id, c.year, r.township_id, r.village_id
"""


def install(db: pw.Database) -> None:
    """Create (or replace) the triggers."""
    for sql in _POSTGRES if isinstance(db, pw.PostgresqlDatabase) else _SQLITE:
        db.execute_sql(sql)


def refill(db: pw.Database) -> None:
    """Recount the whole table from the payments (an upgraded database's existing payments)."""
    db.execute_sql("DELETE FROM payer_year")
    db.execute_sql(
        "INSERT INTO payer_year (resident_id, year, township_id, village_id, payments, personal, government, "
        f"amount_fen, first_day) {RECOUNT}"
    )
