"""The blotter's model, read the way a view reads it: model.data(model.index(row, column))."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QPersistentModelIndex, Qt
from pytestqt.qtbot import QtBot

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.store.repository import ExecutionStore
from tests.conftest import AUDIT_KEY
from tests.ui.rows import T0, bulk_insert, execution, insert_rows
from ui.models.execution_row import (
    EXECUTED_UNITS,
    EXECUTION_ID,
    FILL_PRICE,
    INTENDED_PRICE,
    INTENDED_UNITS,
    REASON,
    SIDE,
    SLIPPAGE,
    STATUS,
    SYMBOL,
)
from ui.models.execution_table_model import ExecutionTableModel
from ui.tasks import TaskSpawner
from ui.theme import StatusPalette

S = ExecutionStatus


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExecutionStore]:
    store = ExecutionStore.open(f"sqlite:///{tmp_path / 'executions.db'}", AUDIT_KEY)
    yield store
    store.close()


@pytest.fixture
def model(qloop: qasync.QEventLoop, qtbot: QtBot) -> Iterator[ExecutionTableModel]:
    spawner = TaskSpawner()
    model = ExecutionTableModel(spawner)
    yield model
    task = qloop.create_task(spawner.cancel_all())
    qtbot.waitUntil(task.done)
    shiboken6.delete(model)  # on the GUI thread, with its flush timer
    shiboken6.delete(spawner)


def attach(qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore) -> None:
    with qtbot.waitSignal(model.reloaded):
        model.attach(store)


def cell(model: ExecutionTableModel, row: int, col: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
    return model.data(model.index(row, col), role)


def test_a_row_reads_as_the_trader_expects(qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore) -> None:
    e = execution(symbol="EURUSD", direction=-1, units=95_000, slippage="-0.3")
    insert_rows(store, [e])
    attach(qtbot, model, store)

    assert cell(model, 0, SYMBOL) == "EURUSD"
    assert cell(model, 0, SIDE) == "SELL"
    assert cell(model, 0, INTENDED_UNITS) == "95,000"
    assert cell(model, 0, EXECUTED_UNITS) == "95,000"
    assert cell(model, 0, INTENDED_PRICE) == "1.09505"
    assert cell(model, 0, FILL_PRICE) == "1.09511"
    assert cell(model, 0, SLIPPAGE) == "-0.3"
    assert cell(model, 0, STATUS) == "FILLED"
    assert cell(model, 0, EXECUTION_ID) == e.execution_id


def test_a_rejection_shows_its_reason_and_the_details_on_hover(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    e = execution(status=S.REJECTED, reason=RejectionReason.SPREAD_TOO_WIDE, details="EURUSD: spread 8.0 pips > 3")
    insert_rows(store, [e])
    attach(qtbot, model, store)

    assert cell(model, 0, REASON) == "SPREAD_TOO_WIDE"
    assert cell(model, 0, REASON, Qt.ItemDataRole.ToolTipRole) == "EURUSD: spread 8.0 pips > 3"
    assert cell(model, 0, FILL_PRICE) == ""


def test_the_status_colours_the_row(qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore) -> None:
    insert_rows(store, [execution(status=S.REJECTED, reason=RejectionReason.RPM_REJECTED), execution()])
    attach(qtbot, model, store)
    palette = StatusPalette(dark=True)
    model.set_palette(palette)

    filled, rejected = 0, 1  # newest first
    assert cell(model, filled, SYMBOL, Qt.ItemDataRole.BackgroundRole) == palette.tint[S.FILLED]
    assert cell(model, rejected, SYMBOL, Qt.ItemDataRole.BackgroundRole) == palette.tint[S.REJECTED]
    assert cell(model, rejected, STATUS, Qt.ItemDataRole.ForegroundRole) == palette.text[S.REJECTED]


def test_a_burst_of_new_executions_is_inserted_in_one_batch(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    attach(qtbot, model, store)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserts.append((first, last)))

    for _ in range(50):
        model.on_execution(execution())

    qtbot.waitUntil(lambda: model.rowCount() == 50)
    assert inserts == [(0, 49)]
    assert str(cell(model, 0, EXECUTION_ID)) > str(cell(model, 49, EXECUTION_ID))  # newest first


def test_an_update_changes_its_row_in_place(qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore) -> None:
    pending = execution(status=S.PENDING)
    insert_rows(store, [pending])
    attach(qtbot, model, store)
    assert cell(model, 0, STATUS) == "PENDING"

    filled = execution(status=S.FILLED)
    filled.execution_id, filled.created_timestamp = pending.execution_id, pending.created_timestamp
    with qtbot.waitSignal(model.dataChanged):
        model.on_execution(filled)
    assert model.rowCount() == 1
    assert cell(model, 0, STATUS) == "FILLED"


def test_an_execution_leaves_the_pending_view_when_it_fills(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    pending = execution(status=S.SUBMITTED)
    insert_rows(store, [pending, execution(status=S.FILLED)])
    attach(qtbot, model, store)
    with qtbot.waitSignal(model.reloaded):
        model.set_filter([S.PENDING, S.SUBMITTED], None)
    assert model.rowCount() == 1

    filled = execution(status=S.FILLED)
    filled.execution_id, filled.created_timestamp = pending.execution_id, pending.created_timestamp
    with qtbot.waitSignal(model.rowsRemoved):
        model.on_execution(filled)
    assert model.rowCount() == 0


def test_a_store_of_100000_executions_opens_on_one_page_and_pages_on_demand(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    bulk_insert(store, 100_000)

    attach(qtbot, model, store)  # its time is build/console_probe.py's to measure

    assert model.rowCount() == ExecutionTableModel.PAGE_SIZE
    assert cell(model, 0, EXECUTION_ID) == "bulk_0000099999"  # the newest
    assert model.canFetchMore()
    with qtbot.waitSignal(model.page_loaded):
        model.fetchMore()
    assert model.rowCount() == 2 * ExecutionTableModel.PAGE_SIZE
    assert cell(model, 2 * ExecutionTableModel.PAGE_SIZE - 1, EXECUTION_ID) == "bulk_0000099000"


def test_paging_neither_repeats_nor_skips_executions_created_in_the_same_instant(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    same_time = [execution(created=T0) for _ in range(30)]  # a page boundary falls among them
    insert_rows(store, [*same_time, *(execution() for _ in range(ExecutionTableModel.PAGE_SIZE))])
    attach(qtbot, model, store)

    while model.canFetchMore():
        with qtbot.waitSignal(model.page_loaded):
            model.fetchMore()

    ids = [cell(model, r, EXECUTION_ID) for r in range(model.rowCount())]
    assert len(ids) == len(set(ids)) == ExecutionTableModel.PAGE_SIZE + 30


def column(model: ExecutionTableModel, col: int) -> list[object]:
    return [cell(model, r, col) for r in range(model.rowCount())]


def test_a_click_on_a_header_sorts_the_rows_and_a_selected_row_follows(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    usdjpy, eurusd, gbpusd = (execution(symbol=s) for s in ("USDJPY", "EURUSD", "GBPUSD"))
    insert_rows(store, [usdjpy, eurusd, gbpusd])
    attach(qtbot, model, store)
    assert column(model, SYMBOL) == ["GBPUSD", "EURUSD", "USDJPY"]  # newest first
    selected = QPersistentModelIndex(model.index(2, SYMBOL))

    model.sort(SYMBOL, Qt.SortOrder.AscendingOrder)
    assert column(model, SYMBOL) == ["EURUSD", "GBPUSD", "USDJPY"]
    assert selected.row() == 2 and selected.data() == "USDJPY"
    model.sort(SYMBOL, Qt.SortOrder.DescendingOrder)
    assert column(model, SYMBOL) == ["USDJPY", "GBPUSD", "EURUSD"]
    assert selected.row() == 0 and selected.data() == "USDJPY"


def test_executions_without_slippage_sort_below_every_measured_one(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    insert_rows(store, [execution(slippage="0.4"), execution(status=S.REJECTED), execution(slippage="-1.2")])
    attach(qtbot, model, store)
    model.sort(SLIPPAGE, Qt.SortOrder.DescendingOrder)
    assert column(model, SLIPPAGE) == ["+0.4", "-1.2", ""]
    model.sort(SLIPPAGE, Qt.SortOrder.AscendingOrder)
    assert column(model, SLIPPAGE) == ["", "-1.2", "+0.4"]


def test_live_executions_go_to_their_place_in_the_traders_order(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    insert_rows(store, [execution(symbol="EURUSD"), execution(symbol="USDJPY")])
    attach(qtbot, model, store)
    model.sort(SYMBOL, Qt.SortOrder.AscendingOrder)

    for symbol in ("AUDUSD", "GBPUSD", "ZARJPY"):
        model.on_execution(execution(symbol=symbol))
    qtbot.waitUntil(lambda: model.rowCount() == 5)
    assert column(model, SYMBOL) == ["AUDUSD", "EURUSD", "GBPUSD", "USDJPY", "ZARJPY"]


def test_an_update_that_changes_its_sort_key_moves_the_row_and_the_selection_with_it(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore
) -> None:
    submitted = execution(status=S.SUBMITTED)
    insert_rows(store, [execution(status=S.FILLED), submitted, execution(status=S.REJECTED)])
    attach(qtbot, model, store)
    model.sort(STATUS, Qt.SortOrder.AscendingOrder)
    assert column(model, STATUS) == ["FILLED", "REJECTED", "SUBMITTED"]
    selected = QPersistentModelIndex(model.index(2, EXECUTION_ID))

    filled = execution(status=S.FILLED)
    filled.execution_id, filled.created_timestamp = submitted.execution_id, submitted.created_timestamp
    with qtbot.waitSignal(model.rowsMoved):
        model.on_execution(filled)
    assert column(model, STATUS) == ["FILLED", "FILLED", "REJECTED"]
    assert selected.data() == submitted.execution_id and column(model, STATUS)[selected.row()] == "FILLED"


def test_an_update_that_comes_while_its_page_is_on_the_way_is_not_lost(
    qtbot: QtBot, model: ExecutionTableModel, store: ExecutionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ExecutionTableModel, "PAGE_SIZE", 2)
    old = execution(status=S.SUBMITTED)
    insert_rows(store, [old, execution(), execution()])
    attach(qtbot, model, store)
    assert old.execution_id not in column(model, EXECUTION_ID)  # on the next page

    release = asyncio.Event()
    history = store.history

    async def slow_history(**kwargs: object) -> object:
        page = await history(**kwargs)  # read now: the order still SUBMITTED
        await release.wait()
        return page

    monkeypatch.setattr(store, "history", slow_history)
    model.fetchMore()
    filled = execution(status=S.FILLED)
    filled.execution_id, filled.created_timestamp = old.execution_id, old.created_timestamp
    model.on_execution(filled)
    qtbot.wait(ExecutionTableModel.FLUSH_MS + 100)  # the event is applied while the page is on its way
    with qtbot.waitSignal(model.page_loaded):
        release.set()
    row = column(model, EXECUTION_ID).index(old.execution_id)
    assert cell(model, row, STATUS) == "FILLED"
