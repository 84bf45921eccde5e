"""Issue 13 at the command line: argument errors, special-enrol and refunds advance messages (SQLite; the
same core functions run on both databases in tests/test_notice_rules.py)."""

from __future__ import annotations

import json

import pytest

from tests.clirun import add_users, cli, office_db
from tests.fixtures import HEADER, person, write_xlsx


def _chinese_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in last), last
    return last


@pytest.fixture
def office(tmp_path):
    url = office_db(tmp_path)
    write_xlsx(tmp_path / "roster.xlsx", [HEADER, person(1), person(3), person(5)])
    assert cli("--db", url, "--user", "boss", "import-roster", str(tmp_path / "roster.xlsx")).returncode == 0
    add_users(url, [("li", "乡镇经办", "费城街道")])
    return url


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["handoff", "correct", "371325-202003-TF-01", "--lines", "a", "--reason", "错"], "“a”不是整数"),
        (["handoff", "correct", "371325-202003-TF-01", "--lines", "1,x2", "--reason", "错"], "“x2”不是整数"),
        (["assess-arrears", person(1)[1], "--years", "2017,二〇一八", "--tiers", "300,300"], "不是整数"),
        (["assess-arrears", person(1)[1], "--years", "2017", "--tiers", "三百"], "--tiers"),
        (["refunds", "advance", "1", "--to", "初审", "--on", "2020-13-01"], "不是有效的日期"),
        (["refunds", "advance", "1", "--to", "已退款", "--paid-on", "昨天"], "不是有效的日期"),
        (["refunds", "advance", "1", "--to", "初审", "--on", "2999-01-01"], "没有这个退费案件：1"),
        (["stats", "--year", "二〇二〇"], "不是有效的整数"),
        (["special-enrol", "abc"], "不是有效的整数"),
    ],
)
def test_argument_errors_are_one_chinese_line(office, args, fragment):
    line = _chinese_error(cli("--db", office, "--user", "li" if args[0] == "refunds" else "boss", *args))
    assert fragment in line


def test_special_enrol_names_the_entry(office, tmp_path):
    rows = [["姓名", "身份证号码", "乡镇", "人员类别"], [person(1)[0], person(1)[1], "费城街道", "农村低保"],
            ["新人", person(41)[1], "胡阳镇", "城市低保"]]  # fmt: skip
    listed = cli("--db", office, "--user", "boss", "import-special-list", str(write_xlsx(tmp_path / "l.xlsx", rows)),
                 "--year", "2020", "--department", "民政", "--json")  # fmt: skip
    assert listed.returncode == 0 and json.loads(listed.stdout)["errors"] == []
    pending = json.loads(
        cli("--db", office, "--user", "boss", "special-pending", "--year", "2020", "--json").stdout
    )
    (entry,) = [p["entry_id"] for p in pending]
    assert "没有这些名单记录：9999" in _chinese_error(
        cli("--db", office, "--user", "boss", "special-enrol", str(entry), "9999")
    )
    done = cli("--db", office, "--user", "boss", "special-enrol", str(entry))
    assert done.returncode == 0 and "已登记参保 1 人，已标识 1 人" in done.stdout
    again = _chinese_error(cli("--db", office, "--user", "boss", "special-enrol", str(entry)))
    assert f"记录 {entry}（新人）" in again and "未参保待处理" in again and "已标识" not in again


def test_refunds_advance_is_all_or_nothing(office, tmp_path):
    ledger = write_xlsx(tmp_path / "p.xlsx", [["身份证号码", "缴费年度", "缴费金额", "缴费日期", "税票号码", "缴费渠道"],
                                              *[[person(n)[1], 2020, 300, "2020-03-05", f"T{n}", "农商银行代收"]
                                                for n in (1, 3, 5)]])  # fmt: skip
    imported = json.loads(
        cli("--db", office, "--user", "boss", "import-contributions", str(ledger), "--json").stdout
    )
    assert imported["imported"] == 3  # 农商银行代收 is a bank channel, not cash
    cases = []
    for n in (1, 3, 5):
        made = cli("--db", office, "--user", "li", "refunds", "create", "--id-number", person(n)[1], "--vouchers",
                   f"T{n}", "--reason", "重复缴费", "--account-name", "户名", "--account-no", "6228", "--bank", "农行",
                   "--on", "2020-03-20", "--json")  # fmt: skip
        assert made.returncode == 0, made.stderr
        cases.append(json.loads(made.stdout)["case_no"])
    assert cli("--db", office, "--user", "li", "refunds", "advance", cases[1], "--to", "撤销").returncode == 0
    line = _chinese_error(cli("--db", office, "--user", "li", "refunds", "advance", *cases, "--to", "初审"))
    assert cases[1] in line and "3 件均未办理" in line
    states = {r["case_no"]: r["state"] for r in json.loads(cli("--db", office, "--user", "li", "refunds", "list",
                                                               "--json").stdout)}  # fmt: skip
    assert states == {cases[0]: "已受理", cases[1]: "已撤销", cases[2]: "已受理"}
    moved = cli("--db", office, "--user", "li", "refunds", "advance", cases[0], cases[2], "--to", "初审", "--on",
                "2020-03-26")  # fmt: skip
    assert moved.returncode == 0 and moved.stdout.count("报送批次 2020-04") == 2  # the 25th follows --on


def test_group_option_takes_the_departments_spellings(office, tmp_path):
    path = write_xlsx(tmp_path / "l.xlsx", [["姓名", "身份证号码"], [person(1)[0], person(1)[1]]])
    ok = cli("--db", office, "--user", "boss", "import-special-list", str(path), "--year", "2020", "--department",
             "民政", "--group", "农村低保", "--json")  # fmt: skip
    assert ok.returncode == 0 and json.loads(ok.stdout)["imported"] == 1
    bad = _chinese_error(cli("--db", office, "--user", "boss", "import-special-list", str(path), "--year", "2020",
                             "--department", "民政", "--group", "低保边缘户"))  # fmt: skip
    assert "民政的名单只能是" in bad and "低保边缘户" in bad
