"""Issue 14 on both databases: a list replaces only its scope, removals are shown and confirmed, a list can be
undone until a handoff batch carries it, a roster re-import holds identity changes, every import is a batch."""

from __future__ import annotations

import json

import pytest
from openpyxl import load_workbook

from core import handoff, imports
from core import special_groups as sg
from core.errors import UserError
from core.progress import run
from dao.models import (
    PAYMENT_CANCELLED,
    PAYMENT_CORRECTION,
    PAYMENT_PENDING,
    AuditLog,
    GovernmentPayment,
    ImportLog,
    Resident,
    SpecialList,
    Village,
)
from tests.clirun import add_users, cli
from tests.conftest import clerk_of
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import

TOWNS = ("费城街道", "上冶镇", "胡阳镇")


@pytest.fixture
def county(db, admin, tmp_path):
    """Thirty residents: 1..19 in 费城街道, 21..39 in 上冶镇, 41..59 in 胡阳镇 (odd numbers)."""
    people = {}
    for k, town in enumerate(TOWNS):
        for n in range(1 + 20 * k, 20 + 20 * k, 2):
            people[n] = person(n, township=town, village=f"{town[:2]}一村")
    do_import(write_xlsx(tmp_path / "roster.xlsx", [HEADER, *people.values()]), admin)
    return people


def dibao(tmp_path, name, people, *, township=None):
    """A 民政 低保 list; with ``township`` a 乡镇 column naming it on every row."""
    header = ["姓名", "身份证号码", "类别"] + (["乡镇"] if township else [])
    rows = [[p[0], p[1], "低保"] + ([township] if township else []) for p in people]
    return write_xlsx(tmp_path / name, [header, *rows])


def imp(path, actor, **kwargs):
    kwargs.setdefault("year", 2020)
    kwargs.setdefault("department", "民政")
    return run(sg.import_special_list(path, actor, **kwargs))


def flagged_numbers() -> set[str]:
    ids = set(sg.flagged_groups(2020))
    return {r.id_number for r in Resident.select().where(Resident.id.in_(list(ids)))} if ids else set()


def numbers(people):
    return {p[1] for p in people}


# --- what a department's list replaces --------------------------------------------------------------------


def test_one_township_list_leaves_other_townships_untouched(county, admin, tmp_path):
    p = county
    everyone = [p[n] for n in (1, 3, 5, 21, 23, 25, 41, 43)]
    imp(dibao(tmp_path, "all.xlsx", everyone), admin, confirm_removals=False)
    assert flagged_numbers() == numbers(everyone)
    # A 上冶镇 list of three (one new, one gone): only 上冶镇's flags change, by its 乡镇 column.
    township_list = [p[21], p[23], p[27]]
    report = imp(dibao(tmp_path, "sy.xlsx", township_list, township="上冶镇"), admin, confirm_removals=True)
    assert report.scope == "上冶镇"
    assert [(r.id_number, r.township, r.group) for r in report.removals] == [(p[25][1], "上冶镇", "低保对象")]
    assert flagged_numbers() == numbers([p[n] for n in (1, 3, 5, 21, 23, 27, 41, 43)])
    current = SpecialList.get(SpecialList.current)
    assert current.people == 8 and (current.added, current.removed) == (1, 1)
    # Without a 乡镇 column the townships are the roster's: a 胡阳镇 list.
    report = imp(dibao(tmp_path, "hy.xlsx", [p[41], p[43], p[45]]), admin)
    assert report.scope == "胡阳镇" and report.removals == [] and not report.needs_confirmation
    assert flagged_numbers() == numbers([p[n] for n in (1, 3, 5, 21, 23, 27, 41, 43, 45)])
    assert GovernmentPayment.select().where(GovernmentPayment.state == PAYMENT_PENDING).count() == 9
    # County-wide only when asked: the same 胡阳镇 list for the county removes everyone else.
    dry = imp(dibao(tmp_path, "hy.xlsx", [p[41], p[43], p[45]]), admin, scope=sg.SCOPE_COUNTY, dry_run=True)
    assert dry.scope == "全县" and len(dry.removals) == 6 and dry.needs_confirmation
    assert flagged_numbers() == numbers([p[n] for n in (1, 3, 5, 21, 23, 27, 41, 43, 45)])


def test_header_only_list_is_refused_without_confirmation(county, admin, tmp_path):
    p = county
    imp(dibao(tmp_path, "a.xlsx", [p[1], p[21], p[41]]), admin)
    before = SpecialList.select().count(), ImportLog.select().count()
    empty = write_xlsx(tmp_path / "empty.xlsx", [["姓名", "身份证号码"]])
    report = imp(empty, admin, group="低保对象", scope=sg.SCOPE_COUNTY)
    assert report.refused and report.needs_confirmation and len(report.removals) == 3
    assert "没有可用的数据行" in report.confirmation_text()
    assert (SpecialList.select().count(), ImportLog.select().count()) == before
    assert flagged_numbers() == numbers([p[1], p[21], p[41]])
    # Confirmed, the county's group is emptied (and can be undone).
    confirmed = imp(empty, admin, group="低保对象", scope=sg.SCOPE_COUNTY, confirm_removals=True)
    assert not confirmed.refused and flagged_numbers() == set()
    sg.undo_list(admin, confirmed.lists[0]["list_id"])
    assert flagged_numbers() == numbers([p[1], p[21], p[41]])


def test_removals_over_a_fifth_need_confirmation_and_are_listed_in_dry_run(county, admin, tmp_path):
    p = county
    imp(dibao(tmp_path, "a.xlsx", [p[n] for n in (1, 3, 5, 7, 9, 11)]), admin)
    one_gone = imp(dibao(tmp_path, "b.xlsx", [p[n] for n in (1, 3, 5, 7, 9)]), admin)  # 1 of 6: under 20 %
    assert not one_gone.needs_confirmation and not one_gone.refused and len(one_gone.removals) == 1
    two_gone = dibao(tmp_path, "c.xlsx", [p[n] for n in (1, 3, 5)])  # 2 of 5 gone
    dry = imp(two_gone, admin, dry_run=True)
    assert dry.needs_confirmation and not dry.refused
    data = dry.as_json()
    assert data["needs_confirmation"] is True and data["written"] is False
    assert {r["id_number"] for r in data["removals"]} == {p[7][1], p[9][1]}
    assert data["removals"][0]["group"] == "低保对象" and data["removals"][0]["township"] == "费城街道"
    refused = imp(two_gone, admin)
    assert refused.refused and p[7][1] in flagged_numbers()
    done = imp(two_gone, admin, confirm_removals=True)
    assert done.lists == [
        {"list_id": done.lists[0]["list_id"], "group": "低保对象", "added": 0, "removed": 2}
    ]
    assert flagged_numbers() == numbers([p[1], p[3], p[5]])


def test_undo_before_and_after_a_handoff_batch(county, admin, tmp_path):
    p = county
    first = imp(dibao(tmp_path, "a.xlsx", [p[1], p[3], p[21], p[41]]), admin)
    states = {
        r: GovernmentPayment.get(GovernmentPayment.resident == r).state for r in sg.flagged_groups(2020)
    }
    second = imp(dibao(tmp_path, "b.xlsx", [p[1], p[5]], township="费城街道"), admin, confirm_removals=True)
    assert flagged_numbers() == numbers([p[1], p[5], p[21], p[41]])
    list_id = second.lists[0]["list_id"]
    restored = sg.undo_list(admin, list_id)
    assert restored.id == first.lists[0]["list_id"] and restored.current
    assert flagged_numbers() == numbers([p[1], p[3], p[21], p[41]])  # exactly as before the list
    assert {
        r: GovernmentPayment.get(GovernmentPayment.resident == r).state for r in sg.flagged_groups(2020)
    } == states
    assert GovernmentPayment.get(GovernmentPayment.resident == Resident.get(
        Resident.id_number == p[5][1])).state == PAYMENT_CANCELLED  # fmt: skip
    assert sg.list_history(admin, 2020)[0]["state"] == "已撤销"
    entry = AuditLog.get((AuditLog.entity == "special_list") & (AuditLog.action == "undo"))
    assert entry.entity_id == str(list_id) and entry.username == admin.username
    with pytest.raises(UserError, match="已于"):
        sg.undo_list(admin, list_id)

    # Imported again and handed off: the undo is refused, naming the batch; a cancelled batch no longer blocks.
    third = imp(dibao(tmp_path, "c.xlsx", [p[1], p[5]], township="费城街道"), admin, confirm_removals=True)
    batch = handoff.create_batch(admin, "2020-03", "subsidy", tmp_path)
    with pytest.raises(UserError, match=batch.batch_no):
        sg.undo_list(admin, third.lists[0]["list_id"])
    handoff.cancel(admin, batch.id)
    sg.undo_list(admin, third.lists[0]["list_id"])
    assert flagged_numbers() == numbers([p[1], p[3], p[21], p[41]])
    # A batch sent before a list does not block its undo; one sent after it does (the correction line).
    sent = handoff.create_batch(admin, "2020-04", "subsidy", tmp_path)
    handoff.mark_sent(admin, sent.id)
    fourth = imp(dibao(tmp_path, "d.xlsx", [p[1], p[5]], township="费城街道"), admin, confirm_removals=True)
    assert GovernmentPayment.get(GovernmentPayment.resident == Resident.get(
        Resident.id_number == p[3][1])).state == PAYMENT_CORRECTION  # fmt: skip
    sg.undo_list(admin, fourth.lists[0]["list_id"])
    fifth = imp(dibao(tmp_path, "e.xlsx", [p[1], p[5]], township="费城街道"), admin, confirm_removals=True)
    correction = handoff.create_batch(admin, "2020-05", "subsidy", tmp_path)
    with pytest.raises(UserError, match=correction.batch_no):
        sg.undo_list(admin, fifth.lists[0]["list_id"])
    # A list replaced by a later one is undone only after the later one.
    with pytest.raises(UserError, match="替换"):
        sg.undo_list(admin, first.lists[0]["list_id"])


# --- what a roster re-import may overwrite ----------------------------------------------------------------


def test_identity_changes_are_held_then_applied(county, admin, tmp_path):
    p = county
    renamed = list(p[1])
    renamed[0] = "改名"
    moved = person(3, township="上冶镇", village="")  # another township, no village: the village is unknown
    phone = list(p[5])
    phone[6] = "13912345678"
    path = write_xlsx(tmp_path / "again.xlsx", [HEADER, renamed, moved, phone, p[7]])
    report = do_import(path, admin)
    held = [(w.row, w.column, w.message.split("（")[-1].rstrip("）")) for w in report.warnings
            if w.code == "IDENTITY_CHANGED"]  # fmt: skip
    assert held == [
        (2, "姓名", "居民1 → 改名"),
        (3, "乡镇", "费城街道 → 上冶镇"),
        (3, "村居", "费城一村 → 空"),
    ]
    assert (report.updated, report.unchanged) == (1, 3)  # only the phone
    assert [u.as_dict() for u in report.updates] == [
        {"row": 4, "id_number": p[5][1], "column": "联系电话", "old": p[5][6], "new": "13912345678"}
    ]
    assert Resident.get(Resident.id_number == p[1][1]).name == "居民1"
    assert Resident.get(Resident.id_number == p[3][1]).township.name == "费城街道"
    # Accepted for one person only (the GUI's tick box), then for all.
    one = do_import(path, admin, apply_changes={p[1][1]})
    assert one.updated == 1 and Resident.get(Resident.id_number == p[1][1]).name == "改名"
    assert Resident.get(Resident.id_number == p[3][1]).township.name == "费城街道"
    applied = do_import(path, admin, apply_changes=True)
    mover = Resident.get(Resident.id_number == p[3][1])
    assert mover.township.name == "上冶镇" and mover.village_id is None
    assert {(u.row, u.column, u.old, u.new) for u in applied.updates} == {
        (3, "乡镇", "费城街道", "上冶镇"), (3, "村居", "费城一村", "")}  # fmt: skip


def test_villages_are_looked_up_within_the_township(county, admin, tmp_path):
    p = county
    # No register: a village name is found or created within the row's township, never another's.
    moved = person(5, township="上冶镇", village="费城一村")
    do_import(write_xlsx(tmp_path / "m.xlsx", [HEADER, moved]), admin, apply_changes=True)
    resident = Resident.get(Resident.id_number == p[5][1])
    assert resident.village.township_id == resident.township_id and resident.township.name == "上冶镇"
    assert Village.select().where(Village.name == "费城一村").count() == 2
    # With a register for 胡阳镇, a name missing from it is a row error; a registered one is fine.
    from core import admin as admin_ops

    register = write_xlsx(
        tmp_path / "区划.xlsx", [["乡镇", "村居"], ["胡阳镇", "胡阳一村"], ["胡阳镇", "北李庄村"]]
    )
    admin_ops.import_regions(admin, register)
    rows = [
        HEADER,
        person(61, township="胡阳镇", village="费城一村"),
        person(63, township="胡阳镇", village="北李庄村"),
    ]
    report = do_import(write_xlsx(tmp_path / "h.xlsx", rows), admin)
    assert [(e.row, e.code) for e in report.errors] == [(2, "VILLAGE_NOT_IN_TOWNSHIP")]
    assert "不是胡阳镇的村居" in report.errors[0].message and report.imported == 1
    assert Resident.get(Resident.id_number == person(63)[1]).village.name == "北李庄村"
    # A township without a register still creates its villages.
    assert do_import(write_xlsx(tmp_path / "s.xlsx", [HEADER, person(65, township="上冶镇", village="新村")]),
                     admin).imported == 1  # fmt: skip


def test_clerk_cannot_pull_another_townships_resident_in(county, admin, tmp_path):
    p = county
    clerk = clerk_of("上冶镇")
    pulled = person(1, township="上冶镇", village="上冶一村")
    report = do_import(write_xlsx(tmp_path / "pull.xlsx", [HEADER, pulled]), clerk, apply_changes=True)
    assert [(e.row, e.code) for e in report.errors] == [(2, "TOWNSHIP_OUT_OF_SCOPE")] and report.rejected == 1
    assert Resident.get(Resident.id_number == p[1][1]).township.name == "费城街道"


# --- every bulk change is a visible batch --------------------------------------------------------------------


def test_every_import_is_a_batch_with_its_changes(county, admin, tmp_path):
    p = county
    changed = list(p[1])
    changed[0], changed[6] = "新名", "13700000000"
    roster = do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, changed]), admin, apply_changes=True)
    listed = imp(dibao(tmp_path, "l.xlsx", [p[1], p[21]]), admin)
    from tests.test_ledger_arrears import LEDGER_HEADER

    ledger_rows = [
        LEDGER_HEADER,
        [p[3][1], p[3][0], 2020, 300, "2020-01-10", "山东省电子税务局", "V1", "正常缴费", "个人"],
    ]
    from core import ledger

    paid = run(ledger.import_contributions(write_xlsx(tmp_path / "j.xlsx", ledger_rows), admin))
    history = {h.import_id: h for h in imports.history(admin)}
    assert {history[i].kind for i in (roster.import_id, listed.import_id, paid.import_id)} == {
        "roster",
        "special",
        "ledger",
    }
    assert history[roster.import_id].changes == 2 and len(history[roster.import_id].sha256) == 64
    assert history[listed.import_id].changes == 2 and history[paid.import_id].changes == 1
    changes = [c.as_dict(with_row=False) for c in imports.changes(admin, roster.import_id)]
    assert changes == [{"id_number": p[1][1], "column": "姓名", "old": "居民1", "new": "新名"},
                       {"id_number": p[1][1], "column": "联系电话", "old": p[1][6], "new": "13700000000"}]  # fmt: skip
    assert {(c.id_number, c.column, c.new) for c in imports.changes(admin, listed.import_id)} == {
        (p[1][1], "低保对象", sg.ON_LIST), (p[21][1], "低保对象", sg.ON_LIST)}  # fmt: skip
    (payment,) = imports.changes(admin, paid.import_id)
    assert payment.id_number == p[3][1] and "300.00" in payment.new and "V1" in payment.new
    # A clerk sees only their township's people in a county-wide batch.
    assert [c.id_number for c in imports.changes(clerk_of("上冶镇"), listed.import_id)] == [p[21][1]]
    out = tmp_path / "changes.xlsx"
    assert imports.export_changes(admin, roster.import_id, out) == 2
    sheet = load_workbook(out).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert "r.xlsx" in values[0][0] and values[1] == ["行号", "身份证号码", "项目", "原值", "新值"]
    assert values[2] == [2, p[1][1], "姓名", "居民1", "新名"]
    # One resident's history (for the person's change history): registered, renamed, listed.
    rid = Resident.get(Resident.id_number == p[1][1]).id
    lines = [(c.kind, c.column, c.old, c.new) for c in imports.resident_changes(admin, rid)]
    assert lines == [("roster", "参保登记", "", "新名"), ("roster", "姓名", "居民1", "新名"),
                     ("roster", "联系电话", p[1][6], "13700000000"), ("special", "低保对象", "", sg.ON_LIST)]  # fmt: skip


# --- the command line, on both databases ---------------------------------------------------------------------


def test_cli_contract(db_url, tmp_path):
    add_users(db_url, [("boss", "管理员", None)])
    people = [person(n, township="费城街道" if n < 20 else "上冶镇") for n in (1, 3, 5, 21, 23)]
    roster = write_xlsx(tmp_path / "roster.xlsx", [HEADER, *people])
    assert cli("--db", db_url, "--user", "boss", "import-roster", str(roster)).returncode == 0
    renamed = [list(x) for x in people]
    renamed[0][0] = "改了名"
    again = write_xlsx(tmp_path / "again.xlsx", [HEADER, *renamed])
    held = json.loads(cli("--db", db_url, "--user", "boss", "import-roster", str(again), "--json").stdout)
    assert [w["code"] for w in held["warnings"]] == ["IDENTITY_CHANGED"] and held["updates"] == []
    text = cli("--db", db_url, "--user", "boss", "import-roster", str(again), "--dry-run").stdout
    assert "身份信息变更未修改（1 人" in text and f"第 2 行 {people[0][1]} [姓名] 居民1 → 改了名" in text
    applied = json.loads(cli("--db", db_url, "--user", "boss", "import-roster", str(again), "--apply-changes",
                             "--json").stdout)  # fmt: skip
    assert applied["updates"] == [{"row": 2, "id_number": people[0][1], "column": "姓名", "old": "居民1",
                                   "new": "改了名"}]  # fmt: skip

    def special(*args):
        return cli("--db", db_url, "--user", "boss", "import-special-list", *args, "--year", "2020",
                   "--department", "民政", "--group", "低保对象")  # fmt: skip

    first = special(
        str(write_xlsx(tmp_path / "a.xlsx", [["姓名", "身份证号码"], *[x[:2] for x in renamed]])), "--json"
    )
    assert first.returncode == 0, first.stderr
    lists = json.loads(first.stdout)["lists"]
    assert lists == [{"list_id": lists[0]["list_id"], "group": "低保对象", "added": 5, "removed": 0}]
    header_only = str(write_xlsx(tmp_path / "empty.xlsx", [["姓名", "身份证号码"]]))
    dry = special(header_only, "--scope", "county", "--dry-run", "--json")
    assert dry.returncode == 0
    data = json.loads(dry.stdout)
    assert data["needs_confirmation"] is True and len(data["removals"]) == 5
    refused = special(header_only, "--scope", "county")
    assert (
        refused.returncode == 2
        and "--confirm-removals" in refused.stderr
        and "Traceback" not in refused.stderr
    )
    confirmed = special(header_only, "--scope", "county", "--confirm-removals", "--json")
    assert confirmed.returncode == 0
    list_id = json.loads(confirmed.stdout)["lists"][0]["list_id"]
    history = json.loads(cli("--db", db_url, "--user", "boss", "special-list", "history", "--json").stdout)
    assert [h["list_id"] for h in history] == [list_id, lists[0]["list_id"]] and history[0]["scope"] == "全县"
    undone = cli("--db", db_url, "--user", "boss", "special-list", "undo", str(list_id))
    assert undone.returncode == 0 and "恢复为名单" in undone.stdout
    twice = cli("--db", db_url, "--user", "boss", "special-list", "undo", str(list_id))
    assert twice.returncode == 2 and "撤销" in twice.stderr
    batch = cli("--db", db_url, "--user", "boss", "handoff", "create", "--month", "2020-03", "--kind", "subsidy",
                "--out", str(tmp_path / "out"), "--json")  # fmt: skip
    assert batch.returncode == 0, batch.stderr
    blocked = cli("--db", db_url, "--user", "boss", "special-list", "undo", str(lists[0]["list_id"]))
    assert blocked.returncode == 2 and "371325-202003-DJ-01" in blocked.stderr

    logs = json.loads(cli("--db", db_url, "--user", "boss", "import-history", "--json").stdout)
    assert {"import_id", "kind", "changes", "sha256"} <= set(logs[0])
    roster_log = next(x for x in logs if x["kind"] == "roster" and x["changes"] == 1)
    changes = json.loads(cli("--db", db_url, "--user", "boss", "import-changes", str(roster_log["import_id"]),
                             "--json").stdout)  # fmt: skip
    assert changes["changes"] == [
        {"id_number": people[0][1], "column": "姓名", "old": "居民1", "new": "改了名"}
    ]
    missing = cli("--db", db_url, "--user", "boss", "import-changes", "9999")
    assert missing.returncode == 2 and "没有这条导入记录" in missing.stderr
