"""Login, and the first start's administrator account."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from core import auth
from core.auth import Actor
from core.database import DatabaseOpenError
from core.errors import UserError


class LoginDialog(QDialog):
    """Asks for username and password; ``actor`` is set when ``exec()`` returns Accepted."""

    def __init__(
        self, db_label: str, login: Callable[[str, str], Actor] | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.actor: Actor | None = None
        self._login = login or auth.authenticate  # PostgreSQL: core.session.login as the user's role
        self.setWindowTitle("登录 — 居民养老保险征缴业务系统")
        self.setMinimumWidth(380)
        layout = QVBoxLayout(self)
        title = QLabel("<h3>居民养老保险征缴业务系统</h3>")
        layout.addWidget(title)
        form = QFormLayout()
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("用户名：", self.username)
        form.addRow("密码：", self.password)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00;")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        layout.addWidget(QLabel(f"<small>数据库：{db_label}</small>"))
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("登录")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("退出")
        buttons.accepted.connect(self.try_login)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.username.setFocus()

    def try_login(self) -> None:
        try:
            self.actor = self._login(self.username.text(), self.password.text())
        except (UserError, DatabaseOpenError) as exc:
            self.message.setText(str(exc))
            self.password.clear()
            self.password.setFocus()
            return
        self.accept()


class FirstAdminDialog(QDialog):
    """On a database without users: create the administrator account."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor: Actor | None = None
        self.setWindowTitle("首次使用：创建管理员账号")
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("这个数据库还没有任何用户。请先创建系统管理员账号，之后再由管理员创建其他用户。")
        )
        form = QFormLayout()
        self.username = QLineEdit("admin")
        self.display = QLineEdit("系统管理员")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("用户名：", self.username)
        form.addRow("姓名：", self.display)
        form.addRow(f"密码（至少 {auth.MIN_PASSWORD_LEN} 位）：", self.password)
        form.addRow("再次输入密码：", self.again)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00;")
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("创建")
        buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("退出")
        buttons.accepted.connect(self.create)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def create(self) -> None:
        if self.password.text() != self.again.text():
            self.message.setText("两次输入的密码不一致。")
            return
        try:
            user = auth.create_user(None, self.username.text(), self.password.text(), auth.ADMIN,
                                    display_name=self.display.text())  # fmt: skip
        except UserError as exc:
            self.message.setText(str(exc))
            return
        self.actor = auth.actor_of(user)
        self.accept()


class ChangePasswordDialog(QDialog):
    """修改密码: the old password, the new one twice; core checks the old one and the rule."""

    def __init__(self, actor: Actor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.actor = actor
        self.setWindowTitle("修改密码")
        self.setMinimumWidth(360)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.old = QLineEdit()
        self.new = QLineEdit()
        self.again = QLineEdit()
        for edit in (self.old, self.new, self.again):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow("原密码：", self.old)
        form.addRow(f"新密码（至少 {auth.MIN_PASSWORD_LEN} 位）：", self.new)
        form.addRow("再输一次：", self.again)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setStyleSheet("color: #b00;")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.change)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def change(self) -> None:
        if self.new.text() != self.again.text():
            self.message.setText("两次输入的新密码不一致。")
            return
        try:
            auth.change_own_password(self.actor, self.old.text(), self.new.text())
        except UserError as exc:
            self.message.setText(str(exc))
            return
        self.accept()
