"""The roster import's overlap (issue 20): the sheet read ahead, and inserts behind the row checks."""

from __future__ import annotations

import datetime as dt
import os
import sys

import peewee as pw
import pytest

from core import tabular
from core.progress import run
from core.roster_import import COLUMNS, import_roster
from dao import bulk
from dao.db import current
from dao.models import Resident
from tests.clirun import cli, office_db
from tests.fixtures import HEADER, person, write_xlsx

AS_OF = dt.date(2020, 1, 15)


def _rows(path) -> list:
    table = tabular.open_table(path, COLUMNS)
    try:
        return [cells for _, cells in table.rows]
    finally:
        table.source.close()


def test_read_ahead_sheet_is_used_for_the_same_file(tmp_path, monkeypatch):
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, *(person(n) for n in range(1, 30))])
    expected = _rows(path)
    tabular.read_ahead(path)
    import python_calamine as pc

    original = pc.CalamineWorkbook.get_sheet_by_name

    class Spy:
        calls = 0

    def counting(self, name):  # type: ignore[no-untyped-def]
        Spy.calls += 1
        return original(self, name)

    monkeypatch.setattr(pc.CalamineWorkbook, "get_sheet_by_name", counting, raising=False)
    assert _rows(path) == expected
    assert Spy.calls == 0  # the parsed sheet came from the read-ahead
    assert _rows(path) == expected  # used once: the next open parses again
    assert Spy.calls == 1


def test_read_ahead_of_a_file_changed_since_is_not_used(tmp_path):
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)])
    tabular.read_ahead(path)
    write_xlsx(path, [HEADER, person(2), person(3)])
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse clock
    assert [cells[0] for cells in _rows(path)] == ["居民2", "居民3"]


def test_read_ahead_ignores_what_it_cannot_read(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not a workbook")
    tabular.read_ahead(bad)
    tabular.read_ahead(tmp_path / "missing.xlsx")
    with pytest.raises(tabular.FileUnusable):
        tabular.open_table(bad, COLUMNS)


def test_insert_behind_error_reaches_the_caller(db):
    behind = bulk.WriteBehind()
    with current().atomic() as txn:
        bulk.insert_rows(
            Resident, ["id_number", "name"], [("x", "甲")], {"status": "正常参保"}, behind=behind
        )
        with pytest.raises(pw.IntegrityError):  # missing NOT NULL columns: raised by wait(), here
            behind.wait()
        txn.rollback()
    behind.wait()  # nothing pending, nothing raised twice


def test_import_with_inserts_behind_writes_every_row_in_order(db, admin, tmp_path, monkeypatch):
    monkeypatch.setattr("core.roster_import.CHUNK", 7)  # many chunks, each inserted behind the next's checks
    people = [person(n) for n in range(1, 60)]
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, *people])
    report = run(import_roster(path, admin, as_of=AS_OF))
    assert report.imported == 59
    stored = [r.id_number for r in Resident.select(Resident.id_number).order_by(Resident.id)]
    assert stored == [p[1] for p in people]


def test_cancel_while_an_insert_is_behind_leaves_nothing(db, admin, tmp_path, monkeypatch):
    monkeypatch.setattr("core.roster_import.CHUNK", 5)
    monkeypatch.setattr("core.roster_import.TICK", 1)
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, *(person(n) for n in range(1, 40))])
    job = import_roster(path, admin, as_of=AS_OF)
    for _ in range(20):  # past several chunks: inserts have been handed to the second thread
        next(job)
    job.close()
    assert Resident.select().count() == 0


@pytest.mark.skipif(sys.platform == "win32", reason="the CLI test helper runs POSIX paths")
def test_cli_import_reads_ahead_and_imports(tmp_path):
    url = office_db(tmp_path)
    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, *(person(n) for n in range(1, 12))])
    out = cli(
        "--db",
        url,
        "--user",
        "boss",
        "import-roster",
        str(path),
        "--as-of",
        "2020-01-15",
        "--sheet",
        "花名册",
    )
    assert out.returncode == 0, out.stderr
    assert "新增 11" in out.stdout


def test_main_guesses_the_file_to_read_ahead(monkeypatch):
    import main

    seen = []
    monkeypatch.setattr(tabular, "read_ahead", lambda path, sheet=None: seen.append((path, sheet)))
    main._start_reading(["--db", "sqlite:///x.db", "--user", "boss", "import-roster", "--sheet", "二组", "--as-of",
                         "2020-01-15", "r.xlsx", "--error-report", "e.xlsx"])  # fmt: skip
    main._start_reading(["import-contributions", "ledger.xlsx", "--dry-run"])
    main._start_reading(["stats", "--year", "2020"])
    assert seen == [("r.xlsx", "二组"), ("ledger.xlsx", None)]
