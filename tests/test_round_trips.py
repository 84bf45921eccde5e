"""Round trips to the database (issue 20): several reads in one statement, look-ups not repeated."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from core import regions, statistics
from dao import batch, migrations
from dao.db import current, is_postgres
from dao.models import Township


class Statements(logging.Handler):
    """Counts the statements peewee sends."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.sql: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.sql.append(str(record.msg))

    def __enter__(self) -> Statements:
        logger = logging.getLogger("peewee")
        self._level = logger.level
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logger = logging.getLogger("peewee")
        logger.removeHandler(self)
        logger.setLevel(self._level)


def test_read_many_gives_each_query_its_rows(db):
    p = current().param
    reads = [
        (f"SELECT id, name FROM township WHERE id <= {p} ORDER BY id DESC", [3]),
        ("SELECT COUNT(*), COUNT(*), NULL FROM township", []),  # same column names twice, a NULL
        (f"SELECT name FROM township WHERE name = {p}", ["没有这个乡镇"]),  # no rows
        (f"SELECT {p}, {p}", ["甲'乙\"丙", 7]),
    ]
    one_by_one = [[tuple(r) for r in current().execute_sql(sql, params).fetchall()] for sql, params in reads]
    with Statements() as seen:
        together = batch.read_many(reads)
    assert together == one_by_one
    assert together[1][0][:2] == (12, 12) and together[2] == []
    assert len(seen.sql) == (1 if is_postgres(current()) else len(reads))


def test_year_stats_is_one_batch_on_postgresql(db, admin):
    if not is_postgres(current()):
        pytest.skip("on SQLite the reads run one by one, locally")
    regions.townships()  # read once per opened database, as at login
    with Statements() as seen:
        statistics.year_stats(admin, 2020)
    # the figures in one statement, the special groups' own few (core.special_groups.statistics)
    assert len(seen.sql) <= 6, seen.sql


def test_year_stats_by_village_add_up_to_the_township(db, admin):
    from core.demo import create_demo
    from core.progress import run

    run(create_demo(admin, residents=300, seed=5))
    county = statistics.year_stats(admin, 2020)
    assert county.total.this.payers and county.total.last.payers and county.weekly and county.tiers
    for row in county.rows[:3]:
        town = next(t for t in regions.townships() if t.name == row.name)
        one = statistics.year_stats(admin, 2020, town.id)
        assert one.scope == town.name
        assert (one.total.this, one.total.last) == (row.this, row.last)


def test_townships_read_once_and_again_after_a_change(db):
    first = regions.townships()
    with Statements() as seen:
        assert [t.id for t in regions.townships()] == [t.id for t in first]
    assert seen.sql == []
    Township.create(code="371325999", name="新设镇", sort_order=99)
    regions.forget_townships()
    assert "新设镇" in [t.name for t in regions.townships()]


def test_opening_checks_the_version_in_two_statements(db):
    with Statements() as seen:
        assert migrations.current_version(current()) == migrations.LATEST
    assert len(seen.sql) == 2


def test_weekly_counts_cumulate_through_the_window():
    window = [dt.date(2020, 1, 1), dt.date(2020, 1, 20)]
    weeks = statistics._weekly(window, {dt.date(2020, 1, 2): 3, dt.date(2020, 1, 15): 2})
    assert weeks[0] == (dt.date(2019, 12, 30), 3)
    assert weeks[-1][1] == 5
