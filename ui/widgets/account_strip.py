"""The account strip: balance, equity, margin, free margin and margin level, as the broker last reported them."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from app.adapters.broker.types import BrokerAccount
from ui import formatting as fmt

FIGURES = (
    ("balance", "Balance"),
    ("equity", "Equity"),
    ("margin", "Margin"),
    ("margin_free", "Free margin"),
    ("margin_level", "Margin level"),
)


class AccountStrip(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountStrip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.values: dict[str, QLabel] = {}
        for name, title in FIGURES:
            caption = QLabel(title)
            value = QLabel("—")
            value.setObjectName(f"account_{name}")
            layout.addWidget(caption)
            layout.addWidget(value)
            layout.addSpacing(18)
            self.values[name] = value
        self.state = QLabel("account not read yet")
        self.state.setObjectName("accountState")
        layout.addStretch(1)
        layout.addWidget(self.state)
        self.account: BrokerAccount | None = None

    def show_account(self, account: BrokerAccount) -> None:
        self.account = account
        currency = escape(account.currency)
        for name in ("balance", "equity", "margin", "margin_free"):
            self.values[name].setText(f"<b>{fmt.money(getattr(account, name))}</b> {currency}")
        level = account.margin_level
        # No margin in use: the terminal says 0 %, which would read as a margin call.
        self.values["margin_level"].setText("—" if level is None else f"<b>{level.quantize(Decimal('0.1')):,f}</b> %")
        self.state.setText(f"account {account.login} · {escape(account.margin_mode)} · 1:{account.leverage}")

    def show_unavailable(self, detail: str) -> None:
        """The broker did not answer: the last figures stay, said to be old."""
        old = " — the figures are the last read" if self.account else ""
        self.state.setText(f"<b>account not read</b>: {escape(detail)}{old}")
