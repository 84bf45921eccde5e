"""税务传递 on both databases: exactly once, byte-identical re-export, no half batch, corrections, feedback,
and two PCs creating the same month's batch at once on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import threading

import pytest
from openpyxl import load_workbook

from core import auth, handoff, refunds
from core import special_groups as sg
from core.database import open_database
from core.errors import UserError
from core.progress import run
from dao.models import (
    PAYMENT_CORRECTED,
    PAYMENT_CORRECTION,
    PAYMENT_PENDING,
    PAYMENT_SENT,
    Contribution,
    GovernmentPayment,
    HandoffBatch,
    HandoffLine,
    RefundCase,
    Resident,
)
from reports import handoff_files
from tests.conftest import township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import


@pytest.fixture
def office(db, admin, tmp_path):
    return _office(admin, tmp_path)


def _office(admin, tmp_path):
    people = [person(n) for n in range(1, 12, 2)]
    people[0][0] = "+危险姓名"  # formula-like text must be neutralised in the files
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, *people]), admin)
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER))
    finance = auth.actor_of(auth.create_user(admin, "cai", "password123", auth.FINANCE))
    return {
        "clerk": clerk,
        "reviewer": reviewer,
        "finance": finance,
        "residents": list(Resident.select().order_by(Resident.id)),
    }


def paid_refund(o, resident, voucher, paid_on):
    c = Contribution.create(
        resident=resident.id, year=2020, amount_fen=30000, tier_fen=30000, voucher=voucher
    )
    case = refunds.create(o["clerk"], refunds.NewCase(resident.id, [c.id], [30000], "重复缴费", resident.name, "6228", "农行",
                                                      ["退费申请"]), on=paid_on)  # fmt: skip
    refunds.advance(o["clerk"], case.id, "初审", on=paid_on)
    refunds.advance(o["reviewer"], case.id, "复核通过", on=paid_on)
    return refunds.advance(o["finance"], case.id, "已退款", bank_ref=f"B{voucher}", paid_on=paid_on)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_each_refund_exactly_once(office, tmp_path):
    o, r = office, office["residents"]
    first = [
        paid_refund(o, r[0], "V1", dt.date(2020, 3, 5)),
        paid_refund(o, r[1], "V2", dt.date(2020, 3, 20)),
    ]
    later = paid_refund(o, r[2], "V3", dt.date(2020, 4, 2))  # paid in April: not in March's batch
    march = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path / "out")
    assert march.records == 2 and march.total_fen == 60000 and march.batch_no == "371325-202003-TF-01"
    with pytest.raises(UserError, match="已有退费批次"):
        handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path / "out")
    late_march = paid_refund(
        o, r[3], "V4", dt.date(2020, 3, 28)
    )  # ready after March's batch: goes into April's
    april = handoff.create_batch(o["reviewer"], "2020-04", "refund", tmp_path / "out")
    carried = {line.record_id for line in april.lines}
    assert carried == {later.id, late_march.id}
    in_batches = [line.record_id for line in HandoffLine.select()]
    assert sorted(in_batches) == sorted(
        {c.id for c in (*first, later, late_march)}
    )  # none twice, none skipped
    with pytest.raises(UserError, match="没有待传递"):
        handoff.create_batch(o["reviewer"], "2020-05", "refund", tmp_path / "out")
    with pytest.raises(UserError, match="已随税务传递批次报出"):
        refunds.advance(o["reviewer"], later.id, "复核通过")  # the record is locked with its batch

    files = json.loads(HandoffBatch.get_by_id(march.id).files)
    out = tmp_path / "out"
    rows = list(csv.reader((out / f"{march.batch_no}.csv").read_text(encoding="utf-8").splitlines()))
    assert rows[0][:6] == ["序号", "社会保障号码", "姓名", "险种", "费款所属期", "退费金额"]
    assert rows[1][2] == "'+危险姓名" and rows[1][5] == "300.00" and rows[1][9] == "371325"
    manifest = json.loads((out / f"{march.batch_no}.manifest.json").read_text(encoding="utf-8"))
    assert (
        manifest["record_count"] == 2
        and manifest["total_amount"] == "600.00"
        and manifest["county_code"] == "371325"
    )
    assert manifest["files"] == files == {name: sha(out / name) for name in files}
    assert sum(float(row[5]) for row in rows[1:]) == float(manifest["total_amount"])
    ws = load_workbook(out / f"{march.batch_no}.xlsx").active
    assert ws.cell(row=3, column=2).value == r[0].id_number and ws.cell(row=3, column=2).data_type == "s"


def test_reexport_is_byte_identical(office, tmp_path, monkeypatch):
    o, r = office, office["residents"]
    paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    batch = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path / "a")
    import types

    import openpyxl.writer.excel as excel_writer

    class Later(dt.datetime):  # the re-export happens years later: the files must not change
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2031, 1, 1, 8, 0, 0, tzinfo=tz)

    monkeypatch.setattr(excel_writer, "datetime", types.SimpleNamespace(datetime=Later, timezone=dt.timezone))
    again = handoff.export(o["reviewer"], batch.id, tmp_path / "b")
    for name in again:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    manifest = f"{batch.batch_no}.manifest.json"
    assert (tmp_path / "a" / manifest).read_bytes() == (tmp_path / "b" / manifest).read_bytes()
    assert HandoffBatch.select().count() == 1  # a re-export is never a new batch


def test_a_crash_while_writing_leaves_no_half_batch(office, tmp_path, monkeypatch):
    o, r = office, office["residents"]
    case = paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(handoff_files, "write_csv", crash)
    with pytest.raises(OSError):
        handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path / "out")
    assert HandoffBatch.select().count() == 0 and HandoffLine.select().count() == 0
    assert RefundCase.get_by_id(case.id).handoff_batch_id is None
    assert list((tmp_path / "out").iterdir()) == []  # the temporary xlsx was removed too
    monkeypatch.undo()
    assert handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path / "out").records == 1


def test_cancel_sent_lock_and_correction(office, tmp_path):
    o, r = office, office["residents"]
    a = paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    b = paid_refund(o, r[1], "V2", dt.date(2020, 3, 6))
    first = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path)
    handoff.cancel(o["reviewer"], first.batch_no, "文件格式有误")
    assert RefundCase.get_by_id(a.id).handoff_batch_id is None  # back to the pool
    second = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path)
    assert second.seq == 2 and {x.record_id for x in second.lines} == {a.id, b.id}
    handoff.mark_sent(o["reviewer"], second.id)
    with pytest.raises(UserError, match="不能取消"):
        handoff.cancel(o["reviewer"], second.id)
    assert ("2020-03", "退费", "已锁定") in handoff.periods(o["reviewer"])
    fix = handoff.correct(o["reviewer"], second.batch_no, [2], "银行流水号填错", out_dir=tmp_path)
    assert fix.is_correction and fix.records == 1 and fix.total_fen == -30000
    line = fix.lines.get()
    assert json.loads(line.values)[-3:] == ["冲正", second.batch_no, "2"] and line.corrects.line_no == 2
    with pytest.raises(UserError):
        handoff.correct(o["reviewer"], second.batch_no, [2], "再冲一次", out_dir=tmp_path)  # once per line
    assert HandoffLine.select().where(HandoffLine.batch == second.id).count() == 2  # history untouched


def test_feedback_rejects_return_to_the_pool(office, tmp_path, admin):
    o, r = office, office["residents"]
    a = paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    paid_refund(o, r[1], "V2", dt.date(2020, 3, 6))
    batch = handoff.create_batch(o["reviewer"], "2020-03", "refund", tmp_path)
    not_sent = write_xlsx(tmp_path / "f0.xlsx", [["批次号", "序号", "处理结果"], [batch.batch_no, 1, "成功"]])
    early = run(handoff.import_feedback(not_sent, o["reviewer"]))
    assert [e.code for e in early.errors] == ["BATCH_NOT_SENT"]
    handoff.mark_sent(o["reviewer"], batch.id)
    rows = [["批次号", "序号", "处理结果", "失败原因"], [batch.batch_no, 1, "拒绝", "社会保障号码不存在"],
            [batch.batch_no, 2, "成功", ""], ["NOPE", 1, "成功", ""], [batch.batch_no, 9, "成功", ""],
            [batch.batch_no, 2, "待定", ""]]  # fmt: skip
    report = run(handoff.import_feedback(write_xlsx(tmp_path / "f.xlsx", rows), o["reviewer"]))
    assert [(e.row, e.code) for e in report.errors] == [
        (4, "BATCH_UNKNOWN"),
        (5, "LINE_UNKNOWN"),
        (6, "RESULT_UNKNOWN"),
    ]
    assert report.imported == 2
    listed = handoff.batches(o["reviewer"])[0]
    assert (listed.accepted, listed.rejected, listed.state) == (1, 1, "已报送")
    assert handoff.rejected_lines(o["reviewer"])[0][3] == "社会保障号码不存在"
    assert "税务反馈拒绝" in RefundCase.get_by_id(a.id).note
    again = run(handoff.import_feedback(write_xlsx(tmp_path / "f.xlsx", rows[:3]), o["reviewer"]))
    assert again.unchanged == 2 and again.imported == 0
    resend = handoff.create_batch(o["reviewer"], "2020-04", "refund", tmp_path)
    assert [x.record_id for x in resend.lines] == [a.id]  # the rejected record, sent again after fixing


def test_subsidy_batches_and_corrections(office, tmp_path, admin):
    o, r = office, office["residents"]

    def lst(people, name):
        return write_xlsx(tmp_path / name, [["姓名", "身份证号码"], *[[p.name, p.id_number] for p in people]])

    run(sg.import_special_list(lst(r[:3], "a.xlsx"), admin, year=2020, department="民政", group="低保对象"))
    batch = handoff.create_batch(o["reviewer"], "2020-02", "subsidy", tmp_path)
    assert batch.records == 3 and batch.total_fen == 30000 and batch.batch_no.endswith("DJ-01")
    assert (
        GovernmentPayment.select().where(GovernmentPayment.state == PAYMENT_PENDING).count() == 3
    )  # until sent
    handoff.mark_sent(o["reviewer"], batch.id)
    assert GovernmentPayment.select().where(GovernmentPayment.state == PAYMENT_SENT).count() == 3
    run(
        sg.import_special_list(
            lst([r[1], r[2], r[3]], "b.xlsx"),
            admin,
            year=2020,
            department="民政",
            group="低保对象",
            confirm_removals=True,
        )
    )
    removed = GovernmentPayment.get(GovernmentPayment.resident == r[0].id)
    assert removed.state == PAYMENT_CORRECTION
    march = handoff.create_batch(o["reviewer"], "2020-03", "subsidy", tmp_path)
    kinds = sorted((json.loads(x.values)[-3], x.amount_fen) for x in march.lines)
    assert kinds == [("冲正", -10000), ("正常", 10000)] and march.total_fen == 0
    handoff.mark_sent(o["reviewer"], march.id)
    assert GovernmentPayment.get_by_id(removed.id).state == PAYMENT_CORRECTED


def test_two_pcs_create_the_same_batch_on_postgres(pg_schema, admin, tmp_path):
    open_database(pg_schema.url)
    o = _office(admin, tmp_path)
    r = o["residents"]
    for n, resident in enumerate(r[:4]):
        paid_refund(o, resident, f"V{n}", dt.date(2020, 3, 5))
    second = auth.actor_of(auth.create_user(admin, "zhou", "password123", auth.REVIEWER))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def create(actor, folder):
        try:
            barrier.wait()
            handoff.create_batch(actor, "2020-03", "refund", folder)
            outcomes.append("won")
        except UserError as exc:
            outcomes.append(str(exc))
        finally:
            from dao.db import current

            current().close()

    threads = [
        threading.Thread(target=create, args=(a, tmp_path / n))
        for a, n in ((o["reviewer"], "pc1"), (second, "pc2"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(x == "won" for x in outcomes) == [False, True]
    assert HandoffBatch.select().count() == 1 and HandoffLine.select().count() == 4


DIE_AT = """
import os, signal, sys
from core import auth, handoff
from core.database import open_database
from dao.models import User
from reports import handoff_files
open_database(sys.argv[1])
def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)  # kill -9 at this very moment
if sys.argv[3] == "before-rename":  # the batch is committed, the files are still under temporary names
    handoff_files.Staged.commit = die
else:  # the workbook is written, the CSV not yet, nothing committed
    handoff_files.write_csv = die
handoff.create_batch(auth.actor_of(User.get(User.username == "shen")), "2020-03", "refund", sys.argv[2])
"""


@pytest.mark.parametrize("moment", ["while-writing", "before-rename"])
def test_a_kill_during_create_never_leaves_files_without_a_batch(tmp_path, admin, moment):
    """Files and batch appear together or not at all; the next handoff command (any) deals with the leftovers
    in the folders batches were written to, says so, and leaves no temporary file."""
    import os
    import subprocess
    import sys

    from core.database import close_database
    from tests.clirun import ROOT, cli

    url = f"sqlite:///{tmp_path / 'office.db'}"
    open_database(url)
    o = _office(admin, tmp_path)
    auth.create_user(admin, "boss", "password123", auth.ADMIN)
    paid_refund(o, o["residents"][0], "V1", dt.date(2020, 3, 5))
    close_database()
    out = tmp_path / "送税务"
    killed = subprocess.run([sys.executable, "-c", DIE_AT, url, str(out), moment], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)  # fmt: skip
    assert killed.returncode == -9, killed.stderr
    left = sorted(p.name for p in out.iterdir())
    assert left and all(name.endswith(".part") for name in left)  # nothing under a handoff file's name

    listed = cli("--db", url, "--user", "shen", "handoff", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    batches = json.loads(listed.stdout)
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.endswith(".part")]
    if moment == "while-writing":
        assert batches == [] and names == []
        assert "已删除上次中断的传递操作留下的临时文件 1 个" in listed.stderr and "并未生成" in listed.stderr
    else:
        number = batches[0]["batch"]
        assert names == sorted([f"{number}.csv", f"{number}.manifest.json", f"{number}.xlsx"])
        assert f"批次 {number} 已生成但文件未放好" in listed.stderr and "已在" in listed.stderr
        again = tmp_path / "again"
        assert (
            cli("--db", url, "--user", "shen", "handoff", "export", number, "--out", str(again)).returncode
            == 0
        )
        for name in names:
            assert (out / name).read_bytes() == (again / name).read_bytes()
    quiet = cli("--db", url, "--user", "shen", "handoff", "list")
    assert quiet.returncode == 0 and quiet.stderr == ""  # said once


def test_a_failed_create_leaves_no_part_file(office, tmp_path, monkeypatch):
    o, r = office, office["residents"]
    paid_refund(o, r[0], "V1", dt.date(2020, 3, 5))
    out = tmp_path / "out"

    def rename_fails(self):
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(handoff_files.Staged, "commit", rename_fails)
    with pytest.raises(UserError, match=r"已生成，但文件未能放入.*重新导出"):
        handoff.create_batch(o["reviewer"], "2020-03", "refund", out)
    assert list(out.iterdir()) == []
    monkeypatch.undo()
    assert HandoffBatch.select().count() == 1  # the batch stands: its files come from 重新导出
    assert len(handoff.export(o["reviewer"], HandoffBatch.get().batch_no, out)) == 2
