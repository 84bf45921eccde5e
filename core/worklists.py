"""征缴进度 work lists: the names behind the statistics, village by village, for the villages' assistants.

* 未续缴 (lapsed) for year Y: active residents (正常参保) who paid for Y−1 (any payment: personal, 政府代缴 or
  补缴) and have no payment for Y, Y being a paying year for them — a year before the year they turn 60 (the
  year a person turns 60 is no longer paid for). People flagged in a hardship group for Y are the
  government's to pay: they are listed with ``subsidy_pending`` (代缴未到账) and left out of the village count.
  The village base is the active residents who paid for Y−1 and for whom Y is a paying year, so count/base is
  the share still to renew (terminated or suspended residents are in neither).
* 补缴动员 (short of 15 years): active residents aged 45–59 on 1 January of Y. ``paid`` is the number of
  distinct years with a payment; ``ahead`` the years from Y to the year before they turn 60 not yet paid;
  listed when ``paid + ahead < 15`` (国发〔2014〕8号: the basic pension is drawn at 60 with 15 paid years). The
  village base is the active residents aged 45–59.

Both are computed in the database, one aggregate query per village table (dao/worklist_queries.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import audit, regions, roster, rules
from core.auth import Actor, check_township, require
from core.errors import UserError
from core.money import format_yuan
from dao import worklist_queries as q
from dao.models import ARREARS_OPEN_STATES, PolicyYear, Township, Village

LAPSED, SHORT_YEARS = "lapsed", "short-years"
KINDS = {LAPSED: "未续缴", SHORT_YEARS: "补缴动员"}
PENSION_AGE = rules.PENSION_AGE  # the year a person turns 60 is no longer paid for (rules.last_paying_year)
REQUIRED_YEARS = 15  # paid years needed at 60
AUDIENCE_AGES = (45, 59)  # on 1 January of the list's year: closer than 15 years to 60
NO_VILLAGE = q.NO_VILLAGE
NO_VILLAGE_NAME = "（未填村居）"


def reach(birth_date: dt.date, paid_years: Iterable[int], year: int) -> tuple[int, int]:
    """(paid, ahead): distinct years paid, and the years from ``year`` to the last paying year not yet paid."""
    paid = set(paid_years)
    last = rules.last_paying_year(birth_date)
    return len(paid), sum(1 for y in range(year, last + 1) if y not in paid)


def _reach_counts(born: int, paid: int, in_window: int, year: int) -> int:
    """paid + ahead from counts: ``in_window`` of the paid years lie between ``year`` and the last paying one."""
    window = max(0, born + PENSION_AGE - 1 - year + 1)
    return paid + window - in_window


@dataclass
class VillageRow:
    township: str
    village: str  # '' for residents without a village
    count: int
    base: int
    township_id: int
    village_id: int | None

    @property
    def share(self) -> float | None:
        return None if not self.base else round(100.0 * self.count / self.base, 1)


@dataclass
class Person:
    resident_id: int
    id_number: str  # as the actor may see it (masked per role setting)
    name: str
    township: str
    village: str
    phone: str
    last_tier_fen: int | None  # the highest tier (or amount) paid for Y−1
    subsidy_pending: bool = False  # 未续缴: flagged for Y, the government's payment has not arrived
    paid: int | None = None  # 补缴动员 from here on
    ahead: int | None = None
    arrears_years: list[int] = field(default_factory=list)
    declaration: str = ""  # 已申报 / 已核定 with the years, when an open declaration exists

    @property
    def gap(self) -> int | None:
        if self.paid is None or self.ahead is None:
            return None
        return REQUIRED_YEARS - (self.paid + self.ahead)


@dataclass
class Worklist:
    kind: str
    year: int
    scope: str  # 费县 / 费城街道 / 费城街道东王庄村
    villages: list[VillageRow]
    people: list[Person]  # sorted by township, village, name; empty when only the village table was asked

    @property
    def title(self) -> str:
        return KINDS[self.kind]

    @property
    def to_contact(self) -> list[Person]:
        return [p for p in self.people if not p.subsidy_pending]

    @property
    def subsidy_pending(self) -> list[Person]:
        return [p for p in self.people if p.subsidy_pending]


# --- scope ---------------------------------------------------------------------------------------------


def resolve(actor: Actor, township: str | None, village: str | None) -> tuple[int | None, int | None]:
    """(township id, village id) from names a user typed; a clerk is held to their township."""
    township_id = regions.township_id_of(township)
    if actor.township_id is not None:
        if township_id is not None:
            check_township(actor, township_id)
        township_id = actor.township_id
    if not village:
        return township_id, None
    query = Village.select(Village.id, Village.township).where(Village.name == village.strip())
    if township_id is not None:
        query = query.where(Village.township == township_id)
    found = list(query.tuples())
    if not found:
        where = f"{regions.township_name(township_id)}没有" if township_id is not None else "没有"
        raise UserError(f"{where}名为“{village.strip()}”的村居。")
    if len(found) > 1:
        raise UserError(f"有 {len(found)} 个乡镇都有“{village.strip()}”，请同时指定乡镇。")
    return found[0][1], found[0][0]


def _scoped(actor: Actor, township_id: int | None, village_id: int | None) -> tuple[int | None, int | None]:
    require(actor, "stats.view")
    require(actor, "roster.view")
    if actor.township_id is not None:
        if township_id is not None:
            check_township(actor, township_id)
        township_id = actor.township_id
    if village_id not in (None, NO_VILLAGE):
        village = Village.get_or_none(Village.id == village_id)
        if village is None:
            raise UserError("村居不存在。")
        check_township(actor, village.township_id)
        if township_id is not None and village.township_id != township_id:
            raise UserError("所选村居不属于所选乡镇。")
        township_id = village.township_id
    return township_id, village_id


class _Names:
    """Township and village names, and the order lists are sorted in."""

    def __init__(self) -> None:
        towns = list(Township.select(Township.id, Township.name, Township.sort_order, Township.code))
        self.town = {t.id: t.name for t in towns}
        self.town_order = {t.id: (t.sort_order, t.code) for t in towns}
        self.order_of_name = {t.name: (t.sort_order, t.code) for t in towns}
        self.village = dict(Village.select(Village.id, Village.name).tuples())

    def village_name(self, village_id: int | None) -> str:
        return self.village.get(village_id, "") if village_id is not None else ""

    def key(self, township_id: int, village_id: int | None, name: str = "", number: str = "") -> tuple:
        village = self.village_name(village_id)
        return (self.town_order.get(township_id, (0, "")), village == "", village, name, number)


def _scope_text(names: _Names, township_id: int | None, village_id: int | None) -> str:
    if township_id is None:
        return regions.county()["county_name"]
    village = NO_VILLAGE_NAME if village_id == NO_VILLAGE else names.village_name(village_id)
    return names.town.get(township_id, "") + village


def _village_rows(names: _Names, counts: dict[tuple, list[int]]) -> list[VillageRow]:
    rows = [
        VillageRow(names.town.get(t, ""), names.village_name(v), count, base, t, v)
        for (t, v), (count, base) in counts.items()
        if base
    ]
    rows.sort(key=lambda r: names.key(r.township_id, r.village_id))
    return rows


def _in_one_read(make: Callable[..., Worklist]) -> Callable[..., Worklist]:
    """A list's queries in one transaction (see ``worklist_queries.reading``)."""

    @functools.wraps(make)
    def read(*args: Any, **kwargs: Any) -> Worklist:
        with q.reading():
            return make(*args, **kwargs)

    return read


# --- 未续缴 --------------------------------------------------------------------------------------------


@_in_one_read
def lapsed(
    actor: Actor,
    year: int,
    township_id: int | None = None,
    village_id: int | None = None,
    *,
    people: bool = True,
) -> Worklist:
    """Who paid for ``year`` − 1 and has not paid for ``year`` yet, by village (see the module docstring)."""
    township_id, village_id = _scoped(actor, township_id, village_id)
    names = _Names()
    counts = {
        (t, v): [lapsed_n - flagged, base]
        for t, v, base, lapsed_n, flagged in q.lapsed_villages(year, township_id, village_id)
    }
    listed: list[Person] = []
    if people:
        show = roster.id_display(actor)
        for rid, number, name, phone, t, v, flagged, tier in q.lapsed_people(year, township_id, village_id):
            listed.append(Person(rid, show(number), name, names.town.get(t, ""), names.village_name(v),
                                 phone or "", tier, subsidy_pending=flagged))  # fmt: skip
        listed.sort(key=lambda p: _person_key(names, p))
    return Worklist(
        LAPSED, year, _scope_text(names, township_id, village_id), _village_rows(names, counts), listed
    )


def _person_key(names: _Names, p: Person) -> tuple:
    return (names.order_of_name.get(p.township, (0, "")), p.village == "", p.village, p.name, p.id_number)


# --- 补缴动员 ------------------------------------------------------------------------------------------


@_in_one_read
def short_years(
    actor: Actor,
    year: int,
    township_id: int | None = None,
    village_id: int | None = None,
    *,
    people: bool = True,
) -> Worklist:
    """Residents aged 45–59 who cannot reach 15 paid years by 60 paying every year from now on."""
    township_id, village_id = _scoped(actor, township_id, village_id)
    names = _Names()
    # Arrears payments are not in payer_year: their few residents are counted with every year they paid.
    arrears = q.audience_arrears(year, township_id, village_id)
    normal = q.normal_years(arrears)
    paid_years = {rid: normal.get(rid, set()) | info[3] for rid, info in arrears.items()}
    counts: dict[tuple, list[int]] = {}
    listed: list[Person] = []
    if people:  # every resident of the scope's audience, one row each: the village table from the same rows
        found = []
        for rid, number, name, phone, t, v, born, years in q.audience_people(year, township_id, village_id):
            years |= paid_years.get(rid, set())
            paid, ahead = reach(born, years, year)
            entry = counts.setdefault((t, v), [0, 0])
            entry[1] += 1
            if paid + ahead < REQUIRED_YEARS:
                entry[0] += 1
                found.append((rid, number, name, phone, t, v, born, years, paid, ahead))
        listed = _short_people(actor, names, year, found)
    else:
        for t, v, born_year, paid, in_window, n in q.audience_groups(year, township_id, village_id):
            entry = counts.setdefault((t, v), [0, 0])
            entry[1] += n
            if _reach_counts(born_year, paid, in_window, year) < REQUIRED_YEARS:
                entry[0] += n
        for rid, (t, v, born, _years) in arrears.items():  # counted above from payer_year alone: recount
            before = sum(reach(born, normal.get(rid, set()), year)) < REQUIRED_YEARS
            after = sum(reach(born, paid_years[rid], year)) < REQUIRED_YEARS
            counts[(t, v)][0] += int(after) - int(before)
    return Worklist(
        SHORT_YEARS, year, _scope_text(names, township_id, village_id), _village_rows(names, counts), listed
    )


def _short_people(actor: Actor, names: _Names, year: int, found: list[tuple]) -> list[Person]:
    show = roster.id_display(actor)
    ids = [row[0] for row in found]
    tiers = q.tiers(year - 1, ids)
    declared = q.open_declarations(ids, ARREARS_OPEN_STATES)
    allowed = [p.year for p in PolicyYear.select(PolicyYear.year).where(PolicyYear.arrears_allowed)]
    as_of = dt.date(year, 1, 1)  # arrears run to the year before the list's year
    listed = []
    for rid, number, name, phone, t, v, born, years, paid, ahead in found:
        open_lines = declared.get(rid, [])
        taken = years | {y for _, y in open_lines}
        listed.append(Person(rid, show(number), name, names.town.get(t, ""), names.village_name(v), phone or "",
                             tiers.get(rid), paid=paid, ahead=ahead,
                             arrears_years=rules.arrears_years(born, allowed, taken, as_of),
                             declaration=_declaration_text(open_lines)))  # fmt: skip
    listed.sort(key=lambda p: _person_key(names, p))
    return listed


def _declaration_text(lines: list[tuple[str, int]]) -> str:
    by_status: dict[str, list[int]] = {}
    for status, year in lines:
        by_status.setdefault(status, []).append(year)
    return "；".join(f"{status} {years_text(sorted(set(ys)))}" for status, ys in sorted(by_status.items()))


def years_text(years: list[int]) -> str:
    """2011、2012、2013、2016 -> 2011—2013、2016."""
    parts: list[str] = []
    start = prev = None
    for y in [*sorted(years), None]:
        if start is not None and (y is None or y != prev + 1):
            parts.append(str(start) if start == prev else f"{start}—{prev}")
            start = None
        if y is not None and start is None:
            start = y
        prev = y
    return "、".join(parts)


def worklist(actor: Actor, kind: str, year: int, township_id: int | None = None,
             village_id: int | None = None, *, people: bool = True) -> Worklist:  # fmt: skip
    if kind not in KINDS:
        raise UserError(f"名单类型应为：{'、'.join(KINDS)}。")
    make: Callable[..., Worklist] = lapsed if kind == LAPSED else short_years
    return make(actor, year, township_id, village_id, people=people)


# --- what a clerk reads: table rows, JSON -----------------------------------------------------------------


def village_headers(kind: str) -> tuple[str, ...]:
    counted = "未续缴人数" if kind == LAPSED else "不足15年人数"
    base = "上年已缴人数" if kind == LAPSED else "45—59岁参保人数"
    return ("乡镇", "村居", counted, base, "占比(%)")


def village_table(wl: Worklist) -> list[list[object]]:
    out: list[list[object]] = [
        [r.township, r.village or NO_VILLAGE_NAME, r.count, r.base, "—" if r.share is None else r.share]
        for r in wl.villages
    ]
    count, base = sum(r.count for r in wl.villages), sum(r.base for r in wl.villages)
    out.append(["合计", "", count, base, round(100.0 * count / base, 1) if base else "—"])
    return out


def people_headers(kind: str) -> tuple[str, ...]:
    common = ("乡镇", "村居", "姓名", "身份证号码", "联系电话", "上年档次(元)")
    if kind == LAPSED:
        return common
    return (*common, "已缴年数", "尚可逐年缴费年数", "缺口年数", "可补缴年度", "补缴申报")


def people_table(kind: str, people: list[Person]) -> list[list[object]]:
    rows = []
    for p in people:
        tier = format_yuan(p.last_tier_fen) if p.last_tier_fen is not None else ""
        row: list[object] = [p.township, p.village or NO_VILLAGE_NAME, p.name, p.id_number, p.phone, tier]
        if kind == SHORT_YEARS:
            row += [p.paid, p.ahead, p.gap, years_text(p.arrears_years), p.declaration]
        rows.append(row)
    return rows


def as_json(wl: Worklist) -> dict:
    def person(p: Person) -> dict:
        out: dict[str, object] = {
            "id_number": p.id_number, "name": p.name, "township": p.township, "village": p.village,
            "phone": p.phone, "last_tier": format_yuan(p.last_tier_fen) if p.last_tier_fen is not None else None,
        }  # fmt: skip
        if wl.kind == LAPSED:
            out["subsidy_pending"] = p.subsidy_pending
        else:
            out.update(paid=p.paid, ahead=p.ahead, gap=p.gap, arrears_years=p.arrears_years,
                       declaration=p.declaration)  # fmt: skip
        return out

    return {
        "year": wl.year,
        "kind": wl.kind,
        "villages": [
            {"township": r.township, "village": r.village, "count": r.count, "base": r.base}
            for r in wl.villages
        ],
        "people": [person(p) for p in wl.people],
    }


def default_out_name(wl: Worklist, suffix: str) -> str:
    return f"{wl.scope}{wl.year}年{wl.title}名单{suffix}"


def check_out(out: str | Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".pdf"):
        raise UserError(f"名单应导出为 .xlsx 或 .pdf：{out.name}")
    if not out.parent.is_dir():
        raise UserError(f"导出文件夹不存在：{out.parent}")
    return out


def export(actor: Actor, wl: Worklist, out: str | Path) -> int:
    """Write the list as .xlsx (village table, names, 代缴未到账) or .pdf (one printed list per village).
    Returns the people written."""
    out = check_out(out)
    if not wl.people and any(v.count for v in wl.villages):
        raise UserError("该名单只有村居汇总，没有人员名单：请先查询人员名单再导出。")
    if out.suffix.lower() == ".xlsx":
        _write_xlsx(wl, out)
    else:
        _write_pdf(wl, out)
    audit.record(actor.username, "export", "worklist", wl.kind,
                 after={"file": out.name, "year": wl.year, "scope": wl.scope, "people": len(wl.people)})  # fmt: skip
    return len(wl.people)


def _title(wl: Worklist, scope: str) -> str:
    what = "未续缴人员名单" if wl.kind == LAPSED else "补缴动员名单（60岁前缴费不足15年）"
    return f"{scope}{wl.year}年度城乡居民养老保险{what}"


PENDING_NOTE = "以下人员属于本年度困难群体，由政府代缴，代缴款尚未到账：不计入未续缴人数，不需向本人催缴。"


def _write_xlsx(wl: Worklist, out: Path) -> None:
    from reports import (
        worklist_files,
    )  # openpyxl and fpdf load when a list is written, not with every command

    headers = people_headers(wl.kind)
    numbered = ("序号", *headers)
    text = (4, 5)  # 身份证号码, 联系电话 (after 序号)
    widths = [6, 14, 16, 10, 22, 15, 12] + ([10, 16, 10, 22, 22] if wl.kind == SHORT_YEARS else [])

    def numbered_rows(people: list[Person]) -> list[list[object]]:
        return [[n, *row] for n, row in enumerate(people_table(wl.kind, people), start=1)]

    sheets = [
        worklist_files.Sheet("村居汇总", _title(wl, wl.scope), village_headers(wl.kind), village_table(wl),
                             [14, 16, 14, 16, 10]),
        worklist_files.Sheet("名单", _title(wl, wl.scope), numbered, numbered_rows(wl.to_contact), widths, text),
    ]  # fmt: skip
    if wl.kind == LAPSED:
        sheets.append(worklist_files.Sheet("代缴未到账", f"{wl.scope}{wl.year}年度政府代缴未到账人员", numbered,
                                           numbered_rows(wl.subsidy_pending), widths, text, PENDING_NOTE))  # fmt: skip
    worklist_files.write_xlsx(out, sheets)


def _write_pdf(wl: Worklist, out: Path) -> None:
    from reports import worklist_files

    by_village: dict[tuple[str, str], list[Person]] = {}
    for p in wl.people:
        by_village.setdefault((p.township, p.village), []).append(p)
    if not by_village:  # nothing to print: an empty list still shows the scope was looked at
        by_village[(wl.scope, "")] = []
    columns = worklist_files.LAPSED_COLUMNS if wl.kind == LAPSED else worklist_files.SHORT_COLUMNS
    lists = []
    for (town, village), people in by_village.items():
        shown_village = village or (NO_VILLAGE_NAME if town != wl.scope else "")
        lists.append(worklist_files.VillageList(
            title=_title(wl, f"{town}{shown_village}"),
            subtitle=f"乡镇（街道）：{town}　村（居）：{shown_village or '全部'}　年度：{wl.year}",
            columns=columns,
            rows=_print_rows(wl.kind, [p for p in people if not p.subsidy_pending]),
            pending_title=f"{town}{shown_village}{wl.year}年度政府代缴未到账人员（不需向本人催缴）",
            pending_rows=_print_rows(wl.kind, [p for p in people if p.subsidy_pending]),
        ))  # fmt: skip
    worklist_files.write_pdf(out, lists, landscape=wl.kind == SHORT_YEARS,
                             printed=f"打印日期：{dt.date.today():%Y-%m-%d}")  # fmt: skip


def _print_rows(kind: str, people: list[Person]) -> list[list[str]]:
    rows = []
    for n, p in enumerate(people, start=1):
        tier = format_yuan(p.last_tier_fen) if p.last_tier_fen is not None else ""
        if kind == LAPSED:
            rows.append([str(n), p.name, p.id_number, p.phone, tier, ""])
        else:
            rows.append([str(n), p.name, p.id_number, p.phone, str(p.paid), str(p.ahead), str(p.gap),
                         years_text(p.arrears_years), p.declaration, ""])  # fmt: skip
    return rows
