"""花名册: the roster browser — filters pushed into the database, paged table, details, export."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core import regions, roster
from core.auth import Actor
from core.constants import RESIDENT_STATUSES, ResidentFilter
from core.errors import UserError
from gui import file_dialogs
from gui.operations import RESIDENTS, Op, broadcast
from gui.resident_actions import MovesDialog
from gui.resident_dialog import ResidentDialog
from gui.resident_model import ResidentTableModel
from gui.resident_register_dialog import RegisterDialog
from gui.tables import ROW_HEIGHT, township_combo

ALL = "（全部）"


class RosterBrowser(QWidget):
    changed = Signal()

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.model = ResidentTableModel(actor, self)
        self.model.loading.connect(lambda: self.count_label.setText("正在读取……"))
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._failed)
        self.export_op: Op | None = None
        self._build()
        self._load_townships()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        filters = QHBoxLayout()
        self.township = township_combo(self.actor, ALL)
        self.township.setMinimumWidth(120)
        # A filter chosen from a list re-runs the query at once: the table never shows one filter's people
        # under another filter's name (typed text runs on Enter or 查询).
        self.township.currentIndexChanged.connect(lambda _i: (self._township_changed(), self.search()))
        self.village = QComboBox()
        self.village.setMinimumWidth(120)
        self.status = QComboBox()
        self.status.addItems([ALL, *RESIDENT_STATUSES])
        self.status.currentIndexChanged.connect(lambda _i: self.search())
        self.village.currentIndexChanged.connect(lambda _i: self.search())
        self.id_search = QLineEdit()
        self.id_search.setPlaceholderText("身份证号（全号或尾号）")
        self.id_search.setClearButtonEnabled(True)
        self.name_search = QLineEdit()
        self.name_search.setPlaceholderText("姓名")
        self.name_search.setClearButtonEnabled(True)
        for edit in (self.id_search, self.name_search):
            edit.returnPressed.connect(self.search)
        self.search_button = QPushButton("查询")
        self.search_button.clicked.connect(self.search)
        self.export_button = QPushButton("导出当前结果…")
        self.export_button.clicked.connect(self.export)
        self.register_button = QPushButton("新参保登记…")
        self.register_button.clicked.connect(self.register)
        self.register_button.setEnabled(self.actor.can("roster.edit"))
        for text, widget in (("乡镇：", self.township), ("村居：", self.village), ("状态：", self.status)):
            label = QLabel(text)
            label.setBuddy(widget)
            filters.addWidget(label)
            filters.addWidget(widget)
        filters.addWidget(self.id_search, 2)
        filters.addWidget(self.name_search, 1)
        filters.addWidget(self.search_button)
        filters.addWidget(self.export_button)
        filters.addWidget(self.register_button)
        layout.addLayout(filters)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.id_search.setFocus)
        QShortcut(QKeySequence.StandardKey.Refresh, self, activated=self.search)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicatorShown(True)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        for col, width in enumerate((180, 90, 50, 100, 100, 120, 120, 80)):
            self.table.setColumnWidth(col, width)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda index: self.open_resident(index.row()))
        self.table.activated.connect(lambda index: self.open_resident(index.row()))
        layout.addWidget(self.table, 1)

        bottom = QHBoxLayout()
        self.count_label = QLabel("")
        bottom.addWidget(self.count_label)
        moves = QPushButton("转移记录…")
        moves.clicked.connect(lambda: MovesDialog(self.actor, self).exec())
        bottom.addWidget(moves)
        bottom.addStretch(1)
        bottom.addWidget(QLabel("双击一行查看详情、缴费和历史记录，办理信息变更、转移、暂停/终止/恢复"))
        layout.addLayout(bottom)

    def _load_townships(self) -> None:
        self._township_changed()

    def _township_changed(self) -> None:
        """A township chosen: its villages are read in an operation; until they come only （全部） is offered."""
        self.village.blockSignals(True)  # repopulating is not a choice of village
        self.village.clear()
        self.village.addItem(ALL, None)
        self.village.setEnabled(False)
        self.village.blockSignals(False)
        self._load_villages()

    def _load_villages(self) -> None:
        town_id = self.township.currentData()
        if town_id is not None:
            Op(self, lambda: regions.villages(town_id), success=lambda found: self._show_villages(town_id, found),
               key="villages", dialog=False).run()  # fmt: skip

    def _show_villages(self, town_id: int, villages: list) -> None:
        if town_id != self.township.currentData():  # 全部 chosen meanwhile (a newer read drops this one)
            return
        chosen = self.village.currentData()  # a refresh keeps the village chosen
        self.village.blockSignals(True)
        self.village.clear()
        self.village.addItem(ALL, None)
        for v in villages:
            self.village.addItem(v.name, v.id)
        index = self.village.findData(chosen)
        self.village.setCurrentIndex(max(0, index))
        self.village.setEnabled(True)
        self.village.blockSignals(False)
        if chosen is not None and index < 0:
            self.search()  # the village chosen is gone: the list follows the filter shown

    def current_filter(self) -> ResidentFilter:
        status = self.status.currentText()
        return ResidentFilter(
            township_id=self.township.currentData(),
            village_id=self.village.currentData(),
            id_query=self.id_search.text().strip(),
            name_query=self.name_search.text().strip(),
            status="" if status == ALL else status,
        )

    def search(self) -> None:
        """Run the filters' query in an operation; the count shows when its rows arrive."""
        self.model.set_filter(self.current_filter())

    def _loaded(self, elapsed: float) -> None:
        self.count_label.setText(
            f"{self.shown_filter_text()}共 {self.model.total:,} 人（查询用时 {elapsed * 1000:.0f} 毫秒）"
        )

    def _failed(self, message: str) -> None:
        self.count_label.setText("读取失败")
        QMessageBox.warning(self, "花名册", message)

    def shown_filter_text(self) -> str:
        """The filter the list shows (and 导出当前结果 writes), named above the count."""
        flt = self.model.filter
        parts = [self.township.itemText(self.township.findData(flt.township_id)) if flt.township_id else "",
                 self.village.itemText(self.village.findData(flt.village_id)) if flt.village_id else "",
                 flt.status, flt.id_query, flt.name_query]  # fmt: skip
        named = "，".join(p for p in parts if p)
        return f"{named}：" if named else ""

    def refresh(self) -> None:
        self._load_villages()
        self.search()

    def open_resident(self, row: int) -> None:
        if row < 0 or row >= len(self.model.rows):
            return
        self.show_resident(self.model.resident_id(row))

    def show_resident(self, resident_id: int) -> None:
        while (
            True
        ):  # an action in the detail (变更, 转移, 暂停 ...) closes it to reopen it with the new state
            try:
                dialog = ResidentDialog(self.actor, resident_id, self)
            except UserError as exc:  # deleted or moved away meanwhile, or the database failed
                QMessageBox.warning(self, "花名册", str(exc))
                return
            if not (dialog.exec() and dialog.saved):
                return
            self.model.reload()
            self.changed.emit()
            broadcast(self, {RESIDENTS})
            if not getattr(dialog, "reopen", False):
                return

    def register(self) -> None:
        dialog = RegisterDialog(self.actor, self)
        if dialog.exec() and dialog.resident_id is not None:
            self.model.reload()
            self.changed.emit()
            broadcast(self, {RESIDENTS})
            self.show_resident(dialog.resident_id)
        elif dialog.open_existing is not None:
            self.show_resident(dialog.open_existing)

    def export(self) -> None:
        if self.export_op is not None:
            return
        name = file_dialogs.save_file(
            self,
            "导出花名册",
            file_dialogs.EXPORT,
            "花名册.xlsx",
            [file_dialogs.EXCEL_FILTER, file_dialogs.CSV_FILTER],
        )
        if not name:
            return
        flt = self.model.filter  # exactly the query the list shows
        self.export_button.setEnabled(False)
        self._export_path = name
        self.export_op = Op(self, lambda: roster.export(self.actor, name, flt), success=self._exported,
                            title="导出失败", label="正在导出花名册……", cancellable=True)  # fmt: skip
        self.export_op.progressed.connect(self._export_progress)
        self.export_op.finished.connect(self._export_finished)
        self.export_op.run()

    def _export_finished(self) -> None:
        self.export_op = None
        self.export_button.setEnabled(True)

    def _export_progress(self, done: int, total: int, stage: str) -> None:
        self.count_label.setText(f"正在导出：{done:,} / {total:,} 人")

    def _exported(self, count: int) -> None:
        self.count_label.setText(f"已导出 {count:,} 人到 {self._export_path}")
        QTimer.singleShot(4000, self, self._show_count)  # bound to self: no timer outlives the widget

    def _show_count(self) -> None:
        if not self.model.busy:  # a query started meanwhile says 正在读取 until its rows come
            self.count_label.setText(f"共 {self.model.total:,} 人")
