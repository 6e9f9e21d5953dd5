"""File → MT5 account…: the account's password into the OS keyring, as `execution-engine mt5-login` does.

The password field never echoes, and the password is cleared from it once stored. The keyring is
written on a worker thread: a desktop keyring may take a moment (or ask to be unlocked).
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QRegularExpression, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.host.credentials import keep_mt5_login
from app.host.settings import Settings
from ui.tasks import TaskSpawner


class Mt5LoginDialog(QDialog):
    stored = Signal(str)  # the line saying what was stored and how to start with it

    def __init__(self, spawner: TaskSpawner, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spawner = spawner
        self.setObjectName("mt5LoginDialog")
        self.setWindowTitle("MT5 account")
        self.setMinimumWidth(460)
        self.login = QLineEdit(str(settings.mt5_login or ""))
        self.login.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{1,20}"), self.login))
        self.login.setPlaceholderText("the account number")
        self.server = QLineEdit(settings.mt5_server or "")
        self.server.setPlaceholderText("the broker's trade server, as the terminal names it")
        self.path = QLineEdit(settings.mt5_path or "")
        self.path.setPlaceholderText("optional: the terminal64.exe to start")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.error = QLabel()
        self.error.setObjectName("dialogError")
        self.error.setWordWrap(True)
        self.error.hide()
        note = QLabel("The password is kept in the OS keyring, never in a file; the console uses it at its next start.")
        note.setWordWrap(True)

        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Login:", self.login)
        form.addRow("Server:", self.server)
        form.addRow("Terminal:", path_row)
        form.addRow("Password:", self.password)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.store)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        for field in (self.login, self.server, self.password):
            field.textChanged.connect(self._complete)
        self._complete()

    def _complete(self) -> None:
        self.save.setEnabled(all(f.text().strip() for f in (self.login, self.server)) and bool(self.password.text()))

    def _browse(self) -> None:
        chosen, _filter = QFileDialog.getOpenFileName(self, "The MT5 terminal", "", "terminal64.exe (*.exe);;All (*)")
        if chosen:
            self.path.setText(chosen)

    def store(self) -> None:
        if not self.save.isEnabled():
            return
        self.save.setEnabled(False)
        self.error.hide()
        login, server, path = int(self.login.text()), self.server.text().strip(), self.path.text().strip() or None
        password = self.password.text()
        self.spawner.spawn(self._store(login, server, password, path), "storing the MT5 password")

    async def _store(self, login: int, server: str, password: str, path: str | None) -> None:
        try:
            line = await asyncio.to_thread(keep_mt5_login, login, server, password, path)
        except ValueError as exc:
            self.error.setText(f"Not stored: {exc}")
            self.error.show()
            self._complete()
            return
        self.password.clear()
        self.stored.emit(line)
        self.accept()
