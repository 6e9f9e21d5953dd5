"""The blotter: filter tabs, a symbol filter, a search box and the executions table (sortable, paged, live)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from PySide6.QtCore import QByteArray, QItemSelection, QModelIndex, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QStyle,
    QTabBar,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.contracts import ExecutionStatus
from ui.models.execution_row import HEADERS, STATUS, TIME, WIDEST
from ui.models.execution_table_model import ID_ROLE, ExecutionTableModel

S = ExecutionStatus
ALL_SYMBOLS = "All symbols"
FILTERS: tuple[tuple[str, tuple[ExecutionStatus, ...]], ...] = (
    ("All", ()),
    ("Pending", (S.PENDING, S.SUBMITTED)),
    ("Filled", (S.FILLED, S.PARTIALLY_FILLED)),
    ("Rejected", (S.REJECTED, S.EXPIRED, S.CANCELLED)),
)
ROW_HEIGHT = 24
SEARCH_PAUSE_MS = 300  # the search runs once the trader pauses typing (or presses Enter)
HEADER_ROOM = 28  # a header's margins and its sort arrow
COLUMNS_KEY = "blotter/columns"  # not "blotter/header": that one holds widths of the old column order


class Blotter(QWidget):
    selected = Signal(str)  # execution id of the current row
    activated = Signal(str)  # double-click or Enter: open its detail

    def __init__(self, model: ExecutionTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.tabs = QTabBar()
        self.tabs.setObjectName("filterTabs")
        for label, statuses in FILTERS:
            i = self.tabs.addTab(label)
            self.tabs.setTabToolTip(i, ", ".join(s.value for s in statuses) or "every execution")
        self.symbol = QComboBox()
        self.symbol.setObjectName("symbolFilter")
        self.symbol.addItem(ALL_SYMBOLS)
        self.symbol.setMinimumWidth(130)
        self.symbol.setToolTip("Show one symbol only (Ctrl+Shift+F)")
        self.search = QLineEdit()
        self.search.setObjectName("blotterSearch")
        self.search.setPlaceholderText("Find: ticket, execution, RPM order or symbol")
        self.search.setToolTip("Show only the executions this names, exactly (Ctrl+F); clear it to show all")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(260)
        self._search_pause = QTimer(self, singleShot=True, interval=SEARCH_PAUSE_MS)
        self._search_pause.timeout.connect(self._apply_search)

        self.view = QTableView()
        self.view.setObjectName("blotterTable")
        self.view.setModel(model)  # it sorts itself: see ExecutionTableModel
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(TIME, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setWordWrap(False)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        # Fixed heights and widths: nothing is measured per row, whatever the number of rows.
        vertical = self.view.verticalHeader()
        vertical.setVisible(False)
        vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vertical.setDefaultSectionSize(ROW_HEIGHT)
        header = self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionsMovable(True)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        self.fit_columns()

        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.tabs)
        bar.addStretch(1)
        bar.addWidget(self.search)
        bar.addWidget(QLabel("Symbol:"))
        bar.addWidget(self.symbol)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view)

        self.tabs.currentChanged.connect(self._apply_filter)
        self.symbol.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._search_pause.start)
        self.search.returnPressed.connect(self._apply_search)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.activated.connect(self._activated)
        model.counted.connect(self.set_counts)

    def fit_columns(self) -> None:
        """Each column as wide as the widest text it usually holds, in the font on this screen."""
        view = self.view
        bold_font = QFont(view.font())
        bold_font.setBold(True)  # the status column's (see ExecutionTableModel.data)
        plain, bold, head = view.fontMetrics(), QFontMetrics(bold_font), view.horizontalHeader().fontMetrics()
        # The item delegate's text margins (focus-frame margin + 1 each side), the grid line, some air.
        margin = 2 * (view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1) + 1 + 8
        for col, texts in enumerate(WIDEST):
            fm = bold if col == STATUS else plain
            cells = max(fm.horizontalAdvance(text) for text in texts) + margin
            view.horizontalHeader().resizeSection(col, max(cells, head.horizontalAdvance(HEADERS[col]) + HEADER_ROOM))

    # ---- filters ---------------------------------------------------------------------------------
    def set_filter_index(self, i: int) -> None:
        self.tabs.setCurrentIndex(i)

    def set_symbol(self, symbol: str | None) -> None:
        self.add_symbols([symbol] if symbol else [])
        self.symbol.setCurrentText(symbol or ALL_SYMBOLS)

    def add_symbols(self, symbols: Iterable[str]) -> None:
        known = {self.symbol.itemText(i) for i in range(self.symbol.count())}
        for s in sorted(set(symbols) - known):
            # Sorted insertion after "All symbols", so the list reads alphabetically as it grows.
            at = 1
            while at < self.symbol.count() and self.symbol.itemText(at) < s:
                at += 1
            self.symbol.insertItem(at, s)

    def current_symbol(self) -> str | None:
        text = self.symbol.currentText()
        return None if text in ("", ALL_SYMBOLS) else text

    def _apply_filter(self) -> None:
        _label, statuses = FILTERS[max(self.tabs.currentIndex(), 0)]
        self.model.set_filter(statuses, self.current_symbol())

    def _apply_search(self) -> None:
        self._search_pause.stop()
        self.model.set_search(self.search.text())  # its reload counts the matches (or all again) for the tabs

    def set_counts(self, by_status: Mapping[str, int]) -> None:
        """Tab labels with how many executions each holds (under the symbol filter and the search, as its
        rows are)."""
        for i, (label, statuses) in enumerate(FILTERS):
            n = sum(by_status.values()) if not statuses else sum(by_status.get(s.value, 0) for s in statuses)
            self.tabs.setTabText(i, f"{label}  {n:,}")

    # ---- selection -------------------------------------------------------------------------------
    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if indexes:
            self.selected.emit(str(indexes[0].data(ID_ROLE)))

    def _activated(self, index: QModelIndex) -> None:
        self.activated.emit(str(index.data(ID_ROLE)))

    def current_execution_id(self) -> str | None:
        index = self.view.currentIndex()
        return str(index.data(ID_ROLE)) if index.isValid() else None

    # ---- layout kept across sessions -------------------------------------------------------------
    def save_state(self, settings: QSettings) -> None:
        settings.setValue(COLUMNS_KEY, self.view.horizontalHeader().saveState())
        settings.setValue("blotter/filter", self.tabs.currentIndex())

    def restore_state(self, settings: QSettings) -> None:
        state = settings.value(COLUMNS_KEY)
        if isinstance(state, QByteArray):
            self.view.horizontalHeader().restoreState(state)
        tab = settings.value("blotter/filter", 0)
        self.tabs.setCurrentIndex(int(tab) if isinstance(tab, int | str) and str(tab).isdigit() else 0)
