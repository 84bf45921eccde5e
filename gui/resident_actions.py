"""The resident detail's counter actions — 变更, 转移 (county users), 暂停/终止, 恢复 — each asking for its reason,
and the person's history in a tab. Thin dialogs over ``core.residents``."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from PySide6.QtCore import QDate, QObject
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core import regions, residents
from core.auth import ADMIN, REVIEWER, Actor
from core.errors import UserError
from gui import printing
from gui.operations import Op, call
from gui.tables import ListTable, permit

HISTORY_HEADERS = ["记录时间", "生效日期", "类别", "项目", "原值", "新值", "原因 / 来源", "经办人"]


def date_edit(parent: QWidget | None = None) -> QDateEdit:
    """A date field for a day that has happened (today at the latest), as 2020-03-02."""
    edit = QDateEdit(QDate.currentDate(), parent)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMaximumDate(QDate.currentDate())
    return edit


def day_of(edit: QDateEdit) -> dt.date:
    d = edit.date()
    return dt.date(d.year(), d.month(), d.day())


def ok_cancel(dialog: QDialog, ok_text: str) -> QDialogButtonBox:
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("取消")
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons


def village_combo(township_id: int | None, current: str = "") -> QComboBox:
    combo = QComboBox()
    combo.setEditable(True)  # a village not in the list yet is typed (refused where a register is kept)
    fill_villages(combo, township_id, current)
    return combo


def fill_villages(combo: QComboBox, township_id: int | None, current: str = "") -> None:
    """A township's villages, read in an operation: the form opens at once and the list follows. A name the
    clerk typed meanwhile stays; a later township replaces an earlier one's list (the operation's key)."""
    combo.clear()
    combo.addItem("")
    combo.setEditText(current)
    if not township_id:
        return

    def show(villages: list) -> None:
        typed = combo.currentText()
        combo.clear()
        combo.addItem("")
        combo.addItems([v.name for v in villages])
        combo.setEditText(typed)

    Op(combo, lambda: regions.villages(township_id), success=show, key="villages", dialog=False).run()


class ResidentActions(QObject):
    """The action bar and the tabs of a ResidentDialog. After an action the dialog closes with ``saved`` and
    ``reopen`` set, and the browser opens it again with the new state.

    A child of the dialog that reaches it through ``parent()``: a Python reference back to the dialog would
    make a cycle that the garbage collector frees at a random moment, possibly inside Qt's event processing."""

    def __init__(self, dialog: QDialog, actor: Actor, resident) -> None:  # type: ignore[no-untyped-def]
        super().__init__(dialog)
        self.actor = actor
        self.resident = resident
        self.bar = QHBoxLayout()
        can_edit = actor.can("roster.edit")
        status = resident.status
        self.buttons: dict[str, QPushButton] = {}
        for text, slot, state_allows, why, shown in (
            ("信息变更…", self.change, True, "", True),
            ("转移…", self.move, True, "", actor.role in (REVIEWER, ADMIN) and actor.county_wide),
            ("暂停/终止…", self.stop, status in ("正常参保", "暂停"), f"该居民已{status}", True),
            ("恢复参保…", self.restore, status in ("暂停", "终止"), f"该居民为{status}，无需恢复", True),
        ):
            if not shown:
                continue
            button = QPushButton(text)
            if can_edit and not state_allows:
                button.setToolTip(why)
            permit(button, actor, "roster.edit", enabled=state_allows)
            button.clicked.connect(slot)
            self.bar.addWidget(button)
            self.buttons[text] = button
        button = QPushButton("打印参保登记表…")
        button.clicked.connect(self.print_form)
        self.bar.addWidget(button)
        self.buttons[button.text()] = button
        self.bar.addStretch(1)

    @property
    def dialog(self) -> QDialog:
        return self.parent()  # type: ignore[return-value]

    def tabs(self, payments: QWidget, lines: list[residents.HistoryLine]) -> QTabWidget:
        """The payments and the history (``lines``, read by the dialog's operation)."""
        tabs = QTabWidget()
        tabs.addTab(payments, "缴费记录")
        self.history = ListTable()
        self.history.set_rows(HISTORY_HEADERS, [
            [f"{h.at:%Y-%m-%d %H:%M}", h.day.isoformat() if h.day else "", h.kind, h.item, h.old, h.new, h.reason,
             h.user_name] for h in lines
        ])  # fmt: skip
        tabs.addTab(self.history, f"历史记录（{len(lines)}）")
        return tabs

    def _done(self, message: str) -> None:
        QMessageBox.information(self.dialog, "已办理", message)
        self.dialog.saved = True  # type: ignore[attr-defined]
        self.dialog.reopen = True  # type: ignore[attr-defined]
        self.dialog.accept()

    def change(self) -> None:
        form = ChangeDialog(self.actor, self.resident, self.dialog)
        if form.exec() == QDialog.DialogCode.Accepted and form.result_text:
            self._done(form.result_text)

    def move(self) -> None:
        form = MoveDialog(self.actor, self.resident, self.dialog)
        if form.exec() == QDialog.DialogCode.Accepted and form.result_text:
            self._done(form.result_text)

    def stop(self) -> None:
        self._status(restore=False)

    def restore(self) -> None:
        self._status(restore=True)

    def _status(self, restore: bool) -> None:
        form = StatusDialog(self.actor, self.resident, restore, self.dialog)
        if form.exec() == QDialog.DialogCode.Accepted and form.result_text:
            self._done(form.result_text)

    def print_form(self) -> None:
        print_registration_form(self.dialog, self.actor, self.resident.id, self.resident.name)


def print_registration_form(parent: QWidget, actor: Actor, resident_id: int, name: str) -> None:
    pdf = Path(tempfile.mkdtemp(prefix="pension-form-")) / f"参保登记表-{name}.pdf"
    try:
        call(parent, "正在生成参保登记表…", residents.print_form, actor, resident_id, pdf)
    except UserError as exc:
        QMessageBox.warning(parent, "无法打印", str(exc))
        return
    printing.show_preview(parent, f"参保登记表 — {name}", pdf)


class _Form(QDialog):
    """A small form that calls core on OK (in an operation, through call) and stays open with the refusal
    shown when core says no."""

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.result_text = ""
        self.layout_ = QVBoxLayout(self)
        self.form = QFormLayout()
        self.layout_.addLayout(self.form)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        self.layout_.addWidget(self.error)

    def finish(self, ok_text: str) -> None:
        self.layout_.addWidget(ok_cancel(self, ok_text))

    def accept(self) -> None:
        try:
            self.result_text = self.submit()
        except UserError as exc:
            self.error.setText(str(exc))
            return
        super().accept()

    def submit(self) -> str:  # pragma: no cover - each form has its own
        raise NotImplementedError


class ChangeDialog(_Form):
    def __init__(self, actor: Actor, resident, parent: QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(f"信息变更 — {resident.name}", parent)
        self.actor, self.resident = actor, resident
        self.field = QComboBox()
        for key, label in residents.CHANGE_FIELDS.items():
            self.field.addItem(label, key)
        self.value = QLineEdit()
        self.sex = QComboBox()
        self.sex.addItems(["男", "女"])
        self.birth = date_edit()
        self.village = village_combo(
            resident.township_id, resident.village.name if resident.village_id else ""
        )
        self.reason = QLineEdit()
        self.seen = QCheckBox("已核对居民身份证原件")
        self.current = QLabel("")
        self.form.addRow("变更项目：", self.field)
        self.form.addRow("原值：", self.current)
        self.editors = QStackedWidget()  # one editor a field, in the one 新值 row
        for widget in (self.value, self.sex, self.birth, self.village):
            self.editors.addWidget(widget)
        self.form.addRow("新值：", self.editors)
        self.form.addRow("变更原因：", self.reason)
        self.form.addRow("", self.seen)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.layout_.insertWidget(1, self.note)
        self.field.currentIndexChanged.connect(self._field_changed)
        self.finish("确认变更")
        self._field_changed()

    def _field_changed(self) -> None:
        key = self.field.currentData()
        r = self.resident
        old = {"name": r.name, "sex": r.sex, "birth_date": r.birth_date.isoformat(),
               "village": r.village.name if r.village_id else "", "phone": r.phone}[key]  # fmt: skip
        self.current.setText(old or "（空）")
        editor = {"sex": self.sex, "birth_date": self.birth, "village": self.village}.get(key, self.value)
        self.editors.setCurrentWidget(editor)
        if key in ("name", "phone"):
            self.value.clear()
        identity = key in residents.IDENTITY_FIELDS
        self.seen.setVisible(identity)
        self.value.setPlaceholderText(
            "11 位手机号码，或带区号的固定电话（如 0539-5021234）" if key == "phone" else ""
        )
        if key == "birth_date":
            self.birth.setDate(QDate(r.birth_date.year, r.birth_date.month, r.birth_date.day))
        self.note.setText(
            "姓名、性别、出生日期是身份信息：须填写变更原因，并核对居民身份证原件。" if identity else ""
        )

    def new_value(self) -> str:
        key = self.field.currentData()
        if key == "sex":
            return self.sex.currentText()
        if key == "birth_date":
            return day_of(self.birth).isoformat()
        if key == "village":
            return self.village.currentText()
        return self.value.text()

    def submit(self) -> str:
        key = self.field.currentData()
        after = call(self, "正在办理……", residents.change, self.actor, self.resident.id_number, key, self.new_value(),
                     self.reason.text(), self.seen.isChecked(), version=self.resident.version)  # fmt: skip
        return f"已变更{residents.CHANGE_FIELDS[key]}：{self.current.text()} → {self.new_value() or '（空）'}（{after.name}）"


class MoveDialog(_Form):
    def __init__(self, actor: Actor, resident, parent: QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(f"转移（县内跨乡镇） — {resident.name}", parent)
        self.actor, self.resident = actor, resident
        here = QLabel(f"{resident.township.name}{resident.village.name if resident.village_id else ''}")
        self.township = QComboBox()
        for t in regions.townships():
            if t.id != resident.township_id:
                self.township.addItem(t.name, t.id)
        self.village = village_combo(self.township.currentData())
        self.township.currentIndexChanged.connect(self._township_changed)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("如：婚嫁迁居、户籍迁移")
        self.on = date_edit()
        self.form.addRow("现在：", here)
        self.form.addRow("转入乡镇：", self.township)
        self.form.addRow("转入村居：", self.village)
        self.form.addRow("转移原因：", self.reason)
        self.form.addRow("转移日期：", self.on)
        note = QLabel(
            "缴费记录、特殊群体标识和退费案件随人转移；转出、转入两个乡镇的历史记录中都可查到这次转移。"
        )
        note.setWordWrap(True)
        self.layout_.insertWidget(1, note)
        self.finish("确认转移")

    def _township_changed(self) -> None:
        fill_villages(self.village, self.township.currentData())

    def submit(self) -> str:
        move = (self.actor, self.resident.id_number, self.township.currentText(), self.village.currentText(),
                self.reason.text(), day_of(self.on))  # fmt: skip
        # describe() reads the new township's and village's names: in the worker too
        return "已转移：" + call(self, "正在办理……", lambda: residents.describe(residents.move(*move)))


class StatusDialog(_Form):
    def __init__(self, actor: Actor, resident, restore: bool, parent: QWidget | None = None) -> None:  # type: ignore[no-untyped-def]
        title = "恢复参保" if restore else "暂停 / 终止参保"
        super().__init__(f"{title} — {resident.name}", parent)
        self.actor, self.resident, self.restore = actor, resident, restore
        self.to = QComboBox()
        if restore:
            self.to.addItem("恢复为正常参保", "正常参保")
        else:
            if resident.status == "正常参保":
                self.to.addItem("暂停", "暂停")
            self.to.addItem("终止", "终止")
        self.reason = QComboBox()
        if restore:
            self.reason.setEditable(True)
            self.reason.lineEdit().setPlaceholderText("恢复原因，如：核实后恢复")
        else:
            self.reason.addItems(list(residents.STATUS_REASONS))
        self.on = date_edit()
        self.form.addRow("当前状态：", QLabel(resident.status))
        self.form.addRow("变更为：", self.to)
        self.form.addRow("原因：", self.reason)
        self.form.addRow("生效日期：", self.on)
        note = QLabel(
            "随之办理（同一事务，记入审计）：1 月 1 日不是正常参保的年度移出政府代缴名单，已报送的自动冲正；"
            "因死亡、参加职工养老保险终止的，终止次年及以后年度的个人缴费转为退费候选；终止时作废未完成的补缴申报、核定。"
            if not restore
            else "恢复后，1 月 1 日为正常参保的年度重新列入政府代缴名单（仍在特殊群体名单上的）。"
        )
        note.setWordWrap(True)
        self.layout_.insertWidget(1, note)
        self.finish("确认")

    def submit(self) -> str:
        out = call(self, "正在办理……", residents.set_status, self.actor, self.resident.id_number,
                   self.to.currentData(), self.reason.currentText(), day_of(self.on))  # fmt: skip
        lines = [f"参保状态已变更为：{out.status}"]
        if out.subsidy_removed:
            lines.append(
                f"移出政府代缴名单的年度：{'、'.join(map(str, out.subsidy_removed))}（已报送的将冲正）"
            )
        if out.subsidy_restored:
            lines.append(f"恢复政府代缴的年度：{'、'.join(map(str, out.subsidy_restored))}")
        if out.refund_candidates:
            lines.append(f"转为退费候选的缴费（税票号码）：{'、'.join(out.refund_candidates)}")
        if out.arrears_voided:
            lines.append(f"已作废的补缴记录：{len(out.arrears_voided)} 条")
        return "\n".join(lines)


class MovesDialog(QDialog):
    """转移记录: moves into and out of the user's township (the whole county for county users) — the township a
    person left keeps seeing that they moved, and where to."""

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("转移记录（县内跨乡镇）")
        self.resize(900, 420)
        layout = QVBoxLayout(self)
        self.table = ListTable()
        said = ""
        try:  # in an operation; a failure is said in the dialog (the browser just opens it)
            lines = call(
                parent if parent is not None else self, "正在读取……", residents.township_moves, actor
            )
        except UserError as exc:
            lines, said = [], f"无法读取转移记录：{exc}"
        self.table.set_rows(["记录时间", "转移日期", "姓名", "身份证号码", "转出", "转入", "原因", "经办人"], [
            [f"{h.at:%Y-%m-%d %H:%M}", h.day.isoformat() if h.day else "", h.name, h.id_number, h.old, h.new,
             h.reason, h.user_name] for h in lines
        ])  # fmt: skip
        layout.addWidget(QLabel(said or f"共 {len(lines)} 条转移记录。"))
        layout.addWidget(self.table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setText("关闭")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
