"""Issue 21 at the command line (SQLite; the same core calls run on both databases in test_residents.py):
resident register / show / change / move / status, refusals as exit 2 with one Chinese line, --json shapes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from core import idcard
from tests.clirun import add_users, cli, office_db
from tests.fixtures import HEADER, person, write_xlsx

NEW = idcard.make("371325", dt.date(1975, 8, 9), 21)


def _refused(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and any("\u4e00" <= ch <= "\u9fff" for ch in lines[0]), lines
    return lines[0]


@pytest.fixture
def office(tmp_path):
    url = office_db(tmp_path)
    write_xlsx(tmp_path / "roster.xlsx", [HEADER, person(1), person(3, township="上冶镇")])
    assert cli("--db", url, "--user", "boss", "import-roster", str(tmp_path / "roster.xlsx")).returncode == 0
    add_users(url, [("li", "乡镇经办", "费城街道"), ("shen", "县局审核", None)])
    return url


def run(url, user, *args):
    return cli("--db", url, "--user", user, "resident", *args)


def test_register_show_and_print(office, tmp_path):
    pdf = tmp_path / "form.pdf"
    out = run(office, "li", "register", "--id-number", NEW, "--name", "王 五", "--township", "费城街道",
              "--village", "东王庄村", "--phone", "0539-5021234", "--on", "2020-03-02", "--pdf", str(pdf))  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "已登记：王五" in out.stdout and "2020-03-02" in out.stdout
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    for fragment in ("参保登记表", "王五", NEW, "1975-08-09", "东王庄村", "0539-5021234",
                     "2020 年度缴费档次", "5000 元", "仅限缴费困难群体", "山东税务社保费缴纳", "临商银行",
                     "参保人签字", "经办人：li", "2020年03月02日"):  # fmt: skip
        assert fragment in text, fragment
    shown = json.loads(run(office, "li", "show", NEW, "--json").stdout)
    assert (shown["name"], shown["status"], shown["enrolled_on"], shown["phone"]) == (
        "王五", "正常参保", "2020-03-02", "0539-5021234"
    )  # fmt: skip
    assert [h["kind"] for h in shown["history"]] == ["参保登记"] and shown["payments"] == []
    assert "参保状态 正常参保" in run(office, "li", "show", NEW).stdout


def test_register_refusals_by_code(office):
    young = idcard.make("371325", dt.date(2004, 1, 1), 23)  # 16 on 2020-01-01
    for args, code in (
        (
            ["--id-number", young, "--name", "小", "--township", "费城街道", "--on", "2019-12-31"],
            "AGE_UNDER_16",
        ),
        (["--id-number", NEW, "--name", "王五", "--township", "费城街道", "--student"], "STUDENT"),
        (
            ["--id-number", NEW, "--name", "王五", "--township", "费城街道", "--other-pension"],
            "OTHER_PENSION",
        ),
        (
            ["--id-number", NEW, "--name", "王五", "--township", "费城街道", "--phone", "1234abc"],
            "PHONE_INVALID",
        ),
        (["--id-number", NEW, "--name", "王五", "--township", "上冶镇"], "TOWNSHIP_OUT_OF_SCOPE"),
        (["--id-number", NEW[:17] + "Y", "--name", "王五", "--township", "费城街道"], "ID_FORMAT"),
    ):
        result = run(office, "li", "register", *args, "--json")
        line = _refused(result)
        data = json.loads(result.stdout)
        assert data["resident_id"] is None and [e["code"] for e in data["errors"]] == [code], data
        assert line.startswith("错误：未登记")
    existing = run(office, "boss", "register", "--id-number", person(1)[1], "--name", "某", "--township",
                   "费城街道", "--json")  # fmt: skip
    line = _refused(existing)
    data = json.loads(existing.stdout)
    assert data["errors"][0]["code"] == "ALREADY_REGISTERED" and data["resident_id"] == 1
    assert person(1)[0] in line  # names the person


def test_change_move_and_status(office):
    number = person(1)[1]
    line = _refused(run(office, "li", "change", number, "--field", "name", "--value", "新名"))
    assert "原因" in line
    out = run(office, "li", "change", number, "--field", "name", "--value", "新名", "--reason", "更正",
              "--id-card-seen", "--json")  # fmt: skip
    assert json.loads(out.stdout) == {"resident_id": 1, "field": "name", "old": person(1)[0], "new": "新名"}
    other = _refused(run(office, "li", "change", person(3)[1], "--field", "phone", "--value", "13900000000"))
    assert "本乡镇" in other
    assert "县局" in _refused(run(office, "li", "move", number, "--township", "上冶镇", "--reason", "迁居"))
    out = run(office, "shen", "move", number, "--township", "上冶镇", "--village", "后村", "--reason", "迁居",
              "--on", "2020-04-01")  # fmt: skip
    assert out.returncode == 0 and "上冶镇后村" in out.stdout
    out = run(
        office, "shen", "status", number, "--to", "终止", "--reason", "死亡", "--on", "2020-05-01", "--json"
    )
    assert json.loads(out.stdout) == {"status": "终止", "subsidy_removed": [], "subsidy_restored": [],
                                      "refund_candidates": [], "arrears_voided": []}  # fmt: skip
    assert "原因应为" in _refused(run(office, "shen", "status", number, "--to", "暂停", "--reason", "搬家"))
    shown = json.loads(run(office, "shen", "show", number, "--json").stdout)
    assert [h["kind"] for h in shown["history"]] == ["导入", "信息变更", "转移", "参保状态"]
    assert shown["status"] == "终止"
