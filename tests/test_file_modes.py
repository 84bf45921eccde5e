"""SQLite on one PC: the file is the boundary. The database, its backups and safety copies are 0600, and
the folders the program creates for them 0700, whatever the umask."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from core import admin
from core.database import close_database, open_database
from dao import db as dao_db
from dao import migrations

pytestmark = pytest.mark.skipif(sys.platform.startswith("win"), reason="POSIX modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_backups_and_safety_copies_are_owner_only(tmp_path):
    from core.auth import ADMIN, Actor

    boss = Actor("boss", ADMIN)
    old_umask = os.umask(0o022)  # the usual desktop umask: files 0644, folders 0755 unless the program says
    try:
        path = tmp_path / "data" / "pension-levy" / "pension.db"
        open_database(f"sqlite:///{path}")
        assert mode(path) == 0o600
        assert mode(path.parent) == 0o700 and mode(path.parent.parent) == 0o700
        wal = path.with_name("pension.db-wal")
        if wal.exists():
            assert mode(wal) == 0o600
        backup = admin.backup(boss, tmp_path / "b.db")
        assert mode(backup) == 0o600
        safety = admin.restore(boss, backup, confirm=True)
        assert mode(safety) == 0o600 and mode(path) == 0o600
        close_database()
        bak = migrations.backup_sqlite(path, "v8-test")
        assert mode(bak) == 0o600
    finally:
        os.umask(old_umask)
        if dao_db.db_proxy.obj is not None:
            close_database()
