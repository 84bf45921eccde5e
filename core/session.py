"""Logging in to a database: the one way the GUI and the command line become a user of the system.

SQLite (one PC): the file is opened, then the password is checked against the user's scrypt hash.
PostgreSQL (shared): the program connects *as the user's login role* with the user's password, so the server
checks it (SCRAM-SHA-256) and every privilege and row-level policy applies; the office URL holds no password.
"""

from __future__ import annotations

import peewee as pw

from core import auth
from core.auth import Actor
from core.database import close_database, open_database
from core.errors import UserError
from dao import db as dao_db
from dao import migrations, pg_security
from dao.db import DatabaseOpenError, DbInfo
from dao.models import User


def login(url: str | None, username: str, password: str) -> tuple[Actor, DbInfo]:
    """Open the database as ``username``; UserError (the one login message) when that is not proven."""
    resolved = dao_db.resolve_url(url)
    info = dao_db.describe(resolved)
    if info.backend == "sqlite":
        info = open_database(resolved)
        try:
            return auth.authenticate(username, password), info
        except BaseException:
            close_database()
            raise
    return _login_pg(resolved, info, username, password), info


def _login_pg(url: str, info: DbInfo, username: str, password: str) -> Actor:
    if not (username or "").strip():
        raise UserError(auth.LOGIN_FAILED)
    params = _params(url)
    ns = pg_security.namespace_of_url(url)
    role = pg_security.user_role(ns, username)
    database: pw.PostgresqlDatabase | None = None
    for _ in range(2):
        try:
            database = pg_security.open_as(params, role, password or "")
            break
        except pg_security.LoginRefused as exc:
            try:
                retry = pg_security.report_failure(params, ns, username, exc.kind)
            except pg_security.LoginRefused:  # no gate: not a database set up by init-db (or not ours)
                retry = False
            if not retry:
                raise UserError(auth.LOGIN_FAILED) from None
        except pw.DatabaseError as exc:
            raise DatabaseOpenError(dao_db._explain_connect_error(info, exc)) from exc
    if database is None:
        raise UserError(auth.LOGIN_FAILED)
    try:
        version = migrations.current_version(database)
        if version != migrations.LATEST:
            raise DatabaseOpenError(
                f"数据库结构版本为 {version}，本程序为 {migrations.LATEST}：请管理员在服务器上用数据库所有者账号"
                "执行 init-db 升级数据库后再使用。"
                if version < migrations.LATEST
                else f"数据库的结构版本（{version}）比本程序支持的版本（{migrations.LATEST}）新，请先升级本程序。"
            )
        try:
            database.execute_sql("SELECT app_login_ok()")
        except pw.ProgrammingError:  # a login role whose user is deactivated (or none): refused, audited
            pg_security.report_failure(params, ns, username, "nologin")
            raise UserError(auth.LOGIN_FAILED) from None
        dao_db.bind(database)
        user = User.get(User.db_role == role)
    except BaseException:
        dao_db.close(database)
        raise
    return auth.actor_of(user)


def _params(url: str) -> dict:
    from playhouse.db_url import parse as parse_db_url

    try:
        params = parse_db_url(url.replace("postgres://", "postgresql://", 1))
    except Exception as exc:
        raise DatabaseOpenError(f"数据库地址格式不正确：{url}（{exc}）") from exc
    params.pop("user", None)
    params.pop("password", None)
    if not params.get("database"):
        raise DatabaseOpenError(f"数据库地址缺少数据库名：{url}")
    return params
