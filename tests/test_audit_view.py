"""The audit viewer in Chinese: action names, objects by their business keys, details as readable lines; the
import progress counts data rows."""

from __future__ import annotations

from core import audit_view, auth, refunds
from core.progress import Progress
from dao.models import Contribution, Resident
from tests.conftest import township_id
from tests.fixtures import HEADER, person, write_xlsx
from tests.test_roster_import import do_import


def test_audit_lines_speak_chinese(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c = Contribution.create(resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="V1")
    clerk = auth.actor_of(
        auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办")
    )
    case = refunds.create(
        clerk, refunds.NewCase(r.id, [c.id], [30000], "重复缴费", r.name, "6228", "农行", ["退费申请"])
    )
    refunds.advance(clerk, case.id, "初审")
    lines = audit_view.entries(admin)
    passed = next(line for line in lines if line.action == "初审")
    assert passed.target == f"退费案件 {case.case_no}" and passed.user == "李经办（li）"
    assert "状态：已受理 → 已初审" in passed.details.splitlines()
    created = next(line for line in lines if line.action == "新建" and line.target.startswith("用户"))
    assert created.target == "用户 李经办（li）" and "{" not in created.details
    assert all("refund_case" not in line.target for line in lines)


def test_import_progress_counts_data_rows(db, admin, tmp_path):
    from core import roster_import
    from core.progress import run

    path = write_xlsx(tmp_path / "r.xlsx", [HEADER, *[person(n) for n in range(1, 40, 2)]])
    ticks: list[Progress] = []
    run(roster_import.import_roster(path, admin), ticks.append)
    assert max(t.total for t in ticks) == 20 and ticks[-1].done == 20  # 20 people, not 21 file rows


def test_every_detail_the_program_records_has_a_chinese_label():
    """The keys core writes into audit details (literal dicts, and the counts of the demo, the region import
    and a status change) all have a label: the viewer never shows an English field name."""
    import re
    from pathlib import Path

    from core import residents

    core_dir = Path(audit_view.__file__).parent
    keys: set[str] = set()
    for source in core_dir.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for literal in re.findall(r"(?:before|after)=\{([^}]*)\}", text):
            keys |= set(re.findall(r'"([a-z_]+)":', literal))
    keys |= {
        "arrears",
        "government_paid",
        "government_payments",
        "refunds",
        "residents",
        "contributions",
        "users",
    }
    keys |= {"townships", "villages", "rows"}
    keys |= set(residents.StatusOutcome("正常参保").as_json())
    assert len(keys) > 40
    assert sorted(k for k in keys if k not in audit_view.FIELDS) == []


def test_lists_name_users_by_their_display_names(db, admin, tmp_path):
    from core import imports
    from core import residents as residents_core

    clerk = auth.actor_of(
        auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道"), "李经办")
    )
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), clerk)
    [row] = imports.history(admin)
    assert (row.username, row.user_name) == ("li", "李经办")
    assert imports.get(admin, row.import_id).user_name == "李经办"
    r = Resident.get()
    residents_core.change(clerk, r.id_number, "phone", "13900000001", reason="本人来电")
    assert [h.user_name for h in residents_core.history(admin, r.id) if h.username == "li"][-1] == "李经办"
    assert auth.display_names(["li", "gone", ""]) == {"li": "李经办", "gone": "gone"}


def test_a_payout_is_audited_with_its_bank_reference(db, admin, tmp_path):
    do_import(write_xlsx(tmp_path / "r.xlsx", [HEADER, person(1)]), admin)
    r = Resident.get()
    c = Contribution.create(resident=r.id, year=2020, amount_fen=30000, tier_fen=30000, voucher="V1")
    clerk = auth.actor_of(auth.create_user(admin, "li", "password123", auth.CLERK, township_id("费城街道")))
    reviewer = auth.actor_of(auth.create_user(admin, "shen", "password123", auth.REVIEWER))
    case = refunds.create(
        clerk, refunds.NewCase(r.id, [c.id], [30000], "重复缴费", r.name, "6228", "农行", ["退费申请"])
    )
    refunds.advance(clerk, case.id, "初审")
    refunds.advance(reviewer, case.id, "复核通过")
    refunds.advance(admin, case.id, "已退款", bank_ref=" NB0001 ")
    paid = next(line for line in audit_view.entries(admin) if line.action == "已退款")
    assert "银行流水号：NB0001" in paid.details.splitlines() and "说明" not in paid.details
    from dao.models import RefundEvent

    last = RefundEvent.select().where(RefundEvent.case == case.id).order_by(RefundEvent.id.desc()).get()
    assert last.note == "NB0001"  # the case's history shows the reference as the step's note
