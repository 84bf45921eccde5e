"""征缴进度 work lists on both databases: 未续缴 and 补缴动员 at their boundaries, scoping, the CLI."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
from openpyxl import load_workbook

from core import arrears, auth, idcard, worklists
from core.auth import FINANCE, Actor
from core.database import close_database, open_database
from core.errors import PermissionDenied, UserError
from dao.models import ENTRY_MATCHED, Contribution, Resident, SpecialList, SpecialListEntry
from tests.clirun import TEST_PASSWORD, add_users, cli, office_db
from tests.conftest import clerk_of, township_id
from tests.fixtures import person, write_xlsx
from tests.test_roster_import import do_import

Y = 2020
ROSTER_HEADER = ["姓名", "身份证号码", "性别", "出生日期", "乡镇", "村居", "联系电话", "是否在校学生"]
BORN = dt.date(1980, 5, 17)
# name -> (n, birth date, township, village)
PEOPLE = {
    "A": (1, BORN, "费城街道", "东村"),  # paid 2019 personally, not 2020: lapsed
    "B": (3, BORN, "费城街道", "东村"),  # paid 2019 by 政府代缴 only: lapsed
    "C": (5, BORN, "费城街道", "东村"),  # paid both years: renewed
    "D": (7, dt.date(1960, 6, 1), "费城街道", "西村"),  # turns 60 in 2020; paid 2006-2019 (14 years)
    "E": (9, dt.date(1961, 3, 1), "费城街道", "东村"),  # turns 59 in 2020: still a paying year
    "F": (11, BORN, "费城街道", "东村"),  # flagged 低保 for 2020: the government's to pay
    "G": (13, BORN, "费城街道", "东村"),  # pays 2020 after the list was made
    "H": (15, BORN, "上冶镇", "南村"),  # another township
    "I": (17, BORN, "费城街道", "东村"),  # never paid 2019
    "J": (19, BORN, "费城街道", "东村"),  # terminated (终止)
    "K": (21, BORN, "费城街道", "东村"),  # 2019 paid by an arrears payment (补缴) only
    "S1": (31, dt.date(1970, 5, 1), "费城街道", "西村"),  # paid 2015-2018: 4 + 10 ahead = 14
    "S2": (33, dt.date(1970, 5, 1), "费城街道", "西村"),  # paid 2015-2019: exactly 15 reachable
    "S4": (37, dt.date(1975, 1, 1), "费城街道", "西村"),  # 45 on 1 January, nothing paid: 15 ahead
    "S5": (39, dt.date(1965, 3, 3), "费城街道", "西村"),  # 2016-17 normal, 2014-15 补缴, declares 2018
    "S6": (41, dt.date(1970, 5, 1), "费城街道", "西村"),  # paid 2015-2017 and 2020
    "S7": (43, dt.date(1975, 1, 2), "费城街道", "西村"),  # 44 on 1 January: not in the audience
    "H2": (45, dt.date(1970, 5, 1), "上冶镇", "南村"),  # another township's short resident
}
STUDENT = idcard.make("371325", dt.date(2002, 3, 3), 71)


def build_county(admin, tmp_path) -> dict[str, Resident]:
    rows = [ROSTER_HEADER]
    for n, born, town, village in PEOPLE.values():
        rows.append([*person(n, born=born, township=town, village=village), ""])
    rows.append(["学生甲", STUDENT, "男", "2002-03-03", "费城街道", "东村", "", "是"])  # refused: a student
    report = do_import(write_xlsx(tmp_path / "roster.xlsx", rows), admin)
    assert report.imported == len(PEOPLE)
    r = {
        key: Resident.get(Resident.id_number == person(n, born=born)[1])
        for key, (n, born, *_) in PEOPLE.items()
    }
    Resident.update(status="终止").where(Resident.id == r["J"].id).execute()
    voucher = iter(range(1, 10**6))

    def pay(key, *years, payer="个人", kind="正常应缴", fen=30000):
        for year in years:
            Contribution.create(resident=r[key].id, year=year, amount_fen=fen, tier_fen=fen, payer=payer, kind=kind,
                                paid_on=dt.date(year, 1, 10), voucher=f"V{next(voucher)}")  # fmt: skip

    pay("A", 2019)
    pay("B", 2019, payer="政府代缴", fen=10000)
    pay("C", 2019, 2020)
    pay("D", *range(2006, 2020))
    pay("E", 2019)
    pay("F", 2019, fen=50000)
    pay("G", 2019)
    pay("H", 2019)
    pay("J", 2019)
    pay("K", 2019, kind="补缴")
    pay("S1", *range(2015, 2019))
    pay("S2", *range(2015, 2020))
    pay("S5", 2016, 2017)
    pay("S5", 2014, 2015, kind="补缴")
    pay("S6", 2015, 2016, 2017, 2020)
    flagged = SpecialList.create(year=Y, department="民政", group="低保对象", file_name="低保.xlsx", sha256="x",
                                 username="t")  # fmt: skip
    SpecialListEntry.create(special_list=flagged.id, row=2, id_number=r["F"].id_number, name=r["F"].name,
                            resident=r["F"].id, status=ENTRY_MATCHED)  # fmt: skip
    arrears.declare(admin, r["S5"].id, [2018], [30000], dt.date(2020, 1, 15))
    return r


@pytest.fixture
def county(db, admin, tmp_path):
    return build_county(admin, tmp_path)


def _villages(wl) -> dict[tuple[str, str], tuple[int, int]]:
    return {(v.township, v.village): (v.count, v.base) for v in wl.villages}


def _names(wl) -> list[str]:
    by_number = {person(n, born=born)[1]: key for key, (n, born, *_) in PEOPLE.items()}
    return [by_number.get(p.id_number, p.id_number) for p in wl.people]


def test_lapsed_boundaries(county, admin):
    wl = worklists.lapsed(admin, Y)
    # A, B (政府代缴 only), E (59 in 2020), G, K (补缴 for 2019); F flagged: listed, not counted;
    # D turns 60 in 2020, C renewed, I never paid, J terminated: none of them
    assert _villages(wl) == {
        ("费城街道", "东村"): (5, 7),
        ("费城街道", "西村"): (1, 1),
        ("上冶镇", "南村"): (1, 1),
    }
    assert _names(wl) == ["A", "F", "G", "K", "B", "E", "S2", "H"]  # township, village, name (居民11 < 居民3)
    assert [p.subsidy_pending for p in wl.people].count(True) == 1 and wl.subsidy_pending[0].name == county[
        "F"
    ].name
    tiers = {n: p.last_tier_fen for n, p in zip(_names(wl), wl.people, strict=True)}
    assert tiers["A"] == 30000 and tiers["B"] == 10000 and tiers["F"] == 50000
    assert STUDENT not in {p.id_number for p in wl.people}
    assert not Resident.select().where(Resident.id_number == STUDENT).exists()
    # the village table alone (what the GUI draws first) has the same figures
    assert _villages(worklists.lapsed(admin, Y, people=False)) == _villages(wl)
    # paid for 2020 after the list was made: gone from the next one
    Contribution.create(resident=county["G"].id, year=Y, amount_fen=30000, tier_fen=30000, payer="个人",
                        paid_on=dt.date(Y, 3, 1), voucher="late")  # fmt: skip
    again = worklists.lapsed(admin, Y)
    assert "G" not in _names(again) and _villages(again)[("费城街道", "东村")] == (4, 7)
    # the 2021 list: 2021 is no paying year for E (born 1961, 60 in 2021)
    assert "E" not in _names(worklists.lapsed(admin, 2021))


def test_short_years_boundaries(county, admin):
    wl = worklists.short_years(admin, Y)
    assert _villages(wl) == {
        ("费城街道", "东村"): (1, 1),
        ("费城街道", "西村"): (4, 6),
        ("上冶镇", "南村"): (1, 1),
    }
    people = dict(zip(_names(wl), wl.people, strict=True))
    assert list(people) == ["E", "S1", "S5", "S6", "D", "H2"]  # S2 reaches exactly 15, S4 15 ahead, S7 is 44
    d = people["D"]  # turns 60 in 2020: 2020 no longer counts
    assert (d.paid, d.ahead, d.gap) == (14, 0, 1)
    s1 = people["S1"]
    assert (s1.paid, s1.ahead, s1.gap) == (4, 10, 1) and s1.arrears_years == [2014, 2019]
    s5 = people["S5"]  # arrears payments count as paid years; the declared year is not offered again
    assert (s5.paid, s5.ahead, s5.gap) == (4, 5, 6) and s5.arrears_years == [2019]
    assert s5.declaration == "已申报 2018"
    s6 = people["S6"]  # 2020 paid: counted in paid, not in ahead
    assert (s6.paid, s6.ahead, s6.gap) == (4, 9, 2)
    e = people["E"]
    assert (e.paid, e.ahead, e.gap) == (1, 1, 13)
    assert _villages(worklists.short_years(admin, Y, people=False)) == _villages(wl)
    row = worklists.people_table(wl.kind, [s5])[0]
    assert row[-5:] == [4, 5, 6, "2019", "已申报 2018"]
    assert worklists.years_text([2011, 2012, 2013, 2016]) == "2011—2013、2016"


def test_clerk_sees_own_township_only(county):
    clerk = clerk_of("费城街道")
    for kind in (worklists.LAPSED, worklists.SHORT_YEARS):
        wl = worklists.worklist(clerk, kind, Y)
        assert {v.township for v in wl.villages} == {"费城街道"}
        assert {p.township for p in wl.people} == {"费城街道"}
        assert "H" not in _names(wl) and "H2" not in _names(wl)
        with pytest.raises(PermissionDenied):
            worklists.worklist(clerk, kind, Y, township_id("上冶镇"))
    with pytest.raises(PermissionDenied):
        worklists.resolve(clerk, "上冶镇", None)
    # one village, by name
    town, village = worklists.resolve(clerk, None, "西村")
    wl = worklists.short_years(clerk, Y, town, village)
    assert list(_villages(wl)) == [("费城街道", "西村")] and {p.village for p in wl.people} == {"西村"}


def test_ids_masked_for_roles_that_do_not_see_them(county, admin):
    finance = Actor("cw", FINANCE)
    shown = {p.id_number for p in worklists.lapsed(finance, Y).people}
    assert county["A"].id_number not in shown and idcard.mask(county["A"].id_number) in shown
    assert county["A"].id_number in {p.id_number for p in worklists.lapsed(admin, Y).people}


def test_cli_json_and_clerk_scope(tmp_path):
    url = office_db(tmp_path)
    add_users(url, [("feicheng", "乡镇经办", "费城街道")])
    open_database(url)
    try:
        build_county(Actor("setup", "管理员"), tmp_path)
    finally:
        close_database()
    done = cli("--db", url, "--user", "boss", "worklist", "lapsed", "--year", "2020", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["year"] == 2020 and data["kind"] == "lapsed"
    assert {"township": "费城街道", "village": "东村", "count": 5, "base": 7} in data["villages"]
    a = next(p for p in data["people"] if p["name"] == "居民1")
    assert a["id_number"] == person(1)[1] and a["village"] == "东村" and a["phone"] == person(1)[6]
    assert a["subsidy_pending"] is False and a["last_tier"] == "300.00"
    done = cli("--db", url, "--user", "feicheng", "worklist", "short-years", "--year", "2020", "--json",
               "--village", "西村")  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["kind"] == "short-years" and [v["village"] for v in data["villages"]] == ["西村"]
    assert {p["name"] for p in data["people"]} == {"居民7", "居民31", "居民39", "居民41"}
    refused = cli(
        "--db", url, "--user", "feicheng", "worklist", "lapsed", "--year", "2020", "--township", "上冶镇"
    )
    assert refused.returncode == 2 and "本乡镇" in refused.stderr
    text = cli("--db", url, "--user", "boss", "worklist", "lapsed", "--year", "2020", "--township", "上冶镇")
    assert text.returncode == 0 and "上冶镇" in text.stdout and "居民15" in text.stdout


def _pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_files_xlsx_and_printed_village_lists(county, admin, tmp_path):
    clerk = clerk_of("费城街道")
    wl = worklists.lapsed(clerk, Y)
    xlsx = tmp_path / "lapsed.xlsx"
    assert worklists.export(clerk, wl, xlsx) == 7
    book = load_workbook(xlsx)
    assert book.sheetnames == ["村居汇总", "名单", "代缴未到账"]
    summary = [[c.value for c in row] for row in book["村居汇总"].iter_rows(min_row=3)]
    assert summary == [
        ["费城街道", "东村", 5, 7, 71.4],
        ["费城街道", "西村", 1, 1, 100],
        ["合计", None, 6, 8, 75],
    ]
    names = [[c.value for c in row] for row in book["名单"].iter_rows(min_row=3)]
    assert [r[0] for r in names] == [1, 2, 3, 4, 5, 6] and names[0][3:7] == ["居民1", county["A"].id_number,
                                                                           person(1)[6], "300.00"]  # fmt: skip
    assert book["名单"].cell(row=3, column=5).number_format == "@"  # the ID stays text
    pending = [[c.value for c in row] for row in book["代缴未到账"].iter_rows(min_row=4)]
    assert [r[3] for r in pending] == ["居民11"] and "政府代缴" in book["代缴未到账"].cell(
        row=2, column=1
    ).value
    # one A4 list per village, numbered within the village, with the assistant's column
    pdf = tmp_path / "lapsed.pdf"
    worklists.export(clerk, wl, pdf)
    text = _pdf_text(pdf)
    assert "费城街道东村2020年度城乡居民养老保险未续缴人员名单" in text
    assert "费城街道西村2020年度城乡居民养老保险未续缴人员名单" in text
    assert "乡镇（街道）：费城街道" in text and "村（居）：东村" in text and "年度：2020" in text
    assert "序号" in text and "联系情况/签字" in text and "上年档次" in text
    assert "代缴未到账" in text and "居民11" in text and "协理员（签字）" in text
    flat = text.replace(" ", "")
    assert flat.count("第1页共2页") == 1 and "第2页共2页" in flat  # 东村: names, then 代缴未到账
    assert flat.count("第1页共1页") == 1  # 西村
    assert "上冶镇" not in text
    pages = text.split("\f")
    east = next(p for p in pages if "东村" in p and "未续缴人员名单" in p)
    assert (
        all(name in east for name in ("居民1 ", "居民13", "居民21", "居民3 ", "居民9 "))
        and "居民11" not in east
    )
    # 补缴动员: landscape, the years columns
    short = worklists.short_years(admin, Y, township_id("费城街道"), None)
    pdf = tmp_path / "short.pdf"
    worklists.export(admin, short, pdf)
    text = _pdf_text(pdf)
    assert "费城街道西村2020年度城乡居民养老保险补缴动员名单" in text and "可补缴年度" in text
    assert "2014、2019" in text and "已申报 2018" in text and "联系情况/签字" in text
    with pytest.raises(UserError):
        worklists.export(admin, short, tmp_path / "short.docx")


def test_cli_out_files(tmp_path):
    url = office_db(tmp_path)
    open_database(url)
    try:
        build_county(Actor("setup", "管理员"), tmp_path)
    finally:
        close_database()
    pdf = tmp_path / "南村.pdf"
    done = cli("--db", url, "--user", "boss", "worklist", "lapsed", "--year", "2020", "--township", "上冶镇",
               "--village", "南村", "--out", str(pdf))  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = _pdf_text(pdf)
    assert "上冶镇南村2020年度城乡居民养老保险未续缴人员名单" in text and "居民15" in text
    assert "第1页共1页" in text.replace(" ", "")
    xlsx = tmp_path / "short.xlsx"
    done = cli("--db", url, "--user", "boss", "worklist", "short-years", "--year", "2020", "--out", str(xlsx))
    assert done.returncode == 0, done.stderr
    assert load_workbook(xlsx).sheetnames == ["村居汇总", "名单"]


def test_cli_on_postgres_as_a_clerks_login_role(pg_schema, admin, tmp_path):
    """The clerk's own login role: row-level security and the core's scope agree."""
    open_database(pg_schema.url)
    try:
        build_county(admin, tmp_path)
        auth.create_user(None, "boss", TEST_PASSWORD, auth.ADMIN)
        auth.create_user(admin, "feicheng", TEST_PASSWORD, auth.CLERK, township_id("费城街道"))
    finally:
        close_database()
    done = cli("--db", pg_schema.url, "--user", "feicheng", "worklist", "lapsed", "--year", "2020", "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert {(v["village"], v["count"], v["base"]) for v in data["villages"]} == {
        ("东村", 5, 7),
        ("西村", 1, 1),
    }
    assert [p["subsidy_pending"] for p in data["people"]].count(True) == 1
    done = cli(
        "--db", pg_schema.url, "--user", "feicheng", "worklist", "short-years", "--year", "2020", "--json"
    )
    assert done.returncode == 0, done.stderr
    people = {p["name"]: p for p in json.loads(done.stdout)["people"]}
    assert set(people) == {"居民9", "居民7", "居民31", "居民39", "居民41"}
    assert people["居民39"]["declaration"] == "已申报 2018" and people["居民39"]["paid"] == 4
    refused = cli("--db", pg_schema.url, "--user", "feicheng", "worklist", "lapsed", "--year", "2020",
                  "--township", "上冶镇")  # fmt: skip
    assert refused.returncode == 2 and "本乡镇" in refused.stderr
    everyone = cli(
        "--db", pg_schema.url, "--user", "boss", "worklist", "short-years", "--year", "2020", "--json"
    )
    assert "居民45" in {p["name"] for p in json.loads(everyone.stdout)["people"]}
