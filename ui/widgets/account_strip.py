"""The account strip: balance, equity, margin, free margin and margin level, as the broker last reported them."""

from __future__ import annotations

from decimal import Decimal
from html import escape

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QWidget

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
    """One line in the toolbar's row. It never makes the window wider than a laptop's screen: where the
    row is too short its end is cut, and the tooltip holds every figure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountStrip")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.values: dict[str, str] = {name: "—" for name, _title in FIGURES}  # each figure's text, as shown
        self.figures = QLabel()
        self.figures.setObjectName("accountFigures")
        self.figures.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Which account, in the tooltip; shown in the strip only when the figures cannot be trusted.
        self.state = QLabel("account not read yet")
        self.state.setObjectName("accountState")
        self.state.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.figures, 3)
        layout.addWidget(self.state, 1)
        self.account: BrokerAccount | None = None
        self._render()

    def _render(self) -> None:
        cells = [f"{title} {self.values[name]}" for name, title in FIGURES]
        self.figures.setText("&nbsp;&nbsp;&nbsp; ".join(cells))
        self.figures.setToolTip("<br>".join(cells))

    def show_account(self, account: BrokerAccount) -> None:
        self.account = account
        currency = escape(account.currency)
        for name in ("balance", "equity", "margin", "margin_free"):
            self.values[name] = f"<b>{fmt.money(getattr(account, name))}</b> {currency}"
        level = account.margin_level
        # No margin in use: the terminal says 0 %, which would read as a margin call.
        self.values["margin_level"] = "—" if level is None else f"<b>{level.quantize(Decimal('0.1')):,f}</b> %"
        self._render()
        who = f"account {account.login} · {escape(account.margin_mode)} · 1:{account.leverage}"
        self.state.setText(who)
        self.state.hide()
        self.setToolTip(who)

    def show_unavailable(self, detail: str) -> None:
        """The broker did not answer: the last figures stay, said to be old."""
        old = " — the figures are the last read" if self.account else ""
        self.state.setText(f"<b>account not read</b>: {escape(detail)}{old}")
        self.state.show()
