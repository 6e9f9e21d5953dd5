"""The alert notification: an amber (warning) or red (critical) band until every alert is acknowledged."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from ui.alert_book import AlertEntry


class AlertBar(QFrame):
    acknowledge_all = Signal()
    show_alerts = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("alertBar")
        self.text = QLabel()
        self.text.setObjectName("alertText")
        self.text.setWordWrap(True)
        self.view = QPushButton("Show alerts")
        self.ack = QPushButton("Acknowledge all")
        self.ack.setObjectName("ackAllButton")
        self.view.clicked.connect(self.show_alerts)
        self.ack.clicked.connect(self.acknowledge_all)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 6, 16, 6)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.view)
        layout.addWidget(self.ack)
        self.hide()

    def show_alerts_needing_ack(self, entries: list[AlertEntry]) -> None:
        if not entries:
            self.hide()
            return
        critical = any(e.severity == "critical" for e in entries)
        self.setProperty("severity", "critical" if critical else "warning")
        self.style().unpolish(self)
        self.style().polish(self)
        first = next((e for e in entries if e.severity == "critical"), entries[0])  # the worst leads
        more = f"  (+{len(entries) - 1} more)" if len(entries) > 1 else ""
        self.text.setText(f"<b>⚠ {first.severity.upper()}</b> — {escape(first.message)}{more}")
        self.show()
