"""Stale orders: which rest at the broker past their timeout, and what became of those cancelled."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.engine.recovery import StaleOrder
from ui.models.stale_table_model import DEFAULT_WIDTHS, StaleTableModel
from ui.widgets.tables import model_table


class StaleOrdersPanel(QWidget):
    cancel_requested = Signal(list)  # list[StaleOrder] the trader chose

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = StaleTableModel(self)
        self.view = model_table("staleTable", self.model, DEFAULT_WIDTHS)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.summary = QLabel("No stale orders.")
        self.cancel = QPushButton("Cancel selected…")
        self.cancel.setObjectName("cancelStaleButton")
        self.cancel.setToolTip("Cancel the selected orders at the broker, after a confirmation")
        self.cancel.setEnabled(False)
        self.cancel.clicked.connect(self._cancel_selected)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.results = QListWidget()
        self.results.setObjectName("cancelResults")
        self.results.setMinimumHeight(3 * 18)  # a few lines: the panel must fit a laptop's bottom row
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 3)
        layout.addWidget(QLabel("Cancellation results"))
        layout.addWidget(self.results, 1)

    def set_orders(self, orders: list[StaleOrder]) -> None:
        chosen = {s.execution.execution_id for s in self.selected()}
        self.model.set_orders(orders)
        n = len(orders)
        self.summary.setText(
            f"<b>{n} order{'s' if n != 1 else ''} resting past {'their' if n != 1 else 'its'} timeout</b>"
            if n
            else "No stale orders."
        )
        # Keep the trader's selection across refreshes.
        selection = self.view.selectionModel()
        for row in range(n):
            if self.model.stale(row).execution.execution_id in chosen:
                selection.select(
                    self.model.index(row, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )
        self.cancel.setEnabled(bool(self.selected()))

    def selected(self) -> list[StaleOrder]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        return [self.model.stale(r) for r in rows if r < self.model.rowCount()]

    def _selection_changed(self) -> None:
        self.cancel.setEnabled(bool(self.selected()))

    def _cancel_selected(self) -> None:
        chosen = self.selected()
        if chosen:
            self.cancel_requested.emit(chosen)

    def add_result(self, text: str, colour: QColor | None = None) -> None:
        item = QListWidgetItem(text)
        if colour is not None:
            item.setForeground(colour)
        self.results.insertItem(0, item)
