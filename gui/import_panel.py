"""The import wizard every importer shares: file -> sheet and column mapping -> preview (dry run) -> import
-> result with row codes -> error workbook. Subclasses add their controls and say which core job to run."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from core import tabular
from core.auth import Actor
from core.errors import os_error_message
from core.progress import Job
from core.rowcodes import CODES, ImportReport, write_error_report
from core.tabular import Column
from gui import file_dialogs
from gui.operations import IMPORTS, Op, broadcast

FILE_FILTER = "表格文件 (*.xlsx *.xls *.csv);;所有文件 (*)"
MAX_ISSUES_SHOWN = 2000
CHANGE_ROWS_SHOWN = 6  # the changes box (identity changes, removals) shows this many rows, then scrolls


class ImportPanel(QWidget):
    imported = Signal()  # the database changed
    file_hint = "选择要导入的文件（.xlsx、.xls、.csv），也可以把文件拖到窗口上（Ctrl+O）"

    def __init__(self, actor: Actor, columns: Sequence[Column], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.columns = columns
        self.path: Path | None = None
        self.preview: tabular.FilePreview | None = None
        self.report: ImportReport | None = None
        self.op: Op | None = None  # the running read or import; its progress shows in the panel's own bar
        self.changes: frozenset[str] = frozenset({IMPORTS})  # what an import announces (subclasses add)
        self._started = 0.0
        self._build()
        self._update_buttons()

    # -- layout -------------------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        self.choose_button = QPushButton("选择文件…")
        self.choose_button.setToolTip(self.file_hint)
        self.choose_button.clicked.connect(self.choose_file)
        QShortcut(QKeySequence.StandardKey.Open, self, activated=self.choose_file)
        self.file_label = QLabel("尚未选择文件")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sheet_combo = QComboBox()
        self.sheet_combo.setMinimumWidth(140)
        self.sheet_combo.activated.connect(self._sheet_changed)
        top.addWidget(self.choose_button)
        top.addWidget(self.file_label, 1)
        self.sheet_label = QLabel("工作表：")
        top.addWidget(self.sheet_label)
        top.addWidget(self.sheet_combo)
        for label, widget in self.extra_controls():
            top.addWidget(QLabel(label))
            top.addWidget(widget)
        layout.addLayout(top)

        self.mapping_box = QGroupBox("表头与列对应（可手工更正未识别的列）")
        grid = QGridLayout(self.mapping_box)
        self.header_label = QLabel("")
        grid.addWidget(self.header_label, 0, 0, 1, 6)
        self.mapping_combos: dict[str, QComboBox] = {}
        for n, column in enumerate(self.columns):
            label = QLabel(("* " if column.required else "") + column.label + "：")
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            combo = QComboBox()
            combo.setMinimumWidth(150)
            combo.currentIndexChanged.connect(self._update_buttons)
            label.setBuddy(combo)
            self.mapping_combos[column.field] = combo
            row, col = 1 + n // 3, (n % 3) * 2
            grid.addWidget(label, row, col)
            grid.addWidget(combo, row, col + 1)
        layout.addWidget(self.mapping_box)

        actions = QHBoxLayout()
        self.preview_button = QPushButton("预览（只校验，不写入）")
        self.preview_button.clicked.connect(lambda: self.run(dry_run=True))
        self.import_button = QPushButton("开始导入")
        self.import_button.clicked.connect(lambda: self.run(dry_run=False))
        self.cancel_button = QPushButton("取消")
        self.cancel_button.clicked.connect(self.cancel)
        self.errors_button = QPushButton("导出错误清单…")
        self.errors_button.setToolTip("被拒绝的行原样导出，并标出错误的单元格和原因，发回村居改正后重新导入")
        self.errors_button.clicked.connect(self.save_error_report)
        for button in (self.preview_button, self.import_button, self.cancel_button, self.errors_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout.addLayout(actions)

        progress_row = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setFormat("%p%")
        self.progress_label = QLabel("")
        progress_row.addWidget(self.progress, 2)
        progress_row.addWidget(self.progress_label, 3)
        layout.addLayout(progress_row)

        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)

        # What the import changes or holds back, filled by a subclass (removals, identity changes).
        self.changes_box = QGroupBox("")
        box = QVBoxLayout(self.changes_box)
        box.setContentsMargins(4, 4, 4, 4)
        self.changes_table = QTableWidget(0, 0)
        self.changes_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.changes_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.changes_table.verticalHeader().setVisible(False)
        box.addWidget(self.changes_table)
        self.changes_box.setVisible(False)
        # As tall as its rows (up to CHANGE_ROWS_SHOWN): the issues get the rest.
        layout.addWidget(self.changes_box)

        self.issues = QTableWidget(0, 5)
        self.issues.setHorizontalHeaderLabels(["行号", "列", "问题", "原因", "结果"])
        self.issues.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.issues.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.issues.verticalHeader().setVisible(False)
        header = self.issues.horizontalHeader()
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 60), (1, 110), (2, 200), (4, 60)):
            self.issues.setColumnWidth(col, width)
        # The rejected rows are what the clerk came to see: at least a few rows, whatever the screen.
        self.issues.setMinimumHeight(
            header.sizeHint().height() + 5 * self.issues.verticalHeader().defaultSectionSize()
        )
        layout.addWidget(self.issues, 1)

    # -- choosing a file ----------------------------------------------------------------------------------
    def choose_file(self) -> None:
        if self.running:
            return
        name = file_dialogs.open_file(self, "选择要导入的文件", file_dialogs.IMPORT, FILE_FILTER.split(";;"))
        if name:
            self.open_file(name)

    def open_file(self, path: Path, sheet: str | None = None) -> None:
        if self.running:
            return
        self.path = Path(path)
        self.preview = None
        self.report = None
        self.file_label.setText(str(self.path))
        self.summary.setText("正在读取表头…")
        self.issues.setRowCount(0)
        self.changes_box.setVisible(False)  # another file: nothing ticked for the last one carries over
        path, columns = self.path, self.columns
        self._start(lambda: tabular.inspect(path, columns, sheet=sheet), self._on_preview)

    def _sheet_changed(self) -> None:
        if self.path is not None and self.preview and self.sheet_combo.currentText() != self.preview.sheet:
            self.open_file(self.path, self.sheet_combo.currentText())

    def _on_preview(self, preview: tabular.FilePreview) -> None:
        self.preview = preview
        self._idle_progress()
        self.sheet_combo.clear()
        self.sheet_combo.addItems(preview.sheet_names)
        self.sheet_combo.setCurrentText(preview.sheet)
        sheets = self.path is None or self.path.suffix.lower() not in (".csv", ".txt")  # a CSV has no sheets
        self.sheet_label.setVisible(sheets)
        self.sheet_combo.setVisible(sheets)
        layout = preview.layout
        self.header_label.setText(f"表头在第 {layout.header_row} 行；带 * 的列必须对应。")
        choices = ["（不导入）"] + [f"{_letter(i)}列：{h or '(空)'}" for i, h in enumerate(layout.headers)]
        for field, combo in self.mapping_combos.items():
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(choices)
            index = layout.mapping.get(field)
            combo.setCurrentIndex(0 if index is None else index + 1)
            combo.blockSignals(False)
        missing = layout.missing_required()
        if missing:
            names = "、".join(c.label for c in missing)
            self.summary.setText(f"没有识别出必需的列：{names}。请在上面手工选择对应的列。")
        else:
            self.summary.setText("表头已识别。请核对列对应关系，然后“预览”或直接“开始导入”。")
        self._update_buttons()

    def overrides(self) -> dict[str, int]:
        return {field: combo.currentIndex() - 1 for field, combo in self.mapping_combos.items()}

    def _mapping_complete(self) -> bool:
        chosen = self.overrides()
        return all(chosen[c.field] >= 0 for c in self.columns if c.required)

    # -- running ------------------------------------------------------------------------------------------
    def run(self, *, dry_run: bool) -> None:
        if self.running or self.path is None or self.preview is None:
            return
        if not self._mapping_complete():
            names = "、".join(c.label for c in self.columns if c.required)
            QMessageBox.warning(self, "列对应不完整", f"{names}必须对应到文件中的列。")
            return
        overrides = {f: i for f, i in self.overrides().items() if i >= 0}
        self.summary.setText("试运行校验中…" if dry_run else "正在导入…")
        self.issues.setRowCount(0)
        self._start(self.make_job(self.path, self.preview.sheet, overrides, dry_run), self._on_report)

    # -- what a subclass provides -------------------------------------------------------------------------
    def extra_controls(self) -> list[tuple[str, QWidget]]:
        """(label, widget) pairs for the top row, e.g. the as-of date or the year."""
        return []

    def make_job(
        self, path: Path, sheet: str, overrides: dict[str, int], dry_run: bool
    ) -> Callable[[], Job[Any]]:
        raise NotImplementedError

    def report_details(self, report: ImportReport) -> str:
        """Extra HTML under the counts (e.g. what a replaced list changed)."""
        return ""

    def show_changes(self, report: ImportReport) -> None:
        """Fill the changes box (what the import removes, changes or holds back); hidden by default."""
        self.changes_box.setVisible(False)

    def fill_changes(self, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
                     checkable: Sequence[bool] = ()) -> None:  # fmt: skip
        """Show ``rows`` in the changes box; rows whose ``checkable`` flag is set get an unticked box in the
        first column."""
        table = self.changes_table
        table.setUpdatesEnabled(False)
        table.clear()
        table.setColumnCount(len(headers))
        table.setHorizontalHeaderLabels(list(headers))
        table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                cell = QTableWidgetItem("" if value is None else str(value))
                if c == 0 and r < len(checkable) and checkable[r]:
                    cell.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
                    cell.setCheckState(Qt.CheckState.Unchecked)
                table.setItem(r, c, cell)
        table.resizeColumnsToContents()
        table.horizontalHeader().setStretchLastSection(True)
        shown = min(max(len(rows), 1), CHANGE_ROWS_SHOWN)  # more scroll inside the box
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + shown * table.verticalHeader().defaultSectionSize()
                             + 2 * table.frameWidth() + (table.horizontalScrollBar().sizeHint().height() if len(rows) else 0))  # fmt: skip
        table.setUpdatesEnabled(True)
        self.changes_box.setTitle(title)
        self.changes_box.setVisible(bool(rows))

    @property
    def running(self) -> bool:
        return self.op is not None

    def cancel(self) -> None:
        if self.op is not None:
            self.op.cancel()

    def _start(self, fn: Callable[[], Any], on_success: Callable[[Any], None]) -> None:
        self._started = time.monotonic()
        self.progress.setRange(0, 0)  # busy until the first tick
        self.progress_label.setText("")
        self.op = Op(self, fn, success=on_success, failure=self._on_failed, cancelled=self._on_cancelled,
                     dialog=False, block=False)  # fmt: skip
        self.op.progressed.connect(self._on_progress)
        self.op.finished.connect(self._op_finished)
        self.op.run()
        self._update_buttons()

    def _op_finished(self) -> None:
        self.op = None
        self._update_buttons()
        self.finished()

    def finished(self) -> None:
        """After every read or import, success or not (a subclass may ask something then)."""

    def _on_progress(self, done: int, total: int, stage: str) -> None:
        if total <= 0:
            return  # a job without a count yet: the bar stays busy
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        rate = done / max(time.monotonic() - self._started, 1e-3)
        self.progress_label.setText(f"{stage}：{done:,} / {total:,} 行，{rate:,.0f} 行/秒")

    def _on_report(self, report: ImportReport) -> None:
        self.report = report
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        seconds = time.monotonic() - self._started
        head = "预览结果（未写入数据库）" if report.dry_run else "导入完成"
        if getattr(report, "refused", False):
            head = "尚未导入（需要确认，未写入数据库）"
        self.summary.setText(
            f"<b>{head}</b>：数据行 {report.rows:,}，新增 <b>{report.imported:,}</b>，更新 {report.updated:,}，"
            f"未变 {report.unchanged:,}，拒绝 <b style='color:#b00'>{report.rejected:,}</b>，"
            f"警告 {len(report.warnings):,}；用时 {max(seconds, 0.1):.1f} 秒。"
            + _codes_text(report)
            + self.report_details(report)
        )
        self.progress_label.setText("")
        self._show_issues(report)
        self.show_changes(report)
        if not report.dry_run and not getattr(report, "refused", False):  # a refused list wrote nothing
            self.imported.emit()
            broadcast(self, self.changes)
        self._update_buttons()

    def _show_issues(self, report: ImportReport) -> None:
        items = sorted(
            [(e, "拒绝") for e in report.errors] + [(w, "警告") for w in report.warnings],
            key=lambda p: p[0].row,
        )
        shown = items[:MAX_ISSUES_SHOWN]
        self.issues.setUpdatesEnabled(False)
        self.issues.setRowCount(len(shown))
        for r, (item, kind) in enumerate(shown):
            # In Chinese; the code itself is in the tooltip and the error workbook.
            problem = code_label(item.code) or item.code
            for c, value in enumerate((item.row, item.column, problem, item.message, kind)):
                cell = QTableWidgetItem(str(value))
                if c == 2:
                    cell.setToolTip(f"{problem}（代码 {item.code}）")
                elif c == 3:
                    cell.setToolTip(str(value))  # the whole reason when the column cuts it off
                if kind == "拒绝" and c == 4:
                    cell.setForeground(Qt.GlobalColor.darkRed)
                self.issues.setItem(r, c, cell)
        self.issues.setUpdatesEnabled(True)
        if len(items) > MAX_ISSUES_SHOWN:
            self.summary.setText(
                self.summary.text() + f"（表中只列出前 {MAX_ISSUES_SHOWN} 条，全部请导出错误清单）"
            )

    def _idle_progress(self) -> None:
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress_label.setText("")

    def _on_failed(self, message: str) -> None:
        self._idle_progress()
        self.summary.setText(f"<span style='color:#b00'>{message}</span>")
        QMessageBox.warning(self, "无法导入", message)

    def _on_cancelled(self) -> None:
        self._idle_progress()
        self.summary.setText("已取消：数据库保持导入前的状态，没有写入任何数据。")

    def save_error_report(self) -> None:
        if self.report is None or not self.report.rejected_rows:
            return
        suggested = str(Path(self.report.file_name).with_suffix("")) + "_错误清单.xlsx"
        name = file_dialogs.save_file(
            self, "保存错误清单", file_dialogs.EXPORT, Path(suggested).name, [file_dialogs.EXCEL_FILTER]
        )
        if not name:
            return
        try:
            count = write_error_report(self.report, name)
        except OSError as exc:
            QMessageBox.warning(self, "保存失败", os_error_message(exc))
            return
        QMessageBox.information(self, "已保存", f"已导出 {count} 行被拒绝的数据到：\n{name}")

    def _update_buttons(self) -> None:
        busy = self.running
        ready = self.preview is not None and self._mapping_complete()
        self.choose_button.setEnabled(not busy)
        self.sheet_combo.setEnabled(not busy and self.preview is not None)
        self.mapping_box.setEnabled(not busy and self.preview is not None)
        self.preview_button.setEnabled(not busy and ready)
        self.import_button.setEnabled(not busy and ready)
        self.cancel_button.setEnabled(busy)
        self.errors_button.setEnabled(
            not busy and self.report is not None and bool(self.report.rejected_rows)
        )


def _letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def code_label(code: str) -> str:
    """The short Chinese name of a row code (REQUIRED_MISSING -> 必填项为空)."""
    entry = CODES.get(code)
    return entry[1].split("，")[0] if entry else ""


def _codes_text(report: ImportReport) -> str:
    counts = report.counts_by_code()
    if not counts:
        return ""
    parts = [f"{CODES[code][1].split('，')[0]} {n}" for code, n in sorted(counts.items())]
    return "<br>按原因：" + "；".join(parts)
