"""统计: the year's progress against the previous year, aggregated in the database.

The county notice asks every township to keep the number of paying residents growing over the previous
year; the figures here are what a township office and the county bureau compare.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from peewee import fn

from core import policy, regions
from core import special_groups as sg
from core.auth import Actor, check_township, require
from core.errors import UserError
from core.money import fen_to_yuan
from dao.models import (
    ArrearsAssessment,
    Contribution,
    RefundCase,
    Resident,
    Township,
    Village,
)
from reports.tables import write_table

PERSONAL, GOVERNMENT, NORMAL = "个人", "政府代缴", "正常应缴"


@dataclass
class Figures:
    enrolled: int = 0
    payers: int = 0
    personal: int = 0
    government: int = 0
    amount_fen: int = 0


@dataclass
class AreaRow:
    name: str
    this: Figures
    last: Figures

    @property
    def payer_change(self) -> int:
        return self.this.payers - self.last.payers

    @property
    def payer_growth(self) -> float | None:
        """Percentage change of paying residents; None when last year had none."""
        return None if not self.last.payers else round(100.0 * self.payer_change / self.last.payers, 1)


@dataclass
class YearStats:
    year: int
    scope: str
    rows: list[AreaRow]  # by township, or by village within one township
    total: AreaRow
    weekly: list[tuple[dt.date, int]]  # (week start, cumulative payers) through the collection window
    tiers: list[tuple[int, int]]  # (tier fen, personal payments)
    groups: dict[str, int] = field(default_factory=dict)
    arrears: dict[str, tuple[int, int]] = field(default_factory=dict)  # status -> (count, fen)
    refunds: dict[str, tuple[int, int]] = field(default_factory=dict)


def _area_figures(year: int, township_id: int | None) -> dict[object, Figures]:
    """Figures per township (or per village when ``township_id`` is given), computed with GROUP BY."""
    key = Resident.village if township_id is not None else Resident.township
    out: dict[object, Figures] = defaultdict(Figures)
    year_end = dt.date(year, 12, 31)
    enrolled = Resident.select(key, fn.COUNT(Resident.id)).where(
        (Resident.status != "终止") & ((Resident.enrolled_on <= year_end) | Resident.enrolled_on.is_null())
    )
    if township_id is not None:
        enrolled = enrolled.where(Resident.township == township_id)
    for area, count in enrolled.group_by(key).tuples():
        out[area].enrolled = count
    paid = (
        Contribution.select(
            key,
            fn.COUNT(fn.DISTINCT(Contribution.resident)),
            fn.COUNT(fn.DISTINCT(Contribution.resident)).filter(Contribution.payer == PERSONAL),
            fn.COUNT(fn.DISTINCT(Contribution.resident)).filter(Contribution.payer == GOVERNMENT),
            fn.SUM(Contribution.amount_fen),
        )
        .join(Resident, on=(Contribution.resident == Resident.id))
        .where((Contribution.year == year) & (Contribution.kind == NORMAL))
    )
    if township_id is not None:
        paid = paid.where(Resident.township == township_id)
    for area, payers, personal, government, amount in paid.group_by(key).tuples():
        f = out[area]
        f.payers, f.personal, f.government, f.amount_fen = payers, personal, government, int(amount or 0)
    return out


def _weekly(year: int, township_id: int | None) -> list[tuple[dt.date, int]]:
    rules = policy.get(year)
    first = Contribution.select(Contribution.resident, fn.MIN(Contribution.paid_on).alias("first_day")).where(
        (Contribution.year == year) & (Contribution.kind == NORMAL) & Contribution.paid_on.is_null(False)
    )
    if township_id is not None:
        first = first.join(Resident, on=(Contribution.resident == Resident.id)).where(
            Resident.township == township_id
        )
    first = first.group_by(Contribution.resident)
    per_day = {}
    sub = first.alias("f")
    for day, count in (
        Contribution.select(sub.c.first_day, fn.COUNT(sub.c.resident_id))
        .from_(sub)
        .group_by(sub.c.first_day)
        .tuples()
    ):
        per_day[day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day)[:10])] = count
    if not per_day:
        return []
    start = rules.window_start if rules and rules.window_start else min(per_day)
    end = rules.window_end if rules and rules.window_end else max(per_day)
    start = min(start, min(per_day))
    end = max(end, max(per_day))
    week = start - dt.timedelta(days=start.weekday())
    weeks: list[tuple[dt.date, int]] = []
    total = sum(n for day, n in per_day.items() if day < week)
    while week <= end:
        nxt = week + dt.timedelta(days=7)
        total += sum(n for day, n in per_day.items() if week <= day < nxt)
        weeks.append((week, total))
        week = nxt
    return weeks


def _tiers(year: int, township_id: int | None) -> list[tuple[int, int]]:
    query = Contribution.select(Contribution.tier_fen, fn.COUNT(Contribution.id)).where(
        (Contribution.year == year) & (Contribution.payer == PERSONAL) & (Contribution.kind == NORMAL)
    )
    if township_id is not None:
        query = query.join(Resident, on=(Contribution.resident == Resident.id)).where(
            Resident.township == township_id
        )
    return sorted((int(t or 0), n) for t, n in query.group_by(Contribution.tier_fen).tuples())


def _by_status(
    model, status_field, amount_field, date_field, year: int, township_id: int | None
) -> dict[str, tuple[int, int]]:  # type: ignore[no-untyped-def]
    query = model.select(status_field, fn.COUNT(model.id), fn.SUM(amount_field)).where(
        (date_field >= dt.datetime(year, 1, 1)) & (date_field < dt.datetime(year + 1, 1, 1))
    )
    if township_id is not None:
        query = query.where(model.township == township_id)
    return {s: (n, int(total or 0)) for s, n, total in query.group_by(status_field).tuples()}


def year_stats(actor: Actor, year: int, township_id: int | None = None) -> YearStats:
    """This year against the previous one: by township (county users) or by village (one township)."""
    require(actor, "stats.view")
    if actor.township_id is not None:
        if township_id not in (None, actor.township_id):
            check_township(actor, township_id)
        township_id = actor.township_id
    this, last = _area_figures(year, township_id), _area_figures(year - 1, township_id)
    if township_id is None:
        names = [(t.id, t.name) for t in regions.townships()]
        scope = regions.county()["county_name"]
    else:
        town = Township.get_or_none(Township.id == township_id)
        if town is None:
            raise UserError("乡镇不存在。")
        scope = town.name
        names = [
            (v.id, v.name)
            for v in Village.select().where(Village.township == township_id).order_by(Village.name)
        ]
        names.append((None, "（未填村居）"))
    rows = [AreaRow(name, this.get(key, Figures()), last.get(key, Figures())) for key, name in names]
    rows = [r for r in rows if r.this.enrolled or r.last.enrolled or r.this.payers or r.last.payers]
    total = AreaRow("合计", _sum(r.this for r in rows), _sum(r.last for r in rows))
    groups = sg.statistics(actor, year).by_group if actor.can("special.view") else {}
    return YearStats(
        year,
        scope,
        rows,
        total,
        _weekly(year, township_id),
        _tiers(year, township_id),
        groups,
        _by_status(ArrearsAssessment, ArrearsAssessment.status, ArrearsAssessment.total_fen, ArrearsAssessment.declared_at, year, township_id),
        _by_status(RefundCase, RefundCase.state, RefundCase.amount_fen, RefundCase.entered_at, year, township_id),
    )  # fmt: skip


def _sum(figures) -> Figures:  # type: ignore[no-untyped-def]
    total = Figures()
    for f in figures:
        total.enrolled += f.enrolled
        total.payers += f.payers
        total.personal += f.personal
        total.government += f.government
        total.amount_fen += f.amount_fen
    return total


AREA_HEADERS = ("区域", "参保人数", "去年参保人数", "缴费人数", "去年缴费人数", "增减", "增长率(%)", "个人缴费人数",
                "政府代缴人数", "缴费金额(元)", "去年缴费金额(元)")  # fmt: skip


def area_table(stats: YearStats) -> list[list[object]]:
    out = []
    for r in [*stats.rows, stats.total]:
        growth = "—" if r.payer_growth is None else r.payer_growth
        out.append([r.name, r.this.enrolled, r.last.enrolled, r.this.payers, r.last.payers, r.payer_change, growth,
                    r.this.personal, r.this.government, fen_to_yuan(r.this.amount_fen), fen_to_yuan(r.last.amount_fen)])  # fmt: skip
    return out


def as_json(stats: YearStats) -> dict:
    def figures(f: Figures) -> dict:
        return {"enrolled": f.enrolled, "payers": f.payers, "personal": f.personal, "government": f.government,
                "amount": str(fen_to_yuan(f.amount_fen))}  # fmt: skip

    return {
        "year": stats.year,
        "scope": stats.scope,
        "areas": [{"name": r.name, "this_year": figures(r.this), "last_year": figures(r.last), "payer_change": r.payer_change,
                   "payer_growth_percent": r.payer_growth} for r in [*stats.rows, stats.total]],
        "weekly_cumulative_payers": [[d.isoformat(), n] for d, n in stats.weekly],
        "tiers": [[str(fen_to_yuan(t)), n] for t, n in stats.tiers],
        "special_groups": stats.groups,
        "arrears": {k: {"count": n, "amount": str(fen_to_yuan(f))} for k, (n, f) in stats.arrears.items()},
        "refunds": {k: {"count": n, "amount": str(fen_to_yuan(f))} for k, (n, f) in stats.refunds.items()},
    }  # fmt: skip


def export(actor: Actor, stats: YearStats, out: str | Path) -> None:
    """The area table as .xlsx/.csv (the GUI adds the charts as PNG and a PDF report)."""
    require(actor, "stats.view")
    write_table(out, AREA_HEADERS, area_table(stats), sheet_title=f"{stats.year}年统计")
