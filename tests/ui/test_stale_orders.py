"""Stale orders: listed with their age; cancelled at the broker only after the trader confirms."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt
from pytestqt.qtbot import QtBot

from app.adapters.mt5 import constants as c
from app.domain.contracts import ExecutionStatus
from tests.ui.conftest import WindowFactory, drive, post
from ui.controllers import operator_name
from ui.main_window import MainWindow
from ui.models.stale_table_model import AGE, SYMBOL

NEVER_FILLS = {"scenario": "never_fills.toml", "order_timeout_s": 0.3}


def list_stale(qtbot: QtBot, window: MainWindow, expected: int) -> None:
    def listed() -> bool:
        window.stale.refresh()
        return window.stale_panel.model.rowCount() == expected

    qtbot.waitUntil(listed)


def select_all(window: MainWindow) -> None:
    view = window.stale_panel.view
    for row in range(window.stale_panel.model.rowCount()):
        view.selectionModel().select(
            window.stale_panel.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )


def test_an_expired_order_still_at_the_broker_is_listed_with_its_age(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory(**NEVER_FILLS)
    expired = post(qtbot, console, symbol="EURUSD")
    assert expired.status is ExecutionStatus.EXPIRED

    list_stale(qtbot, window, 1)
    model = window.stale_panel.model
    assert model.data(model.index(0, SYMBOL)) == "EURUSD"
    assert str(model.data(model.index(0, AGE))).endswith(" s")
    assert window.docks["stale"].windowTitle() == "Stale orders (1)"


def test_approving_the_cancellation_cancels_the_order_at_the_simulated_broker(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory(**NEVER_FILLS)
    expired = post(qtbot, console, symbol="GBPUSD")
    list_stale(qtbot, window, 1)
    select_all(window)

    qtbot.mouseClick(window.stale_panel.cancel, Qt.MouseButton.LeftButton)
    dialog = window.stale.dialog
    assert dialog is not None and dialog.isVisible()
    assert expired.execution_id in dialog.text.text()
    with qtbot.waitSignal(window.stale.cancel_done, timeout=60_000) as done:
        qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)

    execution_id, after = done.args
    assert execution_id == expired.execution_id
    assert after.status is ExecutionStatus.CANCELLED
    terminal = console.runtime.broker.mt5
    [order] = terminal.history_orders_get(ticket=int(str(expired.broker_order_id)))
    assert order.state == c.ORDER_STATE_CANCELED
    assert "CANCELLED at the broker" in window.stale_panel.results.item(0).text()
    list_stale(qtbot, window, 0)
    approvals = [
        e
        for e in drive(qtbot, console.runtime.store.audit_for(expired.execution_id))
        if e.event_type == "CANCEL_APPROVED"
    ]
    assert approvals and approvals[0].data["by"] == operator_name() and approvals[0].data["approved_at"]


def test_keeping_the_orders_cancels_nothing(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory(**NEVER_FILLS)
    post(qtbot, console)
    list_stale(qtbot, window, 1)
    select_all(window)

    qtbot.mouseClick(window.stale_panel.cancel, Qt.MouseButton.LeftButton)
    assert window.stale.dialog is not None
    window.stale.dialog.reject()

    list_stale(qtbot, window, 1)
    assert window.stale_panel.results.count() == 0


def test_an_order_that_filled_in_the_meantime_shows_as_filled(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory(scenario="slow_fill.toml", order_timeout_s=0.3)  # fills after 2 s
    expired = post(qtbot, console, symbol="USDJPY")
    assert expired.status is ExecutionStatus.EXPIRED
    list_stale(qtbot, window, 1)
    select_all(window)
    qtbot.mouseClick(window.stale_panel.cancel, Qt.MouseButton.LeftButton)
    assert window.stale.dialog is not None

    terminal, ticket = console.runtime.broker.mt5, int(str(expired.broker_order_id))
    qtbot.waitUntil(lambda: bool(terminal.history_orders_get(ticket=ticket)), timeout=60_000)  # filled meanwhile
    with qtbot.waitSignal(window.stale.cancel_done, timeout=60_000) as done:
        qtbot.mouseClick(window.stale.dialog.confirm, Qt.MouseButton.LeftButton)

    assert done.args[1].status is ExecutionStatus.FILLED
    assert "FILLED in the meantime" in window.stale_panel.results.item(0).text()
