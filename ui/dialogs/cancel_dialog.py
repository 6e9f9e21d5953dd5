"""Confirmation before stale orders are cancelled at the broker, listing exactly which."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QVBoxLayout, QWidget

from app.engine.recovery import StaleOrder
from ui import formatting as fmt


class CancelOrdersDialog(QDialog):
    def __init__(self, orders: Sequence[StaleOrder], approver: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.orders = list(orders)
        self.setObjectName("cancelDialog")
        self.setWindowTitle("Cancel stale orders")
        self.setModal(True)
        self.setMinimumWidth(520)
        n = len(self.orders)
        lines = "".join(
            f"<li><b>{o.execution.symbol} {fmt.side(o.execution.direction)} {fmt.units(o.execution.intended_units)}"
            f"</b> — order {o.order}, {o.execution.status.value}, waiting {fmt.duration(o.age_s)}"
            f"<br><small>{o.execution.execution_id}</small></li>"
            for o in self.orders
        )
        self.text = text = QLabel(
            f"<b>Cancel {n} order{'s' if n != 1 else ''} at the broker?</b><ul>{lines}</ul>"
            f"Approved by <b>{approver}</b>; the approval and its time go to the audit trail. "
            "An order that fills before the cancellation reaches the broker stays filled, and is recorded as such."
        )
        text.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.confirm: QPushButton = self.buttons.addButton(
            f"Cancel {n} order{'s' if n != 1 else ''}", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.confirm.setObjectName("dangerButton")
        self.buttons.addButton("Keep them", QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.buttons)
