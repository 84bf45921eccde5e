"""Statistics aggregated in the database from covering indexes only.

Payers come from ``payer_year`` (one row per person and year, kept by triggers: dao/payer_year.py), enrolment
from ``resident_area_stats``: at 500,000 residents and 1,000,000 payments a county view reads a few hundred
thousand index entries, well under the second a clerk waits for.
"""

from __future__ import annotations

import datetime as dt

from dao.db import current


def year_payments(year: int, township_id: int | None, *, days: bool = True):  # type: ignore[no-untyped-def]
    """({area id or None: (payers, personal, government, fen)}, {first-payment day: payers} if ``days``).

    Areas are townships, or the villages of ``township_id``; a person paying twice is one payer.
    """
    db = current()
    p = db.param
    area = "village_id" if township_id is not None else "township_id"
    where = f"year = {p}" + (f" AND township_id = {p}" if township_id is not None else "")
    params = [year] + ([township_id] if township_id is not None else [])
    areas = {
        key: (int(payers), int(own or 0), int(gov or 0), int(fen or 0))
        for key, payers, own, gov, fen in db.execute_sql(
            f"SELECT {area}, COUNT(*), SUM(CASE WHEN personal > 0 THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN government > 0 THEN 1 ELSE 0 END), SUM(amount_fen) "
            f"FROM payer_year WHERE {where} GROUP BY {area}",
            params,
        ).fetchall()
    }
    if not days:
        return areas, {}
    per_day = {
        dt.date.fromisoformat(str(day)[:10]): int(payers)
        for day, payers in db.execute_sql(
            f"SELECT first_day, COUNT(*) FROM payer_year WHERE {where} AND first_day IS NOT NULL GROUP BY first_day",
            params,
        ).fetchall()
    }
    return areas, per_day


def enrolled(years: tuple[int, int], township_id: int | None) -> dict[int | None, tuple[int, int]]:
    """{area: (enrolled in years[0], in years[1])}: residents not terminated who enrolled by the end of the year
    (or whose enrolment date is unknown), and anyone who paid for that year — a year people paid for never
    shows fewer enrolled than payers."""
    db = current()
    area = "village_id" if township_id is not None else "township_id"
    p = db.param
    town = f" AND township_id = {p}" if township_id is not None else ""
    town_params = [township_id] if township_id is not None else []
    ends = [dt.date(year, 12, 31) for year in years]
    sql = (
        f"SELECT {area}, "
        f"SUM(CASE WHEN enrolled_on IS NULL OR enrolled_on <= {p} THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN enrolled_on IS NULL OR enrolled_on <= {p} THEN 1 ELSE 0 END) "
        f"FROM resident WHERE status <> {p}{town} GROUP BY {area}"
    )
    counts = {
        key: [int(a or 0), int(b or 0)] for key, a, b in db.execute_sql(sql, [*ends, "终止", *town_params])
    }
    # Payers the dates leave out (enrolled later than the year they paid for, or terminated since): few rows,
    # found from the same index, each looked up in payer_year by its key.
    for n, (year, end) in enumerate(zip(years, ends, strict=True)):
        extra = (
            f"SELECT {area}, COUNT(*) FROM resident r WHERE (status = {p} OR enrolled_on > {p}){town} "
            f"AND EXISTS (SELECT 1 FROM payer_year py WHERE py.resident_id = r.id AND py.year = {p}) GROUP BY {area}"
        )
        for key, count in db.execute_sql(extra, ["终止", end, *town_params, year]):
            counts.setdefault(key, [0, 0])[n] += int(count)
    return {key: (a, b) for key, (a, b) in counts.items()}
