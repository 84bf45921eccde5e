"""PostgreSQL is the security boundary: connecting with psycopg2 *as a clerk's login role* (as `psql` on the
clerk's PC would), township scope, append-only history, the audit user and maker-checker hold in the server.

These tests need the pg_hba.conf line ``host all +pension_login 127.0.0.1/32 scram-sha-256`` above the trust
line (.ci/run adds it): without it the server would not check the roles' passwords.
"""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import urlparse

import psycopg2
import pytest
from psycopg2 import errors

from core import admin as core_admin
from core import auth, refunds, session
from core.database import close_database, open_database
from core.errors import PermissionDenied, UserError
from dao import pg_security
from dao.models import AuditLog, Contribution, RefundEvent, Resident, User
from tests.clirun import TEST_PASSWORD, cli
from tests.conftest import PG_BASE, township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import


@pytest.fixture
def county(pg_schema, admin, tmp_path):
    """Two townships' residents and payments, users of every role, a case entered and passed by clerk li."""
    open_database(pg_schema.url)
    do_import(
        write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1), person(2), person(3, township="上冶镇")]), admin
    )
    for name, role, town in (("boss", auth.ADMIN, None), ("li", auth.CLERK, "费城街道"),
                             ("shang", auth.CLERK, "上冶镇"), ("shen", auth.REVIEWER, None)):  # fmt: skip
        auth.create_user(admin if name != "boss" else None, name, TEST_PASSWORD, role,
                         township_id(town) if town else None)  # fmt: skip
    r1 = Resident.get(Resident.id_number == person(1)[1])
    r3 = Resident.get(Resident.id_number == person(3)[1])
    pay = Contribution.create(resident=r1.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="A")
    Contribution.create(resident=r1.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="B")
    Contribution.create(resident=r3.id, year=2020, amount_fen=50000, tier_fen=50000, voucher="C")
    li = auth.actor_of(User.get(User.username == "li"))
    case = refunds.create(li, refunds.NewCase(r1.id, [pay.id], [30000], "重复缴费", "张三", "6228", "农行",
                                              ["退费申请"]), today=dt.date(2020, 3, 10))  # fmt: skip
    refunds.advance(li, case.case_no, "初审", today=dt.date(2020, 3, 12))
    close_database()
    return pg_schema, case.case_no


def connect_as(schema, username: str, password: str = TEST_PASSWORD):
    """psycopg2 straight to the server as the user's login role: what a clerk's psql would do."""
    role = pg_security.user_role(schema.namespace, username)
    server = urlparse(PG_BASE)  # the test server (PENSION_TEST_PG may name another one)
    conn = psycopg2.connect(host=server.hostname, port=server.port or 5432, dbname=server.path.lstrip("/"),
                            user=role, password=password, options=f"-csearch_path={schema.name}",
                            connect_timeout=5)  # fmt: skip
    conn.autocommit = True
    return conn


def one(conn, sql: str, params: tuple = ()):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else []


def test_the_server_checks_the_password(county):
    schema, _ = county
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        connect_as(schema, "li", "not-the-password")
    connect_as(schema, "li").close()


def test_a_clerk_sees_only_its_township(county):
    schema, _ = county
    li, boss = connect_as(schema, "li"), connect_as(schema, "boss")
    try:
        assert one(li, "SELECT count(*) FROM resident") == [(2,)]
        assert one(boss, "SELECT count(*) FROM resident") == [(3,)]
        assert one(li, "SELECT voucher FROM contribution ORDER BY voucher") == [("A",), ("B",)]
        assert one(li, "SELECT count(*) FROM refund_case") == [(1,)]
        shang = connect_as(schema, "shang")
        assert one(shang, "SELECT count(*) FROM refund_case") == [(0,)]
        assert one(shang, "SELECT count(*) FROM refund_event") == [(0,)]
        assert one(shang, "SELECT count(*) FROM contribution") == [(1,)]
        # and cannot write into another township, nor move its residents out
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            one(
                shang,
                "UPDATE resident SET township_id = %s RETURNING id",
                (township_id_pg(shang, "费城街道"),),
            )
        assert (
            one(shang, "UPDATE resident SET phone = '1' WHERE id_number = %s RETURNING id", (person(1)[1],))
            == []
        )
        with pytest.raises(psycopg2.DatabaseError):
            one(li, "SELECT count(*) FROM handoff_line")
        shang.close()
    finally:
        li.close()
        boss.close()


def township_id_pg(conn, name: str) -> int:
    return one(conn, "SELECT id FROM township WHERE name = %s", (name,))[0][0]


@pytest.mark.parametrize("table", ["audit_log", "refund_event", "resident_event"])
@pytest.mark.parametrize("who", ["li", "boss"])
def test_history_cannot_be_changed_by_any_application_role(county, table, who):
    schema, _ = county
    conn = connect_as(schema, who)
    try:
        for sql in (f"UPDATE {table} SET username = 'x'", f"DELETE FROM {table}", f"TRUNCATE {table}"):
            with pytest.raises(errors.InsufficientPrivilege):
                one(conn, sql + " RETURNING 1" if not sql.startswith("TRUNCATE") else sql)
    finally:
        conn.close()


def test_the_audit_user_is_the_connected_role_not_the_clients_word(county):
    schema, _ = county
    li = connect_as(schema, "li")
    try:
        stored = one(li, "INSERT INTO audit_log (at, username, action, entity, entity_id, before, after) "
                         "VALUES (now(), 'boss', 'forged', 'x', '', '', '') RETURNING username")  # fmt: skip
        assert stored == [("li",)]
        # a group role taken with SET ROLE does not change who the user is
        one(li, f'SET ROLE "{pg_security.group_role(schema.namespace, auth.CLERK)}"')
        stored = one(li, "INSERT INTO audit_log (at, username, action, entity, entity_id, before, after) "
                         "VALUES (now(), 'shen', 'forged', 'x', '', '', '') RETURNING username")  # fmt: skip
        assert stored == [("li",)]
    finally:
        li.close()


def test_a_clerks_direct_approval_is_refused(county):
    schema, case_no = county
    li, shang, shen = connect_as(schema, "li"), connect_as(schema, "shang"), connect_as(schema, "shen")
    try:
        with pytest.raises(errors.InsufficientPrivilege, match="县局审核"):
            one(
                li,
                "UPDATE refund_case SET state = '复核通过', reviewed_by = 'shen' WHERE case_no = %s",
                (case_no,),
            )
        # forging who entered or passed it is not possible either
        one(li, "UPDATE refund_case SET entered_by = 'x', passed_by = 'y' WHERE case_no = %s", (case_no,))
        assert one(li, "SELECT entered_by, passed_by FROM refund_case") == [("li", "li")]
        assert (
            one(shang, "UPDATE refund_case SET state = '复核通过' RETURNING id") == []
        )  # invisible to 上冶镇
        # a reviewer who neither entered nor passed it may approve; the reviewer is who is connected
        approved = one(shen, "UPDATE refund_case SET state = '复核通过', reviewed_by = 'boss' WHERE case_no = %s "
                             "RETURNING reviewed_by", (case_no,))  # fmt: skip
        assert approved == [("shen",)]
    finally:
        for conn in (li, shang, shen):
            conn.close()


def test_a_reviewer_who_passed_the_case_cannot_approve_it(county):
    schema, case_no = county
    owner = psycopg2.connect(schema.url.split("?")[0], options=f"-csearch_path={schema.name}")
    owner.autocommit = True
    one(owner, "UPDATE refund_case SET passed_by = 'shen'")  # the owner (set-up) may write anything
    owner.close()
    shen = connect_as(schema, "shen")
    try:
        with pytest.raises(errors.InsufficientPrivilege, match="复核人不能是"):
            one(shen, "UPDATE refund_case SET state = '复核通过' WHERE case_no = %s", (case_no,))
    finally:
        shen.close()


def test_the_program_logs_in_as_the_role_and_the_database_scopes_it(county):
    schema, _ = county
    actor, info = session.login(schema.url, "LI", TEST_PASSWORD)
    try:
        assert actor.username == "li" and info.backend == "postgresql"
        assert Resident.select().count() == 2  # the program's own query, scoped by the server
        assert AuditLog.select().where(AuditLog.action == "login").count() >= 1
    finally:
        close_database()
    with pytest.raises(UserError, match="用户名或密码不正确"):
        session.login(schema.url, "li", "wrong-password")
    with pytest.raises(UserError, match="用户名或密码不正确"):
        session.login(schema.url, "no-such-user", "wrong-password")
    open_database(schema.url)
    failed = [e.username for e in AuditLog.select().where(AuditLog.action == "login_failed")]
    assert failed == ["li", "no-such-user"] and User.get(User.username == "li").failed_attempts == 1
    close_database()


def test_lockout_and_deactivation_are_nologin_on_the_server(county):
    schema, _ = county
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(UserError):
            session.login(schema.url, "shang", "wrong-password")
    with pytest.raises(psycopg2.OperationalError, match="not permitted to log in"):
        connect_as(schema, "shang")  # even psql with the right password
    with pytest.raises(UserError, match="用户名或密码不正确"):
        session.login(schema.url, "shang", TEST_PASSWORD)
    open_database(schema.url)
    User.update(locked_until=dt.datetime.now() - dt.timedelta(minutes=1)).where(
        User.username == "shang"
    ).execute()
    close_database()
    actor, _ = session.login(schema.url, "shang", TEST_PASSWORD)  # the lock is over: lifted at login
    assert actor.username == "shang"
    close_database()


def test_user_administration_is_create_and_alter_role(county):
    schema, _ = county
    boss, _ = session.login(schema.url, "boss", TEST_PASSWORD)
    try:
        made = auth.create_user(boss, "Zhang", "zhang-pass-1", auth.FINANCE)
        assert made.db_role == pg_security.user_role(schema.namespace, "zhang") and made.password_hash == ""
        connect_as(schema, "zhang", "zhang-pass-1").close()
        core_admin.reset_password(boss, "ZHANG", "zhang-pass-2")
        connect_as(schema, "zhang", "zhang-pass-2").close()
        core_admin.update_user(boss, "zhang", active=False)
        with pytest.raises(psycopg2.OperationalError, match="not permitted"):
            connect_as(schema, "zhang", "zhang-pass-2")
        core_admin.update_user(boss, "zhang", active=True, role=auth.REVIEWER)
        conn = connect_as(schema, "zhang", "zhang-pass-2")
        groups = {r[0] for r in one(conn, "SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
                                          "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = current_user")}  # fmt: skip
        conn.close()
        assert groups == {"pension_login", pg_security.group_role(schema.namespace, auth.REVIEWER)}
        creator = AuditLog.select().where(AuditLog.action == "create").order_by(AuditLog.id.desc()).first()
        assert creator.username == "boss"
    finally:
        close_database()
    li, _ = session.login(schema.url, "li", TEST_PASSWORD)
    try:
        with pytest.raises(PermissionDenied, match="无权"):
            auth.create_user(li, "evil", "evil-pass-1", auth.ADMIN)
        conn = connect_as(schema, "li")
        with pytest.raises(errors.InsufficientPrivilege):  # and straight at the server
            one(conn, "SELECT app_user_create('evil', 'evil', '管理员', NULL, 'x', %s)",
                (pg_security.user_role(schema.namespace, "evil"),))  # fmt: skip
        with pytest.raises(errors.InsufficientPrivilege):
            one(conn, 'CREATE ROLE "evil" LOGIN')
        conn.close()
    finally:
        close_database()


def test_change_own_password_is_alter_role(county):
    schema, _ = county
    li, _ = session.login(schema.url, "li", TEST_PASSWORD)
    try:
        with pytest.raises(UserError, match="原密码不正确"):
            auth.change_own_password(li, "guess-guess", "li-new-pass-1")
        auth.change_own_password(li, TEST_PASSWORD, "li-new-pass-1")
    finally:
        close_database()
    connect_as(schema, "li", "li-new-pass-1").close()


def test_cli_on_postgres_acts_as_the_role(county, tmp_path):
    schema, _ = county
    listed = cli("--db", schema.url, "--user", "li", "refunds", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 1
    other = cli("--db", schema.url, "--user", "shang", "refunds", "list", "--json")
    assert json.loads(other.stdout) == []
    wrong = cli("--db", schema.url, "--user", "li", "refunds", "list", env={"PENSION_PASSWORD": "nope-nope"})
    unknown = cli("--db", schema.url, "--user", "ghost", "refunds", "list")
    assert wrong.returncode == unknown.returncode == 2 and wrong.stderr == unknown.stderr
    made = cli("--db", schema.url, "--user", "boss", "create-user", "Caiwu", "--role", "财务", "--password-stdin",
               "--json", input="caiwu-pass-1\n")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["db_role"] == pg_security.user_role(schema.namespace, "caiwu")


def test_users_from_before_login_roles_get_one_and_the_owner_sets_their_password(pg_schema):
    open_database(pg_schema.url)
    User.insert(username="old-admin", role=auth.ADMIN, password_hash="scrypt$16384$8$1$00$00").execute()
    close_database()
    listed = cli("--db", pg_schema.url, "init-db")  # the owner's URL: as on the county server
    assert listed.returncode == 0 and "old-admin" in listed.stdout and "--set-password" in listed.stdout
    with pytest.raises(UserError):
        session.login(pg_schema.url, "old-admin", "whatever-it-was")
    done = cli("--db", pg_schema.url, "init-db", "--set-password", "OLD-ADMIN", "--password-stdin",
               input="fresh-pass-1\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "old-admin" not in done.stdout.split("已为用户")[0]
    actor, _ = session.login(pg_schema.url, "old-admin", "fresh-pass-1")
    assert actor.role == auth.ADMIN and User.get(User.username == "old-admin").password_hash == ""
    close_database()


def test_a_clerks_roster_import_is_told_of_residents_it_cannot_see(county, tmp_path):
    schema, _ = county
    shang, _ = session.login(schema.url, "shang", TEST_PASSWORD)
    try:
        # person(1) lives in 费城街道: invisible to 上冶镇's role, yet refused as registered elsewhere
        file = write_xlsx(
            tmp_path / "s.xlsx", [HEADER, person(1, township="上冶镇"), person(7, township="上冶镇")]
        )
        report = do_import(file, shang)
        assert report.imported == 1 and report.rejected == 1
        assert {e.code for e in report.errors} == {"TOWNSHIP_OUT_OF_SCOPE"}
        assert Resident.select().count() == 2  # its own two; 费城街道's stay unseen and untouched
    finally:
        close_database()


def test_each_role_does_its_everyday_work_as_its_own_login_role(county, tmp_path):
    """The privileges and policies are not only refusals: the program works for every role, each connected
    as itself (a clerk enters, passes, declares and exports; the reviewer approves; finance pays)."""
    from core import arrears, roster, statistics

    schema, case_no = county
    open_database(schema.url)
    auth.create_user(auth.Actor("setup", auth.ADMIN), "cai", TEST_PASSWORD, auth.FINANCE)
    r1 = Resident.get(Resident.id_number == person(1)[1])
    pay_b = Contribution.get(Contribution.voucher == "B")
    close_database()

    li, _ = session.login(schema.url, "li", TEST_PASSWORD)
    case = refunds.create(li, refunds.NewCase(r1.id, [pay_b.id], [30000], "重复缴费", "张三", "6228", "农行",
                                              ["退费申请"]), today=dt.date(2020, 3, 11))  # fmt: skip
    refunds.advance(li, case.case_no, "初审", today=dt.date(2020, 3, 12))
    roster.update(li, r1.id, version=r1.version, phone="13800000000")
    r2 = Resident.get(Resident.id_number == person(2)[1])  # paid nothing: 2020 may be made up in 2021
    owed = arrears.proposal(li, r2.id, as_of=dt.date(2021, 1, 10))
    declared = arrears.declare(li, r2.id, [owed[0].year], [owed[0].tiers[1]], as_of=dt.date(2021, 1, 10))
    assert arrears.assess(li, declared.id).status == "已核定"
    assert run_export(roster.export(li, tmp_path / "roster.csv")) == 2
    assert statistics.year_stats(li, 2020).total.this.payers >= 0
    close_database()

    shen, _ = session.login(schema.url, "shen", TEST_PASSWORD)
    for number in (case_no, case.case_no):
        refunds.advance(shen, number, "复核通过", today=dt.date(2020, 3, 28))
    close_database()

    cai, _ = session.login(schema.url, "cai", TEST_PASSWORD)
    paid = refunds.advance(cai, case.case_no, "已退款", bank_ref="NB1", today=dt.date(2020, 4, 8))
    assert paid.state == refunds.PAID and paid.reviewed_by == "shen" and paid.passed_by == "li"
    trail = [(e.username, e.to_state) for e in paid.events.order_by(RefundEvent.id)]
    assert trail == [("li", refunds.ACCEPTED), ("li", refunds.PASSED), ("shen", refunds.APPROVED),
                     ("cai", refunds.PAID)]  # fmt: skip
    close_database()


def test_counter_work_as_the_roles_and_a_move_seen_by_both_townships(county):
    """Issue 21 on the roles: a clerk registers and changes their own people (the history rows are stamped
    with the connected user), learns that another township's person is registered without seeing them, the
    reviewer moves a person, and both townships' roles see the move."""
    from core import residents

    schema, _ = county
    li, _ = session.login(schema.url, "li", TEST_PASSWORD)
    out = residents.register(li, person(11)[1], "新居民", "费城街道", "东王庄村", "13800000011",
                             on=dt.date(2020, 3, 2))  # fmt: skip
    assert out.ok
    residents.change(li, person(11)[1], "phone", "0539-5021234")
    elsewhere = residents.register(li, person(3)[1], "别人", "费城街道", on=dt.date(2020, 3, 2))
    assert elsewhere.codes == ["ALREADY_REGISTERED"] and elsewhere.resident_id is None
    with pytest.raises(PermissionDenied):
        residents.change(li, person(3)[1], "phone", "13900000000")
    close_database()
    shen, _ = session.login(schema.url, "shen", TEST_PASSWORD)
    residents.move(shen, person(11)[1], "上冶镇", "后村", "迁居", dt.date(2020, 3, 5))
    close_database()
    for name in ("li", "shang"):
        conn = connect_as(schema, name)
        try:
            rows = one(conn, "SELECT kind, username FROM resident_event WHERE kind = 'move'")
            assert rows == [("move", "shen")], name
        finally:
            conn.close()
    li_conn = connect_as(schema, "li")
    try:  # li still sees what happened while the person was 费城街道's, but no longer the person
        assert one(li_conn, "SELECT count(*) FROM resident WHERE id_number = %s", (person(11)[1],)) == [(0,)]
        assert one(li_conn, "SELECT kind, username FROM resident_event ORDER BY id") == [
            ("register", "li"), ("change", "li"), ("move", "shen")
        ]  # fmt: skip
    finally:
        li_conn.close()


def test_a_clerks_termination_brings_its_consequences_as_the_role(county):
    """暂停/终止 as the clerk's own login role: the candidates and the history are written under the policies."""
    from core import residents

    schema, _ = county
    li, _ = session.login(schema.url, "li", TEST_PASSWORD)
    try:
        out = residents.set_status(li, person(1)[1], "终止", "死亡", dt.date(2019, 6, 30))
        assert out.status == "终止" and sorted(out.refund_candidates) == ["A", "B"]
        assert [h.kind for h in residents.history(li, Resident.get(Resident.id_number == person(1)[1]).id)][
            -1
        ] == "参保状态"
        with pytest.raises(PermissionDenied):
            residents.set_status(li, person(3)[1], "暂停", "其他")
    finally:
        close_database()


def run_export(job) -> int:
    from core.progress import run

    return run(job)


def test_the_gui_login_connects_as_the_role(county, qtbot):
    from gui.login import LoginDialog

    schema, _ = county
    dialog = LoginDialog(
        "127.0.0.1:5432/test", lambda name, password: session.login(schema.url, name, password)[0]
    )
    qtbot.addWidget(dialog)
    dialog.username.setText("Li")
    dialog.password.setText("wrong-password")
    dialog.try_login()
    assert dialog.actor is None and dialog.message.text() == auth.LOGIN_FAILED
    dialog.password.setText(TEST_PASSWORD)
    dialog.try_login()
    try:
        assert dialog.actor is not None and dialog.actor.username == "li"
        assert Resident.select().count() == 2  # the GUI's queries run as 费城街道's clerk
    finally:
        close_database()


def test_a_clerk_registering_a_listed_person_puts_them_on_the_list_under_row_security(
    county, admin, tmp_path
):
    """The counter's match runs as the clerk's own login role: the server lets it update the list entry of
    its township and add the 代缴 payment."""
    from core import residents
    from core import special_groups as sg
    from core.progress import run
    from dao.models import GovernmentPayment, SpecialListEntry

    schema, _ = county
    newcomer = person(41)
    open_database(schema.url)
    rows = [["姓名", "身份证号码", "乡镇"], [newcomer[0], newcomer[1], "费城街道"]]
    run(sg.import_special_list(write_xlsx(tmp_path / "p.xlsx", rows), admin, year=2020, department="民政",
                               group="特困人员"))  # fmt: skip
    close_database()
    li, _info = session.login(schema.url, "li", TEST_PASSWORD)
    try:
        done = residents.register(li, newcomer[1], newcomer[0], "费城街道", on=dt.date(2020, 3, 1))
        assert done.ok, done.codes
        entry = SpecialListEntry.get(SpecialListEntry.id_number == newcomer[1])
        assert entry.status == "已匹配" and entry.resident_id == done.resident_id
        assert GovernmentPayment.get(GovernmentPayment.resident == done.resident_id).amount_fen == 10000
    finally:
        close_database()
