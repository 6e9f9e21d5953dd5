"""Orders resting at the broker past their time, as the reconciler reports them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from app.engine.recovery import StaleOrder
from ui import formatting as fmt

SYMBOL, SIDE, UNITS, AGE, STATUS, ORDER, EXECUTION_ID = range(7)
HEADERS = ("Symbol", "Side", "Units", "Waiting", "Status", "Broker order", "Execution")
DEFAULT_WIDTHS = (70, 46, 86, 96, 84, 100, 200)
AnyIndex = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class StaleRow:
    stale: StaleOrder
    texts: tuple[str, ...]

    @classmethod
    def from_stale(cls, s: StaleOrder) -> StaleRow:
        e = s.execution
        texts = (
            e.symbol,
            fmt.side(e.direction),
            fmt.units(e.intended_units),
            fmt.duration(s.age_s),
            e.status.value,
            s.order,
            e.execution_id,
        )
        return cls(s, texts)


class StaleTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[StaleRow] = []

    def set_orders(self, orders: Sequence[StaleOrder]) -> None:
        """A fresh list from the reconciler (a handful of rows: a reset is the simple, right thing)."""
        self.beginResetModel()
        self._rows = [StaleRow.from_stale(s) for s in orders]
        self.endResetModel()

    def stale(self, row: int) -> StaleOrder:
        return self._rows[row].stale

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()].texts[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (UNITS, AGE):
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None
