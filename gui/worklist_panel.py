"""统计 → 征缴进度: the work lists (未续缴, 补缴动员) village by village; double-click a village for its names,
export to Excel, print a village's list for its assistant. A thin layer over ``core.worklists``."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from core import policy, worklists
from core.auth import Actor
from core.errors import UserError
from gui import file_dialogs, printing
from gui.operations import call
from gui.tables import ListTable, township_combo

EXPLAIN = {
    worklists.LAPSED: "未续缴：上年已缴费（个人缴费、政府代缴或补缴）、本年尚未缴费、本年仍在缴费年龄内（满60周岁当年起不再缴费）的"
    "正常参保人员。本年属于困难群体、由政府代缴的人员单列为“代缴未到账”，不计入未续缴人数。",
    worklists.SHORT_YEARS: "补缴动员：1月1日年满45周岁、不满60周岁的正常参保人员中，已缴年数加上到60周岁前尚可逐年缴费的年数"
    "仍不足15年的人员（国发〔2014〕8号：60周岁时累计缴费满15年方可按月领取基础养老金）。",
}


class WorklistPanel(QWidget):
    """The village table of one list; names open per village."""

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.worklist: worklists.Worklist | None = None
        self.dialogs: list[VillageDialog] = []
        self._pending_first = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.kind = QComboBox()
        for kind, label in worklists.KINDS.items():
            self.kind.addItem(label, kind)
        self.year = QSpinBox()
        self.year.setRange(2000, 2100)
        years = [p.year for p in policy.years()]
        self.year.setValue(max(years) if years else 2020)
        self.town = township_combo(actor, "（全县）")
        show = QPushButton("查询")
        show.clicked.connect(self.refresh)
        names = QPushButton("查看名单")
        names.clicked.connect(self.open_selected)
        export = QPushButton("导出 Excel…")
        export.clicked.connect(self.export_excel)
        self.print_button = QPushButton("打印所选村居名单…")
        self.print_button.clicked.connect(self.print_selected)
        for widget in (QLabel("名单："), self.kind, QLabel("年度："), self.year, QLabel("范围："), self.town, show,
                       names, export, self.print_button):  # fmt: skip
            top.addWidget(widget)
        top.addStretch(1)
        layout.addLayout(top)
        self.explain = QLabel("")
        self.explain.setWordWrap(True)
        layout.addWidget(self.explain)
        self.summary = QLabel("")
        layout.addWidget(self.summary)
        self.table = ListTable()
        self.table.doubleClicked.connect(lambda index: self.open_village(index.row()))
        layout.addWidget(self.table, 1)
        hint = QLabel(
            "双击村居查看人员名单；名单可导出 Excel，或打印给村居协理员逐户联系（含“联系情况/签字”栏）。"
        )
        hint.setStyleSheet("color: gray")
        layout.addWidget(hint)
        self.kind.currentIndexChanged.connect(self.refresh)

    def showEvent(self, event: QShowEvent) -> None:
        """The first look fills the table (not at start-up: a county's table is a database read)."""
        super().showEvent(event)
        if self.worklist is None and not self._pending_first:
            self._pending_first = True
            QTimer.singleShot(0, self.refresh)

    def _kind(self) -> str:
        return str(self.kind.currentData())

    def refresh(self) -> None:
        kind, year, town = self._kind(), self.year.value(), self.town.currentData()
        self.explain.setText(EXPLAIN[kind])
        try:
            wl = call(self, "正在统计……", worklists.worklist, self.actor, kind, year, town, people=False)
        except UserError as exc:
            QMessageBox.warning(self, "征缴进度", str(exc))
            return
        self.worklist = wl
        rows = worklists.village_table(wl)
        self.table.set_rows(list(worklists.village_headers(kind)), rows)
        count, base, share = rows[-1][2], rows[-1][3], rows[-1][4]
        share_text = f"，占 {share}%" if base else ""
        self.summary.setText(
            f"<b>{wl.scope} {year} 年{wl.title}</b>：{len(wl.villages)} 个村居，共 {count:,} 人（基数 {base:,}{share_text}）"
        )

    def _village(self, row: int) -> worklists.VillageRow | None:
        if self.worklist is None or not 0 <= row < len(self.worklist.villages):
            return None  # the 合计 row
        return self.worklist.villages[row]

    def _names(self, village: worklists.VillageRow) -> worklists.Worklist | None:
        assert self.worklist is not None
        village_id = worklists.NO_VILLAGE if village.village_id is None else village.village_id
        try:
            return call(self, "正在读取名单……", worklists.worklist, self.actor, self.worklist.kind,
                            self.worklist.year, village.township_id, village_id)  # fmt: skip
        except UserError as exc:
            QMessageBox.warning(self, "征缴进度", str(exc))
            return None

    def open_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            QMessageBox.information(self, "征缴进度", "请先在表中选择一个村居。")
            return
        self.open_village(rows[0].row())

    def open_village(self, row: int) -> None:
        village = self._village(row)
        if village is None:
            return
        wl = self._names(village)
        if wl is not None:
            dialog = VillageDialog(self, wl)
            self.dialogs = [*self._open_dialogs(), dialog]
            dialog.show()

    def export_excel(self) -> None:
        if self.worklist is None:
            return
        kind, year, town = self.worklist.kind, self.worklist.year, self.town.currentData()
        name = file_dialogs.save_file(self, "导出名单", file_dialogs.EXPORT,
                                      worklists.default_out_name(self.worklist, ".xlsx"), [file_dialogs.EXCEL_FILTER])  # fmt: skip
        if name is None:
            return

        def make() -> int:
            wl = worklists.worklist(self.actor, kind, year, town)
            return worklists.export(self.actor, wl, name)

        try:
            count = call(self, "正在导出……", make)
        except UserError as exc:
            QMessageBox.warning(self, "导出失败", str(exc))
            return
        QMessageBox.information(self, "已导出", f"已导出 {count:,} 人：{name}")

    def print_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        village = self._village(rows[0].row()) if rows else None
        if village is None:
            QMessageBox.information(self, "打印", "请先在表中选择一个村居。")
            return
        wl = self._names(village)
        if wl is not None:
            print_list(self, self.actor, wl)

    def _open_dialogs(self) -> list[VillageDialog]:
        """Name windows still open (a closed one deletes itself)."""
        return [d for d in self.dialogs if isValid(d) and d.isVisible()]

    def shutdown(self) -> None:
        for dialog in self._open_dialogs():
            dialog.close()
        self.dialogs = []


def print_list(parent: QWidget, actor: Actor, wl: worklists.Worklist) -> None:
    """The village's A4 list (the PDF the CLI writes) in the print preview."""
    printing.print_pdf(parent, f"{wl.scope}{wl.title}名单", worklists.default_out_name(wl, ".pdf"),
                       lambda path: worklists.export(actor, wl, path))  # fmt: skip


class VillageDialog(QDialog):
    """One village's names: those to contact and (未续缴) those the government pays for."""

    def __init__(self, panel: WorklistPanel, wl: worklists.Worklist) -> None:
        super().__init__(panel)
        self.panel, self.worklist = panel, wl
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(f"{wl.scope} {wl.year} 年{wl.title}名单")
        layout = QVBoxLayout(self)
        contact = wl.to_contact
        counted = "未续缴" if wl.kind == worklists.LAPSED else "60岁前不足15年"
        layout.addWidget(QLabel(f"<b>{wl.scope}</b>：{counted} {len(contact)} 人"))
        headers = ["序号", *worklists.people_headers(wl.kind)]
        self.table = ListTable()
        self.table.set_rows(headers, _numbered(worklists.people_table(wl.kind, contact)))
        layout.addWidget(self.table, 3)
        self.pending_table: ListTable | None = None
        if wl.kind == worklists.LAPSED:
            pending = wl.subsidy_pending
            layout.addWidget(
                QLabel(
                    f"<b>代缴未到账</b>（本年由政府代缴，不计入未续缴人数，不需向本人催缴）：{len(pending)} 人"
                )
            )
            self.pending_table = ListTable()
            self.pending_table.set_rows(headers, _numbered(worklists.people_table(wl.kind, pending)))
            layout.addWidget(self.pending_table, 1)
        buttons = QHBoxLayout()
        export = QPushButton("导出 Excel…")
        export.clicked.connect(self.export_excel)
        print_button = QPushButton("打印…")
        print_button.clicked.connect(lambda: print_list(self, panel.actor, wl))
        close = QPushButton("关闭")
        close.clicked.connect(self.close)
        buttons.addStretch(1)
        for button in (export, print_button, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.resize(max(900, panel.window().width() * 4 // 5), max(500, panel.window().height() * 4 // 5))

    def export_excel(self) -> None:
        name = file_dialogs.save_file(self, "导出名单", file_dialogs.EXPORT,
                                      worklists.default_out_name(self.worklist, ".xlsx"), [file_dialogs.EXCEL_FILTER])  # fmt: skip
        if name is None:
            return
        try:
            count = call(self, "正在导出……", worklists.export, self.panel.actor, self.worklist, name)
        except UserError as exc:
            QMessageBox.warning(self, "导出失败", str(exc))
            return
        QMessageBox.information(self, "已导出", f"已导出 {count:,} 人：{name}")


def _numbered(rows: list[list[object]]) -> list[list[object]]:
    return [[n, *row] for n, row in enumerate(rows, start=1)]
