"""The kill switch and the halt banner: HALT asks for a reason, RESUME asks to confirm; the engine
records both in the audit trail and tells every listener, the banner included."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton, QWidget

from app.domain.audit_events import AuditEventType as A
from app.engine.engine import ExecutionEngine
from app.engine.events import HaltChanged, HaltSource
from app.store.repository import ExecutionStore
from ui import formatting as fmt
from ui.controllers import operator_name
from ui.dialogs.halt_dialogs import HaltDialog, ResumeDialog
from ui.halt_state import HaltState
from ui.tasks import TaskSpawner
from ui.widgets.halt_banner import HaltBanner

TITLE = "FX Execution Console"


class HaltController(QObject):
    def __init__(self, window: QWidget, banner: HaltBanner, button: QPushButton, spawner: TaskSpawner) -> None:
        super().__init__(window)
        self.window, self.banner, self.button, self.spawner = window, banner, button, spawner
        self.state = HaltState()
        self.since = ""
        self.engine: ExecutionEngine | None = None
        self.store: ExecutionStore | None = None
        self.dialog: HaltDialog | ResumeDialog | None = None
        banner.resume_requested.connect(self.request_toggle)
        button.clicked.connect(self.request_toggle)
        button.setEnabled(False)  # until the engine runs
        self.render()

    def attach(self, engine: ExecutionEngine, store: ExecutionStore) -> None:
        self.engine, self.store = engine, store
        self.button.setEnabled(True)
        self.state.console_reason = engine.halt_reason
        rpm = engine.rpm_halt.current
        self.state.rpm_reason, self.state.rpm_since = (rpm.reason, rpm.since) if rpm else (None, None)
        if self.state.console_reason is not None:
            self.spawner.spawn(self._initial_since(), "reading the halt state")
        self.render()

    async def _initial_since(self) -> None:
        await self._read_since()
        self.render()

    async def _read_since(self) -> None:
        assert self.store is not None
        last = await self.store.last_audit_event((A.HALT, A.RESUME))
        if last is not None and last.event_type == A.HALT:
            self.since = _since(last.event_timestamp, last.data.get("by"))
        else:
            self.since = ""

    # ---- events from the bridge --------------------------------------------------------------------
    def on_halt(self, event: HaltChanged) -> None:
        self.state.apply(event)
        if event.source is HaltSource.CONSOLE:
            self.since = _since(event.since, event.by) if event.halted and event.since is not None else ""
        self.render()

    # ---- the trader's switch -----------------------------------------------------------------------
    def request_toggle(self) -> None:
        if self.engine is None:
            return
        if self.state.console_reason is not None:
            why = f"<b>{self.state.console_reason}</b> {self.since}".strip()
            resume = ResumeDialog(why, self.window)
            resume.accepted.connect(self._resume)
            self.dialog = resume
        else:
            halt = HaltDialog(self.window)
            halt.accepted.connect(lambda: self._halt(halt.halt_reason()))
            self.dialog = halt
        self.dialog.open()

    def _halt(self, reason: str) -> None:
        assert self.engine is not None
        self.spawner.spawn(self.engine.halt(reason, by=operator_name()), "halting trading")

    def _resume(self) -> None:
        assert self.engine is not None
        self.spawner.spawn(self.engine.resume(by=operator_name()), "resuming trading")

    def render(self) -> None:
        rpm_since = f"since {fmt.local_time(self.state.rpm_since)}" if self.state.rpm_since else ""
        self.banner.show_state(self.state, self.since, rpm_since)
        console = self.state.console_reason is not None
        self.button.setText("▶  RESUME TRADING" if console else "■  HALT TRADING")
        self.button.setToolTip(
            "Resume trading (Ctrl+Shift+H)" if console else "Halt all trading: the kill switch (Ctrl+Shift+H)"
        )
        self.button.setProperty("halted", console)
        self.button.style().unpolish(self.button)
        self.button.style().polish(self.button)
        self.window.setWindowTitle(f"HALTED — {TITLE}" if self.state.halted else TITLE)


def _since(at: datetime, by: object) -> str:
    return f"since {fmt.local_time(at)} by {by or '?'}"
