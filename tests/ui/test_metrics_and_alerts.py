"""Metrics at a glance, and alerts that stay in sight until someone acknowledges them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.adapters.broker.connection import LinkState, LinkStatus
from app.domain.contracts import ExecutionStatus
from app.domain.execution import utcnow
from app.engine.metrics import WINDOWS, Metrics, WindowMetrics
from tests.trades import MANUAL, trade_at_the_broker
from tests.ui.conftest import WindowFactory, drive, post
from ui import formatting as fmt
from ui.broker_view import BrokerView
from ui.controllers import operator_name
from ui.main_window import MainWindow
from ui.widgets.metrics_panel import MetricsPanel
from ui.widgets.status_bar import ConsoleStatusBar


def refresh(qtbot: QtBot, window: MainWindow) -> None:
    drive(qtbot, window.monitor.refresh_now())


def test_the_panel_shows_the_success_rate_latency_and_rejections_by_reason(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    post(qtbot, console, symbol="EURUSD")
    post(qtbot, console, symbol="USDJPY")
    post(qtbot, console, status="REJECTED")

    refresh(qtbot, window)

    tiles = window.metrics_panel.tiles
    assert tiles["success"].value.text() == "100.0 %"
    assert tiles["total"].value.text() == "3"
    assert tiles["p50"].value.text().endswith(" ms")
    table = window.metrics_panel.rejections
    assert (table.item(0, 0).text(), table.item(0, 1).text()) == ("RPM_REJECTED", "1")
    qtbot.waitUntil(lambda: window.blotter.tabs.tabText(2).startswith("Filled  2"))


def test_a_lost_broker_raises_a_critical_alert_until_it_is_acknowledged(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    terminal = console.runtime.broker.mt5
    terminal.set_connected(False)
    try:
        refresh(qtbot, window)

        assert window.alert_bar.isVisible()
        assert window.alert_bar.property("severity") == "critical"
        assert "not connected" in window.alert_bar.text.text()
        assert "DISCONNECTED (the terminal has lost its trade server)" in window.status.broker.text()
        alerts = window.metrics_panel.alerts
        assert alerts.rowCount() == 1 and alerts.item(0, 3).text() == "firing"

        qtbot.mouseClick(window.alert_bar.ack, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(window.alert_bar.isHidden)
        assert "acknowledged by" in alerts.item(0, 3).text()

        refresh(qtbot, window)  # still firing, already acknowledged: no new notification
        assert window.alert_bar.isHidden()
    finally:
        terminal.set_connected(True)
    ack = drive(qtbot, console.runtime.store.last_audit_event(["ALERT_ACK"]))
    assert ack is not None
    assert ack.data["rule"] == "broker_connection_lost" and ack.data["by"] == operator_name()

    refresh(qtbot, window)  # the rule stopped firing: the acknowledged alert leaves the list
    assert window.metrics_panel.alerts.rowCount() == 0
    assert "connected" in window.status.broker.text() and "DIS" not in window.status.broker.text()


def test_the_status_bar_tells_a_silent_terminal_apart_from_a_lost_trade_server(qtbot: QtBot) -> None:
    bar = ConsoleStatusBar()
    qtbot.addWidget(bar)
    bar.set_broker("mt5", "mt5: terminal answered")
    assert bar.broker.text() == "○ MT5 connecting…"

    bar.show_broker(BrokerView(True, "connected"))
    assert bar.broker.text() == "● MT5 connected (terminal answered)"
    bar.show_broker(BrokerView(False, "the terminal has lost its trade server"))
    assert bar.broker.text() == "● MT5 DISCONNECTED (the terminal has lost its trade server)"

    since = datetime(2026, 11, 26, 14, 2, 11, tzinfo=UTC)
    link = LinkStatus(LinkState.RECONNECTING, since, "reconnect attempt 3 failed", attempts=3)
    bar.show_broker(BrokerView(None, "the terminal does not answer (-10004 No IPC connection)", link))
    expected = f"○ MT5 not answering: reconnect attempt 3, since {fmt.local_time(since, with_date=False)}"
    assert bar.broker.text() == expected
    assert "No IPC connection" in bar.broker.toolTip()
    assert bar.broker.property("state") == "bad"


def test_a_position_mismatch_raises_a_critical_alert_naming_the_symbol_and_both_figures(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    post(qtbot, console, symbol="EURUSD", units=100_000)
    runtime = console.runtime
    stray = trade_at_the_broker(runtime.broker.mt5, magic=runtime.broker.magic, comment="hedge by hand")
    drive(qtbot, runtime.engine.positions.check())

    refresh(qtbot, window)

    assert window.alert_bar.isVisible()
    assert window.alert_bar.property("severity") == "critical"
    assert "EURUSD: recorded 100000 units, broker 200000 units" in window.alert_bar.text.text()
    alerts = window.metrics_panel.alerts
    assert alerts.rowCount() == 1 and alerts.item(0, 3).text() == "firing"

    trade_at_the_broker(runtime.broker.mt5, magic=MANUAL, comment="close", direction=-1, position=stray.order)
    drive(qtbot, runtime.engine.positions.check())
    refresh(qtbot, window)
    assert alerts.item(0, 3).text() == "cleared"  # it stays listed until someone acknowledges it


def metrics_with(**figures: Any) -> Metrics:
    """Metrics whose every window holds `figures` (the panel shows one window at a time)."""
    m = Metrics()
    m.windows = {name: replace(WindowMetrics(), **figures) for name in WINDOWS}
    return m


@pytest.mark.parametrize(
    ("rate", "status"),
    [(0.97, ExecutionStatus.FILLED), (0.93, ExecutionStatus.PARTIALLY_FILLED), (0.85, ExecutionStatus.REJECTED)],
)
def test_the_success_rate_is_coloured_against_the_target_and_the_alert_threshold(
    qtbot: QtBot, rate: float, status: ExecutionStatus
) -> None:
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.show_metrics(metrics_with(success_rate=rate))
    tile = panel.tiles["success"]
    assert tile.value.text() == fmt.percent(rate)
    assert panel.palette_.text[status].name() in tile.value.styleSheet()
    assert tile.note.text() == "target > 95 %"


@pytest.mark.parametrize(
    ("size", "status"),
    [(1.2, ExecutionStatus.FILLED), (3.0, ExecutionStatus.PARTIALLY_FILLED), (6.0, ExecutionStatus.REJECTED)],
)
def test_the_slippage_shows_its_size_and_adverse_part_coloured_against_the_two_pip_target(
    qtbot: QtBot, size: float, status: ExecutionStatus
) -> None:
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    panel.show_metrics(metrics_with(avg_slippage_pips=0.0, avg_abs_slippage_pips=size, avg_adverse_slippage_pips=1.5))
    tile = panel.tiles["slippage"]
    assert tile.value.text() == f"{size:.2f} pips"  # never the signed mean, where +6 and -6 make 0
    assert tile.note.text() == "adverse 1.50 · target < 2 pips"
    assert panel.palette_.text[status].name() in tile.value.styleSheet()


def test_the_panel_shows_the_window_the_trader_chooses_the_last_hour_first(qtbot: QtBot) -> None:
    panel = MetricsPanel()
    qtbot.addWidget(panel)
    m = Metrics()
    m.windows = {name: replace(WindowMetrics(), total_executions=n) for n, name in enumerate(WINDOWS, start=1)}
    panel.show_metrics(m)
    assert panel.selected_window() == "1h" and panel.tiles["total"].value.text() == "2"

    panel.window_choice.setCurrentIndex(panel.window_choice.findData("all"))
    assert panel.tiles["total"].value.text() == "4"
    panel.window_choice.setCurrentIndex(panel.window_choice.findData("15m"))
    assert panel.tiles["total"].value.text() == "1"


def test_a_rejection_burst_alert_clears_in_the_console_once_the_hour_has_passed(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    for _ in range(11):
        post(qtbot, console, symbol="NOPE")
    refresh(qtbot, window)
    alerts = window.metrics_panel.alerts
    assert alerts.rowCount() == 1 and "11 rejections in the last hour" in alerts.item(0, 2).text()
    assert alerts.item(0, 3).text() == "firing"
    assert window.metrics_panel.tiles["total"].note.text() == "100.0 % rejected"

    window.monitor.clock = lambda: utcnow() + timedelta(minutes=61)  # the clock moves; nobody waits
    refresh(qtbot, window)
    assert alerts.item(0, 3).text() == "cleared"
    assert window.metrics_panel.tiles["total"].value.text() == "0"  # the last hour is empty now
