"""补缴核定 tab: declare missed years, assess and print the sheet, follow payment; import the payment ledger."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import arrears, ledger, payments
from core.auth import Actor
from core.constants import ARREARS_ASSESSED, ARREARS_DECLARED, ARREARS_PAID, ARREARS_VOID
from core.money import fen_to_yuan, format_yuan
from core.progress import Job
from gui import file_dialogs, operations, printing
from gui.import_panel import ImportPanel
from gui.operations import ARREARS, IMPORTS, PAYMENTS, POLICY, REFUNDS, RESIDENTS, SPECIAL, Op
from gui.tables import ListTable, permit, township_combo

ALL = "（全部）"


class LedgerImportPanel(ImportPanel):
    file_hint = "选择税务或银行提供的缴费明细（.xlsx、.xls、.csv）：同一税票号码只入账一次"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(actor, ledger.LEDGER_COLUMNS, parent)
        self.changes = frozenset({IMPORTS, PAYMENTS})

    def make_job(
        self, path: Path, sheet: str, overrides: dict[str, int], dry_run: bool
    ) -> Callable[[], Job[Any]]:
        return lambda: ledger.import_contributions(
            path, self.actor, sheet=sheet, dry_run=dry_run, overrides=overrides
        )


class DeclarePage(QWidget):
    """Find a resident, see what they paid, pick the years and tiers to make up."""

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.resident = None
        self.owed: list[arrears.YearOwed] = []
        layout = QVBoxLayout(self)
        search = QHBoxLayout()
        self.id_edit = QLineEdit()
        self.id_edit.setPlaceholderText("输入身份证号码后按回车")
        self.id_edit.returnPressed.connect(self.find)
        find = QPushButton("查询")
        find.clicked.connect(self.find)
        search.addWidget(QLabel("身份证号码："))
        search.addWidget(self.id_edit, 1)
        search.addWidget(find)
        layout.addLayout(search)
        self.info = QLabel("")
        self.info.setWordWrap(True)
        layout.addWidget(self.info)

        row = QHBoxLayout()
        paid_box = QGroupBox("缴费记录（缴费明细）")
        paid_layout = QVBoxLayout(paid_box)
        self.paid_table = ListTable()
        paid_layout.addWidget(self.paid_table)
        row.addWidget(paid_box, 1)
        owed_box = QGroupBox("可补缴年度（勾选要补缴的年度并选择档次）")
        owed_layout = QVBoxLayout(owed_box)
        self.owed_table = QTableWidget(0, 4)
        self.owed_table.setHorizontalHeaderLabels(["补缴", "年度", "缴费档次（元）", "说明"])
        self.owed_table.verticalHeader().setVisible(False)
        self.owed_table.horizontalHeader().setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        owed_layout.addWidget(self.owed_table)
        self.total = QLabel("")
        owed_layout.addWidget(self.total)
        self.declare_button = QPushButton("补缴申报")
        self.declare_button.setEnabled(False)
        self.declare_button.clicked.connect(self.declare)
        owed_layout.addWidget(self.declare_button)
        row.addWidget(owed_box, 1)
        layout.addLayout(row, 1)

    def find(self) -> None:
        number = self.id_edit.text()

        def load() -> tuple:
            card, paid = payments.lookup(self.actor, number, oldest_first=True)
            return card, paid, arrears.overview(self.actor, card.id)

        Op(self, load, success=lambda data: self._show(*data), failure=self._not_found, key="find",
           label="正在查询……").run()  # fmt: skip

    def _not_found(self, message: str) -> None:
        self.resident, self.owed = None, []
        self.info.setText(f"<span style='color:#b00'>{message}</span>")
        self.paid_table.clear_rows()
        self.owed_table.setRowCount(0)
        self.total.setText("")
        self.declare_button.setEnabled(False)

    def _show(
        self, r: payments.ResidentCard, paid: list[payments.PaymentRow], years: arrears.YearsOverview
    ) -> None:
        self.resident, self.owed = r, years.owed
        enrolled = f"{r.enrolled_on:%Y-%m-%d}" if r.enrolled_on else "未记录"
        self.info.setText(f"<b>{r.name}</b>　{r.id_number}　{r.sex}　出生 {r.birth_date:%Y-%m-%d}　{r.township} {r.village}　"
                          f"参保登记 {enrolled}　状态 {r.status}")  # fmt: skip
        self.paid_table.set_rows(["年度", "金额（元）", "类型", "缴费人", "渠道", "缴费日期"],
                                 [[c.year, fen_to_yuan(c.amount_fen), c.kind, c.payer, c.channel,
                                   c.paid_on.isoformat() if c.paid_on else ""] for c in paid])  # fmt: skip
        declared = sorted(years.declared.items())
        self.owed_table.setRowCount(0)  # no tick box of the last person stays behind
        self.owed_table.setRowCount(len(self.owed) + len(declared))
        for n, year in enumerate(self.owed):
            check = QCheckBox()
            check.stateChanged.connect(self._update_total)
            combo = QComboBox()
            for tier in year.tiers:
                combo.addItem(format_yuan(tier), tier)
            combo.currentIndexChanged.connect(self._update_total)
            self.owed_table.setCellWidget(n, 0, check)
            self.owed_table.setItem(n, 1, QTableWidgetItem(str(year.year)))
            self.owed_table.setCellWidget(n, 2, combo)
            note = "属困难群体，可选最低档次" if year.hardship else ""
            self.owed_table.setItem(n, 3, QTableWidgetItem(note))
        for n, (year, status) in enumerate(declared, start=len(self.owed)):  # shown, not hidden
            self.owed_table.setItem(n, 0, QTableWidgetItem("—"))
            self.owed_table.setItem(n, 1, QTableWidgetItem(str(year)))
            self.owed_table.setItem(n, 2, QTableWidgetItem(""))
            self.owed_table.setItem(
                n, 3, QTableWidgetItem(f"{status}，不能重复申报（作废原申报后可重新申报）")
            )
        if not self.owed:
            self.total.setText(years.reason)
        self._update_total()

    def chosen(self) -> list[tuple[int, int]]:
        out = []
        for n, year in enumerate(self.owed):
            if self.owed_table.cellWidget(n, 0).isChecked():
                out.append((year.year, self.owed_table.cellWidget(n, 2).currentData()))
        return out

    def _update_total(self) -> None:
        chosen = self.chosen()
        permit(self.declare_button, self.actor, "arrears.declare", enabled=bool(chosen))
        if self.owed:
            self.total.setText(f"已选 {len(chosen)} 个年度，合计 {format_yuan(sum(t for _, t in chosen))} 元")

    def declare(self) -> None:
        chosen, resident_id = self.chosen(), self.resident.id

        def done(a: object) -> None:
            QMessageBox.information(self, "已申报", f"已申报 {len(chosen)} 个年度，合计 {format_yuan(a.total_fen)} 元。\n"
                                    "请在“核定与打印”中核定并打印核定单。")  # fmt: skip
            self.find()

        Op(self, lambda: arrears.declare(self.actor, resident_id, [y for y, _ in chosen], [t for _, t in chosen]),
           success=done, title="无法申报", label="正在申报……", changes={ARREARS}).run()  # fmt: skip


class AssessPage(QWidget):
    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.rows: list[arrears.AssessmentRow] = []
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.status = QComboBox()
        for label in (ALL, ARREARS_DECLARED, ARREARS_ASSESSED, ARREARS_PAID, ARREARS_VOID):
            self.status.addItem(label)
        self.status.currentIndexChanged.connect(self.refresh)
        self.town = township_combo(actor)
        self.town.currentIndexChanged.connect(self.refresh)
        top.addWidget(QLabel("状态："))
        top.addWidget(self.status)
        top.addWidget(QLabel("乡镇："))
        top.addWidget(self.town)
        top.addStretch(1)
        self.summary = QLabel("")
        top.addWidget(self.summary)
        layout.addLayout(top)
        self.table = ListTable()
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.assess_button = QPushButton("核定")
        self.assess_button.clicked.connect(self.assess)
        self.void_button = QPushButton("作废…")
        self.void_button.clicked.connect(self.void)
        self.print_button = QPushButton("打印核定单…")
        self.print_button.clicked.connect(self.print_sheets)
        printing.print_shortcut(self, self.print_sheets)
        self.export_button = QPushButton("导出清单…")
        self.export_button.clicked.connect(self.export)
        for b in (self.assess_button, self.void_button, self.print_button, self.export_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        permit(self.assess_button, actor, "arrears.assess")
        permit(self.void_button, actor, "arrears.declare")

    def _status(self) -> str | None:
        text = self.status.currentText()
        return None if text == ALL else text

    def refresh(self) -> None:
        status, town = self._status(), self.town.currentData()
        Op(self, lambda: arrears.listing(self.actor, status, town), success=self._show, key="refresh",
           label="正在读取……").run()  # fmt: skip

    def _show(self, rows: list[arrears.AssessmentRow]) -> None:
        self.rows = rows
        self.table.set_rows(["编号", "核定单号", "状态", "乡镇", "身份证号码", "姓名", "补缴年度", "金额（元）", "申报日期",
                                         "核定日期", "已欠天数", "已缴年度"],
                            [[r.id, r.sheet_no, r.status, r.township, r.id_number, r.name, r.years, fen_to_yuan(r.total_fen),
                              f"{r.declared_at:%Y-%m-%d}", f"{r.assessed_at:%Y-%m-%d}" if r.assessed_at else "",
                              "" if r.days_outstanding is None else r.days_outstanding, f"{r.paid_years}/{r.line_count}"]
                             for r in self.rows])  # fmt: skip
        self.table.horizontalHeader().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        total = sum(r.total_fen for r in self.rows)
        self.summary.setText(f"共 {len(self.rows)} 条，金额合计 {format_yuan(total)} 元")

    def selected(self) -> list[arrears.AssessmentRow]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.rows[r] for r in rows]

    def _each(self, action: Callable[[arrears.AssessmentRow], object], done: str) -> None:
        chosen = self.selected()
        if not chosen:
            QMessageBox.information(self, "补缴核定", "请先在表中选择记录。")
            return

        def each() -> int:
            for row in chosen:
                action(row)
            return len(chosen)

        Op(self, each, success=lambda n: QMessageBox.information(self, "完成", done.format(n)),
           failure=lambda message: (QMessageBox.warning(self, "无法完成", message), self.refresh()),
           changes={ARREARS}).run()  # fmt: skip

    def assess(self) -> None:
        self._each(lambda r: arrears.assess(self.actor, r.id), "已核定 {} 条，可打印核定单。")

    def void(self) -> None:
        if not self.selected():
            QMessageBox.information(self, "补缴核定", "请先在表中选择记录。")
            return
        reason, ok = QInputDialog.getText(self, "作废补缴记录", "作废原因：")
        if ok:
            self._each(lambda r: arrears.void(self.actor, r.id, reason), "已作废 {} 条。")

    def print_sheets(self) -> None:
        chosen = self.selected()
        if not chosen:
            QMessageBox.information(self, "打印核定单", "请先选择已核定的记录。")
            return
        ids = [r.id for r in chosen]
        printing.print_pdf(self, "补缴费额核定单", f"补缴核定单_{dt.date.today():%Y%m%d}.pdf",
                           lambda path: arrears.print_sheets(self.actor, ids, path), "正在生成核定单……")  # fmt: skip

    def export(self) -> None:
        name = file_dialogs.save_file(self, "导出补缴清单", file_dialogs.EXPORT, "补缴清单.xlsx",
                                      [file_dialogs.EXCEL_FILTER, file_dialogs.CSV_FILTER])  # fmt: skip
        if not name:
            return
        status, town = self._status(), self.town.currentData()
        Op(self, lambda: arrears.export(self.actor, name, status, town), label="正在导出……", title="导出失败", block=True,
           success=lambda count: QMessageBox.information(self, "已导出", f"已导出 {count} 条到：\n{name}")).run()  # fmt: skip


class ArrearsTab(QWidget):
    title = "补缴核定"
    permission = "arrears.view"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.inner = QTabWidget()
        self.assess_page = AssessPage(actor)
        self.declare_page = DeclarePage(actor)
        self.ledger_panel = LedgerImportPanel(actor)
        permit(self.ledger_panel, actor, "ledger.import")
        self.candidates = ListTable()
        self.inner.addTab(self.declare_page, "补缴申报")
        self.inner.addTab(self.assess_page, "核定与打印")
        self.inner.addTab(self.ledger_panel, "缴费明细导入")
        self.inner.addTab(self.candidates, "退费候选")
        layout.addWidget(self.inner)
        self.assess_page.refresh()
        self.refresh_candidates()

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {ARREARS, PAYMENTS, RESIDENTS, SPECIAL, POLICY}:
            self.assess_page.refresh()
        if changes & {PAYMENTS, REFUNDS}:
            self.refresh_candidates()

    def refresh_candidates(self) -> None:
        Op(self, lambda: ledger.candidates(self.actor), success=self._show_candidates, key="candidates",
           label="正在读取……").run()  # fmt: skip

    def _show_candidates(self, rows: list) -> None:
        self.candidates.set_rows(["身份证号码", "姓名", "年度", "缴费金额（元）", "渠道", "税票号码", "原因", "建议退费（元）", "状态"],
                                 [[c.id_number, c.name, c.year, fen_to_yuan(c.paid_fen), c.channel, c.voucher,
                                   f"{c.code}：{c.message}", fen_to_yuan(c.amount_fen), c.status] for c in rows])  # fmt: skip
        self.inner.setTabText(3, f"退费候选（{len(rows)}）")

    def shutdown(self) -> None:
        operations.shutdown(self)
