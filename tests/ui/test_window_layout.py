"""The window as the trader leaves it: layout kept across sessions, shortcuts, dark and light themes."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QDesktopServices, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory
from ui.main_window import MainWindow
from ui.models.execution_row import REASON
from ui.theme import StatusPalette, ThemeChoice


def test_column_widths_and_the_filter_are_kept_for_the_next_session(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path
) -> None:
    window, _console = window_factory()
    window.blotter.view.horizontalHeader().resizeSection(REASON, 333)
    window.blotter.set_filter_index(3)
    window.save_layout()

    again = MainWindow(QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat), ThemeChoice.LIGHT)
    qtbot.addWidget(again)
    assert again.blotter.view.horizontalHeader().sectionSize(REASON) == 333
    assert again.blotter.tabs.currentIndex() == 3


def test_ctrl_digits_switch_the_filter_tabs(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, _console = window_factory()
    window.activateWindow()
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.blotter.tabs.currentIndex() == 2


def test_the_dark_theme_keeps_text_readable_on_its_background(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, _console = window_factory()
    window.apply_theme(ThemeChoice.DARK)
    palette = QApplication.palette()
    try:
        assert palette.color(QPalette.ColorRole.Base).lightness() < 60
        assert palette.color(QPalette.ColorRole.Text).lightness() > 200
        assert window.model.palette.dark
        dark, light = StatusPalette(dark=True), StatusPalette(dark=False)
        assert all(dark.text[s].lightness() > light.text[s].lightness() for s in dark.text)
    finally:
        window.apply_theme(ThemeChoice.LIGHT)


def test_the_help_menu_leads_to_the_log_folder(
    qtbot: QtBot, window_factory: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, console = window_factory()
    opened: list[str] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    next(a for a in help_menu.actions() if "log folder" in a.text()).trigger()
    assert opened == [str(console.settings.data_dir / "logs")]
