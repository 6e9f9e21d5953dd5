"""The halt banner: a full-width red band across the top of the window while trading is halted.

It says who halted (the console's kill switch, or the RPM upstream) and why; only the console's own
halt can be resumed from here — the RPM's is lifted by the RPM.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ui.halt_state import HaltState


class HaltBanner(QFrame):
    resume_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("haltBanner")
        self.headline = QLabel()
        self.headline.setObjectName("haltHeadline")
        self.details = QLabel()
        self.details.setObjectName("haltDetails")
        self.details.setWordWrap(True)
        self.resume = QPushButton("Resume trading…")
        self.resume.setObjectName("resumeButton")
        self.resume.clicked.connect(self.resume_requested)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.headline)
        text.addWidget(self.details)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 10)
        layout.addLayout(text, 1)
        layout.addWidget(self.resume)
        self.hide()

    def show_state(self, state: HaltState, since: str = "", rpm_since: str = "") -> None:
        """Show (or hide) the banner for the halt state; `since` and `rpm_since` say when (and by whom), if known."""
        if not state.halted:
            self.hide()
            return
        lines: list[str] = []
        if state.console_reason is not None:
            who = f" — {escape(since)}" if since else ""
            lines.append(f"Console kill switch: <b>{escape(state.console_reason)}</b>{who}")
        if state.rpm_reason is not None:
            when = f" — {escape(rpm_since)}" if rpm_since else ""
            lines.append(f"Halted by the RPM: <b>{escape(state.rpm_reason)}</b>{when} (lifted by the RPM, not here)")
        self.headline.setText("TRADING HALTED — every new execution is rejected")
        self.details.setText("<br>".join(lines))
        self.resume.setVisible(state.console_reason is not None)
        self.show()
