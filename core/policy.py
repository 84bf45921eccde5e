"""Per-year policy (tiers, hardship minimum, dates) seeded from resources/policy/policy_years.json."""

from __future__ import annotations

import datetime as dt

from core import resources
from core.money import yuan_to_fen
from dao.models import PolicyYear


def _date(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def seed_policy_years() -> int:
    added = 0
    for item in resources.load_json("policy", "policy_years.json")["years"]:
        if PolicyYear.select().where(PolicyYear.year == item["year"]).exists():
            continue
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
        added += 1
    return added


def get(year: int) -> PolicyYear | None:
    return PolicyYear.get_or_none(PolicyYear.year == year)


def years() -> list[PolicyYear]:
    return list(PolicyYear.select().order_by(PolicyYear.year))
