"""The Positions dock and the account strip: read live from the simulated broker, the console's positions
apart from foreign ones, a reconciliation mismatch marked on its row, and a broker that stops answering."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.adapters.broker.volume import exact
from app.domain.contracts import ExecutionStatus
from tests.trades import MANUAL, trade_at_the_broker
from tests.ui.conftest import WindowFactory, drive, post
from ui import formatting as fmt
from ui.main_window import MainWindow
from ui.models.positions_table_model import (
    AVERAGE,
    CURRENT,
    LOTS,
    OWNER,
    PROFIT,
    RECONCILIATION,
    SIDE,
    SYMBOL,
    UNITS,
)


def shown(qtbot: QtBot, window: MainWindow, condition: Callable[[], bool]) -> None:
    """Until a read from the broker shows what the test waits for (a read out already is not doubled)."""

    def read() -> bool:
        window.positions.refresh()
        return condition()

    qtbot.waitUntil(read)


def texts(window: MainWindow, row: int, *columns: int) -> tuple[str, ...]:
    model = window.positions_dock.model
    return tuple(str(model.data(model.index(row, c))) for c in columns)


def test_the_desk_s_positions_and_account_show_as_the_broker_reports_them(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    terminal = console.runtime.broker.mt5
    post(qtbot, console, symbol="EURUSD", units=100_000)
    post(qtbot, console, symbol="GBPUSD", units=20_000, direction=-1)
    model = window.positions_dock.model

    shown(qtbot, window, lambda: model.rowCount() == 2)

    assert texts(window, 0, SYMBOL, SIDE, UNITS, LOTS, OWNER) == ("EURUSD", "BUY", "100,000", "1", "Console")
    assert texts(window, 1, SYMBOL, SIDE, UNITS, LOTS, OWNER) == ("GBPUSD", "SELL", "20,000", "0.2", "Console")
    (eurusd,) = terminal.positions_get(symbol="EURUSD")
    assert texts(window, 0, AVERAGE, CURRENT) == (f"{eurusd.price_open:.5f}", f"{eurusd.price_current:.5f}")
    assert texts(window, 0, PROFIT) == (fmt.money(exact(eurusd.profit), signed=True),)
    assert exact(eurusd.profit) < 0  # bought at the ask, marked at the bid
    loss = model.data(model.index(0, PROFIT), Qt.ItemDataRole.ForegroundRole)
    assert loss == model.palette.text[ExecutionStatus.REJECTED]
    assert "2 lines" in window.positions_dock.summary.text()

    info = terminal.account_info()
    strip = window.account_strip
    shown(qtbot, window, lambda: strip.account is not None and strip.account.equity == exact(info.equity))
    assert strip.values["balance"] == "<b>100,000.00</b> USD"
    assert strip.values["equity"] == f"<b>{fmt.money(exact(info.equity))}</b> USD"
    assert strip.values["margin"] == f"<b>{fmt.money(exact(info.margin))}</b> USD"
    assert strip.values["margin_free"] == f"<b>{fmt.money(exact(info.margin_free))}</b> USD"
    level = exact(info.margin_level).quantize(Decimal("0.1"))
    assert strip.values["margin_level"] == f"<b>{level:,f}</b> %"

    # The market moves: the next read shows the gain, in the gain's colour, without anything being sent.
    terminal.set_quote("EURUSD", "1.09800", "1.09810")
    shown(qtbot, window, lambda: texts(window, 0, CURRENT) == ("1.09800",))
    assert texts(window, 0, PROFIT)[0].startswith("+")
    gain = model.data(model.index(0, PROFIT), Qt.ItemDataRole.ForegroundRole)
    assert gain == model.palette.text[ExecutionStatus.FILLED]


def test_a_flat_account_shows_no_rows_and_no_margin_level(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, _console = window_factory()
    strip = window.account_strip
    shown(qtbot, window, lambda: strip.account is not None)
    assert window.positions_dock.model.rowCount() == 0
    assert window.positions_dock.summary.text().startswith("No open positions.")
    assert strip.values["margin_level"] == "—"  # no margin in use: not "0 %", which reads as a margin call


def test_a_foreign_position_is_marked_foreign_and_a_mismatch_is_marked_on_its_row(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    runtime = console.runtime
    post(qtbot, console, symbol="EURUSD", units=100_000)
    trade_at_the_broker(runtime.broker.mt5, magic=MANUAL, comment="by hand", lots=0.3, direction=-1)
    model = window.positions_dock.model
    shown(qtbot, window, lambda: model.rowCount() == 2)
    assert texts(window, 1, SYMBOL, SIDE, UNITS, OWNER, RECONCILIATION) == ("EURUSD", "SELL", "30,000", "Foreign", "")
    assert model.data(model.index(1, OWNER), Qt.ItemDataRole.FontRole).italic()
    assert texts(window, 0, RECONCILIATION) == ("",)

    trade_at_the_broker(runtime.broker.mt5, magic=runtime.broker.magic, comment="hedge by hand", lots=0.5)
    drive(qtbot, runtime.engine.positions.check())

    shown(qtbot, window, lambda: texts(window, 0, RECONCILIATION)[0] != "")
    assert texts(window, 0, UNITS, RECONCILIATION) == (
        "150,000",
        "MISMATCH: recorded 100,000, broker 150,000 units",
    )
    tint = model.data(model.index(0, SYMBOL), Qt.ItemDataRole.BackgroundRole)
    assert tint == model.palette.tint[ExecutionStatus.REJECTED]
    assert model.data(model.index(1, SYMBOL), Qt.ItemDataRole.BackgroundRole) is None  # the foreign row is not


def test_a_broker_that_stops_answering_is_said_and_the_last_figures_stay(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    terminal = console.runtime.broker.mt5
    post(qtbot, console, symbol="EURUSD", units=100_000)
    model, strip = window.positions_dock.model, window.account_strip
    shown(qtbot, window, lambda: model.rowCount() == 1 and strip.account is not None)
    balance = strip.values["balance"]

    terminal.set_connected(False)
    try:
        shown(qtbot, window, lambda: "not read" in strip.state.text())
        assert "Positions not read" in window.positions_dock.summary.text()
        assert "as read at" in window.positions_dock.summary.text()
        assert "the figures are the last read" in strip.state.text()
        assert model.rowCount() == 1 and strip.values["balance"] == balance
    finally:
        terminal.set_connected(True)


def test_a_slow_terminal_neither_freezes_the_window_nor_piles_up_reads(
    qtbot: QtBot, window_factory: WindowFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    window, console = window_factory()
    terminal = console.runtime.broker.mt5
    shown(qtbot, window, lambda: window.account_strip.account is not None)
    reading, release = threading.Event(), threading.Event()
    answer = terminal.positions_get

    def slow(**kwargs: Any) -> Any:
        reading.set()
        release.wait(60)
        return answer(**kwargs)

    monkeypatch.setattr(terminal, "positions_get", slow)
    try:
        window.positions.refresh()
        qtbot.waitUntil(reading.is_set)  # a read is out, held at the terminal
        for _ in range(3):
            window.positions.refresh()  # as the timer would, while the read is out
        drive(qtbot, asyncio.sleep(0))  # the loop runs: the window answers meanwhile
        reads = [t for t in asyncio.all_tasks() if t.get_name() == "reading positions" and not t.done()]
        assert len(reads) == 1
    finally:
        with qtbot.waitSignal(window.positions.refreshed):
            release.set()


def test_a_mismatch_where_the_broker_holds_none_of_ours_is_named_above_the_table(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    runtime = console.runtime
    post(qtbot, console, symbol="EURUSD", units=100_000)
    terminal = runtime.broker.mt5
    (position,) = terminal.positions_get()
    trade_at_the_broker(terminal, magic=MANUAL, comment="closed by hand", direction=-1, position=position.ticket)
    drive(qtbot, runtime.engine.positions.check())

    summary = window.positions_dock.summary
    shown(qtbot, window, lambda: "MISMATCH" in summary.text())
    assert window.positions_dock.model.rowCount() == 0
    assert "MISMATCH EURUSD</b>: recorded 100,000 units, the broker holds none of the console's" in summary.text()
