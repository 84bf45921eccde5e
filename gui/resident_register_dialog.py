"""新参保登记: one person from the ID card. Sex and birth date come from the number as it is typed, and a
number already registered is said at once (with a button to the existing record instead of a second one).
The number is looked up in an operation, off the GUI thread: typing never waits for the database."""

from __future__ import annotations

import datetime as dt

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core import residents
from core.auth import Actor
from core.errors import UserError
from gui.operations import Op, call
from gui.resident_actions import date_edit, day_of, fill_villages, print_registration_form, village_combo
from gui.tables import township_combo


def _check(actor: Actor, digits: str, on: dt.date) -> tuple[residents.IdPreview, str]:
    """The number's preview and, when registered, where: the names are queries of their own, made here."""
    preview = residents.preview_id(actor, digits, on)
    r = preview.existing
    where = f"{r.township.name}{r.village.name if r.village_id else ''}" if r is not None else ""
    return preview, where


class RegisterDialog(QDialog):
    """After a registration ``resident_id`` is set; ``open_existing`` is the resident to show instead."""

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.resident_id: int | None = None
        self.open_existing: int | None = None
        self.checking = ""  # the number whose lookup may show (a result for an older text is dropped)
        self.setWindowTitle("新参保登记")
        self.setMinimumWidth(600)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.id_number = QLineEdit()
        self.id_number.setPlaceholderText("18 位身份证号码（15 位旧号码自动转换）")
        self.id_number.setMaxLength(24)
        self.id_number.textChanged.connect(self._id_changed)
        self.id_state = QLabel("请按身份证录入号码。")
        self.id_state.setWordWrap(True)
        self.show_existing = QPushButton("查看已登记的居民")
        self.show_existing.setVisible(False)
        self.show_existing.clicked.connect(self._show_existing)
        id_row = QHBoxLayout()
        id_row.addWidget(self.id_state, 1)
        id_row.addWidget(self.show_existing)
        self.name = QLineEdit()
        self.sex = QLabel("—")
        self.birth = QLabel("—")
        self.confirmed = QCheckBox("已核对身份证：姓名、性别、出生日期与证件一致")
        self.township = township_combo(actor, "（请选择乡镇）")
        self.township.currentIndexChanged.connect(self._township_changed)
        self.village = village_combo(self.township.currentData())
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("11 位手机号码，或带区号的固定电话（如 0539-5021234）")
        self.student = QCheckBox("是在校学生")
        self.other_pension = QCheckBox("已参加其他养老保险（如职工养老保险）")
        self.on = date_edit()
        form.addRow("身份证号码：", self.id_number)
        form.addRow("", id_row)
        form.addRow("姓名：", self.name)
        form.addRow("性别（按身份证）：", self.sex)
        form.addRow("出生日期（按身份证）：", self.birth)
        form.addRow("", self.confirmed)
        form.addRow("乡镇（街道）：", self.township)
        form.addRow("村（居）：", self.village)
        form.addRow("联系电话：", self.phone)
        form.addRow("参保条件：", self.student)
        form.addRow("", self.other_pension)
        form.addRow("登记日期（参保日期）：", self.on)
        layout.addLayout(form)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b00020;")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox()
        self.register_button = buttons.addButton("登记", QDialogButtonBox.ButtonRole.AcceptRole)
        self.print_button = buttons.addButton("登记并打印登记表", QDialogButtonBox.ButtonRole.ApplyRole)
        cancel = buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        self.register_button.clicked.connect(lambda: self.register(print_form=False))
        self.print_button.clicked.connect(lambda: self.register(print_form=True))
        cancel.clicked.connect(self.reject)
        layout.addWidget(buttons)
        for button in (self.register_button, self.print_button):
            button.setEnabled(actor.can("roster.edit"))

    def _township_changed(self) -> None:
        fill_villages(self.village, self.township.currentData())

    def _id_changed(self, text: str) -> None:
        self.open_existing = None
        self.error.setText("")
        self.show_existing.setVisible(False)
        digits = "".join(text.split())
        self.checking = digits
        if len(digits) not in (15, 18):
            self.sex.setText("—")
            self.birth.setText("—")
            self.id_state.setText(f"已录入 {len(digits)} 位。" if digits else "请按身份证录入号码。")
            self.id_state.setStyleSheet("")
            return
        self.sex.setText("—")  # nothing of an older number shows meanwhile
        self.birth.setText("—")
        self.id_state.setText("正在核对……")
        self.id_state.setStyleSheet("")
        actor, on = self.actor, day_of(self.on)
        Op(self, lambda: _check(actor, digits, on), success=lambda out: self._show_preview(digits, *out),
           failure=lambda message: self._check_failed(digits, message), key="preview", dialog=False).run()  # fmt: skip

    def _check_failed(self, digits: str, message: str) -> None:
        if digits == self.checking:
            self.id_state.setText(message)
            self.id_state.setStyleSheet("color: #b00020;")

    def _show_preview(self, digits: str, preview: residents.IdPreview, where: str) -> None:
        if digits != self.checking:  # the number was changed meanwhile
            return
        self.sex.setText(preview.sex or "—")
        self.birth.setText(preview.birth_date.isoformat() if preview.birth_date else "—")
        if preview.problem:
            self.id_state.setText(preview.problem)
            self.id_state.setStyleSheet("color: #b00020;")
        elif preview.existing is not None:
            r = preview.existing
            self.id_state.setText(f"已登记：{r.name}（{where}，{r.status}）")
            self.id_state.setStyleSheet("color: #b00020; font-weight: bold;")
            self.open_existing = preview.existing.id
            self.show_existing.setVisible(True)
        elif preview.elsewhere:
            self.id_state.setText("该身份证号码已在其他乡镇登记参保，不能重复登记。")
            self.id_state.setStyleSheet("color: #b00020; font-weight: bold;")
        else:
            converted = f"（转换为 18 位：{preview.number}）" if preview.number != digits.upper() else ""
            self.id_state.setText(f"号码有效，未登记参保{converted}。")
            self.id_state.setStyleSheet("color: #1b5e20;")

    def _show_existing(self) -> None:
        self.done(QDialog.DialogCode.Rejected)

    def register(self, print_form: bool) -> None:
        if not self.confirmed.isChecked():
            self.error.setText("请先核对身份证，勾选“已核对身份证”。")
            return
        try:
            out = call(self, "正在登记…", residents.register, self.actor, self.id_number.text(), self.name.text(),
                           self.township.currentText() if self.township.currentData() is not None else "",
                           self.village.currentText(), self.phone.text(), student=self.student.isChecked(),
                           other_pension=self.other_pension.isChecked(), on=day_of(self.on))  # fmt: skip
        except UserError as exc:
            self.error.setText(str(exc))
            return
        if not out.ok:
            if out.codes == ["ALREADY_REGISTERED"] and out.resident_id is not None:
                self.open_existing = out.resident_id
                self.show_existing.setVisible(True)
            self.error.setText(
                "未登记：\n" + "\n".join(f"{e.column}：{e.message}（{e.code}）" for e in out.errors)
            )
            return
        self.resident_id = out.resident_id
        if print_form and out.resident_id is not None:
            print_registration_form(self, self.actor, out.resident_id, self.name.text().strip())
        self.accept()
