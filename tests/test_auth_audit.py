"""Users, roles, lockout, township scope, and the append-only audit log — on both databases."""

from __future__ import annotations

import datetime as dt

import peewee as pw
import pytest

from core import audit, auth
from core.errors import PermissionDenied, UserError
from dao.models import AuditLog, User
from tests.conftest import clerk_of, township_id


def test_password_hashes_are_salted_and_verify(db):
    from tests.conftest import _real_hash_password as real  # the fixtures reuse hashes; this is the real one

    first, second = real("s3cret-pass"), real("s3cret-pass")
    assert first != second and first.startswith(f"scrypt${2**17}$8$1$")  # OWASP: N >= 2^17
    assert not auth.needs_rehash(first) and auth.needs_rehash(first.replace(f"${2**17}$", "$16384$"))
    assert auth.verify_password("s3cret-pass", first)
    assert not auth.verify_password("s3cret-pasS", first)
    assert not auth.verify_password("anything", "garbage")


def test_first_user_bootstraps_then_admin_is_required(db, admin):
    auth.create_user(None, "boss", "password123", auth.ADMIN)
    with pytest.raises(PermissionDenied):
        auth.create_user(None, "sneaky", "password123", auth.ADMIN)
    clerk = auth.create_user(admin, "li", "password123", auth.CLERK, township_id("上冶镇"))
    assert clerk.township_id == township_id("上冶镇")
    stored = User.get(User.username == "li").password_hash
    assert "password123" not in stored
    with pytest.raises(PermissionDenied):
        auth.create_user(clerk_of("上冶镇"), "x", "password123", auth.CLERK, township_id("上冶镇"))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"username": " ", "password": "password123", "role": auth.ADMIN}, "用户名不能为空"),
        ({"username": "a", "password": "short", "role": auth.ADMIN}, "密码至少"),
        ({"username": "a", "password": "password123", "role": "局长"}, "未知角色"),
        ({"username": "a", "password": "password123", "role": auth.CLERK}, "必须指定所属乡镇"),
    ],
)
def test_user_validation(db, admin, kwargs, message):
    with pytest.raises(UserError, match=message):
        auth.create_user(admin, **kwargs)


def test_duplicate_username_refused(db, admin):
    auth.create_user(admin, "wang", "password123", auth.FINANCE)
    with pytest.raises(UserError, match="已存在"):
        auth.create_user(admin, "wang", "password123", auth.FINANCE)


def test_login_and_lockout(db, admin):
    auth.create_user(admin, "zhao", "password123", auth.REVIEWER)
    actor = auth.authenticate("zhao", "password123")
    assert actor.role == auth.REVIEWER and actor.county_wide
    for attempt in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(UserError) as failed:
            auth.authenticate("ZHAO" if attempt % 2 else "zhao", f"wrong{attempt}")
        assert str(failed.value) == auth.LOGIN_FAILED  # no "还可再试 N 次": that would tell a name exists
    with pytest.raises(UserError, match="用户名或密码不正确"):  # even the right password, while locked
        auth.authenticate("zhao", "password123")
    User.update(locked_until=dt.datetime.now() - dt.timedelta(seconds=1)).where(
        User.username == "zhao"
    ).execute()
    assert auth.authenticate("zhao", "password123").username == "zhao"
    actions = [e.action for e in AuditLog.select().where(AuditLog.username == "zhao")]
    assert actions.count("login_failed") == auth.MAX_FAILED_LOGINS + 1 and actions.count("login") == 2


def test_unknown_and_disabled_users_get_the_same_message(db, admin):
    auth.create_user(admin, "gone", "password123", auth.FINANCE)
    User.update(active=False).where(User.username == "gone").execute()
    User.update(active=False).where(User.username == "gone").execute()
    messages = set()
    for name in ("gone", "GONE", "nobody"):
        with pytest.raises(UserError) as failed:
            auth.authenticate(name, "password123")
        messages.add(str(failed.value))
    assert messages == {auth.LOGIN_FAILED}
    assert {e.username for e in AuditLog.select().where(AuditLog.action == "login_failed")} >= {
        "gone",
        "nobody",
    }


def test_roles_and_township_scope(db):
    clerk = clerk_of("薛庄镇")
    assert clerk.can("roster.import") and not clerk.can("user.manage")
    auth.check_township(clerk, township_id("薛庄镇"))
    with pytest.raises(PermissionDenied, match="本乡镇"):
        auth.check_township(clerk, township_id("上冶镇"))
    finance = auth.Actor("cai", auth.FINANCE)
    with pytest.raises(PermissionDenied):
        auth.require(finance, "roster.import")


def test_user_names_match_regardless_of_case(db, admin):
    auth.create_user(admin, "Clerk1", "password123", auth.CLERK, township_id("胡阳镇"))
    assert auth.find_user("CLERK1").username == "Clerk1"
    assert auth.authenticate("clerk1", "password123").township_id == township_id("胡阳镇")
    with pytest.raises(UserError, match="已存在"):
        auth.create_user(admin, "clERK1", "password123", auth.FINANCE)


def test_change_own_password(db, admin):
    auth.create_user(admin, "wu", "password123", auth.FINANCE)
    actor = auth.authenticate("wu", "password123")
    with pytest.raises(UserError, match=r"原密码不正确|用户名或密码不正确"):
        auth.change_own_password(actor, "not-the-old", "another-pass-1")
    auth.change_own_password(actor, "password123", "another-pass-1")
    assert auth.authenticate("wu", "another-pass-1").username == "wu"
    with pytest.raises(UserError):
        auth.authenticate("wu", "password123")


def test_audit_log_is_append_only_in_the_database(db):
    audit.record("tester", "update", "resident", 7, before={"phone": "1"}, after={"phone": "2"})
    entry = AuditLog.get(AuditLog.entity == "resident")
    assert '"phone": "1"' in entry.before and entry.entity_id == "7"
    with pytest.raises(pw.DatabaseError, match="append-only"):
        AuditLog.update(action="forged").execute()
    with pytest.raises(pw.DatabaseError, match="append-only"):
        AuditLog.delete().execute()
    assert AuditLog.get(AuditLog.entity == "resident").action == "update"
