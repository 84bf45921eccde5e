"""The roster browser at 500,000 residents (SQLite), measured in-process by driving the widgets.

    python bench/roster_browser.py [--residents 500000]

Prints: opening the tab with its first page, a search by full ID, a search by the last digits, a filter by
township, a sort by name, and how many rows the model holds after scrolling to the end (it must page, not
load everything). Target: open, full-ID search and township filter each under 0.3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def fill(residents: int) -> str:
    from core import idcard
    from dao import bulk
    from dao.db import current
    from dao.models import Resident, Township, Village

    rng = random.Random(5)
    towns = [t.id for t in Township.select()]
    villages = []
    with current().atomic():
        for t in towns:
            for n in range(20):
                villages.append((t, Village.create(township=t, name=f"第{n + 1}村").id))
        seen: set[str] = set()
        rows = []
        while len(seen) < residents:
            born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60))
            number = idcard.make("371325", born, rng.randrange(0, 1000))
            if number in seen:
                continue
            seen.add(number)
            town, village = rng.choice(villages)
            rows.append((number, f"居民{len(seen)}", "男" if int(number[16]) % 2 else "女", born, town, village,
                         f"13{rng.randrange(0, 10**9):09d}"))  # fmt: skip
            if len(rows) == 20000:
                bulk.insert_rows(Resident, _COLS, rows, _CONST)
                rows = []
        bulk.insert_rows(Resident, _COLS, rows, _CONST)
    return number


_COLS = ("id_number", "name", "sex", "birth_date", "township_id", "village_id", "phone")
_CONST = {"status": "正常参保", "household_type": "", "created_at": dt.datetime(2020, 1, 1),
          "updated_at": dt.datetime(2020, 1, 1), "version": 1}  # fmt: skip


def timed(label: str, fn, target: float | None = None) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    fn()
    seconds = time.perf_counter() - started
    verdict = "" if target is None else ("  ok" if seconds < target else f"  OVER {target} s")
    print(f"{label:<34} {seconds * 1000:8.1f} ms{verdict}")
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--residents", type=int, default=500_000)
    args = parser.parse_args()

    from core.auth import ADMIN, Actor
    from core.database import open_database
    from dao.models import Township
    from gui.app import make_app
    from gui.roster_tab import RosterTab

    make_app()
    with tempfile.TemporaryDirectory() as tmp:
        open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        started = time.perf_counter()
        last_id = fill(args.residents)
        print(f"{args.residents:,} residents written in {time.perf_counter() - started:.1f} s")
        actor = Actor("bench", ADMIN)
        holder: dict[str, RosterTab] = {}

        def open_tab() -> None:
            tab = holder["tab"] = RosterTab(actor)
            tab.inner.setCurrentWidget(tab.browser)
            tab.resize(1200, 700)
            tab.show()

        timed("open tab, first page", open_tab, 0.3)
        tab = holder["tab"]
        browser, model = tab.browser, tab.browser.model
        print(f"   model rows {model.rowCount():,} of {model.total:,}")

        def search_full() -> None:
            browser.id_search.setText(last_id)
            browser.search()

        timed("search by full ID", search_full, 0.3)
        assert model.total == 1

        def search_tail() -> None:
            browser.id_search.setText(last_id[-6:])
            browser.search()

        timed("search by last 6 digits", search_tail)
        browser.id_search.clear()
        town = Township.get(Township.name == "胡阳镇").id

        def filter_town() -> None:
            browser.township.setCurrentIndex(browser.township.findData(town))
            browser.search()

        timed("filter by township", filter_town, 0.3)
        print(f"   {model.total:,} residents in 胡阳镇")
        browser.township.setCurrentIndex(0)
        browser.search()
        timed("sort by name (whole roster)", lambda: model.sort(1))

        def scroll() -> None:
            for _ in range(5):
                browser.table.scrollToBottom()
                make_app().processEvents()

        timed("scroll to the end 5 times", scroll)
        print(f"   model rows after scrolling {model.rowCount():,} of {model.total:,} (pages of 200)")
        tab.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
