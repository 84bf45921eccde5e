"""退费审核 tab: enter cases, move them through the four steps, print forms, build the fund request."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QFormLayout,
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

from core import arrears, ledger, refunds
from core.auth import Actor
from core.errors import UserError
from core.money import fen_to_yuan, format_yuan, yuan_to_fen
from dao.models import REFUND_DOCUMENTS, REFUND_REASONS, Contribution
from gui import file_dialogs, printing
from gui.tables import ListTable, button_row
from gui.workers import run_busy

ALL = "（全部）"


def step_date_field() -> QDateEdit:
    """The day a step happened: today unless a clerk enters paperwork late (a future day is refused)."""
    field = QDateEdit(QDate.currentDate())
    field.setCalendarPopup(True)
    field.setDisplayFormat("yyyy-MM-dd")
    field.setMaximumDate(QDate.currentDate())
    field.setMaximumWidth(130)
    field.setToolTip("补录时改为实际办理的日期；25 日截止和资金月份按这一天计算")
    return field


def _ask(parent: QWidget, title: str, label: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, label)
    return text if ok else None


class CasesPage(QWidget):
    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.rows: list[refunds.CaseRow] = []
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.state = QComboBox()
        self.state.addItems([ALL, *refunds.STATES])
        self.state.currentIndexChanged.connect(self.refresh)
        self.month = QLineEdit()
        self.month.setPlaceholderText("YYYY-MM（报送批次或资金月份）")
        self.month.returnPressed.connect(self.refresh)
        top.addWidget(QLabel("状态："))
        top.addWidget(self.state)
        top.addWidget(QLabel("月份："))
        top.addWidget(self.month)
        top.addStretch(1)
        self.step_date = step_date_field()
        top.addWidget(QLabel("办理日期："))
        top.addWidget(self.step_date)
        self.summary = QLabel("")
        top.addWidget(self.summary)
        layout.addLayout(top)
        self.table = ListTable()
        layout.addWidget(self.table, 1)
        actions: list[tuple[str, Callable[[], None]]] = [
            ("初审", lambda: self.move("初审")),
            ("复核通过", lambda: self.move("复核通过")),
            ("退回…", lambda: self.move("退回", ask="退回原因：")),
            ("已退款…", lambda: self.move("已退款", ask_ref=True)),
            ("退款失败…", lambda: self.move("退款失败", ask="失败原因（如账号错误、银行退回）：")),
            ("重新发放", lambda: self.move("重新发放")),
            ("撤销", lambda: self.move("撤销")),
            ("修改账户…", self.correct_account),
            ("打印审批表…", self.print_sheets),
            ("打印申请表…", self.print_application),
        ]
        layout.addLayout(button_row(actions)[0])
        printing.print_shortcut(self, self.print_sheets)

    def refresh(self) -> None:
        state = None if self.state.currentText() == ALL else self.state.currentText()
        try:
            self.rows = refunds.listing(self.actor, state, self.month.text().strip() or None)
        except UserError as exc:
            QMessageBox.warning(self, "无法查询", str(exc))
            return
        self.table.set_rows(["案件编号", "状态", "乡镇", "身份证号码", "姓名", "原因", "金额（元）", "报送批次", "资金月份",
                                         "受理人", "受理时间"],
                            [[r.case_no, r.state, r.township, r.id_number, r.name, r.reason, fen_to_yuan(r.amount_fen),
                              r.batch_month, r.fund_month, r.entered_by, f"{r.entered_at:%Y-%m-%d}"] for r in self.rows])  # fmt: skip
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.summary.setText(
            f"共 {len(self.rows)} 件，金额合计 {format_yuan(sum(r.amount_fen for r in self.rows))} 元"
        )

    def selected(self) -> list[refunds.CaseRow]:
        return [self.rows[r] for r in sorted({i.row() for i in self.table.selectedIndexes()})]

    def move(self, target: str, *, ask: str | None = None, ask_ref: bool = False) -> None:
        chosen = self.selected()
        if not chosen:
            QMessageBox.information(self, "退费审核", "请先在表中选择案件。")
            return
        reason = bank_ref = ""
        if ask:
            reason = _ask(self, target, ask)
            if reason is None:
                return
        if ask_ref:
            bank_ref = _ask(self, target, "银行流水号：")
            if bank_ref is None:
                return
        day = self.step_date.date().toPython()
        try:  # all or nothing, as on the command line: the message names the case that could not move
            moved = refunds.advance_many(self.actor, [row.case_no for row in chosen], target, reason=reason,
                                         bank_ref=bank_ref, on=day, expected_versions=[row.version for row in chosen])  # fmt: skip
        except UserError as exc:
            self.refresh()
            QMessageBox.warning(self, "退费审核", str(exc))
            return
        self.refresh()
        QMessageBox.information(self, "退费审核", f"{target}：{len(moved)} 件，办理日期 {day:%Y-%m-%d}。")

    def correct_account(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            QMessageBox.information(self, "修改账户", "请选择一个案件。")
            return
        values = [_ask(self, "修改账户", label) for label in ("收款人户名：", "银行账号：", "开户行：")]
        if any(v is None for v in values):
            return
        try:
            refunds.correct_account(self.actor, chosen[0].id, *values)  # type: ignore[arg-type]
        except UserError as exc:
            QMessageBox.warning(self, "无法修改", str(exc))
            return
        self.refresh()

    def print_sheets(self) -> None:
        chosen = self.selected() or self.rows
        if not chosen:
            return
        ids = [r.id for r in chosen]
        printing.print_pdf(self, "退费审批表", f"退费审批表_{dt.date.today():%Y%m%d}.pdf",
                           lambda path: refunds.print_approval_sheets(self.actor, ids, path))  # fmt: skip

    def print_application(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            QMessageBox.information(self, "打印申请表", "请选择一个案件。")
            return
        case_id = chosen[0].id
        printing.print_pdf(self, "退费申请表和缴费证明（各一式三份）", f"{chosen[0].case_no}_申请表.pdf",
                           lambda path: refunds.print_application(self.actor, case_id, path))  # fmt: skip


class EntryPage(QWidget):
    """受理: the resident, the payments refunded, reason, account, documents; or a refund candidate."""

    def __init__(self, actor: Actor, on_created: Callable[[], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.on_created = on_created
        self.resident = None
        self.payments: list[Contribution] = []
        self.candidate_id: int | None = None
        layout = QVBoxLayout(self)
        search = QHBoxLayout()
        self.id_edit = QLineEdit()
        self.id_edit.setPlaceholderText("缴费人身份证号码，回车查询")
        self.id_edit.returnPressed.connect(self.find)
        search.addWidget(QLabel("身份证号码："))
        search.addWidget(self.id_edit, 1)
        find = QPushButton("查询")
        find.clicked.connect(self.find)
        search.addWidget(find)
        layout.addLayout(search)
        self.who = QLabel("")
        layout.addWidget(self.who)
        self.pay_table = QTableWidget(0, 6)
        self.pay_table.setHorizontalHeaderLabels(
            ["退", "年度", "税票号码", "实缴（元）", "渠道", "退费金额（元）"]
        )
        self.pay_table.verticalHeader().setVisible(False)
        self.pay_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.pay_table, 1)

        form_box = QGroupBox("退费信息")
        form = QFormLayout(form_box)
        self.insurance = QComboBox()
        self.insurance.addItems(["居民养老", "居民医保"])
        self.reason = QComboBox()
        self.reason.addItems(list(REFUND_REASONS))
        self.reason_text = QLineEdit()
        self.account_name = QLineEdit()
        self.account_no = QLineEdit()
        self.bank = QLineEdit()
        docs = QHBoxLayout()
        self.documents = {d: QCheckBox(d) for d in REFUND_DOCUMENTS}
        for box in self.documents.values():
            box.setChecked(True)
            docs.addWidget(box)
        form.addRow("险种：", self.insurance)
        form.addRow("退费原因：", self.reason)
        form.addRow("原因说明：", self.reason_text)
        form.addRow("收款人户名：", self.account_name)
        form.addRow("银行账号：", self.account_no)
        form.addRow("开户行：", self.bank)
        form.addRow("已收材料：", docs)
        self.accepted_on = step_date_field()
        form.addRow("受理日期：", self.accepted_on)
        layout.addWidget(form_box)
        self.create_button = QPushButton("受理登记")
        self.create_button.setEnabled(False)
        self.create_button.clicked.connect(self.create)
        layout.addWidget(self.create_button)

        cand_box = QGroupBox("退费候选（缴费明细导入发现的多缴、重复缴费等，可一键带入）")
        cand_layout = QVBoxLayout(cand_box)
        self.candidates = ListTable()
        self.candidates.setMaximumHeight(150)
        cand_layout.addWidget(self.candidates)
        use = QPushButton("以选中的候选受理")
        use.clicked.connect(self.use_candidate)
        cand_layout.addWidget(use)
        layout.addWidget(cand_box)
        self.refresh_candidates()

    def refresh_candidates(self) -> None:
        self.candidate_rows = ledger.candidates(self.actor)
        self.candidates.set_rows(["身份证号码", "姓名", "年度", "税票号码", "原因", "建议退费（元）"],
                                 [[c.contribution.resident.id_number, c.contribution.resident.name, c.contribution.year,
                                   c.contribution.voucher, c.message, fen_to_yuan(c.amount_fen)] for c in self.candidate_rows])  # fmt: skip

    def find(self) -> None:
        self.candidate_id = None
        try:
            self.resident = arrears.find_resident(self.actor, self.id_edit.text())
        except UserError as exc:
            self.resident = None
            self.who.setText(f"<span style='color:#b00'>{exc}</span>")
            self.pay_table.setRowCount(0)
            self.create_button.setEnabled(False)
            return
        r = self.resident
        self.who.setText(f"<b>{r.name}</b>　{r.township.name}　电话 {r.phone}")
        self.account_name.setText(r.name)
        self.payments = list(
            Contribution.select().where(Contribution.resident == r.id).order_by(Contribution.year.desc())
        )
        self.pay_table.setRowCount(len(self.payments))
        for n, c in enumerate(self.payments):
            self.pay_table.setCellWidget(n, 0, QCheckBox())
            for col, value in enumerate((c.year, c.voucher, format_yuan(c.amount_fen), c.channel), start=1):
                self.pay_table.setItem(n, col, QTableWidgetItem(str(value)))
            self.pay_table.setItem(n, 5, QTableWidgetItem(str(fen_to_yuan(c.amount_fen))))
        self.create_button.setEnabled(self.actor.can("refund.enter"))

    def use_candidate(self) -> None:
        rows = sorted({i.row() for i in self.candidates.selectedIndexes()})
        if len(rows) != 1:
            QMessageBox.information(self, "退费候选", "请选择一条候选。")
            return
        candidate = self.candidate_rows[rows[0]]
        self.id_edit.setText(candidate.contribution.resident.id_number)
        self.find()
        self.candidate_id = candidate.id
        for n, c in enumerate(self.payments):
            if c.id == candidate.contribution_id:
                self.pay_table.cellWidget(n, 0).setChecked(True)
                self.pay_table.item(n, 5).setText(str(fen_to_yuan(candidate.amount_fen)))
        reason = {"OVER_ANNUAL_MAX": "多缴/超过最高档次", "DUPLICATE_PAYMENT": "重复缴费", "DIED": "死亡",
                  "JOINED_EMPLOYEE_PENSION": "已参加职工养老保险", "PAID_AFTER_60": "其他"}.get(
            candidate.code, "政府代缴后个人重复缴费"
        )  # fmt: skip
        self.reason.setCurrentText(reason)

    def create(self) -> None:
        chosen, amounts = [], []
        try:
            for n, c in enumerate(self.payments):
                if self.pay_table.cellWidget(n, 0).isChecked():
                    chosen.append(c.id)
                    amounts.append(yuan_to_fen(self.pay_table.item(n, 5).text()))
        except ValueError as exc:
            QMessageBox.warning(self, "金额有误", str(exc))
            return
        new = refunds.NewCase(self.resident.id, chosen, amounts, self.reason.currentText(), self.account_name.text(),
                              self.account_no.text(), self.bank.text(), [d for d, b in self.documents.items() if b.isChecked()],
                              self.reason_text.text(), self.insurance.currentText(), self.candidate_id)  # fmt: skip
        try:
            case = refunds.create(self.actor, new, on=self.accepted_on.date().toPython())
        except UserError as exc:
            QMessageBox.warning(self, "无法受理", str(exc))
            return
        QMessageBox.information(self, "已受理", f"已受理 {case.case_no}（{case.state}），退费 {format_yuan(case.amount_fen)} 元。\n"
                                "请打印退费申请表和缴费证明（各一式三份）。")  # fmt: skip
        self.refresh_candidates()
        self.find()
        self.on_created()


class FundPage(QWidget):
    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.month = QLineEdit(refunds.month_of(dt.date.today()))
        self.month.returnPressed.connect(self.refresh)
        show = QPushButton("查看")
        show.clicked.connect(self.refresh)
        pdf = QPushButton("生成申请表（PDF）…")
        pdf.clicked.connect(lambda: self.write(".pdf"))
        xlsx = QPushButton("导出 Excel…")
        xlsx.clicked.connect(lambda: self.write(".xlsx"))
        top.addWidget(QLabel("资金申请月份："))
        top.addWidget(self.month)
        for b in (show, pdf, xlsx):
            top.addWidget(b)
            b.setEnabled(actor.can("refund.fund"))
        top.addStretch(1)
        layout.addLayout(top)
        self.summary = QLabel("每月初，上月复核通过的案件汇总为一份资金申请，报县财政局。")
        layout.addWidget(self.summary)
        self.table = ListTable()
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        try:
            request = refunds.fund_request(self.actor, self.month.text())
        except UserError as exc:
            QMessageBox.warning(self, "资金申请", str(exc))
            return
        self.table.set_rows(["案件编号", "乡镇", "姓名", "收款人户名", "银行账号", "开户行", "金额（元）", "状态"],
                            [[c.case_no, c.township.name, c.resident.name, c.account_name, c.account_no, c.bank_name,
                              fen_to_yuan(c.amount_fen), c.state] for c in request.cases])  # fmt: skip
        towns = "；".join(f"{t} {n} 件 {format_yuan(fen)} 元" for t, n, fen in request.by_township)
        self.summary.setText(
            f"{request.month}：{len(request.cases)} 件，合计 {format_yuan(request.total_fen)} 元。{towns}"
        )

    def write(self, suffix: str) -> None:
        kind = "PDF 文件 (*.pdf)" if suffix == ".pdf" else "Excel 工作簿 (*.xlsx)"
        path = file_dialogs.save_file(
            self, "退费资金申请", file_dialogs.EXPORT, f"退费资金申请_{self.month.text()}{suffix}", [kind]
        )
        if not path:
            return
        try:
            request = run_busy(
                self, "正在生成资金申请……", refunds.write_fund_request, self.actor, self.month.text(), path
            )
        except UserError as exc:
            QMessageBox.warning(self, "资金申请", str(exc))
            return
        QMessageBox.information(
            self, "已生成", f"{len(request.cases)} 件，合计 {format_yuan(request.total_fen)} 元：\n{path}"
        )


class RefundTab(QWidget):
    title = "退费审核"
    permission = "refund.view"

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        self.cutoff = QLabel("")
        layout.addWidget(self.cutoff)
        self.inner = QTabWidget()
        self.cases = CasesPage(actor)
        self.entry = EntryPage(actor, self.refresh)
        self.fund = FundPage(actor)
        self.inner.addTab(self.cases, "案件")
        self.inner.addTab(self.entry, "受理登记")
        self.inner.addTab(self.fund, "资金申请")
        layout.addWidget(self.inner)
        self.refresh()

    def refresh(self) -> None:
        self.cases.refresh()
        status = refunds.cutoff_status(self.actor)
        self.cutoff.setText(f"本月报送县局截止日：<b>{status.cutoff:%Y-%m-%d}</b>（{status.month} 批次，"
                            f"已初审 {status.in_batch} 件）；尚未初审报送：<b>{status.unsent}</b> 件。"
                            "25 日以后初审的案件进入下月批次。")  # fmt: skip

    def shutdown(self) -> None:
        """Nothing runs in the background on this tab."""
