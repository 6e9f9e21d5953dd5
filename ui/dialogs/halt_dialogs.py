"""Confirmation of the kill switch: halting asks why (it goes to the audit trail), resuming asks twice."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


class HaltDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("haltDialog")
        self.setWindowTitle("Halt trading")
        self.setModal(True)
        self.setMinimumWidth(460)
        text = QLabel(
            "<b>Halt all trading?</b><br><br>Every new execution will be rejected "
            "<code>TRADING_HALTED</code> until trading is resumed. Orders already resting at the broker "
            "are not touched.<br><br>Reason (recorded in the audit trail):"
        )
        text.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("e.g. broker latency spike, news event, end of day")
        self.buttons = QDialogButtonBox()
        self.confirm: QPushButton = self.buttons.addButton("Halt trading", QDialogButtonBox.ButtonRole.AcceptRole)
        self.confirm.setObjectName("dangerButton")
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.confirm.setEnabled(False)
        self.reason.textChanged.connect(lambda text: self.confirm.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)

    def halt_reason(self) -> str:
        return self.reason.text().strip()


class ResumeDialog(QDialog):
    def __init__(self, halted_for: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeDialog")
        self.setWindowTitle("Resume trading")
        self.setModal(True)
        self.setMinimumWidth(460)
        text = QLabel(
            f"<b>Resume trading?</b><br><br>The console's kill switch is engaged: {halted_for}<br><br>"
            "Executions will be sent to the broker again as soon as you confirm."
        )
        text.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.confirm: QPushButton = self.buttons.addButton("Resume trading", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.buttons)
