"""ID numbers survive a CSV export → spreadsheet → import round trip (both databases)."""

from __future__ import annotations

import csv
import datetime as dt

from core import roster, roster_import
from core.progress import run
from dao.models import Resident
from reports.tables import write_table
from tests.fixtures import HEADER, person, write_xlsx

AS_OF = dt.date(2020, 1, 15)


def _import(path, actor):
    return run(roster_import.import_roster(path, actor, as_of=AS_OF))


def test_csv_export_keeps_ids_as_text_and_reads_them_back(db, admin, tmp_path):
    people = [[*person(n)[:6], f"0539{n:07d}"] for n in range(1, 41)]
    _import(write_xlsx(tmp_path / "in.xlsx", [HEADER, *people]), admin)
    out = tmp_path / "roster.csv"
    assert run(roster.export(admin, out)) == 40
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    ids = {p[1] for p in people}
    # the ="…" form a spreadsheet evaluates to text: no 3.71325E+17, the phone keeps its leading 0
    assert {r[0] for r in rows[1:]} == {f'="{i}"' for i in ids}
    assert all(r[6].startswith('="0539') for r in rows[1:])
    assert rows[1][1] in {p[0] for p in people}  # other columns as they were

    report = _import(out, admin)  # the exported file read back as it is
    assert report.rejected == 0 and report.unchanged == 40 and not report.errors
    assert {r.id_number for r in Resident.select()} == ids
    assert Resident.select().where(Resident.phone.startswith("0539")).count() == 40

    # A spreadsheet that opened it and saved it as CSV again writes the text it shows: plain digits.
    resaved = tmp_path / "resaved.csv"
    resaved.write_text(
        out.read_text(encoding="utf-8-sig").replace('"=""', "").replace('"""', ""), encoding="utf-8-sig"
    )
    assert '="' not in resaved.read_text(encoding="utf-8-sig")
    report = _import(resaved, admin)
    assert report.rejected == 0 and report.unchanged == 40


def test_only_digit_strings_in_text_columns_take_the_text_form(tmp_path):
    out = tmp_path / "t.csv"
    write_table(out, ["号码", "名称", "金额"], [["37132519900101123X", "=1+1", 300], ["", "0101", "0101"]],
                text_columns=[0, 1])  # fmt: skip
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1] == [
        '="37132519900101123X"',
        "'=1+1",
        "300",
    ]  # a formula in a text column is still neutralised
    assert rows[2] == ["", '="0101"', "0101"]
