"""Dark and light themes: a Fusion palette each, one style sheet for both, and the status colours.

The style sheet (resources/theme/console.qss) only uses palette() colours and strong fills with
white text, so it reads the same on either palette; status colours differ per theme because a green
that reads on white is too dark on charcoal.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from app.domain.contracts import ExecutionStatus

log = logging.getLogger(__name__)
RESOURCES = Path(__file__).resolve().parents[1] / "resources"
STYLE_SHEET = RESOURCES / "theme" / "console.qss"
ICONS = RESOURCES / "icons"
S = ExecutionStatus


class ThemeChoice(StrEnum):
    SYSTEM = "system"
    DARK = "dark"
    LIGHT = "light"


_STATUS_LIGHT = {
    S.PENDING: "#1d5fbf",
    S.SUBMITTED: "#1d5fbf",
    S.FILLED: "#1b7f3b",
    S.PARTIALLY_FILLED: "#a15c00",
    S.REJECTED: "#c62828",
    S.EXPIRED: "#8e4a00",
    S.CANCELLED: "#5f6368",
}
_STATUS_DARK = {
    S.PENDING: "#7cb2ff",
    S.SUBMITTED: "#7cb2ff",
    S.FILLED: "#5fd28a",
    S.PARTIALLY_FILLED: "#f2b84b",
    S.REJECTED: "#ff7a7a",
    S.EXPIRED: "#e89a5c",
    S.CANCELLED: "#a9adb3",
}
CATEGORY_COLOURS = ("#2e9d57", "#3b82c4", "#d99a1e", "#d64545")  # excellent, good, acceptable, poor


class StatusPalette:
    """Colours of the blotter: status text, and a light tint of it behind the whole row."""

    def __init__(self, dark: bool) -> None:
        self.dark = dark
        source = _STATUS_DARK if dark else _STATUS_LIGHT
        self.text = {status: QColor(hex_) for status, hex_ in source.items()}
        self.tint = {}
        for status, colour in self.text.items():
            tint = QColor(colour)
            tint.setAlpha(38 if dark else 26)
            self.tint[status] = tint


_DARK_ROLES = {
    QPalette.ColorRole.Window: "#202124",
    QPalette.ColorRole.WindowText: "#e8eaed",
    QPalette.ColorRole.Base: "#17181a",
    QPalette.ColorRole.AlternateBase: "#1e1f22",
    QPalette.ColorRole.ToolTipBase: "#2b2d31",
    QPalette.ColorRole.ToolTipText: "#e8eaed",
    QPalette.ColorRole.PlaceholderText: "#8a8f96",
    QPalette.ColorRole.Text: "#e8eaed",
    QPalette.ColorRole.Button: "#2b2d31",
    QPalette.ColorRole.ButtonText: "#e8eaed",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#2f6fd0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#8ab4f8",
    QPalette.ColorRole.Mid: "#3c4043",
    QPalette.ColorRole.Midlight: "#34363a",
    QPalette.ColorRole.Dark: "#141517",
    QPalette.ColorRole.Shadow: "#000000",
}
_DARK = (_DARK_ROLES, "#7c8088")  # and the text of what is disabled

_LIGHT_ROLES = {
    QPalette.ColorRole.Window: "#f3f4f6",
    QPalette.ColorRole.WindowText: "#1f2328",
    QPalette.ColorRole.Base: "#ffffff",
    QPalette.ColorRole.AlternateBase: "#f6f8fa",
    QPalette.ColorRole.ToolTipBase: "#ffffff",
    QPalette.ColorRole.ToolTipText: "#1f2328",
    QPalette.ColorRole.PlaceholderText: "#6e7781",
    QPalette.ColorRole.Text: "#1f2328",
    QPalette.ColorRole.Button: "#e9ecef",
    QPalette.ColorRole.ButtonText: "#1f2328",
    QPalette.ColorRole.BrightText: "#ffffff",
    QPalette.ColorRole.Highlight: "#2f6fd0",
    QPalette.ColorRole.HighlightedText: "#ffffff",
    QPalette.ColorRole.Link: "#0b57d0",
    QPalette.ColorRole.Mid: "#c4c9cf",
    QPalette.ColorRole.Midlight: "#dde1e6",
    QPalette.ColorRole.Dark: "#9aa0a6",
    QPalette.ColorRole.Shadow: "#6e7781",
}
_LIGHT = (_LIGHT_ROLES, "#8c959f")


def _palette(roles: dict[QPalette.ColorRole, str], disabled_text: str) -> QPalette:
    p = QPalette()
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled_text))
    return p


def system_prefers_dark() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Dark


def apply_theme(app: QApplication, choice: ThemeChoice) -> bool:
    """Fusion with the chosen palette and the console's style sheet; True when dark."""
    dark = system_prefers_dark() if choice is ThemeChoice.SYSTEM else choice is ThemeChoice.DARK
    app.setStyle("Fusion")
    app.setPalette(_palette(*_DARK) if dark else _palette(*_LIGHT))
    try:
        app.setStyleSheet(STYLE_SHEET.read_text(encoding="utf-8"))
    except OSError:
        log.warning("style sheet %s not found: palette only", STYLE_SHEET)
    return dark
