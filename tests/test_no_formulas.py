"""No cell the program writes is a live formula: every spreadsheet and CSV writer, fed text starting with
= + - @ in every text field, writes it as text (issue 15: the subsidy list's 汇总 sheet wrote =HYPERLINK)."""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

from openpyxl import load_workbook

from reports import error_workbook, handoff_files, refund_forms, subsidy_list, tables, worklist_files

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ['=HYPERLINK("http://evil.example/","点我")', "+1+1", "-2+3", "@SUM(A1:A9)", "=1+1"]
TRIGGERS = ("=", "+", "-", "@")
WALKED = {"tables", "subsidy_list", "refund_forms", "error_workbook", "handoff_files", "worklist_files"}


def evil(n: int) -> str:
    return HOSTILE[n % len(HOSTILE)]


def assert_inert_xlsx(path: Path) -> int:
    wb = load_workbook(path)
    checked = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (
                    f"{path.name}!{ws.title}!{cell.coordinate} is a formula: {cell.value}"
                )
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(TRIGGERS), f"{path.name}!{ws.title}!{cell.coordinate}"
                    checked += 1
    return checked


# Allowed at the start of a CSV field: a number (a negative amount) and the ID-as-text form ="371325…", a
# constant that refers to nothing (issue 17: Excel would otherwise round an 18-digit ID to 15 digits).
INERT = re.compile(r'-?[0-9]+(\.[0-9]+)?|="[0-9]+[Xx]?"')


def assert_inert_csv(path: Path) -> None:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for line in csv.reader(fh):
            for field in line:
                assert INERT.fullmatch(field) or not field.startswith(TRIGGERS), f"{path.name}: {field}"


def test_every_writer_writes_hostile_text_as_text(tmp_path):
    # plain tables (roster, arrears, audit and statistics exports), both formats, with a title
    rows = [[evil(i), evil(i + 1), "371325199001010011", 12] for i in range(5)]
    for name in ("t.csv", "t.xlsx"):
        tables.write_table(tmp_path / name, [evil(0), "姓名", "身份证号码", "数"], rows, text_columns=[2])
    tables.write_table(tmp_path / "titled.xlsx", ["a"], [[evil(3)]], title=evil(0))
    assert_inert_csv(tmp_path / "t.csv")
    assert assert_inert_xlsx(tmp_path / "t.xlsx") >= 10
    assert_inert_xlsx(tmp_path / "titled.xlsx")

    # 政府代缴 list: detail and 汇总 sheets (village and township names come from imported files)
    detail = [(evil(i), evil(i + 1), "371325199001010011", evil(i + 2), "男", evil(i + 3), 10000, "待传递")
              for i in range(4)]  # fmt: skip
    summary = [(evil(0), evil(1), 2, 20000), (evil(0), "", 2, 20000), (evil(2), evil(3), 2, 20000)]
    subsidy_list.write_xlsx(tmp_path / "s.xlsx", evil(0), detail, summary)
    wb = load_workbook(tmp_path / "s.xlsx")
    assert wb["汇总"]["A2"].value == "'" + evil(0) and wb["汇总"]["A2"].data_type == "s"
    assert_inert_xlsx(tmp_path / "s.xlsx")

    # the fund request to finance: payees and the per-township sheet
    payees = [(evil(i), evil(i + 1), evil(i + 2), "6228", evil(i + 3), "371325199001010011", evil(i), 30000)
              for i in range(3)]  # fmt: skip
    refund_forms.write_fund_request_xlsx(tmp_path / "f.xlsx", evil(0), [(evil(1), 2, 60000)], payees)
    assert_inert_xlsx(tmp_path / "f.xlsx")

    # an import's error workbook: the rejected cells as the sender typed them
    rejected = [error_workbook.RejectedRow(3, [evil(0), evil(1), evil(2)], [(0, "NAME_MISSING", evil(4))])]
    error_workbook.write_error_workbook(
        tmp_path / "e.xlsx", [evil(0), "b", "c"], rejected, source_name=evil(1)
    )
    assert_inert_xlsx(tmp_path / "e.xlsx")

    # the 征缴进度 work lists: names, villages and phone numbers as the roster holds them
    people = [
        [i, evil(i), evil(i + 1), evil(i + 2), "371325199001010011", evil(i + 3), "300.00"] for i in range(4)
    ]
    worklist_files.write_xlsx(tmp_path / "w.xlsx", [
        worklist_files.Sheet("村居汇总", evil(1), [evil(2), "村居"], [[evil(3), evil(4)]], [10, 10]),
        worklist_files.Sheet("名单", evil(2), ["序号", "乡镇", "村居", "姓名", "身份证号码", "联系电话", "档次"], people,
                             [6] * 7, (4, 5), evil(3)),
    ])  # fmt: skip
    assert assert_inert_xlsx(tmp_path / "w.xlsx") >= 20

    # the tax handoff files
    columns = ["序号", "社会保障号码", "姓名", "退费原因"]
    lines = [[1, "371325199001010011", evil(0), evil(1)], [2, "371325199001010029", evil(2), evil(3)]]
    files = handoff_files.write_batch(tmp_path / "h", "371325-202003-TF-01", evil(0), columns, lines, {},
                                      dt.datetime(2020, 3, 1, 8, 0))  # fmt: skip
    for name in files:
        path = tmp_path / "h" / name
        assert_inert_xlsx(path) if name.endswith(".xlsx") else assert_inert_csv(path)


def test_no_writer_is_left_out_of_that_walk():
    """A new spreadsheet or CSV writer must join the walk above (demo.py writes the demo's input files)."""
    writers = set()
    for folder in ("reports", "core", "cli", "gui"):
        for source in (ROOT / folder).glob("*.py"):
            if source.stem != "demo" and re.search(
                r"\bWorkbook\(|csv\.writer\(", source.read_text(encoding="utf-8")
            ):
                writers.add(source.stem)
    assert writers == WALKED
