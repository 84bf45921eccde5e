"""系统管理: users, policy years, regions, the audit log, backup and restore. Admin role; every change audited."""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import os
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from core import audit, auth, policy, regions
from core.auth import ADMIN, CLERK, Actor, require
from core.errors import PermissionDenied, UserError
from core.money import yuan_to_fen
from core.regions import TownshipMatcher, forget_townships, normalise_text
from core.tabular import Column, data_rows, open_table, text_of
from dao import db as dao_db
from dao import migrations, sqlite_files
from dao.db import current
from dao.migrations import LATEST
from dao.models import ROLES, AuditLog, Contribution, PolicyYear, Township, User, Village, now

log = logging.getLogger(__name__)

# --- users ----------------------------------------------------------------------------------------------


def users(actor: Actor) -> list[User]:
    require(actor, "user.manage")
    return list(User.select().order_by(User.username))


def _user(username: str) -> User:
    user = auth.find_user(username)
    if user is None:
        raise UserError(f"用户“{username}”不存在。")
    return user


def update_user(
    actor: Actor,
    username: str,
    *,
    role: str | None = None,
    township_id: int | None = None,
    active: bool | None = None,
    display_name: str | None = None,
) -> User:
    require(actor, "user.manage")
    user = _user(username)
    new_role = role or user.role
    if new_role not in ROLES:
        raise UserError(f"未知角色“{new_role}”。")
    if user.username == actor.username and (new_role != ADMIN or active is False):
        raise PermissionDenied("不能取消自己的管理员角色或停用自己的账号。")
    town = township_id if township_id is not None else user.township_id
    if new_role == CLERK and town is None:
        raise UserError("乡镇经办必须指定所属乡镇。")
    changes: dict[str, object] = {"role": new_role, "township": town if new_role == CLERK else None}
    if active is not None:
        changes["active"] = active
    if display_name is not None:
        changes["display_name"] = display_name.strip()
    before = {
        "role": user.role,
        "township": user.township_id,
        "active": user.active,
        "display_name": user.display_name,
    }
    with current().atomic():
        if dao_db.is_postgres():  # the login role follows: group membership, LOGIN / NOLOGIN
            current().execute_sql(
                "SELECT app_user_update(%s, %s, %s, %s, %s)",
                (user.username, new_role, changes["township"], changes.get("active", user.active),
                 changes.get("display_name", user.display_name)),
            )  # fmt: skip
        else:
            if changes.get("active") is True:
                changes.update(failed_attempts=0, locked_until=None)
            User.update(**changes).where(User.id == user.id).execute()
        audit.record(actor.username, "update", "user", user.id, before=before, after=changes)
    return User.get_by_id(user.id)


def reset_password(actor: Actor, username: str, password: str) -> None:
    """New password for a user (failures and lock cleared); on PostgreSQL ALTER ROLE ... PASSWORD."""
    auth.set_password(actor, username, password)


def change_own_password(actor: Actor, old_password: str, new_password: str) -> None:
    auth.change_own_password(actor, old_password, new_password)


# --- policy years ---------------------------------------------------------------------------------------


@dataclass
class PolicyInput:
    year: int
    tiers_yuan: list[str]
    hardship_min_yuan: str
    reselect_date: dt.date | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    arrears_allowed: bool = True
    arrears_subsidy: bool = False
    note: str = ""


def validate_policy(data: PolicyInput) -> tuple[list[int], int]:
    if not 1990 <= data.year <= 2100:
        raise UserError(f"年度无效：{data.year}")
    try:
        tiers = [yuan_to_fen(t) for t in data.tiers_yuan]
        minimum = yuan_to_fen(data.hardship_min_yuan)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    if not tiers:
        raise UserError("至少要有一个缴费档次。")
    if any(t <= 0 for t in tiers):
        raise UserError("缴费档次必须大于零。")
    if any(b <= a for a, b in itertools.pairwise(tiers)):
        raise UserError("缴费档次必须从低到高排列，且不能重复。")
    if minimum not in tiers:
        raise UserError("困难群体最低缴费标准必须是其中一个档次。")
    if data.window_start and data.window_end and data.window_end < data.window_start:
        raise UserError("征缴期的结束日期早于开始日期。")
    for label, day in (("重新选档日期", data.reselect_date), ("征缴期开始", data.window_start)):
        if day is not None and day.year != data.year:
            raise UserError(f"{label}应在 {data.year} 年内。")
    return tiers, minimum


def save_policy(actor: Actor, data: PolicyInput, reason: str = "") -> PolicyYear:
    """Add or change a year's rules. A year that already has payments changes only with a recorded reason."""
    require(actor, "system.manage")
    tiers, minimum = validate_policy(data)
    existing = policy.get(data.year)
    values = {"tiers_fen": ",".join(str(t) for t in tiers), "hardship_min_fen": minimum, "reselect_date": data.reselect_date,
              "window_start": data.window_start, "window_end": data.window_end, "arrears_allowed": data.arrears_allowed,
              "arrears_subsidy": data.arrears_subsidy, "note": data.note}  # fmt: skip
    with current().atomic():
        if existing is None:
            row = PolicyYear.create(year=data.year, **values)
            audit.record(actor.username, "create", "policy_year", data.year, after=values)
            return row
        before = {k: getattr(existing, k) for k in values}
        if before == values:
            return existing
        if Contribution.select().where(Contribution.year == data.year).exists() and not reason.strip():
            raise UserError(f"{data.year} 年已有缴费记录：修改该年度政策必须填写原因（将记入审计日志）。")
        PolicyYear.update(**values).where(PolicyYear.id == existing.id).execute()
        audit.record(actor.username, "update", "policy_year", data.year, before=before,
                     after={**values, "reason": reason.strip()})  # fmt: skip
    return PolicyYear.get_by_id(existing.id)


# --- regions --------------------------------------------------------------------------------------------

REGION_COLUMNS = (
    Column("township_code", "乡镇代码", ("乡镇代码", "乡镇（街道）代码", "乡镇区划代码")),
    Column("township", "乡镇", ("乡镇", "乡镇(街道)", "乡镇名称", "所属乡镇", "镇街"), required=True),
    Column("village_code", "村居代码", ("村居代码", "村(居)代码", "村代码", "社区代码")),
    Column("village", "村居", ("村居", "村(居)", "村", "村(社区)", "村居名称", "社区", "村(居)委会")),
)


def import_regions(actor: Actor, path: str | Path) -> dict[str, int]:
    """A county's townships and villages from a file: townships with a code are added when new."""
    require(actor, "system.manage")
    table = open_table(path, REGION_COLUMNS)
    added = {"townships": 0, "villages": 0, "rows": 0}
    try:
        with current().atomic():
            for row, _cells, cells_by_field in data_rows(table):
                value = {f: text_of(v) for f, v in cells_by_field.items()}
                added["rows"] += 1
                name = normalise_text(value.get("township", ""))
                code = value.get("township_code", "").replace(".0", "")
                matcher = TownshipMatcher.load()
                town_id = matcher.match(name) or (matcher.match(code) if code else None)
                if town_id is None:
                    if not (code.isdigit() and len(code) in (9, 12) and name):
                        raise UserError(f"第 {row} 行：乡镇“{name}”不存在，且没有 9 位乡镇代码，无法新增。")
                    town_id = Township.create(code=code, name=name, sort_order=Township.select().count()).id
                    forget_townships()  # the next row's matcher must know it
                    added["townships"] += 1
                village = normalise_text(value.get("village", ""))
                if village:  # the register: rosters may name only these villages in this township
                    known = Village.get_or_none((Village.township == town_id) & (Village.name == village))
                    if known is None:
                        Village.create(township=town_id, name=village, registered=True,
                                       code=value.get("village_code", "").replace(".0", "") or None)  # fmt: skip
                        added["villages"] += 1
                    elif not known.registered:
                        Village.update(registered=True).where(Village.id == known.id).execute()
            audit.record(actor.username, "import", "region", "", after={"file": Path(path).name, **added})
    finally:
        table.source.close()
        if added["townships"]:
            forget_townships()  # rolled back or not, read them again
    return added


# --- the audit log --------------------------------------------------------------------------------------


AUDIT_SHOWN = 1000  # newest entries the viewer lists; an export takes every matching one


def audit_entries(actor: Actor, *, username: str = "", entity: str = "", start: dt.date | None = None,
                  end: dt.date | None = None, limit: int = AUDIT_SHOWN) -> list[AuditLog]:  # fmt: skip
    require(actor, "system.manage")
    query = AuditLog.select().order_by(AuditLog.id.desc()).limit(limit)
    if username:
        query = query.where(AuditLog.username == username)
    if entity:
        query = query.where(AuditLog.entity == entity)
    if start:
        query = query.where(AuditLog.at >= dt.datetime.combine(start, dt.time()))
    if end:
        query = query.where(AuditLog.at < dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    return list(query)


# --- the database: backup, restore, where it lives ------------------------------------------------------


def database_info() -> dao_db.DbInfo:
    return dao_db.describe(_current_url())


def _current_url() -> str:
    database = current()
    if isinstance(database, pw.SqliteDatabase):
        return f"sqlite:///{database.database}"
    params = database.connect_params
    return f"postgresql://{params.get('user', '')}@{params.get('host', 'localhost')}:{params.get('port', 5432)}/{database.database}"


def network_share_warning(path: Path) -> str | None:
    """SQLite's locking is unsafe on network file systems: several offices should share PostgreSQL."""
    text = str(path)
    remote = text.startswith(("\\\\", "//"))
    if not remote and sys.platform.startswith("win") and len(text) > 1 and text[1] == ":":
        import ctypes

        remote = ctypes.windll.kernel32.GetDriveTypeW(f"{text[0]}:\\") == 4  # DRIVE_REMOTE
    if not remote and os.path.exists("/proc/mounts"):
        best, fstype = "", ""
        resolved = str(path.resolve())
        with open("/proc/mounts", encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 2 and resolved.startswith(parts[1]) and len(parts[1]) > len(best):
                    best, fstype = parts[1], parts[2]
        remote = fstype in {"nfs", "nfs4", "cifs", "smbfs", "smb3", "sshfs", "fuse.sshfs", "9p"}
    if remote:
        return ("数据库文件在网络共享上：SQLite 的文件锁在网络文件系统上不可靠，多台电脑同时使用可能损坏数据。"
                "多个办公室共用时请改用 PostgreSQL。")  # fmt: skip
    return None


class OverwriteRefused(UserError):
    """The backup would overwrite a file that is not a database of this application (the GUI asks first)."""


def backup(actor: Actor, out: str | Path, *, force: bool = False) -> Path:
    """An online, consistent copy of the SQLite database (others may keep working meanwhile).

    An existing file is overwritten only when it is a database of this application (an older backup), or
    with ``force``: a spreadsheet given by mistake is not lost."""
    require(actor, "system.manage")
    info = database_info()
    if info.backend != "sqlite":
        raise UserError(
            "PostgreSQL 数据库请用 pg_dump 备份，例如：pg_dump -Fc -h 主机 -U 用户 库名 > 备份.dump"
        )
    out = Path(out)
    if out.resolve() == Path(info.path).resolve():
        raise UserError("备份文件不能是当前数据库文件本身。")
    if not out.parent.is_dir():
        raise UserError(f"备份文件夹不存在：{out.parent}")
    if out.is_dir():
        raise UserError(f"备份文件的位置是一个文件夹：{out}")
    if out.exists() and not force and not sqlite_files.is_app_database(out, BASE_TABLES):
        raise OverwriteRefused(
            f"文件 {out} 已存在，且不是本系统的数据库备份：没有覆盖它。请换一个文件名，或确认覆盖（命令行加 --force）。"
        )
    try:
        sqlite_files.online_copy(Path(info.path), out)
    except (sqlite3.Error, OSError) as exc:
        raise UserError(f"无法写入备份文件 {out}（{exc}）：请换一个有写入权限、空间足够的位置。") from exc
    audit.record(actor.username, "backup", "database", "", after={"file": str(out)})
    log.info("backup by %s to %s", actor.username, out)
    return out


# Tables every schema version of this application has had (version 1 on): a file without them is not ours.
BASE_TABLES = {"schema_version", "township", "village", "resident", "policy_year", "contribution",
               "app_user", "audit_log"}  # fmt: skip

IN_USE = ("数据库正被本程序的其他窗口或其他电脑使用（{path}）：请先关闭它们（包括其他电脑上打开这个数据库的本程序），"
          "再恢复。数据库未作任何改动。")  # fmt: skip


def restore(actor: Actor, source: str | Path, *, confirm: bool) -> Path:
    """Replace the SQLite database with a backup; returns the safety copy of the database it replaced.

    The backup is checked completely before anything is touched; no other instance of the program may have
    the database open (``<db>.instances``); the new file is written beside the live one (and upgraded there),
    then renamed over it, so a kill at any moment leaves the old or the new database. Any failure after the
    safety copy puts the old database back, and the message names the safety copy."""
    require(actor, "system.manage")
    if not confirm:
        raise UserError("未确认：数据库没有恢复，仍是原来的数据。")
    info = database_info()
    if info.backend != "sqlite":
        raise UserError("PostgreSQL 数据库请用 pg_restore 恢复。")
    source, live = Path(source), Path(info.path)
    if not source.is_file():
        raise UserError(f"找不到备份文件：{source}")
    if source.resolve() == live.resolve():
        raise UserError("备份文件不能是当前数据库文件本身。")
    try:
        version = sqlite_files.check_candidate(source, BASE_TABLES, LATEST)
    except sqlite_files.NotOurDatabase as exc:
        raise UserError(
            f"备份文件不是本系统可用的数据库，数据库未作任何改动：{source.name}（{exc}）"
        ) from exc
    lock = sqlite_files.instance_lock(live)
    if lock is None or not lock.try_exclusive():
        who = lock.others() if lock is not None else []
        raise UserError(IN_USE.format(path=live) + (f"正在使用的有：{'；'.join(who)}。" if who else ""))
    try:
        safety = live.with_name(f"{live.name}.before-restore-{now():%Y%m%d%H%M%S}.bak")
        backup(actor, safety, force=True)
        staged = sqlite_files.staging_path(live)
        try:
            sqlite_files.clear_stale_staging(live)
            sqlite_files.online_copy(source, staged)
            _upgrade_staged(staged, version)  # an older backup is upgraded beside the live file, not in it
            database = current()
            busy = database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if busy:  # a reader outside this program: its log must not be thrown away
                raise UserError("数据库正被其他程序读取，无法完成恢复。")
            database.close()
            sqlite_files.swap_in(staged, live)
        except Exception as exc:
            sqlite_files.clear_stale_staging(live)
            _put_back(live, safety)
            log.exception("restore from %s failed; the database was put back", source)
            raise UserError(
                f"恢复失败，原数据库已自动复原（恢复前的副本：{safety}）：{_reason(exc)}"
            ) from exc
        try:
            _rebind(live)
        except Exception as exc:
            _put_back(live, safety)
            log.exception("the restored database from %s did not open; the database was put back", source)
            raise UserError(
                f"恢复后的数据库无法打开，原数据库已自动复原（恢复前的副本：{safety}）：{_reason(exc)}"
            ) from exc
    finally:
        lock.back_to_shared()
    # Recorded in the restored database, which is the one that goes on.
    audit.record(
        actor.username, "restore", "database", "", after={"from": str(source), "safety_copy": str(safety)}
    )
    log.info("restore by %s from %s (safety copy %s)", actor.username, source, safety)
    return safety


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        from core.errors import os_error_message

        return os_error_message(exc)
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _upgrade_staged(staged: Path, version: int) -> None:
    if version == LATEST:
        return
    # Not through dao.db.connect: the staged file is no database anyone opens (no instance lock, no WAL).
    database = pw.SqliteDatabase(str(staged), pragmas={"foreign_keys": 1, "journal_mode": "delete"})
    try:
        migrations.upgrade(database, None)
    finally:
        database.close()


def _put_back(live: Path, safety: Path) -> None:
    """The database as it was before the restore, from its safety copy, put in place the same atomic way."""
    current().close()
    staged = sqlite_files.staging_path(live)
    sqlite_files.clear_stale_staging(live)
    sqlite_files.online_copy(safety, staged)
    sqlite_files.swap_in(staged, live)
    _rebind(live)


def _rebind(live: Path) -> None:
    """The bound database object reconnects to the file now at ``live`` (its instance lock is kept)."""
    database = current()
    if not database.is_closed():
        database.close()
    database.connect()
    migrations.upgrade(database, live)  # a no-op unless something is wrong with the file
    regions.seed_townships()  # as opening does
    policy.seed_policy_years()
