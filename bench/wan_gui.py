"""The GUI's common actions, driven in-process through the delaying proxy (used by bench/wan.py).

Each action runs once at 0 ms and once at the chosen round trip (the proxy's delay is switched between the
two), on the offscreen Qt platform. An action's time runs from the click (the call a button or tab makes)
until the program is quiet again: no statement sent and no worker thread running for 0.15 s — so work a tab
does in its worker threads is counted, the quiet wait is not. Statements are counted through peewee's logger
(the bulk writes of an import go past it: their COPY or batches count in the round trips), round trips by the
proxy.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

QUIET = 0.15


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


@dataclass
class Timing:
    label: str
    seconds: dict[float, float]  # rtt -> seconds
    statements: dict[float, int]
    round_trips: dict[float, int]
    interactive: bool = True


class Driver:
    def __init__(self, proxy, url: str, user: str, password: str, rtt: float) -> None:  # type: ignore[no-untyped-def]
        from PySide6.QtCore import QThreadPool

        from gui.app import make_app

        self.app = make_app()
        self.pool = QThreadPool.globalInstance()
        self.proxy, self.url, self.user, self.password, self.rtt = proxy, url, user, password, rtt
        self.statements = _Statements()
        logger = logging.getLogger("peewee")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(self.statements)
        self.window = None
        self.results: list[Timing] = []

    def _busy(self) -> bool:
        from PySide6.QtCore import QThread

        from gui import operations

        if self.pool.activeThreadCount() or operations.LIVE_THREADS:  # an Op's thread has no Qt parent
            return True
        roots = [self.window] if self.window is not None else []
        return any(t.isRunning() for root in roots for t in root.findChildren(QThread))

    def settle(self, started: float) -> float:
        """Process events until quiet; the seconds from ``started`` to the last sign of work."""
        from PySide6.QtCore import QEventLoop

        last, seen = time.perf_counter(), self.statements.count
        while True:
            self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            now = time.perf_counter()
            if self.statements.count != seen or self._busy():
                seen, last = self.statements.count, now
            elif now - last > QUIET:
                return last - started

    def time(
        self,
        label: str,
        action: Callable[[float], object],
        *,
        interactive: bool = True,
        prepare: Callable[[], object] | None = None,
    ) -> None:
        """Run ``action(rtt)`` at 0 ms and at the round trip; each call must do its own fresh piece of work.
        ``prepare`` runs untimed before each."""
        timing = Timing(label, {}, {}, {}, interactive)
        for rtt in (0.0, self.rtt):
            self.proxy.set_rtt(rtt)
            if prepare is not None:
                prepare()
            self.settle(time.perf_counter())
            self.proxy.reset()
            before = self.statements.count
            started = time.perf_counter()
            action(rtt)
            timing.seconds[rtt] = max(time.perf_counter() - started, self.settle(started))
            timing.statements[rtt] = self.statements.count - before
            timing.round_trips[rtt] = self.proxy.reset()
        self.proxy.set_rtt(0)
        self.results.append(timing)


def run_actions(
    proxy, url: str, user: str, county_user: str, password: str, rtt: float, tmp: Path
) -> list[Timing]:  # type: ignore[no-untyped-def]
    from core import refunds, session
    from core.database import close_database
    from core.progress import run
    from gui.main_window import MainWindow

    d = Driver(proxy, url, user, password, rtt)
    holder: dict = {}

    def login(_rtt: float) -> None:
        close_database()
        holder["actor"], holder["info"] = session.login(url, user, password)

    d.time("登录", login)
    actor = holder["actor"]
    files = _input_files(actor, tmp, rtt)

    def open_window(_rtt: float) -> None:
        if d.window is not None:
            d.window.close()
            d.window.deleteLater()
        d.window = MainWindow(actor, holder["info"])
        d.window.resize(1366, 768)
        d.window.show()

    d.time("打开主窗口（建立各标签页）", open_window)
    window = d.window
    for index in range(window.tabs.count()):
        title = window.tabs.tabText(index)

        def away(index: int = index) -> None:  # from another tab, so that this one is "shown" again
            window.tabs.setCurrentIndex(0 if index else 1)

        d.time(
            f"切换到「{title}」", lambda _rtt, index=index: window.tabs.setCurrentIndex(index), prepare=away
        )
    browser = window.roster_tab.browser
    window.show_tab(window.roster_tab)
    window.roster_tab.inner.setCurrentWidget(browser)
    d.time("花名册查询（第一页）", lambda _rtt: (browser.id_search.setText(""), browser.search()))
    numbers = files["numbers"]
    d.time("按身份证号查询", lambda rtt: (browser.id_search.setText(numbers[int(rtt > 0)]), browser.search()))

    def detail(rtt: float) -> None:
        from gui.resident_dialog import ResidentDialog

        dialog = ResidentDialog(actor, files["resident_ids"][int(rtt > 0)], window)
        dialog.show()
        holder["dialog"] = dialog

    d.time("打开居民详情", detail)
    holder["dialog"].close()
    cases = files["cases"]
    if len(cases) >= 2:

        def step(rtt: float) -> None:
            refunds.advance(actor, cases[int(rtt > 0)], "初审")
            window.refund_tab.refresh()

        d.time("退费案件初审一步（并刷新退费标签页）", step)
    if window.stats_tab is not None:
        d.time("统计（刷新）", lambda _rtt: window.stats_tab.refresh())

    def import_file(kind: str) -> Callable[[float], None]:
        def go(rtt: float) -> None:
            from core.ledger import import_contributions
            from core.roster_import import import_roster

            path, who = files[kind][int(rtt > 0)], holder["actor"]
            job = import_roster if kind == "roster" else import_contributions
            run(job(path, who, dry_run=True))  # the preview the import shows before it writes
            run(job(path, who))

        return go

    d.time("导入村花名册 500 行（预览 + 写入）", import_file("roster"), interactive=False)
    window.close()
    close_database()
    # The ledger comes from tax and banks to the county bureau: imported by a county user, not a township's.
    holder["actor"], _ = session.login(url, county_user, password)
    actor = holder["actor"]
    d.time("导入缴费明细 2,000 行（县局，预览 + 写入）", import_file("ledger"), interactive=False)
    close_database()
    return d.results


def _input_files(actor, tmp: Path, rtt: float) -> dict:  # type: ignore[no-untyped-def]
    """Two of each: one for the 0 ms run, one for the delayed run (an import must bring new rows each time)."""
    from openpyxl import Workbook

    from core import idcard, refunds
    from dao.models import Contribution, RefundItem, Resident, Township, Village

    rng = random.Random(20)
    residents = list(
        Resident.select(Resident.id, Resident.id_number, Resident.name)
        .order_by(Resident.id)
        .limit(4002)
        .tuples()
    )
    town = Township.get_by_id(actor.township_id) if actor.township_id else Township.select().first()
    village = Village.select().where(Village.township == town.id).order_by(Village.id).first()
    rosters, ledgers = [], []
    for run_no in range(2):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("花名册")
        ws.append(["姓名", "身份证号码", "性别", "出生日期", "乡镇", "村居", "联系电话"])
        for n in range(500):
            born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 30))
            number = idcard.make("371325", born, 500 * run_no + n)
            ws.append([f"新居民{run_no}{n}", number, "男" if int(number[16]) % 2 else "女", born.isoformat(),
                       town.name, village.name if village else "", f"139{rng.randrange(10**8):08d}"])  # fmt: skip
        rosters.append(tmp / f"village{run_no}.xlsx")
        wb.save(rosters[-1])
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("缴费明细")
        ws.append(["身份证号码", "姓名", "缴费年度", "缴费金额", "缴费日期", "缴费渠道", "税票号码"])
        paid = {
            rid
            for (rid,) in Contribution.select(Contribution.resident)
            .where(Contribution.year == 2018 - run_no)
            .tuples()
        }
        chosen = [r for r in residents if r[0] not in paid][:2000]
        for n, (_rid, number, name) in enumerate(chosen):
            ws.append([number, name, 2018 - run_no, 300, f"{2018 - run_no}-06-{1 + n % 28:02d}", "税务",
                       f"BENCH{int(rtt)}{run_no}{n:06d}"])  # fmt: skip
        ledgers.append(tmp / f"ledger{run_no}.xlsx")
        wb.save(ledgers[-1])
    # Two cases waiting for 初审 in the clerk's township, entered (untimed) as the counter would.
    held = {i.contribution_id for i in RefundItem.select(RefundItem.contribution)}
    own = (Contribution.select(Contribution.id, Contribution.amount_fen, Resident.id, Resident.name)
           .join(Resident).where((Contribution.year == 2020) & (Contribution.payer == "个人")
                                 & (Resident.township == town.id)).order_by(Contribution.id).tuples())  # fmt: skip
    cases = []
    for cid, fen, rid, name in own:
        if cid in held or len(cases) == 2:
            continue
        new = refunds.NewCase(rid, [cid], [fen], "重复缴费", name, f"62284800{rid:010d}", "中国农业银行",
                              ("退费申请", "身份证复印件", "银行卡复印件"))  # fmt: skip
        cases.append(refunds.create(actor, new).case_no)
    return {
        "roster": rosters,
        "ledger": ledgers,
        "numbers": [residents[-1][1], residents[-2][1]],
        "resident_ids": [residents[-1][0], residents[-2][0]],
        "cases": cases,
    }
