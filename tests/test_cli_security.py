"""Every command is someone, proven: passwords on the command line, case-insensitive names, no probing."""

from __future__ import annotations

import json
import sqlite3

from core import auth
from tests.clirun import TEST_PASSWORD, add_users, cli, office_db

NO_PASSWORD = {"PENSION_PASSWORD": ""}


def _audit(path, action: str) -> list[str]:
    con = sqlite3.connect(path)
    try:
        return [
            r[0]
            for r in con.execute("SELECT username FROM audit_log WHERE action = ? ORDER BY id", (action,))
        ]
    finally:
        con.close()


def test_every_business_command_needs_a_user_and_their_password(tmp_path):
    url = office_db(tmp_path)
    out = tmp_path / "all.csv"
    refused = [
        cli("--db", url, "--user", "boss", "export-residents", str(out), env=NO_PASSWORD),  # no password
        cli(
            "--db", url, "--user", "boss", "export-residents", str(out), env={"PENSION_PASSWORD": "wrong-one"}
        ),
        cli("--db", url, "--user", "anyone", "export-residents", str(out)),  # no such user
        cli("--db", url, "export-residents", str(out)),  # no --user: the OS login, which is no user here
        cli(
            "--db",
            url,
            "--user",
            "ghost",
            "create-user",
            "evil",
            "--role",
            "管理员",
            "--password-stdin",
            input="password123\n",
        ),
    ]
    messages = {r.stderr for r in refused}
    assert all(r.returncode == 2 for r in refused)
    assert (
        len(messages) == 1 and "用户名或密码不正确" in messages.pop()
    )  # one message: names cannot be probed
    assert not out.exists()
    con = sqlite3.connect(tmp_path / "office.db")
    assert [r[0] for r in con.execute("SELECT username FROM app_user")] == ["boss"]
    boss_failures = con.execute("SELECT failed_attempts FROM app_user WHERE username = 'boss'").fetchone()[0]
    con.close()
    assert boss_failures == 2  # the missing and the wrong password both count
    failed = _audit(tmp_path / "office.db", "login_failed")
    assert failed.count("boss") == 2 and "anyone" in failed and "ghost" in failed
    ok = cli("--db", url, "--user", "boss", "export-residents", str(out))
    assert ok.returncode == 0, ok.stderr


def test_lockout_applies_to_every_spelling_and_gives_the_same_message(tmp_path):
    url = office_db(tmp_path)
    add_users(url, [("jingban03", "乡镇经办", "薛庄镇")])
    wrong = {"PENSION_PASSWORD": "not-it-at-all"}
    results = [cli("--db", url, "--user", name, "stats", "--year", "2020", env=wrong)
               for name in ("jingban03", "JINGBAN03", "Jingban03", "jingBan03", "jingban03")]  # fmt: skip
    unknown = cli("--db", url, "--user", "nobody03", "stats", "--year", "2020", env=wrong)
    locked = cli("--db", url, "--user", "Jingban03", "stats", "--year", "2020")  # right password, locked
    assert {r.stderr for r in [*results, unknown, locked]} == {unknown.stderr}
    assert locked.returncode == 2
    con = sqlite3.connect(tmp_path / "office.db")
    assert con.execute(
        "SELECT locked_until IS NOT NULL FROM app_user WHERE username = 'jingban03'"
    ).fetchone()[0]
    con.close()


def test_deactivated_user_is_refused_in_every_case(tmp_path):
    url = office_db(tmp_path)
    add_users(url, [("jingban03", "乡镇经办", "薛庄镇")])
    assert cli("--db", url, "--user", "boss", "user", "deactivate", "JingBan03").returncode == 0
    for name in ("jingban03", "Jingban03"):
        result = cli("--db", url, "--user", name, "export-residents", str(tmp_path / "x.csv"))
        assert result.returncode == 2 and "用户名或密码不正确" in result.stderr
    listed = json.loads(cli("--db", url, "--user", "boss", "user", "list", "--json").stdout)
    assert {u["username"]: u["active"] for u in listed} == {"boss": True, "jingban03": False}
    assert cli("--db", url, "--user", "boss", "user", "activate", "jingban03").returncode == 0
    assert cli("--db", url, "--user", "Jingban03", "stats", "--year", "2020").returncode == 0


def test_create_user_takes_the_password_from_stdin_never_argv(tmp_path):
    url = office_db(tmp_path)
    argv = cli(
        "--db", url, "--user", "boss", "create-user", "li", "--role", "财务", "--password", "password123"
    )
    assert argv.returncode == 2 and "无法识别的参数" in argv.stderr
    no_tty = cli("--db", url, "--user", "boss", "create-user", "li", "--role", "财务")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    made = cli("--db", url, "--user", "boss", "create-user", "Li", "--role", "乡镇经办", "--township", "上冶镇",
               "--password-stdin", "--json", input="li-secret-1\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {
        "username": "Li",
        "role": "乡镇经办",
        "township": "上冶镇",
        "db_role": None,
    }
    twin = cli("--db", url, "--user", "boss", "create-user", "LI", "--role", "财务", "--password-stdin",
               input="li-secret-2\n")  # fmt: skip
    assert twin.returncode == 2 and "已存在" in twin.stderr
    clerk = cli("--db", url, "--user", "li", "create-user", "x", "--role", "管理员", "--password-stdin",
                input="password123\n", env={"PENSION_PASSWORD": "li-secret-1"})  # fmt: skip
    assert clerk.returncode == 2 and "无权" in clerk.stderr
    assert (
        cli("--db", url, "--user", "li", "user", "list", env={"PENSION_PASSWORD": "li-secret-1"}).returncode
        == 2
    )


def test_first_administrator_only_while_the_database_has_no_user(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert cli("--db", url, "init-db").returncode == 0  # init-db needs no user
    first = cli("--db", url, "create-user", "admin", "--role", "管理员", "--password-stdin", input="first-pass-1\n",
                env=NO_PASSWORD)  # fmt: skip
    assert first.returncode == 0, first.stderr
    second = cli("--db", url, "create-user", "admin2", "--role", "管理员", "--password-stdin",
                 input="second-pass\n", env=NO_PASSWORD)  # fmt: skip
    assert second.returncode == 2 and "用户名或密码不正确" in second.stderr


def test_reset_password_unlocks_and_the_old_password_stops_working(tmp_path):
    url = office_db(tmp_path)
    add_users(url, [("shenhe", "县局审核", None)])
    for _ in range(auth.MAX_FAILED_LOGINS):
        cli("--db", url, "--user", "shenhe", "stats", "--year", "2020", env={"PENSION_PASSWORD": "bad-guess"})
    reset = cli("--db", url, "--user", "boss", "user", "reset-password", "SHENHE", "--password-stdin",
                input="brand-new-pass\n")  # fmt: skip
    assert reset.returncode == 0, reset.stderr
    assert cli("--db", url, "--user", "shenhe", "stats", "--year", "2020").returncode == 2
    ok = cli(
        "--db", url, "--user", "shenhe", "stats", "--year", "2020", env={"PENSION_PASSWORD": "brand-new-pass"}
    )
    assert ok.returncode == 0, ok.stderr


def test_old_hashes_are_upgraded_at_the_next_login(tmp_path):
    url = office_db(tmp_path)
    import hashlib

    salt = b"0123456789abcdef"
    old = hashlib.scrypt(TEST_PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    con = sqlite3.connect(tmp_path / "office.db")
    con.execute("UPDATE app_user SET password_hash = ?", (f"scrypt$16384$8$1${salt.hex()}${old.hex()}",))
    con.commit()
    assert cli("--db", url, "--user", "boss", "stats", "--year", "2020").returncode == 0
    stored = con.execute("SELECT password_hash FROM app_user").fetchone()[0]
    con.close()
    assert stored.startswith(f"scrypt${2**17}$") and auth.verify_password(TEST_PASSWORD, stored)
