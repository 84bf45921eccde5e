"""Issue 16, restore and backup: a candidate is checked completely before anything is touched, no other
instance may have the database open, the live file is replaced in one rename (a kill -9 at any moment leaves
the old or the new database), a failure after the safety copy puts the old database back, and a backup does
not overwrite a file that is not one of ours."""

from __future__ import annotations

import getpass
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from core import admin as administration
from core.database import close_database, open_database
from core.errors import UserError
from dao import migrations, sqlite_files
from dao.models import Resident
from tests.clirun import ROOT, TEST_PASSWORD, cli, office_db
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import


def _count(path: Path, sql: str = "SELECT COUNT(*) FROM resident") -> int:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


@pytest.fixture
def office(tmp_path, admin):
    """A database with 3 residents and a backup of it with 5."""
    path = tmp_path / "office.db"
    open_database(f"sqlite:///{path}")
    do_import(write_xlsx(tmp_path / "r5.xlsx", [HEADER, *[person(n) for n in (1, 3, 5, 7, 9)]]), admin)
    backup = administration.backup(admin, tmp_path / "five.db")
    Resident.delete().where(Resident.id > 3).execute()
    yield path, backup
    close_database()


def _foreign(tmp_path: Path, name: str, version: object) -> Path:
    """A SQLite file that merely has a ``schema_version`` table."""
    path = tmp_path / name
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE schema_version (version, applied_at)")
    con.execute("INSERT INTO schema_version VALUES (?, '2020-01-01')", (version,))
    con.commit()
    con.close()
    return path


def test_candidates_are_checked_before_anything_is_touched(office, tmp_path, admin):
    path, backup = office
    before = path.read_bytes()
    corrupt = tmp_path / "corrupt.db"
    data = bytearray(backup.read_bytes())
    data[4096 * 3 : 4096 * 3 + 200] = b"\xff" * 200  # a damaged page, header intact
    corrupt.write_bytes(bytes(data))
    newer = tmp_path / "newer.db"
    newer.write_bytes(backup.read_bytes())
    con = sqlite3.connect(newer)
    con.execute(
        "INSERT INTO schema_version (version, applied_at) VALUES (?, '2030-01-01')", (migrations.LATEST + 1,)
    )
    con.commit()
    con.close()
    cases = {
        _foreign(tmp_path, "other.db", 3): "缺少数据表",
        _foreign(tmp_path, "text.db", "三"): "缺少数据表",
        corrupt: "完整性检查未通过|已损坏",
        newer: "更新的程序",
    }
    texty = tmp_path / "texty.db"  # our tables, but a version that is text: no TypeError traceback
    texty.write_bytes(backup.read_bytes())
    con = sqlite3.connect(texty)
    con.execute("UPDATE schema_version SET version = 'v' || version")
    con.commit()
    con.close()
    cases[texty] = "不是整数"
    for candidate, reason in cases.items():
        with pytest.raises(UserError, match=f"数据库未作任何改动.*({reason})") as caught:
            administration.restore(admin, candidate, confirm=True)
        assert candidate.name in str(caught.value)
    assert not list(tmp_path.glob("office.db.before-restore-*"))  # not even a safety copy
    assert Resident.select().count() == 3
    close_database()
    assert path.read_bytes() == before or _count(path) == 3
    assert _count(path, "PRAGMA integrity_check") == "ok"


def test_cli_restore_of_a_foreign_file_leaves_the_database_working(tmp_path):
    url = office_db(tmp_path)
    foreign = _foreign(tmp_path, "foreign.db", "x")
    result = cli("--db", url, "--user", "boss", "restore", str(foreign), "--yes")
    assert result.returncode == 2 and "不是本系统" in result.stderr and "Traceback" not in result.stderr
    assert cli("--db", url, "--user", "boss", "stats", "--year", "2020").returncode == 0  # still opens


OTHER_INSTANCE = """
import sys
from core.database import open_database
from dao.models import AuditLog
open_database(sys.argv[1])
for n in range(30):
    AuditLog.create(username="other-pc", action="write", entity="x", entity_id=str(n))
print("READY", flush=True)
sys.stdin.readline()
"""


def test_restore_refused_while_another_instance_has_the_database_open(office, admin, tmp_path):
    path, backup = office
    other = subprocess.Popen([sys.executable, "-c", OTHER_INSTANCE, f"sqlite:///{path}"], cwd=ROOT,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert other.stdout.readline().strip() == "READY"
        with pytest.raises(UserError, match="请先关闭它们") as refused:
            administration.restore(admin, backup, confirm=True)
        assert f"正在使用的有：{socket.gethostname()} 上的用户 {getpass.getuser()}（自 " in str(refused.value)
        assert not list(tmp_path.glob("office.db.before-restore-*"))
    finally:
        other.stdin.write("\n")
        other.stdin.close()
        other.wait(30)
    assert _count(path, "SELECT COUNT(*) FROM audit_log WHERE username = 'other-pc'") == 30  # nothing lost
    # this program still holds its share after the refusal (Linux drops it while trying the exclusive lock)
    probe = ("import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
             "try:\n    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); print('GOT')\n"
             "except BlockingIOError:\n    print('HELD')\n")  # fmt: skip
    third = subprocess.run([sys.executable, "-c", probe, f"{path}.instances"], capture_output=True, text=True)
    assert third.stdout.strip() == "HELD"
    safety = administration.restore(admin, backup, confirm=True)  # the other program is closed: it goes on
    assert Resident.select().count() == 5
    assert _count(safety, "SELECT COUNT(*) FROM audit_log WHERE username = 'other-pc'") == 30


def test_cli_restore_refused_while_the_gui_has_the_database_open(tmp_path):
    url = office_db(tmp_path)
    assert cli("--db", url, "--user", "boss", "backup", str(tmp_path / "b.db")).returncode == 0
    open_database(url)  # this process stands for the GUI left open
    try:
        result = cli("--db", url, "--user", "boss", "restore", str(tmp_path / "b.db"), "--yes")
    finally:
        close_database()
    assert result.returncode == 2 and "请先关闭" in result.stderr
    assert cli("--db", url, "--user", "boss", "restore", str(tmp_path / "b.db"), "--yes").returncode == 0


def test_a_failure_after_the_safety_copy_puts_the_old_database_back(office, admin, monkeypatch):
    path, backup = office
    real = sqlite_files.swap_in

    def fails_half_way(staged, live):  # once: putting the old database back works
        monkeypatch.setattr(sqlite_files, "swap_in", real)
        sqlite_files.remove_journal(live)
        raise OSError(28, "No space left on device", str(live))

    monkeypatch.setattr(sqlite_files, "swap_in", fails_half_way)
    with pytest.raises(UserError, match=r"原数据库已自动复原（恢复前的副本：.*before-restore-") as caught:
        administration.restore(admin, backup, confirm=True)
    safety = Path(str(caught.value).split("恢复前的副本：")[1].split("）")[0])
    assert safety.exists() and _count(safety) == 3
    assert Resident.select().count() == 3  # the old data, and the program goes on using it
    assert not sqlite_files.staging_path(path).exists()

    calls = []
    upgrade = migrations.upgrade

    def new_file_does_not_open(database, sqlite_path=None):
        calls.append(sqlite_path)
        if len(calls) == 1:
            raise RuntimeError("模拟：新数据库打不开")
        return upgrade(database, sqlite_path)

    monkeypatch.setattr(migrations, "upgrade", new_file_does_not_open)
    with pytest.raises(UserError, match="恢复后的数据库无法打开，原数据库已自动复原"):
        administration.restore(admin, backup, confirm=True)
    assert Resident.select().count() == 3
    monkeypatch.setattr(migrations, "upgrade", upgrade)
    administration.restore(admin, backup, confirm=True)
    assert Resident.select().count() == 5


@pytest.mark.slow
def test_kill_during_restore_leaves_the_old_or_the_new_database(tmp_path, admin):
    """kill -9 of ``restore`` at several moments: the next start always finds a working database, either
    the old one (3 residents) or the restored one (400)."""
    url = office_db(tmp_path)
    path = tmp_path / "office.db"
    open_database(url)
    do_import(write_xlsx(tmp_path / "big.xlsx", [HEADER, *[person(n) for n in range(1, 800, 2)]]), admin)
    big = administration.backup(admin, tmp_path / "big.db")
    Resident.delete().where(Resident.id > 3).execute()
    close_database()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PENSION_PASSWORD": TEST_PASSWORD}
    seen = set()
    for delay in (0.3, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0):
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--db", url, "--user", "boss", "restore",
                                 str(big), "--yes"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        open_database(url)
        try:
            count = Resident.select().count()
            assert count in (3, 400)
            seen.add(count)
            assert administration.database_info().path == path
        finally:
            close_database()
        assert _count(path, "PRAGMA integrity_check") == "ok"
        if count == 400:  # back to the old data for the next round
            open_database(url)
            Resident.delete().where(Resident.id > 3).execute()
            close_database()
    assert seen  # (which of the two each kill left depends on the machine's speed)


def test_backup_does_not_overwrite_a_file_that_is_not_ours(tmp_path, sqlite_db, admin):
    precious = tmp_path / "precious.xlsx"
    precious.write_bytes(b"PK\x03\x04 a workbook")
    with pytest.raises(administration.OverwriteRefused, match="已存在，且不是本系统的数据库备份"):
        administration.backup(admin, precious)
    assert precious.read_bytes() == b"PK\x03\x04 a workbook"
    older = administration.backup(admin, tmp_path / "older.db")
    administration.backup(admin, older)  # an older backup of ours is replaced without a question
    administration.backup(admin, precious, force=True)
    assert _count(precious, "PRAGMA integrity_check") == "ok"


def test_cli_backup_force(tmp_path):
    url = office_db(tmp_path)
    precious = tmp_path / "precious.xlsx"
    precious.write_bytes(b"PK\x03\x04 a workbook")
    refused = cli("--db", url, "--user", "boss", "backup", str(precious))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert precious.read_bytes() == b"PK\x03\x04 a workbook"
    assert cli("--db", url, "--user", "boss", "backup", str(precious), "--force").returncode == 0
    assert _count(precious, "PRAGMA integrity_check") == "ok"
