"""The command line: Chinese help, set-up commands, exit codes and messages on bad input."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.clirun import TEST_PASSWORD, add_users, cli, office_db
from tests.fixtures import HEADER, person, write_xlsx


def test_help_is_chinese():
    result = cli("--help")
    assert result.returncode == 0
    assert "用法" in result.stdout and "import-roster" in result.stdout and "显示本帮助" in result.stdout
    sub = cli("import-roster", "--help")
    assert "--dry-run" in sub.stdout and "不写入数据库" in sub.stdout


def test_unknown_argument_is_reported_in_chinese():
    result = cli("import-roster")
    assert result.returncode == 2 and "缺少必需的参数" in result.stderr


def test_init_create_user_and_demo(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert cli("--db", url, "init-db").returncode == 0
    made = cli(
        "--db", url, "create-user", "boss", "--role", "管理员", "--password-stdin", input="password123\n"
    )
    assert made.returncode == 0, made.stderr
    again = cli("--db", url, "--user", "boss", "create-user", "x", "--role", "乡镇经办", "--password-stdin",
                input="password123\n")  # fmt: skip
    assert again.returncode == 2 and "必须指定所属乡镇" in again.stderr
    demo = cli("--db", url, "--user", "boss", "demo-data", "--residents", "400")
    assert demo.returncode == 0, demo.stderr
    counts = json.loads(demo.stdout.splitlines()[0])
    assert counts["townships"] == 12 and counts["residents"] == 400 and counts["contributions"] > 400
    assert "jingban01" in demo.stdout
    assert counts["government_paid"] > 0 and (tmp_path / "handoff-demo").is_dir()  # 代缴 sent and collected
    stats = json.loads(cli("--db", url, "--user", "boss", "stats", "--year", "2020", "--json").stdout)
    total = stats["areas"][-1]
    assert (
        total["this_year"]["government"] > 0 and total["this_year"]["payers"] > total["last_year"]["payers"]
    )
    second = cli("--db", url, "--user", "boss", "demo-data")
    assert second.returncode == 2 and "已有居民数据" in second.stderr


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("oracle://x/y", "无法识别的数据库地址"),
        ("postgresql://postgres@127.0.0.1:1/test", "无法连接数据库服务器"),
    ],
)
def test_bad_database_exits_nonzero_without_traceback(url, fragment):
    result = cli("--db", url, "init-db")
    assert result.returncode != 0
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_corrupt_file_untouched(tmp_path):
    path = tmp_path / "bad.db"
    path.write_bytes(b"garbage" * 50)
    result = cli("--db", f"sqlite:///{path}", "init-db")
    assert result.returncode == 3 and "已损坏" in result.stderr and "Traceback" not in result.stderr
    assert path.read_bytes() == b"garbage" * 50


def test_data_changes_record_the_acting_user(tmp_path):
    url = office_db(tmp_path, "a.db")
    add_users(url, [("li", "管理员", None)])
    assert cli("--db", url, "--user", "LI", "demo-data", "--residents", "50").returncode == 0
    con = sqlite3.connect(tmp_path / "a.db")
    users = {r[0] for r in con.execute("SELECT username FROM audit_log WHERE action = 'demo_data'")}
    con.close()
    assert users == {"li"}  # the user's own spelling, whatever case was typed


def test_special_list_cli_json_and_exports(tmp_path):
    from openpyxl import Workbook

    from tests.fixtures import HEADER, person, write_xlsx

    url = office_db(tmp_path, "s.db")
    write_xlsx(tmp_path / "roster.xlsx", [HEADER, person(1), person(3)])
    assert (
        cli(
            "--db", url, "--user", "boss", "import-roster", str(tmp_path / "roster.xlsx"), "--json"
        ).returncode
        == 0
    )
    wb = Workbook()
    wb.active.append(["姓名", "身份证号码"])
    wb.active.append([person(1)[0], person(1)[1]])
    wb.active.append(["新人", person(5)[1]])
    wb.save(tmp_path / "cl.xlsx")
    result = cli("--db", url, "--user", "boss", "import-special-list", str(tmp_path / "cl.xlsx"), "--year", "2020",
                 "--department", "残联", "--group", "重度残疾人", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"rows", "imported", "updated", "unchanged", "rejected", "errors", "warnings", "updates",
                         "scope", "removals", "needs_confirmation", "written", "lists"}  # fmt: skip
    assert data["rows"] == 2 and data["imported"] == 2 and data["warnings"][0]["code"] == "NOT_IN_ROSTER"
    assert data["warnings"][0]["row"] == 3
    missing = cli("--db", url, "--user", "boss", "import-special-list", str(tmp_path / "cl.xlsx"), "--year", "2020",
                  "--department", "民政")  # fmt: skip
    assert missing.returncode == 2 and "人员类别" in missing.stderr
    for name in ("d.xlsx", "d.pdf"):
        out = cli(
            "--db", url, "--user", "boss", "export-subsidy-list", "--year", "2020", str(tmp_path / name)
        )
        assert out.returncode == 0 and "1 人" in out.stdout
    pending = cli("--db", url, "--user", "boss", "special-pending", "--year", "2020", "--json")
    entries = json.loads(pending.stdout)
    assert len(entries) == 1 and entries[0]["name"] == "新人"
    enrol = cli(
        "--db", url, "--user", "boss", "special-enrol", str(entries[0]["entry_id"]), "--township", "上冶镇"
    )
    assert enrol.returncode == 0 and "1 人" in enrol.stdout


def test_refund_handoff_and_stats_commands(tmp_path):
    """The CLI contracts of issues 6-9, end to end on one database."""
    from tests.fixtures import HEADER, person, write_xlsx

    url = office_db(tmp_path, "flow.db")
    write_xlsx(tmp_path / "roster.xlsx", [HEADER, person(1), person(3)])
    assert cli("--db", url, "--user", "boss", "import-roster", str(tmp_path / "roster.xlsx")).returncode == 0
    for name, role, town in (("li", "乡镇经办", "费城街道"), ("shen", "县局审核", ""), ("cai", "财务", "")):
        args = ["--db", url, "--user", "boss", "create-user", name, "--role", role, "--password-stdin"]
        made = cli(*args, *(["--township", town] if town else []), input=f"{TEST_PASSWORD}\n")
        assert made.returncode == 0, made.stderr
    ledger = write_xlsx(tmp_path / "ledger.xlsx", [["身份证号码", "缴费年度", "缴费金额", "缴费日期", "税票号码", "缴费渠道"],
                                                   [person(1)[1], 2020, 500, "2020-01-05", "T1", "支付宝"],
                                                   [person(1)[1], 2020, 500, "2020-01-06", "T2", "农业银行"]])  # fmt: skip
    imported = json.loads(
        cli("--db", url, "--user", "boss", "import-contributions", str(ledger), "--json").stdout
    )
    assert imported["imported"] == 2 and {w["code"] for w in imported["warnings"]} == {"DUPLICATE_PAYMENT"}

    made = cli("--db", url, "--user", "li", "refunds", "create", "--id-number", person(1)[1], "--vouchers", "T2",
               "--reason", "重复缴费", "--account-name", "居民1", "--account-no", "6228", "--bank", "农行", "--json")  # fmt: skip
    assert made.returncode == 0, made.stderr
    case = json.loads(made.stdout)["case_no"]
    nobody = cli("--db", url, "--user", "nobody", "refunds", "advance", case, "--to", "初审")
    assert nobody.returncode == 2 and "用户名或密码不正确" in nobody.stderr
    assert cli("--db", url, "--user", "li", "refunds", "advance", case, "--to", "初审").returncode == 0
    same = cli("--db", url, "--user", "li", "refunds", "advance", case, "--to", "复核通过")
    assert same.returncode == 2 and "县局审核" in same.stderr
    assert cli("--db", url, "--user", "shen", "refunds", "advance", case, "--to", "复核通过").returncode == 0
    waiting = json.loads(cli("--db", url, "--user", "boss", "refunds", "list", "--json").stdout)[0][
        "fund_month"
    ]
    empty = cli("--db", url, "--user", "cai", "refunds", "fund-request", "--month", "2001-01",
                str(tmp_path / "fund.pdf"))  # fmt: skip
    assert empty.returncode == 2 and not (tmp_path / "fund.pdf").exists()  # no empty form reading 零元整
    assert "2001-01 没有复核通过的退费案件" in empty.stderr and f"{waiting}（1 件）" in empty.stderr
    paid = cli(
        "--db", url, "--user", "cai", "refunds", "advance", case, "--to", "已退款", "--bank-ref", "NB1"
    )
    assert paid.returncode == 0, paid.stderr
    listed = json.loads(cli("--db", url, "--user", "boss", "refunds", "list", "--json").stdout)
    assert listed[0]["state"] == "已退款" and listed[0]["amount"] == "500.00"
    assert (
        cli("--db", url, "--user", "boss", "refunds", "print", case, str(tmp_path / "sheet.pdf")).returncode
        == 0
    )

    month = listed[0]["fund_month"]
    out = tmp_path / "handoff"
    created = cli(
        "--db", url, "--user", "shen", "handoff", "create", "--month", month, "--kind", "refund", "--out", str(out),
        "--json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    batch = json.loads(created.stdout)
    assert batch["records"] == 1 and batch["total"] == "500.00"
    again = cli(
        "--db", url, "--user", "boss", "handoff", "export", batch["batch"], "--out", str(tmp_path / "again")
    )
    assert again.returncode == 0
    for name in batch["files"]:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes()
    assert cli("--db", url, "--user", "shen", "handoff", "mark-sent", batch["batch"]).returncode == 0
    con = sqlite3.connect(tmp_path / "flow.db")
    assert con.execute("SELECT created_by, sent_by FROM handoff_batch").fetchone() == ("shen", "shen")
    con.close()
    feedback = write_xlsx(tmp_path / "fb.xlsx", [["批次号", "序号", "处理结果"], [batch["batch"], 1, "成功"]])
    fb = json.loads(
        cli("--db", url, "--user", "shen", "handoff", "import-feedback", str(feedback), "--json").stdout
    )
    assert fb["imported"] == 1 and fb["rejected"] == 0

    stats = json.loads(cli("--db", url, "--user", "boss", "stats", "--year", "2020", "--json").stdout)
    assert (
        stats["areas"][-1]["this_year"]["payers"] == 1
        and stats["areas"][-1]["this_year"]["amount"] == "1000.00"
    )
    assert cli("--db", url, "--user", "boss", "backup", str(tmp_path / "b.db")).returncode == 0
    restored = cli(
        "--db", url, "--user", "boss", "restore", str(tmp_path / "b.db")
    )  # no terminal: the command confirms
    assert restored.returncode == 0 and "另存为" in restored.stdout
    assert cli("--db", url, "--user", "boss", "restore", str(tmp_path / "b.db"), "--yes").returncode == 0


def test_restore_asks_on_a_terminal(tmp_path, monkeypatch, capsys):
    from main import main

    url = office_db(tmp_path)
    monkeypatch.setenv("PENSION_PASSWORD", TEST_PASSWORD)
    assert main(["--db", url, "--user", "boss", "backup", str(tmp_path / "b.db")]) == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["--db", url, "--user", "boss", "restore", str(tmp_path / "b.db")]) == 2
    assert "未确认" in capsys.readouterr().err
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert main(["--db", url, "--user", "boss", "restore", str(tmp_path / "b.db")]) == 0


def test_files_that_cannot_be_written_or_found_get_chinese_messages(tmp_path):
    import errno

    from core.errors import os_error_message

    url = office_db(tmp_path)
    missing = tmp_path / "没有这个文件夹"
    backup = cli("--db", url, "--user", "boss", "backup", str(missing / "b.db"))
    assert backup.returncode == 2 and "备份文件夹不存在" in backup.stderr and "Traceback" not in backup.stderr
    restore = cli("--db", url, "--user", "boss", "restore", str(tmp_path / "无.db"))
    assert restore.returncode == 2 and "找不到备份文件" in restore.stderr
    export = cli("--db", url, "--user", "boss", "export-arrears", str(missing / "a.xlsx"))
    assert export.returncode == 2 and f"文件无法读写：{missing}（文件或文件夹不存在）" in export.stderr
    # the writers' temporary name is not what the clerk chose: the message names the folder instead
    busy = PermissionError(errno.EACCES, "Permission denied", "/单位/共享/.清单.xlsx.abc123.part")
    assert (
        os_error_message(busy)
        == "文件无法读写：/单位/共享（没有权限：文件可能正在 Excel/WPS 中打开，或文件夹只读）"
    )


def test_output_paths_are_checked_before_anything_is_written(tmp_path):
    """import-roster … --error-report /missing/dir/err.xlsx used to commit the import, then fail."""
    url = office_db(tmp_path)
    roster = write_xlsx(
        tmp_path / "r.xlsx", [HEADER, person(1), person(3), ["坏行", "123", "", "", "", "", ""]]
    )
    missing = tmp_path / "没有这个文件夹" / "err.xlsx"
    result = cli("--db", url, "--user", "boss", "import-roster", str(roster), "--error-report", str(missing))
    assert (
        result.returncode == 2 and "文件或文件夹不存在" in result.stderr and "未做任何改动" in result.stderr
    )
    con = sqlite3.connect(tmp_path / "office.db")
    assert con.execute("SELECT COUNT(*) FROM resident").fetchone()[0] == 0
    assert con.execute("SELECT COUNT(*) FROM import_log").fetchone()[0] == 0
    con.close()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    handoff = cli("--db", url, "--user", "boss", "handoff", "create", "--month", "2020-03", "--kind", "refund",
                  "--out", str(blocker / "sub"))  # fmt: skip
    assert handoff.returncode == 2 and "Traceback" not in handoff.stderr
    ok = cli(
        "--db",
        url,
        "--user",
        "boss",
        "import-roster",
        str(roster),
        "--error-report",
        str(tmp_path / "err.xlsx"),
    )
    assert ok.returncode == 0 and (tmp_path / "err.xlsx").exists()
