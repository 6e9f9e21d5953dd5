"""The console's engine side and how it runs on the qasync loop — the one integration point.

Stages: build (the service object and the window; nothing connects, no task exists), run the loop,
connect (the service builds the runtime, reconciles, starts the API and the inbox), attach the
window, start the demo feed; on close the same in reverse: window tasks, demo feed, service.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import qasync
import shiboken6
from PySide6.QtCore import QSocketNotifier, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from app.host.runtime import BrokerChoice, Runtime, choose_broker, simulated_broker
from app.host.service import EngineService
from app.host.settings import Settings
from app.interfaces.startup import DB, PORT, explain
from app.tools.demo import DemoFeed, DemoVenues
from ui.collector import GuiThreadCollector

if TYPE_CHECKING:
    from ui.main_window import MainWindow

log = logging.getLogger(__name__)
DRAIN_S = 10.0  # executions in flight get this long to finish at shutdown; the rest stay recoverable


class Console:
    """EngineService (engine + API + inbox) and, with --demo, the synthetic RPM feed."""

    def __init__(self, settings: Settings, *, demo: bool = False, serve_api: bool = True) -> None:
        self.settings = settings
        self.demo = demo
        self.service = EngineService(
            settings, serve_api=serve_api, choose_broker=_demo_broker if demo else choose_broker
        )
        self.feed: DemoFeed | None = None

    @property
    def runtime(self) -> Runtime:
        if self.service.runtime is None:
            raise RuntimeError("the engine has not started")
        return self.service.runtime

    @property
    def started(self) -> bool:
        return self.service.runtime is not None

    @property
    def api_url(self) -> str | None:
        return self.service.endpoint.url if self.service.endpoint is not None else None

    @property
    def token_hint(self) -> str | None:
        return self.service.token.describe() if self.service.token is not None else None

    @property
    def inbox(self) -> str | None:
        return str(self.settings.inbox) if self.settings.inbox is not None else None

    async def start(self) -> None:
        """Connect, reconcile, serve: the broker may be slow, the loop (and the window) are not."""
        await self.service.start()

    def start_feed(self) -> None:
        """The demo's RPM, once the window listens (so that not one execution is missed)."""
        if self.demo and self.feed is None:
            self.feed = DemoFeed(self.runtime.engine)
            self.feed.start()

    async def stop(self, drain_s: float = DRAIN_S) -> None:
        if self.feed is not None:
            await self.feed.stop()
            self.feed = None
        left = await self.service.stop(drain_s)
        if left:
            log.warning("%d executions still in flight at shutdown: reconciled at the next start", left)


def _demo_broker(settings: Settings) -> BrokerChoice:
    # The trader gave no --broker: say what they did give.
    return simulated_broker(settings, "sim: chosen by --demo", DemoVenues)


# What the start-up dialog offers for a setting it can correct without a restart (app.interfaces.startup).
FIXES: dict[str, tuple[str, dict[str, object]]] = {
    PORT: ("Use any free port", {"port": 0}),
    DB: ("Use the default store", {"db_url": None}),
}


async def session(console: Console, window: MainWindow, started: Callable[[], None] = lambda: None) -> int:
    """Start, run until the window closes, stop. Returns the process's exit code: 0, 1 when the console
    could not start, 2 when a setting kept it from starting (the dialog named it)."""
    closed = asyncio.Event()
    window.closing.connect(closed.set)
    closing = asyncio.ensure_future(closed.wait())
    while True:
        starting = asyncio.ensure_future(console.start())
        await asyncio.wait({starting, closing}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # closed while the broker was still connecting
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            await console.stop(drain_s=0.0)
            return 0
        exc = starting.exception()
        if exc is None:
            break
        problem = explain(exc, console.settings)
        if problem is None:
            log.error("the console could not start", exc_info=exc)
        else:
            log.error("the console could not start: %s", problem)
        text = str(problem or exc)
        window.status.show_not_started(text)
        fix = FIXES.get(problem.setting) if problem is not None else None
        if fix is not None and await _tell(window, "The console could not start", text, fix[0]):
            console = Console(console.settings.model_copy(update=fix[1]), demo=console.demo)
            continue
        closing.cancel()
        window.close()
        return 1 if problem is None else 2
    window.attach(console)
    console.start_feed()
    started()
    await closing
    await window.detach()
    await console.stop()
    return 0


async def _tell(window: MainWindow, title: str, text: str, fix: str | None = None) -> bool:
    """A critical message, shown with open() and awaited: no nested event loop in a task. True when the
    trader chose the `fix` button."""
    box = QMessageBox(QMessageBox.Icon.Critical, title, text, QMessageBox.StandardButton.Close, window)
    fix_button = box.addButton(fix, QMessageBox.ButtonRole.AcceptRole) if fix else None
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finish(code: int) -> None:
        if not done.done():
            done.set_result(code)

    box.finished.connect(finish)
    window.closing.connect(lambda: finish(0))
    box.open()
    await done
    return fix_button is not None and box.clickedButton() is fix_button


def _close_on_stop_requests(app: QApplication, window: MainWindow) -> Callable[[], None]:
    """SIGINT, SIGTERM and the end of the desktop session (Windows log-off) close the window: the same
    clean stop as its close button (no new work, executions in flight drained, the store closed, the
    layout saved, the data dir released). Returns the undo."""
    # Python runs a signal handler only when it next runs bytecode; Qt may sit in C++ waiting for
    # events, so the signal's byte on a wakeup socket is what wakes the loop up.
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)
    notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read)
    notifier.activated.connect(lambda: reader.recv(64))
    previous_fd = signal.set_wakeup_fd(writer.fileno())

    def close(*_args: object) -> None:
        QTimer.singleShot(0, window.close)  # from the loop, not from inside the interrupted frame

    previous = {sig: signal.signal(sig, close) for sig in (signal.SIGINT, signal.SIGTERM)}
    app.commitDataRequest.connect(close)

    def undo() -> None:
        app.commitDataRequest.disconnect(close)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        notifier.setEnabled(False)
        shiboken6.delete(notifier)
        reader.close()
        writer.close()

    return undo


def run(app: QApplication, console: Console, window: MainWindow) -> int:
    """Run the console on a qasync loop until its window closes."""
    app.setQuitOnLastWindowClosed(False)  # the session decides when the loop ends, after a clean stop
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector()
    stop_requests = _close_on_stop_requests(app, window)
    window.show()
    try:
        with loop:
            return int(loop.run_until_complete(session(console, window, started=collector.settle)))
    finally:
        stop_requests()
        collector.stop()
        asyncio.set_event_loop(None)
        # Qt objects are deleted here, on the GUI thread: left to the garbage collector they could be
        # freed from a worker thread with their timers still registered, and crash the process later.
        shiboken6.delete(window)
        shiboken6.delete(loop._timer)
