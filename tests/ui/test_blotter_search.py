"""The blotter's search box: a ticket, an id or a symbol shows those executions only; clearing shows all."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, drive, post
from ui.main_window import MainWindow
from ui.models.execution_table_model import ID_ROLE
from ui.widgets.blotter import FILTERS


def shown_ids(window: MainWindow) -> list[str]:
    model = window.blotter.model
    return [str(model.data(model.index(r, 0), ID_ROLE)) for r in range(model.rowCount())]


def tab_count(window: MainWindow, i: int) -> int:
    return int(window.blotter.tabs.tabText(i).split()[-1].replace(",", ""))


def search(qtbot: QtBot, window: MainWindow, text: str) -> None:
    box = window.blotter.search
    with qtbot.waitSignal(window.model.reloaded):
        box.clear()  # its clear button does the same
        qtbot.keyClicks(box, text)


def test_typing_a_ticket_shows_that_execution_only_and_clearing_shows_all(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    wanted = post(qtbot, console, symbol="EURUSD")
    for symbol in ("USDJPY", "EURUSD"):
        post(qtbot, console, symbol=symbol)
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)
    assert wanted.broker_order_id

    search(qtbot, window, wanted.broker_order_id)
    assert shown_ids(window) == [wanted.execution_id]
    qtbot.waitUntil(lambda: tab_count(window, 0) == 1)  # "All" counts the matches

    search(qtbot, window, "")
    assert window.model.rowCount() == 3
    drive(qtbot, window.monitor.refresh_now())
    assert tab_count(window, 0) == 3


def test_while_searching_each_tab_counts_the_rows_it_shows(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory()
    post(qtbot, console, symbol="EURUSD")
    post(qtbot, console, symbol="USDJPY")
    post(qtbot, console, symbol="EURUSD", halted=True)  # rejected
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)

    search(qtbot, window, "eurusd")
    for i, (label, _statuses) in enumerate(FILTERS):
        if window.blotter.tabs.currentIndex() != i:
            with qtbot.waitSignal(window.model.reloaded):
                window.blotter.set_filter_index(i)
        qtbot.waitUntil(lambda i=i: tab_count(window, i) == window.model.rowCount(), timeout=60_000)
        assert window.model.rowCount() == {"All": 2, "Pending": 0, "Filled": 1, "Rejected": 1}[label]


def test_a_new_execution_the_search_names_appears_and_others_stay_out(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    post(qtbot, console, symbol="USDJPY")
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    search(qtbot, window, "USDJPY")

    post(qtbot, console, symbol="EURUSD")
    later = post(qtbot, console, symbol="USDJPY")
    qtbot.waitUntil(lambda: later.execution_id in shown_ids(window))  # the EURUSD one's events came first
    model = window.model
    assert [model.row(r).execution.symbol for r in range(model.rowCount())] == ["USDJPY", "USDJPY"]
    qtbot.waitUntil(lambda: tab_count(window, 0) == 2)
