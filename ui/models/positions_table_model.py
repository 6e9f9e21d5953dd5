"""The broker's open positions, a row per symbol, side and owner, as app.engine.exposure reads them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont

from app.domain.contracts import ExecutionStatus as S
from app.engine.exposure import PositionLine
from ui import formatting as fmt
from ui.theme import StatusPalette

SYMBOL, SIDE, UNITS, LOTS, AVERAGE, CURRENT, PROFIT, SWAP, OWNER, RECONCILIATION = range(10)
HEADERS = ("Symbol", "Side", "Units", "Lots", "Avg price", "Current", "P&L", "Swap", "Owner", "Reconciliation")
DEFAULT_WIDTHS = (70, 46, 90, 56, 92, 80, 90, 70, 66, 260)
NUMBERS = {UNITS, LOTS, AVERAGE, CURRENT, PROFIT, SWAP}
AnyIndex = QModelIndex | QPersistentModelIndex


def mismatch_text(line: PositionLine) -> str:
    m = line.mismatch
    if m is None:
        return ""
    return f"MISMATCH: recorded {fmt.units(m.recorded_units)}, broker {fmt.units(m.broker_units)} units"


@dataclass(frozen=True, slots=True)
class PositionRow:
    line: PositionLine
    texts: tuple[str, ...]

    @classmethod
    def from_line(cls, line: PositionLine) -> PositionRow:
        texts = (
            line.symbol,
            fmt.side(line.direction),
            fmt.units(line.units),
            fmt.units(line.lots),
            fmt.price(line.average_price, line.symbol),
            fmt.price(line.current_price, line.symbol),
            fmt.money(line.profit, signed=True),
            fmt.money(line.swap, signed=True),
            "Console" if line.ours else "Foreign",
            mismatch_text(line),
        )
        return cls(line, texts)


class PositionsTableModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PositionRow] = []
        self.palette = StatusPalette(dark=False)
        self._italic = QFont()
        self._italic.setItalic(True)

    def set_lines(self, lines: Sequence[PositionLine]) -> None:
        """A fresh read of the broker (a handful of rows: a reset is the simple, right thing)."""
        self.beginResetModel()
        self._rows = [PositionRow.from_line(line) for line in lines]
        self.endResetModel()

    def set_palette(self, palette: StatusPalette) -> None:
        self.palette = palette
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(HEADERS) - 1))

    def row(self, row: int) -> PositionRow:
        return self._rows[row]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[column]
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMBERS:
            return Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        if role == Qt.ItemDataRole.ForegroundRole:
            return self._foreground(row.line, column)
        if role == Qt.ItemDataRole.BackgroundRole and row.line.mismatch is not None:
            return self.palette.tint[S.REJECTED]
        if role == Qt.ItemDataRole.FontRole and not row.line.ours:
            return self._italic  # foreign: shown, never the console's to answer for
        return None

    def _foreground(self, line: PositionLine, column: int) -> QColor | None:
        if column == PROFIT and line.profit:
            return self.palette.text[S.FILLED if line.profit > 0 else S.REJECTED]
        if column == RECONCILIATION and line.mismatch is not None:
            return self.palette.text[S.REJECTED]
        if column == OWNER and not line.ours:
            return self.palette.text[S.CANCELLED]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None
