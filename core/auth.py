"""Users, roles and township scope. Every use case asks here; the GUI only hides what this refuses."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import peewee as pw
from peewee import fn

from core import audit
from core.errors import PermissionDenied, UserError
from dao import db as dao_db
from dao import pg_security
from dao.models import ROLES, Township, User, now

CLERK, REVIEWER, FINANCE, ADMIN = ROLES

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LEN = 8

# What each role may do. Township clerks act on their own township only (see ``check_township``).
_ROSTER = {"roster.view", "roster.import", "roster.edit", "roster.export", "stats.view"}
_ARREARS = {"arrears.view", "arrears.declare", "arrears.assess"}
_SPECIAL = {"special.view", "special.enrol"}
_REFUND = {"refund.view"}
_HANDOFF = {"handoff.view", "handoff.manage"}
PERMISSIONS: dict[str, frozenset[str]] = {
    CLERK: frozenset(_ROSTER | _ARREARS | _SPECIAL | _REFUND | {"refund.enter"}),
    REVIEWER: frozenset(
        _ROSTER
        | _ARREARS
        | _SPECIAL
        | _REFUND
        | _HANDOFF
        | {"special.import", "ledger.import", "refund.fund"}
    ),
    FINANCE: frozenset(
        {
            "roster.view",
            "roster.export",
            "stats.view",
            "special.view",
            "arrears.view",
            "ledger.import",
            "refund.view",
            "refund.fund",
            "handoff.view",
        }
    ),
    ADMIN: frozenset(
        _ROSTER
        | _ARREARS
        | _SPECIAL
        | _REFUND
        | _HANDOFF
        | {"special.import", "ledger.import", "refund.enter", "refund.fund", "user.manage", "system.manage"}
    ),
}


def who_may(permission: str) -> str:
    """The roles holding a permission, as a disabled control's tooltip names them (the administrator, who
    holds nearly all, is named only when no one else may)."""
    roles = [r for r in ROLES if permission in PERMISSIONS[r] and r != ADMIN]
    return "或".join(roles) or ADMIN


def display_names(usernames: Iterable[str]) -> dict[str, str]:
    """Each login as the screens name its user (张三经办, not jingban01), in one query; a login without a
    display name, or no longer a user, stays as it is."""
    wanted = {u for u in usernames if u}
    if not wanted:
        return {}
    names = dict(User.select(User.username, User.display_name).where(User.username.in_(wanted)).tuples())
    return {u: names.get(u) or u for u in wanted}


# Roles that see ID numbers in full; others see 371325********123X (an admin setting may change this).
FULL_ID_ROLES_DEFAULT = frozenset({CLERK, REVIEWER, ADMIN})


@dataclass(frozen=True)
class Actor:
    """Who is acting: passed into every use case that reads or changes data."""

    username: str
    role: str
    township_id: int | None = None  # None: the whole county
    display_name: str = ""

    @property
    def county_wide(self) -> bool:
        return self.township_id is None

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())


def require(actor: Actor, permission: str) -> None:
    if not actor.can(permission):
        raise PermissionDenied(f"用户“{actor.username}”（{actor.role}）无权进行此操作。")


def check_township(actor: Actor, township_id: int | None) -> None:
    if actor.township_id is not None and township_id != actor.township_id:
        raise PermissionDenied(f"用户“{actor.username}”只能处理本乡镇的数据。")


# scrypt at N = 2^17, r = 8, p = 1 (OWASP's minimum): about 0.5 s and 128 MB per hash on an office PC.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
_SCRYPT_MAXMEM = 256 * 1024 * 1024
LOGIN_FAILED = f"用户名或密码不正确，或账号已停用、已锁定（连续输错 {MAX_FAILED_LOGINS} 次锁定 {LOCKOUT.seconds // 60} 分钟）。"


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n, r, p = SCRYPT_N, SCRYPT_R, SCRYPT_P
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=32
    )
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r),
                                p=int(p), maxmem=_SCRYPT_MAXMEM, dklen=32)  # fmt: skip
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), digest_hex)


def needs_rehash(stored: str) -> bool:
    """A hash made at a lower cost than today's: replaced at the user's next successful login."""
    try:
        scheme, n, r, p, *_ = stored.split("$")
        return scheme != "scrypt" or (int(n), int(r), int(p)) < (SCRYPT_N, SCRYPT_R, SCRYPT_P)
    except ValueError:
        return True


_dummy_hash: str | None = None


def _waste_same_time(password: str) -> None:
    """An unknown or disabled name costs the same as a wrong password: timing does not tell them apart."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-password")
    verify_password(password, _dummy_hash)


def actor_of(user: User) -> Actor:
    return Actor(user.username, user.role, user.township_id, user.display_name or user.username)


def find_user(username: str) -> User | None:
    """The user of a name, whatever its case (``SHENHE`` is ``shenhe``)."""
    name = (username or "").strip()
    if not name:
        return None
    return User.get_or_none(fn.LOWER(User.username) == fn.LOWER(name))


def authenticate(username: str, password: str) -> Actor:
    """Check a login against the bound database. Every failure gets the same message (names cannot be
    probed), is audited, and a wrong password counts toward that user's lockout.

    On PostgreSQL the server checks the password: a connection is tried as the user's login role.
    """
    if dao_db.is_postgres():
        return _authenticate_pg(username, password)
    name = (username or "").strip()
    user = find_user(name)
    moment = now()
    if user is None or not user.active:
        _waste_same_time(password)
        audit.record(name[:60] or "(空)", "login_failed", "user", user.id if user else "",
                     after={"reason": "inactive" if user else "unknown"})  # fmt: skip
        raise UserError(LOGIN_FAILED)
    if user.locked_until and user.locked_until > moment:
        _waste_same_time(password)
        audit.record(user.username, "login_failed", "user", user.id, after={"reason": "locked"})
        raise UserError(LOGIN_FAILED)
    if not password or not verify_password(password, user.password_hash):
        failed = user.failed_attempts + 1
        locked = moment + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
        User.update(failed_attempts=0 if locked else failed, locked_until=locked).where(
            User.id == user.id
        ).execute()
        audit.record(user.username, "login_failed", "user", user.id, after={"failed_attempts": failed})
        raise UserError(LOGIN_FAILED)
    changes: dict[str, object] = {}
    if user.failed_attempts or user.locked_until:
        changes.update(failed_attempts=0, locked_until=None)
    if needs_rehash(user.password_hash):
        changes["password_hash"] = hash_password(password)
    if changes:
        User.update(**changes).where(User.id == user.id).execute()
    audit.record(user.username, "login", "user", user.id,
                 after={"rehashed": True} if "password_hash" in changes else None)  # fmt: skip
    return actor_of(user)


def _authenticate_pg(username: str, password: str) -> Actor:
    """The password checked by the server: a short connection as the user's role (the bound connection is
    the owner's, as in tests and at set-up; office PCs log in through core.session instead)."""
    database = dao_db.current()
    ns = pg_security.namespace_of(database)
    params = pg_security.connect_params(database)  # type: ignore[arg-type]
    role = pg_security.user_role(ns, username)
    for _ in range(2):
        try:
            probe = pg_security.open_as(params, role, password or "")
        except pg_security.LoginRefused as exc:
            if (
                exc.kind == "nologin"
                and database.execute_sql("SELECT app_login_unlock(%s)", (username,)).fetchone()[0]
            ):
                continue
            if exc.kind == "password":
                database.execute_sql("SELECT app_login_failed(%s)", (username,))
            raise UserError(LOGIN_FAILED) from None
        try:
            probe.execute_sql("SELECT app_login_ok()")
        except pw.DatabaseError:  # a role whose user is deactivated (or none): refused, audited
            database.execute_sql("SELECT app_login_unlock(%s)", (username,))
            raise UserError(LOGIN_FAILED) from None
        finally:
            probe.close()
        user = User.get(User.db_role == role)
        return actor_of(user)
    raise UserError(LOGIN_FAILED)


def _validate_new_user(username: str, password: str, role: str, township_id: int | None) -> None:
    if not username.strip():
        raise UserError("用户名不能为空。")
    if role not in ROLES:
        raise UserError(f"未知角色“{role}”，应为：{'、'.join(ROLES)}。")
    _check_password_rule(password)
    if role == CLERK and township_id is None:
        raise UserError("乡镇经办必须指定所属乡镇。")


def create_user(
    actor: Actor | None,
    username: str,
    password: str,
    role: str,
    township_id: int | None = None,
    display_name: str = "",
    *,
    password_hash: str | None = None,
) -> User:
    """Create a user. ``actor`` None is only allowed while the database has no users (first set-up).

    On PostgreSQL the user is also a login role (CREATE ROLE through ``app_user_create``, which checks that
    the caller is an administrator); the server keeps the password, ``password_hash`` stays empty.
    ``password_hash`` lets a caller reuse a hash made earlier (the demo's users share one published password).
    """
    if actor is None:
        if User.select().exists():
            raise PermissionDenied("已有用户，创建新用户需要管理员身份。")
        creator = os_login()
    else:
        require(actor, "user.manage")
        creator = actor.username
    _validate_new_user(username, password, role, township_id)
    name = username.strip()
    if len(name) > 60:
        raise UserError("用户名最长 60 个字符。")
    if township_id is not None and Township.get_or_none(Township.id == township_id) is None:
        raise UserError("所属乡镇不存在。")
    if find_user(name) is not None:
        raise UserError(f"用户名“{name}”已存在（用户名不区分大小写）。")
    town = township_id if role == CLERK else None
    database = dao_db.current()
    with database.atomic():
        if dao_db.is_postgres():
            db_role = pg_security.user_role(pg_security.namespace_of(database), name)
            if User.select().where(User.db_role == db_role).exists():
                raise UserError(f"用户名“{name}”与已有用户对应同一个数据库账号，请换一个用户名。")
            user_id = database.execute_sql(
                "SELECT app_user_create(%s, %s, %s, %s, %s, %s)",
                (name, display_name or name, role, town, pg_security.scram_verifier(password), db_role),
            ).fetchone()[0]
            user = User.get_by_id(user_id)
        else:
            user = User.create(username=name, display_name=display_name or name, role=role, township=town,
                               password_hash=password_hash or hash_password(password))  # fmt: skip
        audit.record(creator, "create", "user", user.id,
                     after={"username": user.username, "role": role, "township_id": user.township_id,
                            "db_role": user.db_role})  # fmt: skip
    return user


def set_password(actor: Actor, username: str, password: str) -> None:
    """An administrator's reset: new password, failures and lock cleared (PostgreSQL: ALTER ROLE)."""
    require(actor, "user.manage")
    user = find_user(username)
    if user is None:
        raise UserError(f"用户“{username}”不存在。")
    _check_password_rule(password)
    database = dao_db.current()
    with database.atomic():
        if dao_db.is_postgres():
            database.execute_sql("SELECT app_user_password(%s, %s)",
                                 (user.username, pg_security.scram_verifier(password)))  # fmt: skip
        else:
            User.update(password_hash=hash_password(password), failed_attempts=0, locked_until=None).where(
                User.id == user.id
            ).execute()
        audit.record(actor.username, "reset_password", "user", user.id)  # never the password itself


def change_own_password(actor: Actor, old_password: str, new_password: str) -> None:
    """A user changes their own password after proving the old one (PostgreSQL: ALTER ROLE CURRENT_USER)."""
    _check_password_rule(new_password)
    if old_password == new_password:
        raise UserError("新密码不能与原密码相同。")
    database = dao_db.current()
    user = find_user(actor.username)
    if user is None or not user.active:
        raise UserError(LOGIN_FAILED)
    if dao_db.is_postgres():
        held = database.connect_params.get("password")  # type: ignore[attr-defined]
        if held is None:  # the owner's connection (set-up, tests): ask the server
            authenticate(actor.username, old_password)
        elif not hmac.compare_digest(str(held).encode(), old_password.encode()):
            raise UserError("原密码不正确。")
        with database.atomic():
            if held is not None:
                pg_security.change_own_password(database, new_password)
                database.connect_params["password"] = new_password  # type: ignore[attr-defined]
            else:
                database.execute_sql("SELECT app_user_password(%s, %s)",
                                     (user.username, pg_security.scram_verifier(new_password)))  # fmt: skip
            audit.record(actor.username, "change_password", "user", user.id)
        return
    if not verify_password(old_password, user.password_hash):
        raise UserError("原密码不正确。")
    with database.atomic():
        User.update(password_hash=hash_password(new_password)).where(User.id == user.id).execute()
        audit.record(actor.username, "change_password", "user", user.id)


def _check_password_rule(password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise UserError(f"密码至少 {MIN_PASSWORD_LEN} 位。")


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some service environments
        return "system"


def has_users() -> bool:
    """Whether any user exists yet (else the first administrator is made at start-up)."""
    return User.select().exists()
