"""The blotter's model: executions from the store, kept live by engine events, in the trader's order.

A reload (new filter) is a model reset with the first page; older pages come through
canFetchMore/fetchMore as the trader scrolls, so a store of 1,000,000 executions opens as fast as
one of 100; live events are coalesced on a timer and new rows go in with one beginInsertRows per
run of neighbours (one per batch in the usual newest-first order).

The model sorts itself (no QSortFilterProxyModel): the proxy re-sorted through Python calls and
remapped every row at each insertion, which was most of the blotter's cost while executions flowed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QFont

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from app.store.repository import ExecutionStore
from ui.models.execution_row import COLUMN_COUNT, HEADERS, NUMERIC_COLUMNS, STATUS, TIME, Row
from ui.tasks import TaskSpawner
from ui.theme import StatusPalette

ID_ROLE = Qt.ItemDataRole.UserRole + 1
AnyIndex = QModelIndex | QPersistentModelIndex
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


class ExecutionTableModel(QAbstractTableModel):
    PAGE_SIZE = 500
    FLUSH_MS = 250  # live events are applied at most four times a second, in batches
    reloaded = Signal()  # a reload (new filter, first page) is in
    page_loaded = Signal(int)  # rows added by fetchMore
    counted = Signal(
        dict
    )  # executions (or, while searching, matches) by status under the symbol filter: the tabs' counts

    def __init__(self, spawner: TaskSpawner, parent: Any = None) -> None:
        super().__init__(parent)
        self._spawner = spawner
        self._store: ExecutionStore | None = None
        self._rows: list[Row] = []
        self._index: dict[str, int] = {}
        self._index_stale = False
        self._statuses: tuple[ExecutionStatus, ...] = ()
        self._symbol: str | None = None
        self._search: str | None = None  # what the search box names (ExecutionStore.search)
        self._more = False  # the store may hold older rows than those loaded
        self._oldest: datetime | None = None  # created time of the oldest row paged in
        self._fetching = False
        self._reloading = False
        self._generation = 0
        self._pending: dict[str, Execution] = {}
        self._held: dict[str, Execution] = {}  # events for rows the page being fetched may hold, stale
        self._sort_column = TIME
        self._descending = True
        self._flush = QTimer(self, singleShot=True, interval=self.FLUSH_MS)
        self._flush.timeout.connect(self._apply_pending)
        self._counting = False
        self._count_again = False
        self._bold = QFont()
        self._bold.setBold(True)
        self.palette = StatusPalette(dark=False)

    # ---- filter and loading ---------------------------------------------------------------------
    def attach(self, store: ExecutionStore) -> None:
        self._store = store
        self.reload()

    @property
    def statuses(self) -> tuple[ExecutionStatus, ...]:
        return self._statuses

    @property
    def symbol(self) -> str | None:
        return self._symbol

    def set_filter(self, statuses: Sequence[ExecutionStatus], symbol: str | None) -> None:
        self._statuses, self._symbol = tuple(statuses), (symbol or None)
        self.reload()

    @property
    def search(self) -> str | None:
        return self._search

    def set_search(self, text: str) -> None:
        """Show only the executions `text` names (an id, RPM order id, broker ticket or symbol); "" shows all."""
        search = text.strip() or None
        if search != self._search:
            self._search = search
            self.reload()

    def set_palette(self, palette: StatusPalette) -> None:
        self.palette = palette
        if self._rows:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, COLUMN_COUNT - 1))

    def reload(self) -> None:
        if self._store is None:
            return
        self._generation += 1
        self._reloading = True
        self._held = {}
        self._spawner.spawn(self._reload(self._generation), "loading the blotter")

    async def _reload(self, generation: int) -> None:
        assert self._store is not None
        page = await self._page(None, self.PAGE_SIZE)
        if generation != self._generation:
            return  # the trader changed the filter meanwhile; the newer reload wins
        self.beginResetModel()
        self._rows = self._in_order([Row(e) for e in page])
        self._index_stale = True
        self._more = len(page) == self.PAGE_SIZE
        self._oldest = page[-1].created_timestamp if page else None
        self._fetching = False
        self.endResetModel()
        self._reloading = False
        self._apply_pending()  # events that arrived during the load
        self.recount()
        self.reloaded.emit()

    async def _page(self, end: datetime | None, limit: int) -> list[Execution]:
        assert self._store is not None
        if self._search:
            return await self._store.search(
                self._search, symbol=self._symbol, statuses=self._statuses, end=end, limit=limit
            )
        return await self._store.history(symbol=self._symbol, statuses=self._statuses, end=end, limit=limit)

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008 (Qt's signature)
        return not parent.isValid() and self._more and not self._fetching and not self._reloading

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        if not self.canFetchMore(parent):
            return
        self._fetching = True
        self._spawner.spawn(self._fetch(self._generation), "loading older executions")

    async def _fetch(self, generation: int) -> None:
        assert self._store is not None and self._oldest is not None
        # Keyset paging on the creation time: live rows added at the top do not shift it the way an
        # offset would. The boundary is included, so rows sharing the oldest timestamp are never
        # skipped; the ones already shown are asked for again (and dropped) on top of a full page.
        oldest = self._oldest
        shown_at_boundary = sum(1 for row in self._rows if row.created == oldest)
        limit = self.PAGE_SIZE + shown_at_boundary
        page = await self._page(oldest + timedelta(microseconds=1), limit)
        if generation != self._generation:
            return
        known = self._positions()
        fresh = [Row(e) for e in page if e.execution_id not in known]
        self._more = len(page) == limit and bool(fresh)
        if page:
            self._oldest = page[-1].created_timestamp
        self._insert(fresh)
        self._fetching = False
        if self._held:  # now on their rows, or still older than the pages: dropped as usual
            self._held.update(self._pending)
            self._pending, self._held = self._held, {}
            self._apply_pending()
        self.page_loaded.emit(len(fresh))

    # ---- tab counts ------------------------------------------------------------------------------
    def recount(self, *_: object) -> None:
        """Count again from the store (read after the rows it sees) — while searching, the matches: one
        query out at a time, the latest request served after it — so the counts settle on the rows
        shown, never lag them."""
        if self._store is None:
            return
        if self._counting:
            self._count_again = True
            return
        self._counting = True
        self._spawner.spawn(self._count(), "counting executions")

    async def _count(self) -> None:
        assert self._store is not None
        search, symbol = self._search, self._symbol
        try:
            if search:
                counts = await self._store.search_counts(search, symbol=symbol)
            else:
                counts = await self._store.count_by_status(symbol)
        finally:
            self._counting = False
        if (search, symbol) == (self._search, self._symbol):  # else a count of what is no longer shown
            self.counted.emit(counts)
        if self._count_again:
            self._count_again = False
            self.recount()

    # ---- live events -----------------------------------------------------------------------------
    def on_execution(self, execution: Execution) -> None:
        """An engine event (through the bridge): applied with the others of the next tick."""
        self._pending[execution.execution_id] = execution
        if not self._flush.isActive():
            self._flush.start()

    def _matches(self, e: Execution) -> bool:
        if self._symbol and e.symbol != self._symbol.upper():
            return False
        return not self._statuses or e.status in self._statuses

    def _apply_pending(self) -> None:
        if self._reloading or not self._pending:
            return
        batch, self._pending = list(self._pending.values()), {}
        self.recount()  # any event may move a count, on this tab or another
        positions = self._positions()
        changed: list[int] = []
        moved: list[Row] = []
        gone: list[int] = []
        new: list[Row] = []
        for e in batch:
            at = positions.get(e.execution_id)
            if at is not None:
                if not self._matches(e):
                    gone.append(at)  # e.g. filled while the trader looks at Pending
                elif (row := Row(e)).key(self._sort_column) == self._rows[at].key(self._sort_column):
                    self._rows[at] = row
                    changed.append(at)
                else:
                    moved.append(row)  # its place in the trader's order changed (e.g. by status)
            elif not (self._more and self._oldest and e.created_timestamp < self._oldest):
                if self._matches(e) and self._named(e):
                    new.append(Row(e))
            elif self._fetching:
                self._held[e.execution_id] = e  # the page on its way may have read it before this change
            # (else an older one not paged in yet comes with its page, as stored now)
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0), self.index(max(changed), COLUMN_COUNT - 1))
        for at in sorted(gone, reverse=True):
            self.beginRemoveRows(QModelIndex(), at, at)
            del self._rows[at]
            self.endRemoveRows()
            self._index_stale = True
        for row in moved:  # each move shifts the others: their places are looked up one at a time
            self._move(self._positions()[row.execution_id], row)
        self._insert(new)

    def _named(self, e: Execution) -> bool:
        """Is a new execution one the search names? On its own fields: a new one has no fills to name it
        by yet (a row already shown stays while its status and symbol still match)."""
        text = self._search
        return not text or text in (e.execution_id, e.rpm_decision_id, e.broker_order_id) or e.symbol == text.upper()

    # ---- the trader's order ----------------------------------------------------------------------
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """A click on a column's header: the loaded rows re-ordered, the selection kept."""
        self._sort_column, self._descending = column, order == Qt.SortOrder.DescendingOrder
        if not self._rows:
            return
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        kept = [(self._rows[i.row()].execution_id, i.column()) for i in persistent]
        self._rows = self._in_order(self._rows)
        self._index_stale = True
        positions = self._positions()
        self.changePersistentIndexList(persistent, [self.index(positions[eid], col) for eid, col in kept])
        self.layoutChanged.emit()

    def _in_order(self, rows: list[Row]) -> list[Row]:
        """Rows in the current order; ties newest first (both sorts are stable)."""
        ordered = sorted(rows, key=lambda r: r.created, reverse=True)
        if self._sort_column != TIME:
            col = self._sort_column
            ordered.sort(key=lambda r: r.key(col), reverse=self._descending)
        elif not self._descending:
            ordered.reverse()
        return ordered

    def _before(self, a: Row, b: Row) -> bool:
        """Does `a` come before `b` in the current order (the one _in_order sorts into)?"""
        ka, kb = a.key(self._sort_column), b.key(self._sort_column)
        if ka != kb:
            return ka > kb if self._descending else ka < kb  # type: ignore[operator]
        return a.created > b.created

    def _place(self, row: Row) -> int:
        """Where `row` goes among the current rows: after every row that comes before it."""
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._before(row, self._rows[mid]):
                hi = mid
            else:
                lo = mid + 1
        return lo

    def _insert(self, rows: list[Row]) -> None:
        """New rows in their places: one insertion per run of neighbours (one, newest first)."""
        if not rows:
            return
        rows = self._in_order(rows)
        places = [self._place(r) for r in rows]  # non-decreasing: rows are in order
        shift = 0
        for place, run in itertools.groupby(zip(places, rows, strict=True), key=lambda pr: pr[0]):
            block = [r for _, r in run]
            first = place + shift
            self.beginInsertRows(QModelIndex(), first, first + len(block) - 1)
            self._rows[first:first] = block
            self.endInsertRows()
            shift += len(block)
        self._index_stale = True

    def _move(self, at: int, row: Row) -> None:
        """An updated row to its new place, as a move (a selection on it follows it)."""
        place = self._place(row)  # among the rows as they stand, its old self included
        if place in (at, at + 1):
            self._rows[at] = row
            self.dataChanged.emit(self.index(at, 0), self.index(at, COLUMN_COUNT - 1))
            return
        self.beginMoveRows(QModelIndex(), at, at, QModelIndex(), place)
        del self._rows[at]
        self._rows.insert(place if place < at else place - 1, row)
        self.endMoveRows()
        self._index_stale = True

    def _positions(self) -> dict[str, int]:
        if self._index_stale:
            self._index = {row.execution_id: i for i, row in enumerate(self._rows)}
            self._index_stale = False
        return self._index

    # ---- Qt model --------------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else COLUMN_COUNT

    def row(self, r: int) -> Row:
        return self._rows[r]

    def row_of(self, execution_id: str) -> int | None:
        return self._positions().get(execution_id)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.texts[col]
        if role == ID_ROLE:
            return row.execution_id
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.palette.tint[row.status]
        if role == Qt.ItemDataRole.ForegroundRole and col == STATUS:
            return self.palette.text[row.status]
        if role == Qt.ItemDataRole.FontRole and col == STATUS:
            return self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if col in NUMERIC_COLUMNS else _LEFT
        if role == Qt.ItemDataRole.ToolTipRole and row.tooltip:
            return row.tooltip
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.TextAlignmentRole:
            return _RIGHT if section in NUMERIC_COLUMNS else _LEFT
        return None
