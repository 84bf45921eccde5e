"""统计 tab: the year against the previous one, by township or village, with QtCharts charts; export and print."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from PySide6.QtCharts import (
    QAbstractAxis,
    QAbstractSeries,
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QHorizontalBarSeries,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import policy, statistics
from core.auth import Actor
from core.errors import UserError, os_error_message
from core.money import format_yuan, yuan_text
from gui import file_dialogs, operations, printing
from gui.operations import ARREARS, IMPORTS, PAYMENTS, POLICY, REFUNDS, RESIDENTS, SPECIAL, Op
from gui.tables import ListTable, township_combo
from gui.worklist_panel import WorklistPanel
from reports import stats_report


def _chart(title: str) -> tuple[QChart, QChartView]:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(240)
    return chart, view


def _replot(
    chart: QChart, series: QAbstractSeries, x: QAbstractAxis, top: int, *, horizontal: bool = False
) -> None:
    """Replace what ``chart`` shows by ``series`` on ``x`` and a count axis from 0 to ``top`` (``x`` on the left
    and the counts along the bottom when ``horizontal``)."""
    chart.removeAllSeries()
    for axis in chart.axes():
        chart.removeAxis(axis)
    chart.addSeries(series)
    y = QValueAxis()
    y.setRange(0, top)
    y.setLabelFormat("%d")
    y.applyNiceNumbers()
    bottom, left = (y, x) if horizontal else (x, y)
    chart.addAxis(bottom, Qt.AlignmentFlag.AlignBottom)
    chart.addAxis(left, Qt.AlignmentFlag.AlignLeft)
    series.attachAxis(x)
    series.attachAxis(y)


class StatsTab(QWidget):
    title = "统计"
    permission = "stats.view"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.stats: statistics.YearStats | None = None
        # Sub-tabs: the year's figures, and the 征缴进度 work lists (names behind the figures)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.pages = QTabWidget()
        overview = QWidget()
        self.worklists = WorklistPanel(actor)
        self.pages.addTab(overview, "年度统计")
        self.pages.addTab(self.worklists, "征缴进度")
        outer.addWidget(self.pages)
        layout = QVBoxLayout(overview)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        years = [p.year for p in policy.years()]
        self.year.setValue(max(years) if years else 2020)
        self.town = township_combo(actor, "（全县，按乡镇）", "（按村居）")
        show = QPushButton("统计")
        show.clicked.connect(self.refresh)
        export = QPushButton("导出 Excel…")
        export.clicked.connect(self.export_table)
        pngs = QPushButton("图表另存为 PNG…")
        pngs.clicked.connect(self.export_charts)
        pdf = QPushButton("打印报告（PDF）…")
        pdf.clicked.connect(self.export_pdf)
        printing.print_shortcut(self, self.export_pdf)
        for widget in (QLabel("年度："), self.year, QLabel("范围："), self.town, show, export, pngs, pdf):
            top.addWidget(widget)
        top.addStretch(1)
        layout.addLayout(top)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        # Splitters, so a clerk can give a chart more room; the table keeps every column in view.
        self.table = ListTable()
        self.compare_chart, self.compare_view = _chart("")  # the areas side by side, beside their table
        self.progress_chart, self.progress_view = _chart("征缴进度：累计缴费人数（按周）")
        self.tier_chart, self.tier_view = _chart("缴费档次分布（个人缴费笔数）")
        upper, lower, both = (QSplitter(Qt.Orientation.Horizontal), QSplitter(Qt.Orientation.Horizontal),
                              QSplitter(Qt.Orientation.Vertical))  # fmt: skip
        for splitter, widgets, stretch in ((upper, (self.table, self.compare_view), (0, 1)),
                                           (lower, (self.progress_view, self.tier_view), (1, 1)),
                                           (both, (upper, lower), (3, 2))):  # fmt: skip
            for n, (widget, factor) in enumerate(zip(widgets, stretch, strict=True)):
                splitter.addWidget(widget)
                splitter.setStretchFactor(n, factor)
                splitter.setCollapsible(n, False)
        layout.addWidget(both, 1)
        self.refresh()

    def refresh(self) -> None:
        year, town = self.year.value(), self.town.currentData()
        Op(self, lambda: statistics.year_stats(self.actor, year, town), success=self._show, key="refresh",
           title="统计", label="正在统计……").run()  # fmt: skip

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {RESIDENTS, PAYMENTS, SPECIAL, ARREARS, REFUNDS, IMPORTS, POLICY}:
            self.refresh()

    def _show(self, stats: statistics.YearStats) -> None:
        self.stats = s = stats
        self.table.set_rows(list(statistics.AREA_HEADERS), statistics.area_table(s))
        frame = 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(self.table.horizontalHeader().length() + frame)  # every column in view
        t = s.total
        growth = "—" if t.payer_growth is None else f"{t.payer_growth:+.1f}%"
        groups = "、".join(f"{g} {n}" for g, n in s.groups.items()) or "无"
        arrears = "、".join(f"{k} {n} 件" for k, (n, _) in s.arrears.items()) or "无"
        refunds = "、".join(f"{k} {n} 件" for k, (n, _) in s.refunds.items()) or "无"
        self.summary.setText(
            f"<b>{s.scope} {s.year} 年</b>：缴费 {t.this.payers:,} 人（上年 {t.last.payers:,}，{growth}），"
            f"金额 {format_yuan(t.this.amount_fen)} 元；特殊群体：{groups}；补缴：{arrears}；退费：{refunds}"
        )
        self._draw_compare()
        self._draw_progress()
        self._draw_tiers()

    def _draw_compare(self) -> None:
        rows = self.stats.rows[::-1] if self.stats else []  # horizontal bars are drawn bottom-up
        series = QHorizontalBarSeries()
        for label, figures in (("上年", lambda r: r.last), ("本年", lambda r: r.this)):
            bars = QBarSet(f"{label}缴费人数")
            bars.append([figures(r).payers for r in rows])
            series.append(bars)
        y = QBarCategoryAxis()
        y.append([r.name for r in rows] or ["—"])
        y.setTruncateLabels(False)  # township and village names are short; "…" would hide which is which
        by = "各乡镇" if self.stats is None or self.town.currentData() is None else "各村居"
        self.compare_chart.setTitle(f"{by}缴费人数：与上年对比")
        top = max([max(r.this.payers, r.last.payers) for r in rows] or [1])
        _replot(self.compare_chart, series, y, top, horizontal=True)

    def _draw_progress(self) -> None:
        series = QLineSeries()
        series.setName("累计缴费人数")
        weeks = self.stats.weekly if self.stats else []
        for n, (_, total) in enumerate(weeks, start=1):
            series.append(n, total)
        x = QValueAxis()  # week numbers: dates as labels would not fit under a narrow chart
        x.setRange(1, max(len(weeks), 2))
        x.setTickCount(min(max(len(weeks), 2), 9))
        x.setLabelFormat("%d")
        x.setTitleText(f"第几周（自 {weeks[0][0]:%Y-%m-%d} 所在周起）" if weeks else "周")
        _replot(self.progress_chart, series, x, max([total for _, total in weeks] or [1]))

    def _draw_tiers(self) -> None:
        tiers = self.stats.tiers if self.stats else []
        bars = QBarSet("缴费笔数")
        bars.append([n for _, n in tiers])
        series = QBarSeries()
        series.append(bars)
        x = QBarCategoryAxis()
        x.append([yuan_text(t) for t, _ in tiers] or ["—"])
        x.setTitleText("档次（元）")
        _replot(self.tier_chart, series, x, max([n for _, n in tiers] or [1]))

    def chart_images(self, folder: Path) -> list[Path]:
        paths = [folder / "区域对比.png", folder / "征缴进度.png", folder / "档次分布.png"]
        for view, path in zip((self.compare_view, self.progress_view, self.tier_view), paths, strict=True):
            view.grab().save(str(path))
        return paths

    def export_table(self) -> None:
        name = file_dialogs.save_file(
            self,
            "导出统计表",
            file_dialogs.EXPORT,
            f"{self.year.value()}年统计.xlsx",
            [file_dialogs.EXCEL_FILTER],
        )
        if name and self.stats:
            try:
                statistics.export(self.actor, self.stats, name)
            except OSError as exc:
                QMessageBox.warning(self, "导出失败", os_error_message(exc))
                return
            QMessageBox.information(self, "已导出", name)

    def export_charts(self) -> None:
        folder = file_dialogs.folder(self, "选择保存图表的文件夹", file_dialogs.CHARTS)
        if folder:
            paths = self.chart_images(folder)
            QMessageBox.information(self, "已保存", "\n".join(str(p) for p in paths))

    def export_pdf(self) -> None:
        if self.stats is None:
            return
        stats = self.stats
        tmp = tempfile.mkdtemp(prefix="pension-charts-")  # removed when the operation ends
        images = self.chart_images(Path(tmp))  # grabbed here, on the GUI thread
        summary = self.summary.text().replace("<b>", "").replace("</b>", "")

        def make(path: str) -> None:
            try:
                stats_report.write_pdf(path, f"{stats.scope}{stats.year}年城乡居民养老保险征缴统计",
                                       list(statistics.AREA_HEADERS), statistics.area_table(stats), images, summary,
                                       maker=self.actor.display_name or self.actor.username)  # fmt: skip
            except OSError as exc:
                raise UserError(os_error_message(exc)) from exc

        op = printing.print_pdf(self, "统计报告", f"{stats.year}年统计报告.pdf", make)
        op.finished.connect(lambda: shutil.rmtree(tmp, ignore_errors=True))

    def shutdown(self) -> None:
        """Waits for this tab's operations; the work lists' name windows close."""
        operations.shutdown(self)
        self.worklists.shutdown()
