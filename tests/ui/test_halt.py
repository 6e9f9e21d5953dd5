"""The kill switch from the window, and the banner that says trading is halted (by whom, and why)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.domain.contracts import ExecutionStatus, RejectionReason
from tests.ui.conftest import WindowFactory, drive, post
from ui import formatting as fmt
from ui.bridge import EngineBridge
from ui.controllers import operator_name
from ui.dialogs.halt_dialogs import HaltDialog, ResumeDialog
from ui.main_window import MainWindow


def halt_from_the_window(qtbot: QtBot, window: MainWindow, reason: str) -> None:
    qtbot.mouseClick(window.halt_button, Qt.MouseButton.LeftButton)
    dialog = window.halt.dialog
    assert isinstance(dialog, HaltDialog) and dialog.isVisible()
    assert not dialog.confirm.isEnabled()  # no halt without a reason
    qtbot.keyClicks(dialog.reason, reason)
    with qtbot.waitSignal(bridge(window).halt):
        qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)


def bridge(window: MainWindow) -> EngineBridge:
    assert window.bridge is not None
    return window.bridge


def test_halting_from_the_button_shows_the_banner_and_rejects_the_next_execution(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    assert window.banner.isHidden()

    halt_from_the_window(qtbot, window, "news: NFP release")

    assert window.banner.isVisible()
    assert "NFP release" in window.banner.details.text()
    assert window.windowTitle().startswith("HALTED")
    assert window.halt_button.text().endswith("RESUME TRADING")
    rejected = post(qtbot, console, symbol="EURUSD")
    assert rejected.status is ExecutionStatus.REJECTED
    assert rejected.rejection_reason is RejectionReason.TRADING_HALTED


def test_the_halt_and_the_resume_are_in_the_audit_trail_with_who_and_why(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    halt_from_the_window(qtbot, window, "broker latency spike")
    qtbot.waitUntil(lambda: "by " in window.banner.details.text())  # when and by whom, read back from the trail

    qtbot.mouseClick(window.banner.resume, Qt.MouseButton.LeftButton)
    dialog = window.halt.dialog
    assert isinstance(dialog, ResumeDialog)
    with qtbot.waitSignal(bridge(window).halt):
        qtbot.mouseClick(dialog.confirm, Qt.MouseButton.LeftButton)

    assert window.banner.isHidden()
    store = console.runtime.store
    halt = drive(qtbot, store.last_audit_event(["HALT"]))
    resume = drive(qtbot, store.last_audit_event(["RESUME"]))
    assert halt is not None and halt.data == {"reason": "broker latency spike", "by": operator_name()}
    assert resume is not None and resume.data["by"] == operator_name()
    assert post(qtbot, console).status is ExecutionStatus.FILLED


def test_cancelling_the_halt_dialog_halts_nothing(qtbot: QtBot, window_factory: WindowFactory) -> None:
    window, console = window_factory()
    qtbot.mouseClick(window.halt_button, Qt.MouseButton.LeftButton)
    dialog = window.halt.dialog
    assert isinstance(dialog, HaltDialog)
    qtbot.keyClicks(dialog.reason, "changed my mind")
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.isVisible())

    assert not console.runtime.engine.halted
    assert window.banner.isHidden()


def test_an_rpm_halt_shows_the_banner_with_the_rpm_reason_until_the_rpm_approves_again(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()

    post(qtbot, console, halted=True, halt_reason="daily loss limit reached")
    qtbot.waitUntil(window.banner.isVisible)
    assert "Halted by the RPM" in window.banner.details.text()
    assert "daily loss limit reached" in window.banner.details.text()
    assert not window.banner.resume.isVisible()  # the RPM's halt is lifted by the RPM

    post(qtbot, console, symbol="EURUSD")
    qtbot.waitUntil(window.banner.isHidden)


def test_a_console_halted_before_a_restart_opens_halted(qtbot: QtBot, window_factory: WindowFactory) -> None:
    _first, console = window_factory()
    drive(qtbot, console.runtime.engine.halt("end of day", by="night-desk"))
    drive(qtbot, console.stop(drain_s=0.5))

    window, _again = window_factory()

    qtbot.waitUntil(lambda: "by night-desk" in window.banner.details.text())
    assert "end of day" in window.banner.details.text()


def test_an_rpm_halt_in_force_at_a_restart_opens_on_the_banner_with_when_it_began(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    _first, console = window_factory()
    halted = post(qtbot, console, halted=True, halt_reason="daily loss limit reached")
    drive(qtbot, console.stop(drain_s=0.5))

    window, _again = window_factory()

    qtbot.waitUntil(window.banner.isVisible)
    details = window.banner.details.text()
    assert "Halted by the RPM" in details and "daily loss limit reached" in details
    assert f"since {fmt.local_time(halted.created_timestamp)}" in details
    assert not window.banner.resume.isVisible() and window.windowTitle().startswith("HALTED")
