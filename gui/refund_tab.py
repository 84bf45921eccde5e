"""退费审核 tab: enter cases, move them through the four steps, see a case in full, print forms, build the fund
request. Every read and step runs as an operation (gui.operations); the tab refreshes on what changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import ledger, payments, refund_view, refunds
from core.auth import FINANCE, REVIEWER, Actor, who_may
from core.constants import REFUND_DOCUMENTS, REFUND_REASONS
from core.money import fen_to_yuan, format_yuan, yuan_to_fen
from gui import file_dialogs, operations, printing
from gui.operations import PAYMENTS, REFUNDS, RESIDENTS, Op
from gui.tables import ROW_HEIGHT, ListTable, button_row, fit_to_screen, permit

ALL = "（全部）"
PAYMENT_ROWS_SHOWN = 6  # the payment list shows at least this many rows at 1366×768 and 100 %
PAYMENT_ROWS_MIN = 3  # its minimum: at 125 % the form and the 退费候选 list fit below it


def step_date_field() -> QDateEdit:
    """The day a step happened: today unless a clerk enters paperwork late (a future day is refused)."""
    field = QDateEdit(QDate.currentDate())
    field.setCalendarPopup(True)
    field.setDisplayFormat("yyyy-MM-dd")
    field.setMaximumDate(QDate.currentDate())
    field.setMaximumWidth(130)
    field.setToolTip("补录时改为实际办理的日期；25 日截止和资金月份按这一天计算")
    return field


def scrolled(content: QWidget) -> QScrollArea:
    """``content`` in a frameless scroll area: its minimum size stays inside (a tall page no longer makes its
    dialog or its sibling pages taller than the screen); it scrolls when the space is short."""
    area = QScrollArea()
    area.setWidget(content)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    return area


class FlatColumn(QVBoxLayout):
    """A column for a scroll area's content that takes the area's height, not its preferred height: with
    word-wrapped labels inside, the area asks the layout for a height-for-width, which adds up every child's
    preferred size, and the lists would push the content taller than the dialog (a scroll bar where everything
    fits). The column still wraps its labels when it lays them out."""

    def hasHeightForWidth(self) -> bool:
        return False


def money_item(fen: int, editable: bool = False) -> QTableWidgetItem:
    """An amount cell: 1,000.00, right-aligned like the amounts in every list."""
    item = QTableWidgetItem(format_yuan(fen))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    if not editable:
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def _ask(parent: QWidget, title: str, label: str) -> str | None:
    text, ok = QInputDialog.getText(parent, title, label)
    return text if ok else None


def run_dialog(dialog: QDialog) -> bool:
    """Show a modal dialog; whether it was accepted. (Tests replace this to drive the dialog without a user.)"""
    code = dialog.exec()
    return getattr(code, "value", code) == QDialog.DialogCode.Accepted.value


def role_gate(button: QPushButton, actor: Actor, target: str) -> None:
    """A step this role cannot do: disabled, and the tooltip says who may."""
    if not refund_view.may(actor, target):
        button.setEnabled(False)
        button.setToolTip(f"“{target}”须由{refund_view.who_may(target)}办理（当前用户：{actor.role}）")


class AccountDialog(QDialog):
    """修改账户: the three fields in one dialog; 取消 changes nothing."""

    def __init__(self, account: tuple[str, str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("修改收款账户")
        form = QFormLayout(self)
        self.account_name = QLineEdit(account[0])
        self.account_no = QLineEdit(account[1])
        self.bank = QLineEdit(account[2])
        for edit in (self.account_name, self.account_no, self.bank):
            edit.setMinimumWidth(280)
        form.addRow("收款人户名：", self.account_name)
        form.addRow("银行账号：", self.account_no)
        form.addRow("开户行：", self.bank)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str, str]:
        return self.account_name.text(), self.account_no.text(), self.bank.text()


class CaseDialog(QDialog):
    """A case in full for the reviewer: the resident, every payment with voucher, channel and date, the amount
    and 大写, the account, the documents received, the history with names and reasons; the steps this user
    may take from here (``chosen`` is the step picked, the dialog then closes). The case's facts scroll; the
    step buttons stay at the bottom, on screen."""

    # Every step; the dialog shows those this role may take (财务 records 已退款/退款失败 from here too).
    STEPS = ("初审", "复核通过", "退回…", "已退款…", "退款失败…", "重新发放", "撤销…")

    def __init__(self, actor: Actor, detail: refund_view.CaseDetail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.detail = detail
        self.chosen: str | None = None
        f = detail.form
        self.setWindowTitle(f"退费案件 {detail.case_no}")
        outer = QVBoxLayout(self)
        body = QWidget()
        layout = FlatColumn(body)
        layout.setContentsMargins(0, 0, 0, 0)
        head = QLabel(f"<b>{detail.case_no}</b>　{f.insurance}　状态：<b>{detail.state}</b>"
                      + (f"　报送批次 {detail.batch_month}" if detail.batch_month else "")
                      + (f"　资金月份 {detail.fund_month}" if detail.fund_month else ""))  # fmt: skip
        layout.addWidget(head)

        facts = QGroupBox("缴费人与退费信息")
        grid = QGridLayout(facts)
        rows = [
            ("姓名", f.name, "性别", f.sex),
            ("身份证号码", f.id_number, "乡镇（街道）", f.township),
            ("联系电话", f.phone, "退费原因", f.reason),
            ("退费金额", f"{f.amount} 元", "大写", f.amount_capital),
            ("收款人户名", f.account[0], "银行账号", f.account[1]),
            ("开户行", f.account[2], "受理人", f.entered_by),
        ]
        for r, (l1, v1, l2, v2) in enumerate(rows):
            for c, text in enumerate((l1 + "：", v1, l2 + "：", v2)):
                label = QLabel(str(text))
                if c % 2 == 0:
                    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                else:
                    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                    label.setWordWrap(True)
                grid.addWidget(label, r, c)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        received = set(f.documents.split("、")) if f.documents else set()
        docs = "　".join(("☑ " if d in received else "☐ ") + d for d in REFUND_DOCUMENTS)
        grid.addWidget(QLabel("已收材料："), len(rows), 0, Qt.AlignmentFlag.AlignRight)
        self.documents = QLabel(docs)
        grid.addWidget(self.documents, len(rows), 1, 1, 3)
        if detail.note:
            grid.addWidget(QLabel("退回/失败原因："), len(rows) + 1, 0, Qt.AlignmentFlag.AlignRight)
            grid.addWidget(QLabel(detail.note), len(rows) + 1, 1, 1, 3)
        layout.addWidget(facts)

        layout.addWidget(QLabel("缴费记录（本案退费的，及同年度的其他缴费，供核对重复缴费、多缴）"))
        self.payments = ListTable()
        # Amounts as Decimal yuan: the table right-aligns them and writes 1,000.00, as in every list.
        self.payments.set_rows(["年度", "类型", "税票号码", "实缴（元）", "缴费日期", "渠道", "退费（元）", "本案"],
                               [[p.year, p.kind, p.voucher, p.paid, p.paid_on, p.channel, p.refund, p.note]
                                for p in detail.payments])  # fmt: skip
        self.payments.resizeColumnsToContents()
        self.payments.horizontalHeader().setStretchLastSection(True)
        self.payments.setMinimumHeight(90)
        layout.addWidget(self.payments, 1)

        layout.addWidget(QLabel("办理记录"))
        self.events = ListTable()
        self.events.set_rows(["时间", "步骤", "办理人", "说明（原因）"], [list(t) for t in f.trail])
        self.events.resizeColumnsToContents()
        self.events.horizontalHeader().setStretchLastSection(True)
        self.events.setMinimumHeight(90)
        layout.addWidget(self.events, 1)
        outer.addWidget(scrolled(body), 1)

        row = QHBoxLayout()
        self.step_buttons: dict[str, QPushButton] = {}
        for text in self.STEPS:
            target = text.rstrip("…")
            if not refund_view.may(actor, target):
                continue  # another role's step: the case list names who may, the dialog stays uncluttered
            if target == "重新发放" and detail.state != refunds.FAILED:
                continue  # offered only for a failed payout (refund_view.may_step)
            button = QPushButton(text)
            button.clicked.connect(lambda _=False, t=target: self._choose(t))
            if not refund_view.may_step(actor, target, detail.state):
                button.setEnabled(False)
                button.setToolTip(f"案件当前为“{detail.state}”，不能“{target}”")
            self.step_buttons[target] = button
            row.addWidget(button)
        row.addStretch(1)
        self.print_button = QPushButton("打印审批表…")
        self.print_button.clicked.connect(lambda: self._choose("打印审批表"))
        row.addWidget(self.print_button)
        close = QPushButton("关闭")
        close.clicked.connect(self.reject)
        row.addWidget(close)
        outer.addLayout(row)
        fit_to_screen(self, 900, 620)

    def _choose(self, step: str) -> None:
        self.chosen = step
        self.accept()


class CasesPage(QWidget):
    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.rows: list[refunds.CaseRow] = []
        self.last_dialog: CaseDialog | None = None
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.state = QComboBox()
        self.state.addItems([ALL, *refunds.STATES])
        self.state.currentIndexChanged.connect(self.refresh)
        self.month = QLineEdit()
        self.month.setPlaceholderText("YYYY-MM（报送批次或资金月份）")
        # wide enough for the whole hint, at any scale
        self.month.setMinimumWidth(
            self.month.fontMetrics().horizontalAdvance(self.month.placeholderText()) + 16
        )
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
        self.table.doubleClicked.connect(lambda _index: self.open_case())
        layout.addWidget(self.table, 1)
        actions: list[tuple[str, Callable[[], None]]] = [
            ("查看…", self.open_case),
            ("初审", lambda: self.move("初审")),
            ("复核通过", lambda: self.move("复核通过")),
            ("退回…", lambda: self.move("退回")),
            ("已退款…", lambda: self.move("已退款")),
            ("退款失败…", lambda: self.move("退款失败")),
            ("重新发放", lambda: self.move("重新发放")),
            ("撤销…", lambda: self.move("撤销")),
            ("修改账户…", self.correct_account),
            ("打印审批表…", self.print_sheets),
            ("打印申请表…", self.print_application),
        ]
        row, self.buttons = button_row(actions)
        for text, button in self.buttons.items():
            target = text.rstrip("…")
            if target in refunds.TARGET_NAMES:
                role_gate(button, actor, target)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        permit(self.buttons["修改账户…"], actor, "refund.enter")
        layout.addLayout(row)
        printing.print_shortcut(self, self.print_sheets)

    def refresh(self) -> None:
        state = None if self.state.currentText() == ALL else self.state.currentText()
        month = self.month.text().strip() or None
        Op(self, lambda: refunds.listing(self.actor, state, month), success=self._show, key="refresh",
           title="无法查询", label="正在读取……").run()  # fmt: skip

    def _show(self, rows: list[refunds.CaseRow]) -> None:
        self.rows = rows
        self.table.set_rows(["案件编号", "状态", "乡镇", "身份证号码", "姓名", "原因", "金额（元）", "报送批次", "资金月份",
                                         "受理人", "受理时间"],
                            [[r.case_no, r.state, r.township, r.id_number, r.name, r.reason, fen_to_yuan(r.amount_fen),
                              r.batch_month, r.fund_month, r.entered_by, f"{r.entered_at:%Y-%m-%d}"] for r in self.rows])  # fmt: skip
        self.table.horizontalHeader().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        self.summary.setText(
            f"共 {len(self.rows)} 件，金额合计 {format_yuan(sum(r.amount_fen for r in self.rows))} 元"
        )
        self._selection_changed()  # a new list starts with nothing selected

    def selected(self) -> list[refunds.CaseRow]:
        return [self.rows[r] for r in sorted({i.row() for i in self.table.selectedIndexes()})]

    # -- the case in full ---------------------------------------------------------------------------------
    def open_case(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            QMessageBox.information(self, "退费审核", "请选择一个案件（双击一行也可查看）。")
            return
        case_id = chosen[0].id
        Op(self, lambda: refund_view.case_detail(self.actor, case_id), success=self.show_case, title="无法查看",
           label="正在读取案件……").run()  # fmt: skip

    def show_case(self, detail: refund_view.CaseDetail) -> None:
        dialog = CaseDialog(self.actor, detail, self)
        self.last_dialog = dialog
        try:
            if not run_dialog(dialog) or dialog.chosen is None:
                return
            step = dialog.chosen
        finally:
            dialog.deleteLater()
        row = refunds.CaseRow(detail.id, detail.case_no, detail.state, "", "", "", "", 0, "", "", "", dt.datetime.now(),
                              detail.version)  # fmt: skip
        if step == "打印审批表":
            self._print([row])
        else:
            self.move(step, [row])

    # -- steps --------------------------------------------------------------------------------------------
    def _selection_changed(self) -> None:
        """A step this role may take, greyed while no selected case can take it (their state says why)."""
        states = {r.state for r in self.selected()}
        for text, button in self.buttons.items():
            target = text.rstrip("…")
            if target not in refunds.TARGET_NAMES or not refund_view.may(self.actor, target):
                continue
            blocked = sorted(s for s in states if not refund_view.may_step(self.actor, target, s))
            button.setEnabled(not blocked)
            button.setToolTip(f"所选案件为“{'、'.join(blocked)}”，不能“{target}”" if blocked else "")

    def move(self, target: str, chosen: list[refunds.CaseRow] | None = None) -> None:
        chosen = chosen if chosen is not None else self.selected()
        if not chosen:
            QMessageBox.information(self, "退费审核", "请先在表中选择案件。")
            return
        reason = bank_ref = ""
        names = "、".join(r.case_no for r in chosen[:5]) + (
            f" 等 {len(chosen)} 件" if len(chosen) > 5 else ""
        )
        if target in ("撤销", "退回"):  # both end the case's way forward: confirm, and say why
            what = (
                "撤销后案件不再办理，所退的缴费记录可重新受理"
                if target == "撤销"
                else "退回乡镇人社所补正后重新初审"
            )
            sure = QMessageBox.question(self, target, f"确定{target}案件 {names}？\n{what}。")
            if sure != QMessageBox.StandardButton.Yes:
                return
            reason = _ask(self, target, f"{target}原因（必填，记入办理记录）：")
            if reason is None:
                return
            if not reason.strip():
                QMessageBox.warning(self, target, f"请写明{target}原因。")
                return
        elif target == "退款失败":
            reason = _ask(self, target, "失败原因（如账号错误、银行退回）：")
            if reason is None:
                return
        elif target == "已退款":
            bank_ref = _ask(self, target, "银行流水号：")
            if bank_ref is None:
                return
        day = self.step_date.date().toPython()
        refs, versions = [row.case_no for row in chosen], [row.version for row in chosen]

        def done(moved: list) -> None:
            QMessageBox.information(self, "退费审核", f"{target}：{len(moved)} 件，办理日期 {day:%Y-%m-%d}。")

        def refused(message: str) -> None:  # all or nothing: the message names the case that could not move
            self.refresh()
            QMessageBox.warning(self, "退费审核", message)

        Op(self, lambda: refunds.advance_many(self.actor, refs, target, reason=reason, bank_ref=bank_ref, on=day,
                                              expected_versions=versions),
           success=done, failure=refused, label=f"正在{target}……", changes={REFUNDS}).run()  # fmt: skip

    def correct_account(self) -> None:
        chosen = self.selected()
        if len(chosen) != 1:
            QMessageBox.information(self, "修改账户", "请选择一个案件。")
            return
        case_id = chosen[0].id
        Op(self, lambda: refund_view.case_detail(self.actor, case_id), success=self._edit_account,
           title="修改账户").run()  # fmt: skip

    def _edit_account(self, detail: refund_view.CaseDetail) -> None:
        dialog = AccountDialog(detail.form.account, self)
        self.last_dialog = dialog  # type: ignore[assignment]
        try:
            if not run_dialog(dialog):
                return  # 取消: nothing changes
            values = dialog.values()
        finally:
            dialog.deleteLater()
        Op(self, lambda: refunds.correct_account(self.actor, detail.id, *values), title="无法修改",
           success=lambda _case: QMessageBox.information(self, "修改账户", f"{detail.case_no} 的收款账户已修改。"),
           changes={REFUNDS}).run()  # fmt: skip

    def print_sheets(self) -> None:
        self._print(self.selected() or self.rows)

    def _print(self, chosen: list[refunds.CaseRow]) -> None:
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
    """受理: the resident, the payments refunded, reason, account, documents; or a refund candidate. Read-only
    (lookup only) for roles without ``refund.enter``."""

    PAY_HEADERS = ("退", "年度", "税票号码", "实缴（元）", "缴费日期", "渠道", "退费中", "退费金额（元）")

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.may_enter = actor.can("refund.enter")
        self.resident: payments.ResidentCard | None = None
        self.payments: list[payments.PaymentRow] = []
        self.candidate_rows: list = []
        self.candidate_id: int | None = None
        self._pending_candidate = None
        # The page scrolls inside itself: its minimum height (six payments, the form, the candidates) no longer
        # becomes the minimum of the 案件 and 资金申请 pages, whose buttons then stay on a 1366×768 screen.
        body = QWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scrolled(body))
        layout = QVBoxLayout(body)
        if not self.may_enter:
            note = QLabel(f"只读：可查询缴费记录；受理登记须由{who_may('refund.enter')}办理。")
            note.setStyleSheet("color:#555")
            layout.addWidget(note)
        search = QHBoxLayout()
        self.id_edit = QLineEdit()
        self.id_edit.setPlaceholderText("缴费人身份证号码，回车查询")
        self.id_edit.returnPressed.connect(self.find)
        search.addWidget(QLabel("身份证号码："))
        search.addWidget(self.id_edit, 1)
        find = QPushButton("查询")
        find.clicked.connect(self.find)
        search.addWidget(find)
        self.who = QLabel("")  # beside the search: one row less above the payments
        search.addWidget(self.who, 1)
        layout.addLayout(search)
        self.pay_table = QTableWidget(0, len(self.PAY_HEADERS))
        self.pay_table.setHorizontalHeaderLabels(list(self.PAY_HEADERS))
        self.pay_table.verticalHeader().setVisible(False)
        self.pay_table.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
        self.pay_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        header = self.pay_table.horizontalHeader()
        for col, width in ((0, 30), (1, 50), (2, 200), (3, 90), (4, 95), (6, 130), (7, 110)):
            self.pay_table.setColumnWidth(col, width)
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        # The list takes the page's spare height (six payments or more at 100 %); its minimum is lower so the
        # form and the candidates still fit at 125 %.
        self.pay_table.setMinimumHeight(header.sizeHint().height() + ROW_HEIGHT * PAYMENT_ROWS_MIN + 4)
        layout.addWidget(self.pay_table, 1)

        form_box = QGroupBox("退费信息")
        form = QGridLayout(form_box)
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
            box.setChecked(False)  # each ticked by the clerk as the paper is in hand
            docs.addWidget(box)
        docs.addStretch(1)
        self.accepted_on = step_date_field()
        # Two columns of fields: the form stays short enough for the payment list at 1366×768.
        pairs = (("险种：", self.insurance, "退费原因：", self.reason),
                 ("原因说明：", self.reason_text, "收款人户名：", self.account_name),
                 ("银行账号：", self.account_no, "开户行：", self.bank))  # fmt: skip
        for r, (l1, w1, l2, w2) in enumerate(pairs):
            form.addWidget(QLabel(l1), r, 0)
            form.addWidget(w1, r, 1)
            form.addWidget(QLabel(l2), r, 2)
            form.addWidget(w2, r, 3)
        form.addWidget(QLabel("已收材料："), 3, 0)
        form.addLayout(docs, 3, 1, 1, 3)
        form.addWidget(QLabel("受理日期："), 4, 0)
        date_row = QHBoxLayout()
        date_row.addWidget(self.accepted_on)
        date_row.addStretch(1)
        self.create_button = QPushButton("受理登记")
        self.create_button.clicked.connect(self.create)
        date_row.addWidget(self.create_button)
        form.addLayout(date_row, 4, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        layout.addWidget(form_box)

        cand_box = QGroupBox("退费候选（缴费明细导入发现的多缴、重复缴费等，可一键带入）")
        cand_layout = QHBoxLayout(cand_box)
        self.candidates = ListTable()
        self.candidates.setMinimumHeight(80)
        self.candidates.setMaximumHeight(100)
        cand_layout.addWidget(self.candidates, 1)
        self.use_button = QPushButton("以选中的\n候选受理")
        self.use_button.clicked.connect(self.use_candidate)
        cand_layout.addWidget(self.use_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(cand_box)
        # A role that may not enter a case sees the fields greyed, each saying who may.
        self.entry_fields: list[QWidget] = [self.insurance, self.reason, self.reason_text, self.account_name,
                                            self.account_no, self.bank, *self.documents.values(), self.accepted_on,
                                            self.use_button]  # fmt: skip
        for widget in self.entry_fields:
            permit(widget, actor, "refund.enter")
        permit(self.create_button, actor, "refund.enter", enabled=False)
        self.refresh_candidates()

    def refresh_candidates(self) -> None:
        Op(self, lambda: ledger.candidates(self.actor), success=self._show_candidates, key="candidates",
           label="正在读取……").run()  # fmt: skip

    def _show_candidates(self, rows: list) -> None:
        self.candidate_rows = rows
        self.candidates.set_rows(["身份证号码", "姓名", "年度", "税票号码", "原因", "建议退费（元）"],
                                 [[c.id_number, c.name, c.year, c.voucher, c.message, fen_to_yuan(c.amount_fen)]
                                  for c in rows])  # fmt: skip

    def find(self) -> None:
        self.candidate_id = None
        number = self.id_edit.text()
        self._load(lambda: payments.lookup(self.actor, number))

    def _load(self, fetch: Callable[[], tuple], then: Callable[[], None] | None = None) -> None:
        def shown(data: tuple) -> None:
            self._show(*data)
            if then is not None:
                then()

        Op(self, fetch, success=shown, failure=self._not_found, key="find", label="正在查询……").run()

    def _not_found(self, message: str) -> None:
        self.resident = None
        self.who.setText(f"<span style='color:#b00'>{message}</span>")
        self.pay_table.setRowCount(0)
        permit(self.create_button, self.actor, "refund.enter", enabled=False)

    def _show(self, r: payments.ResidentCard, rows: list[payments.PaymentRow]) -> None:
        self.resident, self.payments = r, rows
        self.who.setText(f"<b>{r.name}</b>　{r.id_number}　{r.township}　电话 {r.phone}")
        self.account_name.setText(r.name)
        for box in self.documents.values():
            box.setChecked(False)
        self.pay_table.setRowCount(len(rows))
        for n, c in enumerate(rows):
            check = QCheckBox()
            permit(check, self.actor, "refund.enter")
            self.pay_table.setCellWidget(n, 0, check)
            values = (
                c.year,
                c.voucher,
                "",
                c.paid_on.isoformat() if c.paid_on else "",
                c.channel,
                c.live_case,
            )
            for col, value in enumerate(values, start=1):
                self.pay_table.setItem(n, col, QTableWidgetItem(str(value)))
            self.pay_table.setItem(n, 3, money_item(c.amount_fen))
            self.pay_table.setItem(n, 7, money_item(c.amount_fen, editable=self.may_enter))
            if c.live_case:  # already in a live case: marked here, not discovered on submit
                check.setEnabled(False)
                tip = f"该笔缴费已在退费案件 {c.live_case} 中，不能重复退费"
                for col in range(1, len(self.PAY_HEADERS)):
                    self.pay_table.item(n, col).setForeground(Qt.GlobalColor.darkGray)
                    self.pay_table.item(n, col).setToolTip(tip)
                check.setToolTip(tip)
        permit(self.create_button, self.actor, "refund.enter")

    def use_candidate(self) -> None:
        rows = sorted({i.row() for i in self.candidates.selectedIndexes()})
        if len(rows) != 1:
            QMessageBox.information(self, "退费候选", "请选择一条候选。")
            return
        candidate: ledger.CandidateRow = self.candidate_rows[rows[0]]
        self.id_edit.setText(
            candidate.id_number
        )  # as shown; the person is opened by row id (the number may be masked)

        def fill() -> None:
            self.candidate_id = candidate.id
            for n, c in enumerate(self.payments):
                if c.id == candidate.contribution_id:
                    self.pay_table.cellWidget(n, 0).setChecked(True)
                    self.pay_table.item(n, 7).setText(format_yuan(candidate.amount_fen))
            reason = refunds.candidate_reason(candidate.code)
            self.reason.setCurrentText(reason)
            if reason == "其他":  # as refunds.from_candidate does: the finding is the explanation
                self.reason_text.setText(candidate.message)

        self.candidate_id = None
        self._load(lambda: payments.lookup_by_id(self.actor, candidate.resident_id), then=fill)

    def create(self) -> None:
        if self.resident is None:
            return
        chosen, amounts = [], []
        try:
            for n, c in enumerate(self.payments):
                if self.pay_table.cellWidget(n, 0).isChecked():
                    chosen.append(c.id)
                    amounts.append(yuan_to_fen(self.pay_table.item(n, 7).text()))
        except ValueError as exc:
            QMessageBox.warning(self, "金额有误", str(exc))
            return
        new = refunds.NewCase(self.resident.id, chosen, amounts, self.reason.currentText(), self.account_name.text(),
                              self.account_no.text(), self.bank.text(), [d for d, b in self.documents.items() if b.isChecked()],
                              self.reason_text.text(), self.insurance.currentText(), self.candidate_id)  # fmt: skip
        day = self.accepted_on.date().toPython()

        def done(case: object) -> None:
            QMessageBox.information(self, "已受理", f"已受理 {case.case_no}（{case.state}），退费 {format_yuan(case.amount_fen)} 元。\n"
                                    "请打印退费申请表和缴费证明（各一式三份）。")  # fmt: skip
            self.candidate_id = None
            self._load(lambda: payments.lookup_by_id(self.actor, new.resident_id))

        Op(self, lambda: refunds.create(self.actor, new, on=day), success=done, title="无法受理",
           label="正在受理……", changes={REFUNDS}).run()  # fmt: skip


class FundPage(QWidget):
    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.chose_month = False  # the month field is set once, to the month with approved cases waiting
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.month = QLineEdit(refunds.month_of(dt.date.today()))
        self.month.setMaximumWidth(100)
        self.month.returnPressed.connect(self.refresh)
        show = QPushButton("查看")
        show.clicked.connect(self.refresh)
        pdf = QPushButton("生成申请表（PDF）…")
        pdf.clicked.connect(lambda: self.write(".pdf"))
        xlsx = QPushButton("导出 Excel…")
        xlsx.clicked.connect(lambda: self.write(".xlsx"))
        top.addWidget(QLabel("资金申请月份："))
        top.addWidget(self.month)
        for b in (show, pdf, xlsx):  # a role without refund.fund never sees this page (RefundTab)
            top.addWidget(b)
        top.addStretch(1)
        layout.addLayout(top)
        self.summary = QLabel("每月初，上月复核通过的案件汇总为一份资金申请，报县财政局。")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.table = ListTable()
        layout.addWidget(self.table, 1)

    def refresh(self) -> None:
        if not self.actor.can("refund.fund"):
            return
        typed, first = self.month.text(), not self.chose_month
        self.chose_month = True

        def load() -> tuple[refunds.FundRequest, str]:
            month = refund_view.waiting_fund_month(self.actor, typed) if first else typed
            request = refunds.fund_request(self.actor, month)
            return request, "" if request.cases else refunds.no_cases_message(request.month)

        Op(self, load, success=lambda got: self._show(*got), key="refresh", title="资金申请",
           label="正在读取……").run()  # fmt: skip

    def _show(self, request: refunds.FundRequest, empty_note: str = "") -> None:
        self.month.setText(request.month)
        self.table.set_rows(["案件编号", "乡镇", "姓名", "收款人户名", "银行账号", "开户行", "金额（元）", "状态"],
                            [[c.case_no, c.township.name, c.resident.name, c.account_name, c.account_no, c.bank_name,
                              fen_to_yuan(c.amount_fen), c.state] for c in request.cases])  # fmt: skip
        towns = "；".join(f"{t} {n} 件 {format_yuan(fen)} 元" for t, n, fen in request.by_township)
        self.summary.setText(
            empty_note
            or f"{request.month}：{len(request.cases)} 件，合计 {format_yuan(request.total_fen)} 元。{towns}"
        )

    def write(self, suffix: str) -> None:
        kind = "PDF 文件 (*.pdf)" if suffix == ".pdf" else "Excel 工作簿 (*.xlsx)"
        month = self.month.text()
        path = file_dialogs.save_file(
            self, "退费资金申请", file_dialogs.EXPORT, f"退费资金申请_{month}{suffix}", [kind]
        )
        if not path:
            return

        def done(request: refunds.FundRequest) -> None:
            QMessageBox.information(
                self, "已生成", f"{len(request.cases)} 件，合计 {format_yuan(request.total_fen)} 元：\n{path}"
            )

        Op(self, lambda: refunds.write_fund_request(self.actor, month, path), success=done, title="资金申请",
           label="正在生成资金申请……", block=True).run()  # fmt: skip


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
        self.entry = EntryPage(actor)
        self.fund = FundPage(actor)
        self.inner.addTab(self.cases, "案件")
        self.inner.addTab(self.entry, "受理登记")
        if actor.can("refund.fund"):
            self.inner.addTab(self.fund, "资金申请")
        else:  # a page this role can do nothing on is not offered (the page stays, hidden, for refresh)
            self.fund.setParent(self)
            self.fund.hide()
        layout.addWidget(self.inner)
        # Each role opens on its first useful page: 财务 on the fund request, 县局审核 on the cases to review.
        if actor.role == FINANCE:
            self.inner.setCurrentWidget(self.fund)
        elif actor.role == REVIEWER:
            self.cases.state.blockSignals(True)
            self.cases.state.setCurrentText(refunds.PASSED)
            self.cases.state.blockSignals(False)
        self.refresh()

    def refresh(self) -> None:
        self.cases.refresh()
        self.fund.refresh()
        Op(self, lambda: refunds.cutoff_status(self.actor), success=self._show_cutoff, key="cutoff",
           label="正在读取……").run()  # fmt: skip

    def _show_cutoff(self, status: refunds.CutOff) -> None:
        self.cutoff.setText(f"本月报送县局截止日：<b>{status.cutoff:%Y-%m-%d}</b>（{status.month} 批次，"
                            f"已初审 {status.in_batch} 件）；尚未初审报送：<b>{status.unsent}</b> 件。"
                            "25 日以后初审的案件进入下月批次。")  # fmt: skip

    def on_changed(self, changes: frozenset[str]) -> None:
        if changes & {REFUNDS, PAYMENTS, RESIDENTS}:
            self.refresh()
        if changes & {PAYMENTS, REFUNDS}:
            self.entry.refresh_candidates()

    def shutdown(self) -> None:
        operations.shutdown(self)
