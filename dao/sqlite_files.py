"""SQLite databases as files: online copies, checking a copy before it is restored, putting it in place."""

from __future__ import annotations

import os
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
    try:
        src = sqlite3.connect(str(source), timeout=30)  # others' short write transactions are waited for
        try:
            dst = sqlite3.connect(str(part))
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            finally:
                dst.close()
        finally:
            src.close()
        fsync_file(part)
        os.replace(part, target)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return target


# --- checking a candidate before it replaces the live database ------------------------------------------


class NotOurDatabase(Exception):
    """A file that must not become the live database; ``str(exc)`` is a Chinese reason."""


def check_candidate(path: Path, base_tables: set[str], newest: int) -> int:
    """Everything about a backup that can be known before it is put in place; its schema version.

    Raises NotOurDatabase: not SQLite, damaged (``PRAGMA integrity_check``), not this application's tables,
    a version that is not an integer or newer than this program."""
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise NotOurDatabase(f"无法读取：{exc.strerror}") from exc
    if head != b"SQLite format 3\x00":
        raise NotOurDatabase("不是 SQLite 数据库文件")
    try:
        check = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        raise NotOurDatabase(f"无法打开（{exc}）") from exc
    try:
        problems = [r[0] for r in check.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise NotOurDatabase(f"完整性检查未通过：{problems[0]}")
        tables = {r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted(base_tables - tables)
        if missing:
            raise NotOurDatabase(f"不是本系统的数据库（缺少数据表 {'、'.join(missing)}）")
        kinds = check.execute("SELECT DISTINCT typeof(version) FROM schema_version").fetchall()
        if [k for (k,) in kinds if k != "integer"] or not kinds:
            raise NotOurDatabase("结构版本记录不是整数，不是本系统的数据库")
        version = int(check.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise NotOurDatabase(f"已损坏或无法读取（{exc}）") from exc
    finally:
        check.close()
    if not 1 <= version <= newest:
        raise NotOurDatabase(f"结构版本 {version} 是更新的程序写的，本程序只能打开 {newest} 及以前的版本")
    return version


def is_app_database(path: Path, base_tables: set[str]) -> bool:
    """A file that is a (readable) database of this application: one a new backup may overwrite."""
    try:
        with path.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                return False
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            con.close()
    except (OSError, sqlite3.Error):
        return False
    return base_tables <= tables


# --- putting a database in place atomically ---------------------------------------------------------------


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX; Windows has no directory handles to flush)."""
    if os.name == "posix":
        fsync_file(folder)


def staging_path(live: Path) -> Path:
    """Where a database that is to replace ``live`` is written first: beside it, on the same file system."""
    return live.with_name(f".{live.name}.restoring")


def remove_journal(live: Path) -> None:
    """The -wal and -shm of a closed database. Only under the exclusive instance lock: a -wal left beside
    another database file would be replayed into it."""
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)


def swap_in(staged: Path, live: Path) -> None:
    """Replace the closed database ``live`` by the complete, closed ``staged`` one in one rename.

    A kill at any moment leaves either the old file (with its own journal, checkpointed) or the new one."""
    for suffix in ("-wal", "-journal"):
        if Path(f"{staged}{suffix}").exists():
            raise OSError(f"staged database still has a {suffix} file: {staged}")
    os.chmod(staged, PRIVATE_FILE)
    fsync_file(staged)
    remove_journal(live)
    os.replace(staged, live)
    fsync_dir(live.parent)


def clear_stale_staging(live: Path) -> None:
    """A restore killed half-way leaves its staging file (never the live one): remove it and its journal."""
    staged = staging_path(live)
    for name in (staged, Path(f"{staged}-wal"), Path(f"{staged}-shm"), Path(f"{staged}-journal")):
        name.unlink(missing_ok=True)


# --- one lock file every running instance holds --------------------------------------------------------------

INSTANCES_SUFFIX = ".instances"
USERS_SUFFIX = ".users"  # a folder: one card per running instance, naming its PC and user
_WIN_SLOTS = (
    256  # Windows byte-range locks are exclusive only: byte 0 is the restorer's, 1.. one per instance
)


class InstanceLock:
    """``<db>.instances`` beside the database: every process that opens the database holds a shared lock on
    it for as long as it is open; a restore needs it exclusively. A separate file, so that opening or closing
    it never touches SQLite's own POSIX locks on the database. ``flock`` (not ``fcntl``) locks belong to the
    open file, so nothing else in the process can drop them."""

    def __init__(self, database: Path) -> None:
        self.path = Path(f"{database}{INSTANCES_SUFFIX}")
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        self.slot: int | None = None
        try:
            self._shared()
        except BaseException:
            os.close(self.fd)
            raise
        self.card: Path | None = None
        self.card_fd: int | None = None
        try:
            self._register(database)
        except OSError:  # a read-only folder: the lock still works, only the names are missing
            self.card = None

    def _register(self, database: Path) -> None:
        """A card in ``<db>.users/`` naming this PC, user and start time, locked while the program runs: a
        refused restore can say whom to ask to close it."""
        import datetime as dt
        import getpass
        import socket

        folder = Path(f"{database}{USERS_SUFFIX}")
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
        card = folder / f"{socket.gethostname()}-{os.getpid()}"
        fd = os.open(card, os.O_RDWR | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
        try:
            user = getpass.getuser()
        except Exception:
            user = "?"
        os.write(fd, f"{socket.gethostname()}\t{user}\t{dt.datetime.now():%Y-%m-%d %H:%M}".encode())
        _lock_card(fd, blocking=True)
        self.card, self.card_fd = card, fd

    def others(self) -> list[str]:
        """Who else has the database open ("PC 上的用户 u（自 ... 起）"); stale cards are removed."""
        if self.card is None:
            return []
        found = []
        for card in sorted(self.card.parent.iterdir()):
            if card == self.card:
                continue
            try:
                fd = os.open(card, os.O_RDWR)
            except OSError:
                continue
            try:
                if _lock_card(fd, blocking=False):  # nobody holds it: left by a program that died
                    card.unlink(missing_ok=True)
                    continue
                host, user, since = (
                    [*os.read(fd, 400).decode("utf-8", "replace").split("\t"), "?", "?", "?"]
                )[:3]
                found.append(f"{host} 上的用户 {user}（自 {since} 起）")
            finally:
                os.close(fd)
        return found

    if os.name == "posix":

        def _shared(self) -> None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_SH)  # blocks only while a restore holds it

        def try_exclusive(self) -> bool:
            import fcntl

            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Linux drops the shared lock before it tries the exclusive one: take it again
                fcntl.flock(self.fd, fcntl.LOCK_SH)
                return False
            return True

        def back_to_shared(self) -> None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_SH)

        def _unlock(self) -> None:
            import fcntl

            fcntl.flock(self.fd, fcntl.LOCK_UN)

    else:  # Windows: msvcrt byte-range locks

        def _lock(self, offset: int, blocking: bool = False) -> bool:
            import msvcrt

            os.lseek(self.fd, offset, os.SEEK_SET)
            try:
                msvcrt.locking(self.fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
            except OSError:
                return False
            return True

        def _release(self, offset: int) -> None:
            import msvcrt

            os.lseek(self.fd, offset, os.SEEK_SET)
            msvcrt.locking(self.fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]

        def _shared(self) -> None:
            self._lock(0, blocking=True)  # wait while a restore runs,
            try:
                for slot in range(1, _WIN_SLOTS):  # then take a slot of one's own
                    if self._lock(slot):
                        self.slot = slot
                        return
                raise OSError("too many instances")
            finally:
                self._release(0)

        def try_exclusive(self) -> bool:
            if not self._lock(0):
                return False
            taken = []
            for slot in range(1, _WIN_SLOTS):
                if slot != self.slot and not self._lock(slot):
                    for s in taken:
                        self._release(s)
                    self._release(0)
                    return False
                taken.append(slot)
            self._taken = taken
            return True

        def back_to_shared(self) -> None:
            for s in getattr(self, "_taken", []):
                self._release(s)
            self._release(0)

        def _unlock(self) -> None:
            if self.slot is not None:
                self._release(self.slot)

    def close(self) -> None:
        try:
            if self.card_fd is not None:
                if self.card is not None:
                    self.card.unlink(missing_ok=True)
                os.close(self.card_fd)
            self._unlock()
        finally:
            os.close(self.fd)


def _lock_card(fd: int, *, blocking: bool) -> bool:
    if os.name == "posix":
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        return True
    import msvcrt

    os.lseek(fd, 1_000_000, os.SEEK_SET)  # past the text: Windows locks keep others from reading the bytes
    try:
        msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
    except OSError:
        return False
    return True


_held: dict[str, list] = {}  # resolved database path -> [InstanceLock, how many open connections use it]


def hold_instance(database: Path) -> None:
    key = str(database.resolve())
    entry = _held.get(key)
    if entry is None:
        _held[key] = [InstanceLock(database), 1]
    else:
        entry[1] += 1


def release_instance(database: Path) -> None:
    key = str(database.resolve())
    entry = _held.get(key)
    if entry is None:
        return
    entry[1] -= 1
    if entry[1] <= 0:
        del _held[key]
        entry[0].close()


def instance_lock(database: Path) -> InstanceLock | None:
    entry = _held.get(str(database.resolve()))
    return entry[0] if entry else None
