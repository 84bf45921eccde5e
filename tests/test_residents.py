"""At the counter, on both databases: 新参保登记 with the roster's codes, 信息变更, 转移, 暂停/终止/恢复 and what
follows them, the age-60 rule in the ledger and arrears, phone numbers."""

from __future__ import annotations

import datetime as dt

import pytest

from core import arrears, handoff, idcard, phone, residents, rules
from core import special_groups as sg
from core.auth import ADMIN, REVIEWER, Actor
from core.errors import PermissionDenied, UserError
from core.progress import run
from dao import migrations
from dao.db import current
from dao.models import (
    ARREARS_VOID,
    PAYMENT_CANCELLED,
    PAYMENT_CORRECTED,
    PAYMENT_CORRECTION,
    PAYMENT_PENDING,
    PAYMENT_SENT,
    ArrearsAssessment,
    AuditLog,
    Contribution,
    GovernmentPayment,
    RefundCandidate,
    Resident,
    ResidentEvent,
    Village,
)
from tests.conftest import clerk_of, township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_ledger_arrears import imp as import_ledger
from tests.test_ledger_arrears import ledger_file, pay
from tests.test_roster_import import do_import

ON = dt.date(2020, 3, 2)


def number(n: int, born: dt.date = dt.date(1980, 5, 17)) -> str:
    return idcard.make("371325", born, n)


def reg(actor, n=1, **kwargs):
    args = {"id_number": number(n), "name": f"新人{n}", "township": "费城街道", "village": "东王庄村",
            "phone_number": "13800000001", "on": ON, **kwargs}  # fmt: skip
    return residents.register(actor, **args)


# --- phone numbers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, ok",
    [("13800000000", True), ("138 0000 0000", True), ("+8613912345678", True), ("0539-5021234", True),
     ("05395021234", True), ("0539-5021234-801", True), ("0539-5021234转801", True), ("(0539)5021234", True),
     ("010-62345678", True), ("", True), ("1234abc", False), ("12800000000", False), ("1380000000", False),
     ("138000000001", False), ("5021234", False), ("0539-021234", False), ("0539-502123", False)],
)  # fmt: skip
def test_phone_numbers(text, ok):
    assert (phone.problem(text) is None) == ok, phone.problem(text)


def test_an_invalid_phone_in_a_roster_is_a_warning_and_the_person_comes_in_without_it(db, admin, tmp_path):
    bad, good, kept = person(1), person(3), person(5)
    bad[6] = "1234abc"
    report = do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, bad, good, kept]), admin)
    assert report.imported == 3 and not report.errors
    assert [(w.row, w.column, w.code) for w in report.warnings] == [(2, "联系电话", "PHONE_INVALID")]
    assert "1234abc" in report.warnings[0].message
    assert Resident.get(Resident.id_number == bad[1]).phone == ""
    kept[6] = "555"  # a stored phone is not replaced by an invalid one
    report = do_import(write_xlsx(tmp_path / "r2.xlsx", [HEADER, kept]), admin)
    assert [w.code for w in report.warnings] == ["PHONE_INVALID"] and report.unchanged == 1
    assert Resident.get(Resident.id_number == kept[1]).phone == person(5)[6]


# --- 新参保登记 ----------------------------------------------------------------------------------------------


def test_registration_writes_the_person_their_history_and_the_audit(db, admin):
    out = reg(admin, 1, village="新村")
    assert out.ok and out.resident_id is not None
    r = Resident.get_by_id(out.resident_id)
    assert (r.name, r.sex, r.birth_date, r.township.name, r.village.name, r.phone, r.status, r.enrolled_on) == (
        "新人1", "男", dt.date(1980, 5, 17), "费城街道", "新村", "13800000001", "正常参保", ON,
    )  # fmt: skip
    [event] = ResidentEvent.select().where(ResidentEvent.resident == r.id)
    assert (event.kind, event.day, event.username) == ("register", ON, "tester")
    assert (
        AuditLog.select().where((AuditLog.action == "register") & (AuditLog.entity_id == str(r.id))).exists()
    )
    assert [h.kind for h in residents.history(admin, r.id)] == ["参保登记"]


def test_registration_refusals_carry_the_roster_codes(db, admin):
    clerk = clerk_of("费城街道")
    cases = [
        ({"id_number": number(1)[:17] + ("0" if number(1)[17] != "0" else "1")}, "ID_CHECKSUM"),
        ({"id_number": "37132519800517"}, "ID_FORMAT"),
        ({"id_number": idcard.make("371325", dt.date(2010, 1, 1), 3)}, "AGE_UNDER_16"),
        ({"name": " "}, "NAME_MISSING"),
        ({"student": True}, "STUDENT"),
        ({"other_pension": True}, "OTHER_PENSION"),
        ({"township": "火星镇"}, "TOWNSHIP_UNKNOWN"),
        ({"phone_number": "1234abc"}, "PHONE_INVALID"),
    ]
    for change, code in cases:
        out = reg(admin, 3, **change)
        assert not out.ok and code in out.codes, (change, out.errors)
        assert out.resident_id is None
    out = reg(clerk, 3, township="上冶镇")
    assert out.codes == ["TOWNSHIP_OUT_OF_SCOPE"]
    assert Resident.select().count() == 0 and ResidentEvent.select().count() == 0
    # the age is reckoned on the registration day: 16 on 2020-01-01, not the day before
    young = idcard.make("371325", dt.date(2004, 1, 1), 5)
    assert reg(admin, 5, id_number=young, on=dt.date(2019, 12, 31)).codes == ["AGE_UNDER_16"]
    assert reg(admin, 5, id_number=young, on=dt.date(2020, 1, 1)).ok
    # a 15-digit number is converted, as in a file
    legacy = number(7, dt.date(1965, 3, 4))
    out = reg(clerk, 7, id_number=legacy[:6] + legacy[8:17], township="")
    assert out.ok and [w.code for w in out.warnings] == ["ID_LEGACY_15"]
    assert Resident.get_by_id(out.resident_id).id_number == legacy


def test_an_id_already_registered_gives_the_existing_person(db, admin):
    first = reg(admin, 1)
    again = reg(admin, 1, name="别人")
    assert again.codes == ["ALREADY_REGISTERED"] and again.resident_id == first.resident_id
    assert "新人1" in again.message() and "费城街道" in again.message()
    assert Resident.select().count() == 1
    # a clerk of another township learns that it is registered, not who it is
    other = reg(clerk_of("上冶镇"), 1, township="上冶镇")
    assert (
        other.codes == ["ALREADY_REGISTERED"] and other.resident_id is None and "新人1" not in other.message()
    )
    preview = residents.preview_id(admin, number(1).lower())
    assert preview.existing is not None and preview.existing.id == first.resident_id and preview.sex == "男"
    assert residents.preview_id(clerk_of("上冶镇"), number(1)).elsewhere
    wrong = number(1)[:17] + ("0" if number(1)[17] != "0" else "1")
    assert "校验位" in residents.preview_id(admin, wrong).problem
    assert residents.preview_id(admin, number(9)).existing is None


# --- 信息变更 -----------------------------------------------------------------------------------------------


def test_identity_change_needs_a_reason_and_the_card_and_is_audited(db, admin):
    rid = reg(admin, 1).resident_id
    for reason, seen in (("", True), ("户籍更正", False)):
        with pytest.raises(UserError, match="原因"):
            residents.change(admin, number(1), "name", "张新", reason, seen)
    r = residents.change(admin, number(1), "name", "张 新", "户籍更正", True)
    assert r.name == "张新" and r.version == 2
    entry = AuditLog.select().where((AuditLog.action == "change") & (AuditLog.entity_id == str(rid))).get()
    assert '"name": "新人1"' in entry.before and '"name": "张新"' in entry.after and "户籍更正" in entry.after
    residents.change(admin, number(1), "birth_date", "1980-05-18", "出生日期登记错误", True)
    residents.change(admin, number(1), "sex", "女", "登记错误", True)
    residents.change(admin, number(1), "phone", "0539-5021234")  # no reason needed
    residents.change(admin, number(1), "village", "西村")
    r = Resident.get_by_id(rid)
    assert (r.birth_date, r.sex, r.phone, r.village.name) == (
        dt.date(1980, 5, 18),
        "女",
        "0539-5021234",
        "西村",
    )
    lines = [(h.kind, h.item, h.old, h.new) for h in residents.history(admin, rid)]
    assert lines[1:] == [("信息变更", "姓名", "新人1", "张新"), ("信息变更", "出生日期", "1980-05-17", "1980-05-18"),
                         ("信息变更", "性别", "男", "女"), ("信息变更", "联系电话", "13800000001", "0539-5021234"),
                         ("信息变更", "村居", "东王庄村", "西村")]  # fmt: skip
    with pytest.raises(UserError, match="联系电话无效"):
        residents.change(admin, number(1), "phone", "1234abc")
    with pytest.raises(UserError, match="相同"):
        residents.change(admin, number(1), "village", "西村")
    with pytest.raises(UserError, match="可变更的项目"):
        residents.change(admin, number(1), "township", "上冶镇")
    with pytest.raises(UserError, match="其他用户"):
        residents.change(admin, number(1), "phone", "13900000000", version=1)


def test_a_clerk_changes_only_their_own_townships_people(db, admin):
    reg(admin, 1)
    reg(admin, 3, township="上冶镇", village="后村")
    mine, theirs = clerk_of("费城街道"), clerk_of("上冶镇")
    residents.change(mine, number(1), "phone", "13900000000")
    with pytest.raises(PermissionDenied):
        residents.change(mine, number(3), "phone", "13900000000")
    with pytest.raises(PermissionDenied):
        residents.set_status(mine, number(3), "暂停", "其他")
    assert Resident.get(Resident.id_number == number(3)).phone == "13800000001"
    assert residents.find(theirs, number(3)).name == "新人3"


# --- 转移 -----------------------------------------------------------------------------------------------


def test_a_move_keeps_payments_and_both_townships_see_it(db, admin):
    rid = reg(admin, 1).resident_id
    Contribution.create(resident=rid, year=2019, amount_fen=30000, tier_fen=30000, voucher="M1")
    reviewer = Actor("shen", REVIEWER, None, "审核")
    with pytest.raises(PermissionDenied, match="县局"):
        residents.move(clerk_of("费城街道"), number(1), "上冶镇", "后村", "迁居")
    with pytest.raises(UserError, match="原因"):
        residents.move(reviewer, number(1), "上冶镇", "后村", "")
    r = residents.move(reviewer, number(1), "上冶镇", "后村", "婚嫁迁居", dt.date(2020, 3, 5))
    assert (r.township.name, r.village.name) == ("上冶镇", "后村")
    assert Village.get_by_id(r.village_id).township_id == township_id("上冶镇")
    assert [c.voucher for c in Contribution.select().where(Contribution.resident == rid)] == ["M1"]
    new_clerk, old_clerk = clerk_of("上冶镇"), clerk_of("费城街道")
    assert residents.find(new_clerk, number(1)).id == rid
    with pytest.raises(PermissionDenied):
        residents.find(old_clerk, number(1))
    for who in (new_clerk, old_clerk):
        [line] = residents.township_moves(who)
        assert (line.old, line.new, line.reason) == ("费城街道东王庄村", "上冶镇后村", "婚嫁迁居")
        assert (line.name, line.id_number) == ("新人1", number(1))
    assert residents.township_moves(clerk_of("薛庄镇")) == []
    assert [h.kind for h in residents.history(new_clerk, rid)] == ["参保登记", "转移"]


# --- 暂停 / 终止 / 恢复 ------------------------------------------------------------------------------------


@pytest.fixture
def listed(db, admin, tmp_path):
    """Three people flagged for 2020: the first one's 代缴 already handed off to the tax side (February's
    batch), the other two pending."""
    people = [Resident.get_by_id(reg(admin, n, on=dt.date(2019, 5, 6)).resident_id) for n in (1, 3, 5)]

    def listing(name, rows):
        return write_xlsx(tmp_path / name, [["姓名", "身份证号码"], *[[p.name, p.id_number] for p in rows]])

    run(
        sg.import_special_list(
            listing("mz.xlsx", people[:1]), admin, year=2020, department="民政", group="低保对象"
        )
    )
    handoff.mark_sent(admin, handoff.create_batch(admin, "2020-02", "subsidy", tmp_path / "feb").id)
    run(sg.import_special_list(listing("cl.xlsx", people[1:]), admin, year=2020, department="残联",
                               group="重度残疾人"))  # fmt: skip
    assert GovernmentPayment.get(GovernmentPayment.resident == people[0].id).state == PAYMENT_SENT
    return people


def test_termination_takes_the_person_off_the_subsidy_list_and_a_sent_one_is_corrected(
    listed, admin, tmp_path
):
    sent, pending, _ = listed
    out = residents.set_status(admin, sent.id_number, "终止", "死亡", dt.date(2019, 11, 5))
    assert out.status == "终止" and out.subsidy_removed == [2020]
    assert GovernmentPayment.get(GovernmentPayment.resident == sent.id).state == PAYMENT_CORRECTION
    out = residents.set_status(admin, pending.id_number, "暂停", "迁出本县", dt.date(2020, 1, 1))
    assert out.subsidy_removed == [2020]
    assert GovernmentPayment.get(GovernmentPayment.resident == pending.id).state == PAYMENT_CANCELLED
    assert set(sg.flagged_groups(2020)) == {listed[2].id}  # cannot be flagged for the year either
    sg.sync_payments(admin, 2020)  # a later sync of the whole year keeps them off
    assert GovernmentPayment.get(GovernmentPayment.resident == pending.id).state == PAYMENT_CANCELLED
    # the correction goes through the usual handoff: a 冲正 line for the one sent
    batch = handoff.create_batch(admin, "2020-03", "subsidy", tmp_path / "out")
    lines = sorted((line.record_id, line.amount_fen) for line in batch.lines)
    sent_payment = GovernmentPayment.get(GovernmentPayment.resident == sent.id).id
    staying = GovernmentPayment.get(GovernmentPayment.resident == listed[2].id).id
    assert lines == sorted([(sent_payment, -10000), (staying, 10000)])
    handoff.mark_sent(admin, batch.id)
    assert GovernmentPayment.get(GovernmentPayment.resident == sent.id).state == PAYMENT_CORRECTED


def test_a_change_after_1_january_keeps_that_years_subsidy(listed, admin):
    out = residents.set_status(admin, listed[1].id_number, "暂停", "其他", dt.date(2020, 1, 2))
    assert out.subsidy_removed == []
    assert GovernmentPayment.get(GovernmentPayment.resident == listed[1].id).state == PAYMENT_PENDING


def test_termination_makes_later_payments_refund_candidates_and_voids_arrears(db, admin):
    rid = reg(admin, 1, on=dt.date(2020, 1, 2)).resident_id
    for year, voucher in ((2018, "T18"), (2019, "T19"), (2020, "T20")):
        Contribution.create(resident=rid, year=year, amount_fen=30000, tier_fen=30000, voucher=voucher)
    Contribution.create(
        resident=rid, year=2020, amount_fen=10000, tier_fen=10000, voucher="G20", payer="政府代缴"
    )
    declared = arrears.declare(admin, rid, [2016], [30000], as_of=dt.date(2020, 3, 1))
    assessed = arrears.declare(admin, rid, [2017], [30000], as_of=dt.date(2020, 3, 1))
    arrears.assess(admin, assessed.id)
    out = residents.set_status(admin, number(1), "终止", "参加职工养老保险", dt.date(2019, 6, 30))
    assert out.refund_candidates == [
        "T20"
    ]  # 2019 itself was a paying year; the government's money is not refunded
    [candidate] = RefundCandidate.select()
    assert (candidate.code, candidate.amount_fen) == ("JOINED_EMPLOYEE_PENSION", 30000)
    assert "已参加职工养老保险" in candidate.message
    assert sorted(out.arrears_voided) == sorted([declared.id, assessed.id])
    voided = ArrearsAssessment.get_by_id(assessed.id)
    assert voided.status == ARREARS_VOID and "终止参保" in voided.void_reason
    assert [h.kind for h in residents.history(admin, rid)][-1] == "参保状态"
    entry = AuditLog.select().where(AuditLog.action == "status").get()
    assert '"refund_candidates": ["T20"]' in entry.after
    with pytest.raises(UserError, match="终止参保"):
        arrears.declare(admin, rid, [2015], [30000], as_of=dt.date(2020, 3, 1))
    with pytest.raises(UserError, match="不能暂停"):
        residents.set_status(admin, number(1), "暂停", "其他")


def test_a_payment_imported_after_a_death_for_a_later_year_is_a_refund_candidate(db, admin, tmp_path):
    rid = reg(admin, 1, on=dt.date(2019, 1, 2)).resident_id
    residents.set_status(admin, number(1), "终止", "死亡", dt.date(2019, 6, 30))
    r = Resident.get_by_id(rid)
    report = import_ledger(ledger_file(tmp_path, "p.xlsx", [pay(r, 2019, 300, "D19"), pay(r, 2020, 300, "D20")]),
                           admin)  # fmt: skip
    assert [(w.row, w.code) for w in report.warnings] == [(3, "DIED")]
    [candidate] = RefundCandidate.select()
    assert candidate.contribution.voucher == "D20" and "2019-06-30 终止参保（死亡）" in candidate.message


def test_restore_brings_the_person_back_and_onto_the_list(listed, admin):
    person_ = listed[1]
    residents.set_status(admin, person_.id_number, "暂停", "其他", dt.date(2019, 12, 1))
    with pytest.raises(UserError, match="原因"):
        residents.set_status(admin, person_.id_number, "正常参保", "")
    with pytest.raises(UserError, match="早于"):
        residents.set_status(admin, person_.id_number, "正常参保", "核实后恢复", dt.date(2019, 11, 1))
    out = residents.set_status(admin, person_.id_number, "正常参保", "核实后恢复", dt.date(2019, 12, 20))
    assert out.status == "正常参保" and out.subsidy_restored == [2020]
    assert Resident.get_by_id(person_.id).status == "正常参保"
    assert GovernmentPayment.get(GovernmentPayment.resident == person_.id).state == PAYMENT_PENDING
    statuses = [
        (h.old, h.new, h.reason) for h in residents.history(admin, person_.id) if h.kind == "参保状态"
    ]
    assert statuses == [("正常参保", "暂停", "其他"), ("暂停", "正常参保", "核实后恢复")]
    with pytest.raises(UserError, match="原因应为"):
        residents.set_status(admin, person_.id_number, "终止", "搬家")


def test_history_events_are_append_only(db, admin):
    reg(admin, 1)
    with pytest.raises(Exception, match="append-only"):
        current().execute_sql("UPDATE resident_event SET reason = 'x'")


# --- 60 周岁 ---------------------------------------------------------------------------------------------


def test_age_60_rules():
    born = dt.date(1960, 7, 1)
    assert rules.turns_60_in(born) == 2020 and rules.last_paying_year(born) == 2019
    assert (
        not rules.paid_after_60(2019, born)
        and rules.paid_after_60(2020, born)
        and rules.paid_after_60(2021, born)
    )
    assert rules.arrears_years(born, range(2014, 2021), set(), dt.date(2021, 3, 1)) == list(range(2014, 2020))


def test_paid_after_60_for_the_year_of_turning_60_not_the_year_before(db, admin, tmp_path):
    born = dt.date(1960, 7, 1)
    rid = reg(admin, 1, id_number=number(1, born), on=dt.date(2019, 1, 2)).resident_id
    r = Resident.get_by_id(rid)
    report = import_ledger(ledger_file(tmp_path, "p.xlsx", [pay(r, 2019, 300, "A19"), pay(r, 2020, 300, "A20")]),
                           admin)  # fmt: skip
    assert [(w.row, w.code) for w in report.warnings] == [(3, "PAID_AFTER_60")]
    [candidate] = RefundCandidate.select()
    assert candidate.contribution.voucher == "A20" and "2020 年满 60 周岁" in candidate.message


def test_no_arrears_at_or_after_60(db, admin):
    born = dt.date(1962, 2, 1)  # turns 60 in 2022: pays up to 2021
    rid = reg(admin, 1, id_number=number(1, born), on=dt.date(2020, 1, 2)).resident_id
    years = [y.year for y in arrears.proposal(admin, rid, as_of=dt.date(2023, 3, 1))]
    assert years and max(years) <= 2021
    born = dt.date(1959, 2, 1)  # turned 60 in 2019: 2019 and 2020 are not paying years
    rid = reg(admin, 3, id_number=number(3, born), on=dt.date(2020, 1, 2)).resident_id
    years = [y.year for y in arrears.proposal(admin, rid, as_of=dt.date(2021, 3, 1))]
    assert max(years) == 2018
    with pytest.raises(UserError, match="60 周岁"):
        arrears.declare(admin, rid, [2019], [30000], as_of=dt.date(2021, 3, 1))
    arrears.declare(admin, rid, [2018], [30000], as_of=dt.date(2021, 3, 1))


# --- schema -------------------------------------------------------------------------------------------------


def test_upgrade_from_11_adds_the_history_table(db_url):
    from core.database import close_database, open_database
    from tests.test_migrations import _columns

    open_database(db_url)
    database = current()
    fresh = _columns(database)
    database.execute_sql('DROP TABLE "resident_event"')
    database.execute_sql("DELETE FROM schema_version")
    database.execute_sql("INSERT INTO schema_version (version, applied_at) VALUES (11, '2020-01-01')")
    close_database()
    open_database(db_url)
    database = current()
    assert migrations.current_version(database) == migrations.LATEST and _columns(database) == fresh
    admin = Actor("tester", ADMIN, None, "测试")
    assert reg(admin, 1).ok
    with pytest.raises(Exception, match="append-only"):
        database.execute_sql("DELETE FROM resident_event")


# --- the printed 参保登记表 ---------------------------------------------------------------------------------


def test_registration_form_says_when_the_year_has_no_tiers_yet(db, admin, tmp_path):
    import subprocess

    from core import policy

    def printed(on: dt.date, n: int) -> str:
        out = reg(admin, n, on=on)
        pdf = tmp_path / f"{n}.pdf"
        residents.print_form(admin, out.resident_id, pdf)
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        return "".join(text.split())

    latest = max(p.year for p in policy.years())
    same = printed(dt.date(latest, 3, 2), 1)
    assert f"{latest}年度缴费档次" in same and "尚未公布" not in same
    later = printed(dt.date(latest + 1, 3, 2), 2)  # the new year's tiers are not out yet
    assert f"注意：{latest + 1}年度缴费档次尚未公布，以下为{latest}年度档次" in later
