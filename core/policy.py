"""Per-year policy (tiers, hardship minimum, dates) seeded from resources/policy/policy_years.json."""

from __future__ import annotations

import datetime as dt

from core import resources
from core.money import yuan_to_fen
from dao.models import PolicyYear


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def seed_policy_years() -> int:
    have = {year for (year,) in PolicyYear.select(PolicyYear.year).tuples()}  # one round trip, not one a year
    missing = [
        item
        for item in resources.load_json("policy", "policy_years.json")["years"]
        if item["year"] not in have
    ]
    if missing:
        with PolicyYear._meta.database.atomic():
            for item in missing:
                _create(item)
    return len(missing)


def _create(item: dict) -> None:
    PolicyYear.create(
        year=item["year"],
        province=item.get("province", ""),
        tiers_fen=",".join(str(yuan_to_fen(t)) for t in sorted(item["tiers_yuan"])),
        hardship_min_fen=yuan_to_fen(item["hardship_min_yuan"]),
        reselect_date=_date(item.get("reselect_date")),
        window_start=_date(item.get("window_start")),
        window_end=_date(item.get("window_end")),
        arrears_allowed=item.get("arrears_allowed", True),
        arrears_subsidy=item.get("arrears_subsidy", False),
        note=item.get("note", ""),
    )


def get(year: int) -> PolicyYear | None:
    return PolicyYear.get_or_none(PolicyYear.year == year)


def years() -> list[PolicyYear]:
    return list(PolicyYear.select().order_by(PolicyYear.year))
