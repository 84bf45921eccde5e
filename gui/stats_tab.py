"""统计 tab: the year against the previous one, by township or village, with QtCharts charts; export and print."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable, Sequence
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
from PySide6.QtCore import QMargins, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsScene,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
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

# Weeks between labelled ticks on the 征缴进度 axis: whole weeks always, and no more than about 14 labels.
WEEK_STEPS = (1, 2, 4, 5, 10, 13)
PRINT_PX_PER_MM = 4.0  # a printed chart's logical pixels per mm: Qt's chart fonts come out at about 8.5 pt
PRINT_PIXEL_RATIO = 2.5  # device pixels per logical pixel: sharp on a 250 dpi print
CATEGORY_PX = 22  # vertical room per area on the comparison chart, so Qt never skips an area's name


class _Pages(QTabWidget):
    """Tabs that ask for no more than their minimum: the main window's scroll area sizes a page with a
    word-wrapped label by its preferred height, which (the tables' and charts' hints) was taller than a 768-line
    screen at 125 % and hid the 合计 row below the fold. Stretched, they still fill the page."""

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint()


def _chart(title: str) -> tuple[QChart, QChartView]:
    chart = QChart()
    chart.setTitle(title)
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setMargins(QMargins(4, 4, 4, 4))  # a short chart at 125 % needs every line for its axis labels
    view = QChartView(chart)
    view.setRenderHint(QPainter.RenderHint.Antialiasing)
    view.setMinimumHeight(150)
    return chart, view


def week_step(weeks: int) -> int:
    """The interval between labelled weeks: the smallest whole step that keeps the axis to 14 labels."""
    return next((step for step in WEEK_STEPS if weeks / step <= 14), WEEK_STEPS[-1])


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


def draw_compare(chart: QChart, stats: statistics.YearStats | None, by_village: bool) -> None:
    """This year's payers against last year's, one pair of horizontal bars per area."""
    rows = stats.rows[::-1] if stats else []  # horizontal bars are drawn bottom-up
    series = QHorizontalBarSeries()
    for label, figures in (("上年", lambda r: r.last), ("本年", lambda r: r.this)):
        bars = QBarSet(f"{label}缴费人数")
        bars.append([figures(r).payers for r in rows])
        series.append(bars)
    y = QBarCategoryAxis()
    y.append([r.name for r in rows] or ["—"])
    y.setTruncateLabels(False)  # township and village names are short; "…" would hide which is which
    chart.setTitle(f"{'各村居' if by_village else '各乡镇'}缴费人数：与上年对比")
    top = max([max(r.this.payers, r.last.payers) for r in rows] or [1])
    _replot(chart, series, y, top, horizontal=True)


def draw_progress(chart: QChart, weeks: Sequence[tuple[dt.date, int]]) -> None:
    """Cumulative payers by week, the axis ticked and labelled on whole weeks only."""
    chart.setTitle("征缴进度：累计缴费人数（按周）")
    series = QLineSeries()
    series.setName("累计缴费人数")
    for n, (_, total) in enumerate(weeks, start=1):
        series.append(n, total)
    x = QValueAxis()  # week numbers: dates as labels would not fit under a narrow chart
    x.setRange(1, max(len(weeks), 2))
    # Dynamic ticks from week 1 every whole step: a fixed tick count put "2" at week 2.6.
    x.setTickType(QValueAxis.TickType.TicksDynamic)
    x.setTickAnchor(1)
    x.setTickInterval(week_step(len(weeks)))
    x.setLabelFormat("%d")
    x.setTitleText(f"第几周（自 {weeks[0][0]:%Y-%m-%d} 所在周起）" if weeks else "周")
    _replot(chart, series, x, max([total for _, total in weeks] or [1]))
    chart.legend().setVisible(False)  # one line, named by the title: its room goes to the axis labels


def draw_tiers(chart: QChart, tiers: Sequence[tuple[int, int]]) -> None:
    """Personal payments by tier."""
    chart.setTitle("缴费档次分布（个人缴费笔数）")
    bars = QBarSet("缴费笔数")
    bars.append([n for _, n in tiers])
    series = QBarSeries()
    series.append(bars)
    x = QBarCategoryAxis()
    x.append([yuan_text(t) for t, _ in tiers] or ["—"])
    x.setTruncateLabels(False)
    x.setTitleText("档次（元）")
    _replot(chart, series, x, max([n for _, n in tiers] or [1]))
    chart.legend().setVisible(False)  # one set of bars, named by the title


def render_chart(draw: Callable[[QChart], None], size_mm: tuple[float, float], path: Path) -> None:
    """Draw a chart for paper into a PNG of the box it fills on the page: white, with no frame or shadow."""
    chart = QChart()
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setBackgroundRoundness(0)
    chart.setDropShadowEnabled(False)
    chart.setBackgroundBrush(QColor("white"))
    chart.setBackgroundPen(QPen(Qt.PenStyle.NoPen))
    chart.setMargins(QMargins(0, 0, 0, 0))
    draw(chart)
    width, height = size_mm[0] * PRINT_PX_PER_MM, size_mm[1] * PRINT_PX_PER_MM
    scene = QGraphicsScene()
    scene.addItem(chart)
    chart.setGeometry(QRectF(0, 0, width, height))
    chart.layout().activate()  # lay the axes out now: there is no event loop turn before the render
    image = QImage(
        round(width * PRINT_PIXEL_RATIO), round(height * PRINT_PIXEL_RATIO), QImage.Format.Format_RGB32
    )
    image.setDevicePixelRatio(PRINT_PIXEL_RATIO)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    scene.render(painter, QRectF(0, 0, width, height), QRectF(0, 0, width, height))
    painter.end()
    if not image.save(str(path)):
        raise OSError(f"无法保存图表：{path}")


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
        self.pages = _Pages()
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
        # The table and the charts each get the whole page (a 768-line screen at 125 % cannot show both):
        # the table keeps every column and, pinned under it, the 合计 row; the charts are as on the report.
        self.views = _Pages()
        table_page = QWidget()
        table_layout = QVBoxLayout(table_page)
        table_layout.setContentsMargins(0, 0, 0, 0)
        table_layout.setSpacing(0)
        self.table = ListTable()
        self.total = ListTable()  # the 合计 row, always in view however many areas scroll above it
        self.total.horizontalHeader().setVisible(False)
        self.total.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.total.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.total.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        bold = self.total.font()
        bold.setBold(True)
        self.total.setFont(bold)
        self.table.horizontalHeader().sectionResized.connect(
            lambda n, _old, new: self.total.setColumnWidth(n, new)
        )
        self.table.horizontalScrollBar().valueChanged.connect(self.total.horizontalScrollBar().setValue)
        table_layout.addWidget(self.table, 1)
        table_layout.addWidget(self.total)
        self.views.addTab(table_page, "统计表")
        self.compare_chart, self.compare_view = _chart("")
        self.progress_chart, self.progress_view = _chart("")
        self.tier_chart, self.tier_view = _chart("")
        # The comparison grows with the areas (a row of room each) and scrolls rather than skip names.
        compare = QScrollArea()
        compare.setWidgetResizable(True)
        compare.setFrameShape(QFrame.Shape.NoFrame)
        compare.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        compare.setWidget(self.compare_view)
        charts, right = QSplitter(Qt.Orientation.Horizontal), QSplitter(Qt.Orientation.Vertical)
        for splitter, widgets in ((right, (self.progress_view, self.tier_view)), (charts, (compare, right))):
            for n, widget in enumerate(widgets):
                splitter.addWidget(widget)
                splitter.setStretchFactor(n, 1)
                splitter.setCollapsible(n, False)
        charts.setSizes([1000, 1000])  # half the page each (a scroll area's own size hint is tiny)
        self.views.addTab(charts, "统计图表")
        layout.addWidget(self.views, 1)
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
        rows = statistics.area_table(s)  # the areas, then the 合计 row
        counts = range(1, 9)  # people and their change: 12,345 as in the printed report
        self.table.set_rows(list(statistics.AREA_HEADERS), rows[:-1], counts)
        self.total.set_rows(list(statistics.AREA_HEADERS), rows[-1:], counts)
        header = self.table.horizontalHeader()
        for n in range(header.count()):  # the 合计 figures can be the widest: both tables take the wider
            width = max(header.sectionSize(n), self.total.sizeHintForColumn(n))
            self.table.setColumnWidth(n, width)
            self.total.setColumnWidth(n, width)
        self.total.setFixedHeight(self.total.rowHeight(0) + 2 * self.total.frameWidth())
        frame = 2 * self.table.frameWidth() + self.table.verticalScrollBar().sizeHint().width()
        self.table.setMinimumWidth(header.length() + frame)  # every column in view
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

    def _by_village(self) -> bool:
        return self.stats is not None and self.town.currentData() is not None

    def _draw_compare(self) -> None:
        draw_compare(self.compare_chart, self.stats, self._by_village())
        areas = len(self.stats.rows) if self.stats else 1
        self.compare_view.setMinimumHeight(
            140 + CATEGORY_PX * areas
        )  # title, axis and legend, then the areas

    def _draw_progress(self) -> None:
        draw_progress(self.progress_chart, self.stats.weekly if self.stats else [])

    def _draw_tiers(self) -> None:
        draw_tiers(self.tier_chart, self.stats.tiers if self.stats else [])

    def chart_images(self, folder: Path) -> list[Path]:
        """The three charts drawn for paper, each in the proportions of its box on the report's chart page."""
        stats, by_village = self.stats, self._by_village()
        draws: list[Callable[[QChart], None]] = [
            lambda chart: draw_compare(chart, stats, by_village),
            lambda chart: draw_progress(chart, stats.weekly if stats else []),
            lambda chart: draw_tiers(chart, stats.tiers if stats else []),
        ]
        paths = [folder / "区域对比.png", folder / "征缴进度.png", folder / "档次分布.png"]
        for draw, box, path in zip(draws, stats_report.CHART_BOXES, paths, strict=True):
            render_chart(draw, box, path)
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
