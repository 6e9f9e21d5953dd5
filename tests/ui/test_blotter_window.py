"""The blotter in the real window: what is posted shows, filters narrow it, a row opens its detail."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from app.domain.contracts import ExecutionStatus
from app.interfaces.intake.receive import receive
from app.store.repository import ExecutionStore
from tests.builders import rpm_payload
from tests.ui.conftest import AUDIT_KEY, WindowFactory, make_settings, post
from tests.ui.rows import bulk_insert
from ui.main_window import MainWindow
from ui.models.execution_row import EXECUTED_UNITS, REASON, SIDE, STATUS, SYMBOL
from ui.models.execution_table_model import ExecutionTableModel
from ui.widgets.blotter import FILTERS


def blotter_text(window: MainWindow, row: int, col: int) -> str:
    model = window.blotter.model
    return str(model.data(model.index(row, col)))


def blotter_rows(window: MainWindow) -> int:
    return window.blotter.model.rowCount()


def test_an_execution_posted_through_receive_appears_in_the_blotter_and_the_chart(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    post(qtbot, console, symbol="GBPUSD", direction=-1, units=50_000)

    qtbot.waitUntil(lambda: blotter_rows(window) == 1 and blotter_text(window, 0, STATUS) == "FILLED")
    assert blotter_text(window, 0, SYMBOL) == "GBPUSD"
    assert blotter_text(window, 0, SIDE) == "SELL"
    assert blotter_text(window, 0, EXECUTED_UNITS) == "50,000"
    qtbot.waitUntil(lambda: len(window.charts.series) == 1 and window.charts.redraws > 0)


def test_an_execution_posted_to_the_api_appears_in_the_blotter(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory()
    assert console.api_url is not None and console.service.token is not None
    request = urllib.request.Request(
        f"{console.api_url}/execute",
        data=json.dumps(rpm_payload(symbol="USDJPY")).encode(),
        headers={"Authorization": f"Bearer {console.service.token.secret}", "Content-Type": "application/json"},
    )
    with ThreadPoolExecutor(1) as pool:  # a client of its own: the loop must stay free to serve it
        answer = pool.submit(lambda: json.load(urllib.request.urlopen(request, timeout=60)))
        qtbot.waitUntil(answer.done, timeout=60_000)
    assert answer.result()["status"] == "FILLED"
    qtbot.waitUntil(lambda: blotter_rows(window) == 1 and blotter_text(window, 0, SYMBOL) == "USDJPY")


def test_filter_tabs_show_pending_filled_or_rejected_only(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory()
    post(qtbot, console, symbol="EURUSD")
    post(qtbot, console, status="REJECTED")
    qtbot.waitUntil(lambda: blotter_rows(window) == 2)

    tabs = window.blotter.tabs
    rejected = [label for label, _ in FILTERS].index("Rejected")
    with qtbot.waitSignal(window.model.reloaded):
        qtbot.mouseClick(tabs, Qt.MouseButton.LeftButton, pos=tabs.tabRect(rejected).center())
    assert blotter_rows(window) == 1
    assert blotter_text(window, 0, REASON) == "RPM_REJECTED"

    with qtbot.waitSignal(window.model.reloaded):
        window.blotter.set_filter_index([label for label, _ in FILTERS].index("Pending"))
    assert blotter_rows(window) == 0


def test_the_symbol_filter_shows_one_symbol(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory()
    for symbol in ("EURUSD", "USDJPY", "EURUSD"):
        post(qtbot, console, symbol=symbol)
    qtbot.waitUntil(lambda: blotter_rows(window) == 3)

    with qtbot.waitSignal(window.model.reloaded):
        window.blotter.set_symbol("USDJPY")
    assert blotter_rows(window) == 1
    assert blotter_text(window, 0, SYMBOL) == "USDJPY"

    post(qtbot, console, symbol="EURUSD")  # live: another symbol stays out of the filtered view
    post(qtbot, console, symbol="USDJPY")
    qtbot.waitUntil(lambda: blotter_rows(window) == 2)
    assert {blotter_text(window, r, SYMBOL) for r in range(2)} == {"USDJPY"}


def test_selecting_a_row_shows_every_field_and_the_audit_events_in_order(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    execution = post(qtbot, console, symbol="EURUSD")
    qtbot.waitUntil(lambda: blotter_rows(window) == 1 and blotter_text(window, 0, STATUS) == "FILLED")

    window.blotter.view.selectRow(0)
    audit = window.detail.audit
    qtbot.waitUntil(lambda: audit.rowCount() >= 4)
    events = [audit.item(r, 2).text() for r in range(audit.rowCount())]
    assert events[:2] == ["RECEIVED", "VALIDATED"]
    assert "FILLED" in events
    fields = {window.detail.fields.item(r, 0).text(): window.detail.fields.item(r, 1).text() for r in range(40)}
    assert fields["execution_id"] == execution.execution_id
    assert fields["status"] == ExecutionStatus.FILLED.value
    assert fields["request.channel"] == "test"
    # Units as the desk reads them, prices at the symbol's five decimals (never 100000.0 or 1.0951).
    assert fields["intended_units"] == fields["executed_units"] == "100,000"
    assert len(fields["fill_price"].split(".")[1]) == 5


def test_enter_on_a_row_opens_its_detail_dialog(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory()
    execution = post(qtbot, console)
    qtbot.waitUntil(lambda: blotter_rows(window) == 1)

    window.blotter.view.setFocus()
    window.blotter.view.setCurrentIndex(window.blotter.model.index(0, 0))
    qtbot.keyClick(window.blotter.view, Qt.Key.Key_Return)

    qtbot.waitUntil(lambda: len(window.detail_dialogs) == 1)
    dialog = window.detail_dialogs[0]
    assert execution.execution_id in dialog.windowTitle()
    qtbot.waitUntil(lambda: dialog.detail.audit.rowCount() >= 3)


def test_the_window_opens_on_100000_executions_without_loading_them_all(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    store = ExecutionStore.open(settings.database_url, AUDIT_KEY.encode())
    bulk_insert(store, 100_000)
    store.close()

    window, _console = window_factory()

    assert window.model.rowCount() == ExecutionTableModel.PAGE_SIZE
    with qtbot.waitSignal(window.model.page_loaded):
        window.blotter.view.scrollToBottom()  # the view asks the model for more
    assert window.model.rowCount() == 2 * ExecutionTableModel.PAGE_SIZE


def test_the_window_stays_responsive_while_the_broker_is_slow(
    qtbot: QtBot, window_factory: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, console = window_factory()
    terminal = console.runtime.broker.mt5  # type: ignore[attr-defined]
    sending, release = threading.Event(), threading.Event()
    send = terminal.order_send

    def answers_when_released(request: dict[str, Any]) -> Any:
        sending.set()
        release.wait(120)
        return send(request)

    monkeypatch.setattr(terminal, "order_send", answers_when_released)
    running = asyncio.ensure_future(
        receive(console.runtime.engine, json.dumps(rpm_payload(symbol="EURUSD")).encode(), channel="test")
    )
    try:
        qtbot.waitUntil(sending.is_set)
        # While the terminal holds the order, Qt's loop goes on: a broker call on it would hold it too.
        fired: list[bool] = []
        QTimer.singleShot(0, lambda: fired.append(True))
        qtbot.waitUntil(lambda: bool(fired))
        assert not running.done()
    finally:
        release.set()
    qtbot.waitUntil(running.done)
    qtbot.waitUntil(lambda: blotter_rows(window) == 1 and blotter_text(window, 0, STATUS) == "FILLED")
