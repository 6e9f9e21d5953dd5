"""The blotter's tab counts: each tab's number is the number of rows it shows, live, under the symbol filter."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from tests.ui.conftest import WindowFactory, post
from ui.main_window import MainWindow


def tab_count(window: MainWindow, tab: int) -> int:
    return int(window.blotter.tabs.tabText(tab).split()[-1].replace(",", ""))


def test_the_current_tabs_count_follows_each_new_row_without_waiting_for_the_metrics(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    window.monitor.stop()  # the counts must not depend on the metrics' refresh
    for n in range(1, 4):
        post(qtbot, console, symbol="EURUSD")
        qtbot.waitUntil(lambda n=n: window.model.rowCount() == n and tab_count(window, 0) == n)


def counts_as_shown(qtbot: QtBot, window: MainWindow) -> list[int]:
    """Each tab in turn (each a reload: the rows, then their count), its count once it equals its rows."""
    counts: dict[int, int] = {}
    for tab in (3, 2, 1, 0):  # from the last: every step changes the tab (the first one is shown)
        with qtbot.waitSignal(window.model.reloaded):
            window.blotter.set_filter_index(tab)
        qtbot.waitUntil(lambda tab=tab: tab_count(window, tab) == window.model.rowCount())
        counts[tab] = window.model.rowCount()
    return [counts[tab] for tab in range(4)]


def test_every_tab_counts_the_rows_it_shows_under_the_symbol_filter(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    window.monitor.stop()
    for symbol in ("EURUSD", "EURUSD", "USDJPY"):
        post(qtbot, console, symbol=symbol)
    post(qtbot, console, status="REJECTED")  # the RPM's rejection: no symbol
    assert counts_as_shown(qtbot, window) == [4, 0, 3, 1]

    with qtbot.waitSignal(window.model.reloaded):
        window.blotter.set_symbol("EURUSD")
    assert counts_as_shown(qtbot, window) == [2, 0, 2, 0]
