"""统计 and 系统管理 on both databases: figures against hand-computed values, growth, scoping, policy
validation, user administration, region import, the audit log, backup taken while another connection
writes, restore."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import peewee as pw
import pytest

from core import admin as administration
from core import auth, statistics
from core.database import close_database, open_database
from core.errors import PermissionDenied, UserError
from dao import db as dao_db
from dao import migrations, sqlite_files
from dao.models import AuditLog, Contribution, PolicyYear, Resident, Township, User, Village
from tests.conftest import clerk_of, township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_migrations import UNDO
from tests.test_roster_import import do_import


@pytest.fixture
def county(db, admin, tmp_path):
    return make_county(admin, tmp_path)


def make_county(admin, tmp_path):
    """Fixture county: 4 residents in 费城街道 (村 A, A, B, B), 2 in 上冶镇."""
    rows = [HEADER, person(1, village="A村"), person(3, village="A村"), person(5, village="B村"), person(7, village="B村"),
            person(9, township="上冶镇", village="C村"), person(11, township="上冶镇", village="C村")]  # fmt: skip
    do_import(write_xlsx(tmp_path / "r.xlsx", rows), admin)
    Resident.update(enrolled_on=dt.date(2018, 1, 1)).execute()
    r = {n: Resident.get(Resident.id_number == person(n)[1]) for n in (1, 3, 5, 7, 9, 11)}

    def pay(n, year, yuan, day, payer="个人", voucher=None):
        Contribution.create(resident=r[n].id, year=year, amount_fen=yuan * 100, tier_fen=yuan * 100, payer=payer,
                            paid_on=dt.date(year, *day), voucher=voucher or f"{n}-{year}-{yuan}-{payer}")  # fmt: skip

    # 2019: residents 1, 3, 9 paid.  2020: 1, 3, 5 (government-paid), 7 and 9 paid; 1 paid twice.
    pay(1, 2019, 300, (1, 10))
    pay(3, 2019, 500, (2, 3))
    pay(9, 2019, 300, (1, 20))
    pay(1, 2020, 300, (1, 6))
    pay(1, 2020, 300, (1, 8), voucher="dup")
    pay(3, 2020, 1000, (1, 15))
    pay(5, 2020, 100, (2, 1), payer="政府代缴")
    pay(7, 2020, 500, (3, 2))
    pay(9, 2020, 300, (3, 30))
    return r


def test_figures_match_hand_computed_values(county, admin):
    stats = statistics.year_stats(admin, 2020)
    by = {row.name: row for row in stats.rows}
    town = by["费城街道"]
    assert (town.this.enrolled, town.this.payers, town.this.personal, town.this.government) == (4, 4, 3, 1)
    assert town.this.amount_fen == (300 + 300 + 1000 + 100 + 500) * 100
    assert (town.last.payers, town.payer_change, town.payer_growth) == (2, 2, 100.0)
    shangye = by["上冶镇"]
    assert (shangye.this.payers, shangye.last.payers, shangye.payer_growth) == (1, 1, 0.0)
    assert (stats.total.this.payers, stats.total.last.payers, stats.total.this.enrolled) == (5, 3, 6)
    assert stats.total.this.amount_fen == 250000
    assert dict(stats.tiers) == {30000: 3, 50000: 1, 100000: 1}  # personal payments only
    weeks = dict(stats.weekly)
    assert weeks[dt.date(2020, 1, 6)] == 1 and max(weeks.values()) == 5  # cumulative first payments
    assert list(weeks.values()) == sorted(weeks.values())
    assert {r.name for r in stats.rows} == {"费城街道", "上冶镇"}
    villages = statistics.year_stats(admin, 2020, township_id("费城街道"))
    assert {r.name: r.this.payers for r in villages.rows} == {"A村": 2, "B村": 2}
    assert statistics.as_json(stats)["areas"][-1]["payer_growth_percent"] == pytest.approx(66.7)


def test_clerk_sees_own_township(county):
    clerk = clerk_of("上冶镇")
    stats = statistics.year_stats(clerk, 2020)
    assert stats.scope == "上冶镇" and [r.name for r in stats.rows] == ["C村"]
    with pytest.raises(PermissionDenied):
        statistics.year_stats(clerk, 2020, township_id("费城街道"))


def test_policy_validation_and_retroactive_changes(county, admin):
    good = admin_policy(2021)
    assert administration.save_policy(admin, good).tiers[-1] == 500000
    for bad, message in [
        (admin_policy(2021, tiers=["300", "100"]), "从低到高"),
        (admin_policy(2021, tiers=["100", "100"]), "从低到高"),
        (admin_policy(2021, tiers=["-100", "300"]), "大于零"),
        (admin_policy(2021, minimum="200"), "最低缴费标准"),
        (admin_policy(2021, tiers=["abc"]), "金额"),
        (admin_policy(2021, reselect=dt.date(2020, 3, 1)), "2021 年内"),
    ]:
        with pytest.raises(UserError, match=message):
            administration.save_policy(admin, bad)
    changed = admin_policy(2020, tiers=["100", "300", "500", "1000", "2000"], minimum="100")
    with pytest.raises(UserError, match="必须填写原因"):
        administration.save_policy(admin, changed)
    administration.save_policy(admin, changed, reason="省厅2020年调整档次通知")
    assert PolicyYear.get(PolicyYear.year == 2020).tiers == [10000, 30000, 50000, 100000, 200000]
    entry = AuditLog.select().where((AuditLog.entity == "policy_year") & (AuditLog.action == "update")).get()
    assert "省厅2020年调整档次通知" in entry.after
    with pytest.raises(PermissionDenied):
        administration.save_policy(clerk_of("上冶镇"), good)


def admin_policy(year, tiers=None, minimum="100", reselect=None):
    return administration.PolicyInput(year, tiers or ["100", "300", "500", "1000", "5000"], minimum,
                             reselect or dt.date(year, 3, 1), dt.date(year, 1, 1), dt.date(year, 3, 31))  # fmt: skip


def test_user_administration_is_audited(db, admin):
    boss = auth.actor_of(auth.create_user(admin, "boss", "password123", auth.ADMIN))
    auth.create_user(boss, "li", "password123", auth.CLERK, township_id("上冶镇"))
    administration.update_user(boss, "li", role=auth.REVIEWER)
    assert User.get(User.username == "li").township_id is None
    with pytest.raises(UserError, match="必须指定所属乡镇"):
        administration.update_user(boss, "li", role=auth.CLERK)
    administration.update_user(boss, "li", active=False)
    with pytest.raises(UserError, match="用户名或密码不正确"):
        auth.authenticate("li", "password123")
    administration.update_user(boss, "li", active=True)
    administration.reset_password(boss, "li", "new-password-1")
    assert auth.authenticate("li", "new-password-1").role == auth.REVIEWER
    with pytest.raises(PermissionDenied, match="自己"):
        administration.update_user(boss, "boss", role=auth.REVIEWER)
    with pytest.raises(PermissionDenied, match="自己"):
        administration.update_user(boss, "boss", active=False)
    actions = [e.action for e in AuditLog.select().where(AuditLog.username == "boss").order_by(AuditLog.id)]
    assert actions == ["create", "update", "update", "update", "reset_password"]
    assert "new-password-1" not in "".join(e.after + e.before for e in AuditLog.select())
    found = administration.audit_entries(boss, username="boss", entity="user")
    assert len(found) == 5


def test_region_import(db, admin, tmp_path):
    rows = [["乡镇代码", "乡镇", "村居代码", "村居"], ["371325101", "上冶镇", "371325101001", "新村"],
            ["", "费城", "", "东关社区"], ["371399001", "新设街道", "", "一村"], ["", "无码镇", "", ""]]  # fmt: skip
    with pytest.raises(UserError, match="第 5 行"):
        administration.import_regions(admin, write_xlsx(tmp_path / "bad.xlsx", rows))
    assert Township.select().count() == 12  # nothing half-way
    counts = administration.import_regions(admin, write_xlsx(tmp_path / "ok.xlsx", rows[:4]))
    assert counts == {"townships": 1, "villages": 3, "rows": 3}
    assert Village.get(Village.name == "东关社区").township.name == "费城街道"
    assert Township.get(Township.code == "371399001").name == "新设街道"


def test_backup_while_another_connection_writes_then_restore(tmp_path, admin, monkeypatch):
    """Another PC commits before the backup and holds an open write transaction during it (deterministic:
    the steps are ordered by events, not by timing): the backup has the committed rows, not the pending one."""
    path = tmp_path / "office.db"
    open_database(f"sqlite:///{path}")
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, *[person(n) for n in range(1, 200, 2)]]), admin)
    committed, writing, backed_up = threading.Event(), threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_pc():
        try:
            writer = sqlite3.connect(path, timeout=30, isolation_level=None)
            for n in range(30):
                writer.execute("INSERT INTO audit_log (at, username, action, entity, entity_id, before, after) "
                               "VALUES ('2020-01-01', 'other-pc', 'write', 'x', ?, '', '')", (str(n),))  # fmt: skip
            committed.set()
            writer.execute("BEGIN IMMEDIATE")  # the write lock, held across the backup
            writer.execute("INSERT INTO audit_log (at, username, action, entity, entity_id, before, after) "
                           "VALUES ('2020-01-01', 'other-pc', 'pending', 'x', '', '', '')")  # fmt: skip
            writing.set()
            backed_up.wait(60)
            writer.execute("COMMIT")
            writer.close()
        except BaseException as exc:
            errors.append(exc)
            committed.set()
            writing.set()

    copy = sqlite_files.online_copy

    def copy_then_let_go(source, target):  # the other PC commits once the copy is taken (before the audit)
        try:
            return copy(source, target)
        finally:
            backed_up.set()

    monkeypatch.setattr(sqlite_files, "online_copy", copy_then_let_go)
    thread = threading.Thread(target=other_pc)
    thread.start()
    try:
        assert committed.wait(30) and writing.wait(30)
        backup = administration.backup(admin, tmp_path / "backup.db")
    finally:
        backed_up.set()
        thread.join()
    assert not errors
    check = sqlite3.connect(backup)
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert check.execute("SELECT COUNT(*) FROM resident").fetchone()[0] == 100
    assert check.execute("SELECT COUNT(*) FROM audit_log WHERE username = 'other-pc'").fetchone()[0] == 30
    check.close()
    Resident.delete().where(Resident.id > 50).execute()
    with pytest.raises(UserError, match="未确认"):
        administration.restore(admin, backup, confirm=False)
    safety = administration.restore(admin, backup, confirm=True)
    assert Resident.select().count() == 100 and safety.exists()
    assert AuditLog.select().where(AuditLog.action == "restore").count() == 1
    assert AuditLog.select().where(AuditLog.action == "pending").count() == 0  # committed after the backup
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"nope" * 100)
    with pytest.raises(UserError, match="不是本系统"):
        administration.restore(admin, broken, confirm=True)
    close_database()


def test_restoring_an_older_backup_upgrades_it(tmp_path, admin):
    open_database(f"sqlite:///{tmp_path / 'office.db'}")
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    Contribution.create(resident=Resident.get(), year=2020, amount_fen=30000, tier_fen=30000, voucher="V1")
    old = administration.backup(admin, tmp_path / "old.db")
    taken_before = pw.SqliteDatabase(str(old))  # as the previous version of the program left it
    UNDO[migrations.LATEST](taken_before)  # the newest step taken away: the previous version
    taken_before.execute_sql(f"UPDATE schema_version SET version = {migrations.LATEST - 1}")
    taken_before.close()
    administration.restore(admin, old, confirm=True)
    assert migrations.current_version(dao_db.current()) == migrations.LATEST
    assert not list(tmp_path.glob(".office.db.restoring*"))  # nothing left of the staging
    assert statistics.year_stats(admin, 2020).total.this.payers == 1  # the summary was filled on the way
    close_database()


def test_backup_refused_on_postgres(pg_schema, admin, tmp_path):
    open_database(pg_schema.url)
    with pytest.raises(UserError, match="pg_dump"):
        administration.backup(admin, tmp_path / "x.db")
    assert dao_db.is_postgres()


def test_network_share_warning(tmp_path):
    assert administration.network_share_warning(tmp_path / "local.db") is None
    assert "PostgreSQL" in administration.network_share_warning(Path("//server/share/pension.db"))
