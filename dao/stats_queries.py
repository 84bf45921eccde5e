"""Statistics aggregated in the database from covering indexes only.

Payers come from ``payer_year`` (one row per person and year, kept by triggers: dao/payer_year.py), enrolment
from ``resident_area_stats``: at 500,000 residents and 1,000,000 payments a county view reads a few hundred
thousand index entries, well under the second a clerk waits for. Each function returns a read (SQL and
parameters) for ``dao.batch.read_many``, so a screen's aggregates reach a township office in one round trip.
"""

from __future__ import annotations

import datetime as dt

from dao.batch import Read
from dao.db import current


def year_payments(year: int, township_id: int | None) -> Read:
    """Rows (area id or None, payers, personal payers, government-paid payers, fen) of one year.

    Areas are townships, or the villages of ``township_id``; a person paying twice is one payer.
    """
    p = current().param
    area = _area(township_id)
    return (
        f"SELECT {area}, COUNT(*), SUM(CASE WHEN personal > 0 THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN government > 0 THEN 1 ELSE 0 END), SUM(amount_fen) "
        f"FROM payer_year WHERE year = {p}{_town(township_id)} GROUP BY {area}",
        [year, *_town_params(township_id)],
    )


def first_days(year: int, township_id: int | None) -> Read:
    """Rows (day, payers whose first payment for the year was that day)."""
    p = current().param
    return (
        f"SELECT first_day, COUNT(*) FROM payer_year WHERE year = {p}{_town(township_id)} "
        "AND first_day IS NOT NULL GROUP BY first_day",
        [year, *_town_params(township_id)],
    )


def payments_by_area(rows: list[tuple]) -> dict[object, tuple[int, int, int, int]]:
    return {key: (int(n), int(own or 0), int(gov or 0), int(fen or 0)) for key, n, own, gov, fen in rows}


def payers_by_day(rows: list[tuple]) -> dict[dt.date, int]:
    return {dt.date.fromisoformat(str(day)[:10]): int(n) for day, n in rows}


def enrolled(years: tuple[int, int], township_id: int | None) -> list[Read]:
    """Reads whose rows ``enrolled_by_area`` turns into {area: (enrolled in years[0], in years[1])}: residents
    not terminated who enrolled by the end of the year (or whose enrolment date is unknown), and anyone who
    paid for that year — a year people paid for never shows fewer enrolled than payers."""
    p = current().param
    area = _area(township_id)
    town, town_params = _town(township_id), _town_params(township_id)
    ends = [dt.date(year, 12, 31) for year in years]
    reads: list[Read] = [
        (
            f"SELECT {area}, "
            f"SUM(CASE WHEN enrolled_on IS NULL OR enrolled_on <= {p} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN enrolled_on IS NULL OR enrolled_on <= {p} THEN 1 ELSE 0 END) "
            f"FROM resident WHERE status <> {p}{town} GROUP BY {area}",
            [*ends, "终止", *town_params],
        )
    ]
    # Payers the dates leave out (enrolled later than the year they paid for, or terminated since): few rows,
    # found from the same index, each looked up in payer_year by its key.
    for year, end in zip(years, ends, strict=True):
        reads.append(
            (
                f"SELECT {area}, COUNT(*) FROM resident r WHERE (status = {p} OR enrolled_on > {p}){town} AND EXISTS "
                f"(SELECT 1 FROM payer_year py WHERE py.resident_id = r.id AND py.year = {p}) GROUP BY {area}",
                ["终止", end, *town_params, year],
            )
        )
    return reads


def enrolled_by_area(results: list[list[tuple]]) -> dict[object, tuple[int, int]]:
    """The rows of the ``enrolled`` reads, combined."""
    main, *extras = results
    counts = {key: [int(a or 0), int(b or 0)] for key, a, b in main}
    for n, rows in enumerate(extras):
        for key, count in rows:
            counts.setdefault(key, [0, 0])[n] += int(count)
    return {key: (a, b) for key, (a, b) in counts.items()}


def _area(township_id: int | None) -> str:
    return "village_id" if township_id is not None else "township_id"


def _town(township_id: int | None) -> str:
    return f" AND township_id = {current().param}" if township_id is not None else ""


def _town_params(township_id: int | None) -> list[object]:
    return [township_id] if township_id is not None else []
