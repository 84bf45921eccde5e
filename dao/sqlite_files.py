"""SQLite databases as files: online copies, checking a copy before it is restored, putting it in place."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

PRIVATE_FILE, PRIVATE_DIR = 0o600, 0o700  # on one PC the file is the boundary: owner only


def make_private_dir(path: Path) -> None:
    """Create a folder (and its missing parents) readable by the owner only; existing folders are left alone."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    path.mkdir(parents=True, exist_ok=True)
    for folder in missing:
        os.chmod(folder, PRIVATE_DIR)


def create_private(path: Path) -> None:
    """An empty file only the owner may read or write (SQLite keeps the mode, and gives it to -wal/-shm)."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE)  # an umask cannot widen it, and an old leftover is narrowed


def online_copy(source: Path, target: Path) -> Path:
    """A consistent copy through SQLite's backup API, safe while other PCs keep writing to ``source``.

    Written under a temporary name and renamed at the end: a failed copy leaves no half file behind. The copy
    (a backup, a safety copy before restore or migration) is mode 0600 like the database.
    """
    part = target.with_name(f".{target.name}.part")
    part.unlink(missing_ok=True)
    create_private(part)
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(part))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(part, target)
    return target


def inspect(path: Path) -> tuple[bool, int | None]:
    """(integrity check passed, schema version) of a database file, opened read-only.

    Raises sqlite3.DatabaseError when the file is not a SQLite database (or not one of ours).
    """
    check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        ok = check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        version = check.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    finally:
        check.close()
    return ok, version


def put_in_place(source: Path, live: Path) -> None:
    """Replace the (closed) database ``live`` by ``source``; its write-ahead log goes with it."""
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, live)
    os.chmod(live, PRIVATE_FILE)
