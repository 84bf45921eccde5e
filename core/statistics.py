"""统计: the year's progress against the previous year, aggregated in the database.

The county notice asks every township to keep the number of paying residents growing over the previous
year; the figures here are what a township office and the county bureau compare.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import peewee as pw
from peewee import fn

from core import regions
from core import special_groups as sg
from core.auth import Actor, check_township, require
from core.errors import UserError
from core.money import fen_to_yuan
from dao import batch, stats_queries
from dao.models import (
    ArrearsAssessment,
    Contribution,
    PolicyYear,
    RefundCase,
    Resident,
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


def _figures(
    results: list[list[tuple]],
) -> tuple[dict[object, Figures], dict[object, Figures], dict[dt.date, int]]:
    """This year's and last year's figures per area, and this year's first payments per day, from the rows of
    ``_reads``' first six reads."""
    this_rows, days, last_rows, *enrolled = results
    this: dict[object, Figures] = defaultdict(Figures)
    last: dict[object, Figures] = defaultdict(Figures)
    for area, (now_enrolled, before_enrolled) in stats_queries.enrolled_by_area(enrolled).items():
        this[area].enrolled, last[area].enrolled = now_enrolled, before_enrolled
    for target, rows in ((this, this_rows), (last, last_rows)):
        for area, (payers, personal, government, amount) in stats_queries.payments_by_area(rows).items():
            f = target[area]
            f.payers, f.personal, f.government, f.amount_fen = payers, personal, government, amount
    return this, last, stats_queries.payers_by_day(days)


def _date(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def _weekly(window: list[dt.date | None], per_day: dict[dt.date, int]) -> list[tuple[dt.date, int]]:
    """Cumulative payers by week through the collection window (widened to every payment seen)."""
    if not per_day:
        return []
    start = min([d for d in (window[0], min(per_day)) if d])
    end = max([d for d in (window[1], max(per_day)) if d])
    week = start - dt.timedelta(days=start.weekday())
    weeks: list[tuple[dt.date, int]] = []
    total = 0
    days = sorted(per_day.items())
    index = 0
    while week <= end:
        nxt = week + dt.timedelta(days=7)
        while index < len(days) and days[index][0] < nxt:
            total += days[index][1]
            index += 1
        weeks.append((week, total))
        week = nxt
    return weeks


def _tiers(year: int, township_id: int | None) -> pw.Query:
    query = Contribution.select(Contribution.tier_fen, fn.COUNT(Contribution.id)).where(
        (Contribution.year == year) & (Contribution.payer == PERSONAL) & (Contribution.kind == NORMAL)
    )
    if township_id is not None:
        query = query.join(Resident, on=(Contribution.resident == Resident.id)).where(
            Resident.township == township_id
        )
    return query.group_by(Contribution.tier_fen)


def _by_status(model, status_field, amount_field, date_field, year: int, township_id: int | None) -> pw.Query:  # type: ignore[no-untyped-def]
    query = model.select(status_field, fn.COUNT(model.id), fn.SUM(amount_field)).where(
        (date_field >= dt.datetime(year, 1, 1)) & (date_field < dt.datetime(year + 1, 1, 1))
    )
    if township_id is not None:
        query = query.where(model.township == township_id)
    return query.group_by(status_field)


def _status_counts(rows: list[tuple]) -> dict[str, tuple[int, int]]:
    return {s: (int(n), int(total or 0)) for s, n, total in rows}


def year_stats(actor: Actor, year: int, township_id: int | None = None) -> YearStats:
    """This year against the previous one: by township (county users) or by village (one township)."""
    require(actor, "stats.view")
    if actor.township_id is not None:
        if township_id not in (None, actor.township_id):
            check_township(actor, township_id)
        township_id = actor.township_id
    if township_id is None:
        names = [(t.id, t.name) for t in regions.townships()]
        scope = regions.county()["county_name"]
    else:
        town = next((t for t in regions.townships() if t.id == township_id), None)
        if town is None:
            raise UserError("乡镇不存在。")
        scope = town.name
    # Every figure in one round trip to a county server (dao.batch): a township office feels each one.
    reads = [
        stats_queries.year_payments(year, township_id),
        stats_queries.first_days(year, township_id),
        stats_queries.year_payments(year - 1, township_id),
        *stats_queries.enrolled((year, year - 1), township_id),
        batch.sql_of(_tiers(year, township_id)),
        batch.sql_of(_by_status(ArrearsAssessment, ArrearsAssessment.status, ArrearsAssessment.total_fen,
                                ArrearsAssessment.declared_at, year, township_id)),
        batch.sql_of(_by_status(RefundCase, RefundCase.state, RefundCase.amount_fen, RefundCase.entered_at, year,
                                township_id)),
        batch.sql_of(PolicyYear.select(PolicyYear.window_start, PolicyYear.window_end).where(PolicyYear.year == year)),
    ]  # fmt: skip
    if township_id is not None:
        villages = Village.select(Village.id, Village.name).where(Village.township == township_id)
        reads.append(batch.sql_of(villages.order_by(Village.name)))
    results = batch.read_many(reads)
    this, last, per_day = _figures(results[:6])
    tiers, arrears, refunds, policy_rows = results[6:10]
    if township_id is not None:
        names = [*((vid, name) for vid, name in results[10]), (None, "（未填村居）")]
    rows = [AreaRow(name, this.get(key, Figures()), last.get(key, Figures())) for key, name in names]
    rows = [r for r in rows if r.this.enrolled or r.last.enrolled or r.this.payers or r.last.payers]
    total = AreaRow("合计", _sum(r.this for r in rows), _sum(r.last for r in rows))
    groups = sg.statistics(actor, year).by_group if actor.can("special.view") else {}
    window = [_date(d) for d in policy_rows[0]] if policy_rows else [None, None]
    return YearStats(
        year,
        scope,
        rows,
        total,
        _weekly(window, per_day),
        sorted((int(t or 0), int(n)) for t, n in tiers),
        groups,
        _status_counts(arrears),
        _status_counts(refunds),
    )


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
    money = tuple(i for i, h in enumerate(AREA_HEADERS) if "金额" in h)
    write_table(out, AREA_HEADERS, area_table(stats), sheet_title=f"{stats.year}年统计", money_columns=money)
