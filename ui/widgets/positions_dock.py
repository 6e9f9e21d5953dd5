"""The Positions dock: what the desk holds at the broker, the console's and foreign, with its floating P&L."""

from __future__ import annotations

from html import escape

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.domain.contracts import ExecutionStatus
from app.engine.exposure import PositionsView
from ui import formatting as fmt
from ui.models.positions_table_model import DEFAULT_WIDTHS, PositionsTableModel
from ui.widgets.tables import model_table


class PositionsDock(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = PositionsTableModel(self)
        self.view = model_table("positionsTable", self.model, DEFAULT_WIDTHS)
        self.summary = QLabel("Positions not read yet.")
        self.summary.setObjectName("positionsSummary")
        self.summary.setWordWrap(True)
        self.last: PositionsView | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.view, 1)

    def show_view(self, view: PositionsView) -> None:
        self.last = view
        self.model.set_lines(view.lines)
        n = len(view.lines)
        if n:
            text = (
                f"<b>{n} line{'s' if n != 1 else ''}</b> · floating P&amp;L "
                f"<b>{fmt.money(view.profit, signed=True)} {escape(view.currency)}</b>"
                f" · swap {fmt.money(view.swap, signed=True)} {escape(view.currency)}"
            )
        else:
            text = "No open positions."
        with_line = {line.symbol for line in view.lines if line.mismatch is not None}
        colour = self.model.palette.text[ExecutionStatus.REJECTED].name()
        for m in view.mismatches:
            if m.symbol not in with_line:  # no line to mark: the broker holds none of ours on the symbol
                text += (
                    f"<br><span style='color:{colour}'><b>MISMATCH {escape(m.symbol)}</b>: recorded "
                    f"{fmt.units(m.recorded_units)} units, the broker holds none of the console's</span>"
                )
        self.summary.setText(f"{text} · read {fmt.local_time(view.read_at, with_date=False)}")

    def show_unavailable(self, detail: str) -> None:
        """The broker did not answer: the last rows stay, said to be old."""
        since = f" — as read at {fmt.local_time(self.last.read_at, with_date=False)}" if self.last else ""
        self.summary.setText(f"<b>Positions not read</b>: {escape(detail)}{since}")
