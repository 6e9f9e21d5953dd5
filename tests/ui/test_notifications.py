"""Desktop notifications: critical alerts and rejections reach a trader looking elsewhere, when switched on."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtGui import QIcon
from pytestqt.qtbot import QtBot

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import Execution, utcnow
from tests.ui.conftest import WindowFactory, post
from ui.alert_book import AlertEntry
from ui.main_window import MainWindow
from ui.notifications import DesktopNotifier
from ui.theme import ThemeChoice


def record(notifier: DesktopNotifier) -> list[tuple[str, str]]:
    told: list[tuple[str, str]] = []
    notifier.notified.connect(lambda title, message: told.append((title, message)))
    return told


def test_a_rejection_raises_one_notification_naming_symbol_and_reason(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    told = record(window.notifier)
    post(qtbot, console, symbol="EURUSD")  # filled: nothing to tell
    post(qtbot, console, status="REJECTED")  # the RPM's own decision: nothing to tell either
    post(qtbot, console, symbol="GBPUSD", direction=-1, units=50_000, halted=True)

    qtbot.waitUntil(lambda: len(told) == 1)
    assert told == [("Execution rejected", "GBPUSD SELL 50,000: TRADING_HALTED")]


def rejected(n: int, symbol: str) -> Execution:
    now = utcnow()
    return Execution(
        execution_id=f"exec-{n}",
        request_id=f"req-{n}",
        rpm_decision_id=f"rpm-{n}",
        symbol=symbol,
        direction=1,
        intended_units=Decimal(100_000),
        status=ExecutionStatus.REJECTED,
        decision_status="APPROVED",
        broker="sim",
        execution_engine_version="test",
        created_timestamp=now,
        last_update_timestamp=now,
        rejection_reason=RejectionReason.MARKET_CLOSED,
    )


def test_a_burst_of_rejections_is_one_notification_and_each_is_told_once(qtbot: QtBot, tmp_path: Path) -> None:
    notifier = DesktopNotifier(QSettings(str(tmp_path / "n.ini"), QSettings.Format.IniFormat), QIcon(), "Console")
    told = record(notifier)
    for n, symbol in enumerate(("EURUSD", "USDJPY", "AUDUSD")):
        notifier.on_execution(rejected(n, symbol))
    notifier.on_execution(rejected(2, "AUDUSD"))  # the same final state again: not another rejection

    qtbot.waitUntil(lambda: len(told) == 1)
    assert told == [("3 executions rejected", "latest AUDUSD BUY 100,000: MARKET_CLOSED")]


def test_notifications_switched_off_in_the_view_menu_stay_off_after_a_restart(
    qtbot: QtBot, window_factory: WindowFactory, tmp_path: Path
) -> None:
    window, console = window_factory()
    told = record(window.notifier)
    window.sound_action.trigger()  # on
    window.notify_action.trigger()  # off: the sound, which goes with a notification, cannot be chosen now
    assert not window.sound_action.isEnabled()
    post(qtbot, console, halted=True)
    qtbot.waitUntil(lambda: window.blotter.model.rowCount() == 1)
    qtbot.waitUntil(lambda: not window.notifier._burst.isActive())  # the rejection was considered
    assert told == []

    window.save_layout()
    again = MainWindow(QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat), ThemeChoice.LIGHT)
    qtbot.addWidget(again)
    assert not again.notify_action.isChecked() and not again.notifier.enabled
    assert again.sound_action.isChecked() and again.notifier.sound and not again.sound_action.isEnabled()


def entry(severity: str, message: str) -> AlertEntry:
    return AlertEntry(rule=message, severity=severity, message=message, raised_at=utcnow())


def test_a_critical_alert_is_notified_and_a_warning_is_not(qtbot: QtBot, tmp_path: Path) -> None:
    notifier = DesktopNotifier(QSettings(str(tmp_path / "n.ini"), QSettings.Format.IniFormat), QIcon(), "Console")
    told = record(notifier)

    notifier.on_alerts([entry("warning", "average slippage 6 pips")])
    notifier.on_alerts([entry("critical", "the broker is not connected"), entry("critical", "database errors")])

    assert told == [("Critical alert", "the broker is not connected (+1 more)")]
