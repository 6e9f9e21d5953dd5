"""The console under test: a qasync loop on pytest-qt's QApplication, a real engine on the simulator.

How the loop is driven: the QEventLoop is created with already_running=True, so asyncio sees it as
the running loop while pytest-qt spins Qt's event loop (qtbot.waitUntil / waitSignal). Every
coroutine the window starts then runs as it would under `execution-console`, and a test awaits one of
its own with `drive(qtbot, coro)`. At teardown the loop is stopped, unset and closed, so nothing leaks
into the next test (nor into the pytest-asyncio tests of the other suites).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
import shiboken6
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.domain.execution import Execution
from app.host.settings import Settings
from app.interfaces.intake.receive import receive
from tests.builders import rpm_payload
from ui.app import Console
from ui.collector import GuiThreadCollector
from ui.main_window import MainWindow
from ui.theme import ThemeChoice

T = TypeVar("T")
SCENARIOS = Path(__file__).resolve().parents[2] / "resources" / "scenarios"
AUDIT_KEY = "test-audit-key-0123456789abcdef"


@pytest.fixture(autouse=True, scope="session")
def _settings_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """QSettings (window geometry, columns, theme) never touch the developer's own."""
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("qsettings")))


@pytest.fixture(autouse=True, scope="package")
def _collect_on_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    """As in the console (ui/app.py): cyclic garbage collection only on the GUI thread."""
    collector = GuiThreadCollector()
    yield
    collector.stop()


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    # Not loop.stop(): it calls QApplication.exit(), and with no exec() running that makes every later
    # QEventLoop.exec() — pytest-qt's waits — return at once. The loop is only marked as stopped.
    loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    qapp.aboutToQuit.disconnect(loop._after_run_forever)
    loop.close()
    asyncio.set_event_loop(None)
    # Deleted here, on the GUI thread: left to Python's collector, the loop's timer object could be
    # freed from a worker thread, with its Qt timers still registered (a crash in a later test).
    shiboken6.delete(loop._timer)


# A busy machine may take seconds where an idle one takes milliseconds: every Qt wait is bounded
# generously (a bound is only reached when a test fails). A test that names its own timeout keeps it.
WAIT_MS = 60_000
QtBot.waitUntil = functools.partialmethod(QtBot.waitUntil, timeout=WAIT_MS)  # type: ignore[method-assign]
QtBot.waitSignal = functools.partialmethod(QtBot.waitSignal, timeout=WAIT_MS)  # type: ignore[method-assign]
QtBot.waitSignals = functools.partialmethod(QtBot.waitSignals, timeout=WAIT_MS)  # type: ignore[method-assign]


def drive(qtbot: QtBot, coro: Coroutine[Any, Any, T], timeout_ms: int = WAIT_MS) -> T:
    """Run one coroutine on the console's loop while Qt keeps processing events."""
    task = asyncio.ensure_future(coro)
    qtbot.waitUntil(task.done, timeout=timeout_ms)
    return task.result()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "broker": "sim",
        "port": 0,
        "audit_key": AUDIT_KEY,
        "order_timeout_s": 2.0,
        **overrides,
    }
    return Settings(**values)


ConsoleFactory = Callable[..., Console]


@pytest.fixture
def console_factory(qloop: qasync.QEventLoop, qtbot: QtBot, tmp_path: Path) -> Iterator[ConsoleFactory]:
    started: list[Console] = []

    def make(*, scenario: str | None = None, **overrides: Any) -> Console:
        if scenario is not None:
            overrides["sim_scenario"] = SCENARIOS / scenario
        console = Console(make_settings(tmp_path, **overrides))
        drive(qtbot, console.start())
        started.append(console)
        return console

    yield make
    for console in started:
        drive(qtbot, console.stop(drain_s=1.0), timeout_ms=20_000)


WindowFactory = Callable[..., tuple[MainWindow, Console]]


@pytest.fixture
def window_factory(console_factory: ConsoleFactory, qtbot: QtBot, tmp_path: Path) -> Iterator[WindowFactory]:
    windows: list[MainWindow] = []

    def make(**console_options: Any) -> tuple[MainWindow, Console]:
        console = console_factory(**console_options)
        window = MainWindow(QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat), ThemeChoice.LIGHT)
        window.show()  # not qtbot.addWidget: pytest-qt would delete it before the engine side is stopped
        # Active, as the trader's window is: its shortcuts need it, and on a real X server (Xvfb)
        # the focus arrives asynchronously.
        with qtbot.waitActive(window):
            window.activateWindow()
        with qtbot.waitSignal(window.model.reloaded):
            window.attach(console)
        windows.append(window)
        return window, console

    yield make
    for window in windows:
        drive(qtbot, window.detach())
        window.close()
        window.deleteLater()


@pytest.fixture
def window(window_factory: WindowFactory) -> tuple[MainWindow, Console]:
    return window_factory()


def post(qtbot: QtBot, console: Console, wait: bool = True, **payload: Any) -> Execution:
    """An RPMOutput through the one door every channel uses."""
    body = json.dumps(rpm_payload(**payload)).encode()
    return drive(qtbot, receive(console.runtime.engine, body, channel="test", wait=wait))
