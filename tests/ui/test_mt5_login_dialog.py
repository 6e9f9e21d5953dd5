"""File → MT5 account…: the password asked without echo and kept in the keyring (a test one here)."""

from __future__ import annotations

import keyring
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from app.host.credentials import KEYRING_SERVICE, mt5_password
from tests.test_mt5_login import MemoryKeyring, memory_keyring  # noqa: F401 (the fixture)
from tests.ui.conftest import WindowFactory
from ui.dialogs.mt5_login_dialog import Mt5LoginDialog


def fill(qtbot: QtBot, dialog: Mt5LoginDialog, password: str = "s3cret") -> None:
    qtbot.keyClicks(dialog.login, "5012345")
    qtbot.keyClicks(dialog.server, "Broker-Demo")
    qtbot.keyClicks(dialog.path, "C:/MT5/terminal64.exe")
    qtbot.keyClicks(dialog.password, password)


def test_the_password_is_stored_in_the_keyring_as_mt5_login_does(
    qtbot: QtBot,
    window_factory: WindowFactory,
    memory_keyring: MemoryKeyring,  # noqa: F811
) -> None:
    window, _console = window_factory()
    dialog = window.open_mt5_login()
    assert dialog is not None and dialog.isVisible()
    assert dialog.password.echoMode() is QLineEdit.EchoMode.Password
    assert not dialog.save.isEnabled()  # nothing to store yet
    fill(qtbot, dialog)

    with qtbot.waitSignal(dialog.finished):
        qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)

    assert memory_keyring.kept == {(KEYRING_SERVICE, "5012345"): "s3cret"}
    assert mt5_password(None, 5012345) == "s3cret"
    shown = window.status.currentMessage()
    assert "EXEC_MT5_LOGIN=5012345 EXEC_MT5_SERVER=Broker-Demo EXEC_MT5_PATH=C:/MT5/terminal64.exe" in shown
    assert "s3cret" not in shown


def test_without_a_keyring_the_dialog_says_so_in_one_line_and_stays_open(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, _console = window_factory()
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        dialog = window.open_mt5_login()
        assert dialog is not None
        fill(qtbot, dialog)
        qtbot.mouseClick(dialog.save, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(dialog.error.isVisible)
    finally:
        keyring.set_keyring(before)

    assert dialog.isVisible() and dialog.save.isEnabled()  # the trader may try again, or cancel
    text = dialog.error.text()
    assert text.startswith("Not stored: no OS keyring") and "EXEC_MT5_PASSWORD" in text and "\n" not in text
