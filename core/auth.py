"""Users, roles and township scope. Every use case asks here; the GUI only hides what this refuses."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from core import audit
from core.errors import PermissionDenied, UserError
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


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    n, r, p = 2**14, 8, 1
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p), dklen=32
    )
    return hmac.compare_digest(digest.hex(), digest_hex)


def actor_of(user: User) -> Actor:
    return Actor(user.username, user.role, user.township_id, user.display_name or user.username)


def authenticate(username: str, password: str) -> Actor:
    """Check a login; repeated failures lock the account for a while."""
    user = User.get_or_none(User.username == username.strip())
    if user is None or not user.active:
        # Same work and message as a wrong password: do not reveal which usernames exist.
        verify_password(password, hash_password("x"))
        raise UserError("用户名或密码不正确。")
    moment = now()
    if user.locked_until and user.locked_until > moment:
        minutes = max(1, int((user.locked_until - moment).total_seconds() // 60) + 1)
        raise UserError(
            f"密码连续输错 {MAX_FAILED_LOGINS} 次，账号已锁定，请 {minutes} 分钟后再试或联系管理员。"
        )
    if not verify_password(password, user.password_hash):
        failed = user.failed_attempts + 1
        locked = moment + LOCKOUT if failed >= MAX_FAILED_LOGINS else None
        User.update(failed_attempts=0 if locked else failed, locked_until=locked).where(
            User.id == user.id
        ).execute()
        audit.record(user.username, "login_failed", "user", user.id, after={"failed_attempts": failed})
        if locked:
            raise UserError(f"密码连续输错 {MAX_FAILED_LOGINS} 次，账号已锁定 {LOCKOUT.seconds // 60} 分钟。")
        raise UserError(f"用户名或密码不正确（还可再试 {MAX_FAILED_LOGINS - failed} 次）。")
    if user.failed_attempts or user.locked_until:
        User.update(failed_attempts=0, locked_until=None).where(User.id == user.id).execute()
    audit.record(user.username, "login", "user", user.id)
    return actor_of(user)


def _validate_new_user(username: str, password: str, role: str, township_id: int | None) -> None:
    if not username.strip():
        raise UserError("用户名不能为空。")
    if role not in ROLES:
        raise UserError(f"未知角色“{role}”，应为：{'、'.join(ROLES)}。")
    if len(password) < MIN_PASSWORD_LEN:
        raise UserError(f"密码至少 {MIN_PASSWORD_LEN} 位。")
    if role == CLERK and township_id is None:
        raise UserError("乡镇经办必须指定所属乡镇。")


def create_user(
    actor: Actor | None,
    username: str,
    password: str,
    role: str,
    township_id: int | None = None,
    display_name: str = "",
) -> User:
    """Create a user. ``actor`` None is only allowed while the database has no users (first set-up)."""
    if actor is None:
        if User.select().exists():
            raise PermissionDenied("已有用户，创建新用户需要管理员身份。")
        creator = os_login()
    else:
        require(actor, "user.manage")
        creator = actor.username
    _validate_new_user(username, password, role, township_id)
    if township_id is not None and Township.get_or_none(Township.id == township_id) is None:
        raise UserError("所属乡镇不存在。")
    if User.select().where(User.username == username.strip()).exists():
        raise UserError(f"用户名“{username}”已存在。")
    user = User.create(
        username=username.strip(),
        display_name=display_name or username.strip(),
        role=role,
        township=township_id if role == CLERK else None,
        password_hash=hash_password(password),
    )
    audit.record(
        creator,
        "create",
        "user",
        user.id,
        after={"username": user.username, "role": role, "township_id": user.township_id},
    )
    return user


def os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some service environments
        return "system"


def cli_actor(username: str | None) -> Actor:
    """The acting user of a command-line call.

    A name that is a user of the system acts with that user's role and township. Otherwise the operator at
    the machine (who can open the database file anyway) acts with administrator rights, recorded under the
    given name or the OS login.
    """
    name = (username or os_login()).strip()
    user = User.get_or_none(User.username == name)
    if user is not None:
        if not user.active:
            raise PermissionDenied(f"用户“{name}”已停用。")
        return actor_of(user)
    return Actor(name, ADMIN, None, name)


def system_user(username: str | None) -> Actor:
    """The acting user of a command that moves money: must be a user of the system (maker-checker needs names
    that mean someone)."""
    name = (username or "").strip()
    user = User.get_or_none(User.username == name) if name else None
    if user is None:
        raise PermissionDenied(f"请用 --user 指定系统中的用户（“{name or '未指定'}”不是系统用户）。")
    if not user.active:
        raise PermissionDenied(f"用户“{name}”已停用。")
    return actor_of(user)
