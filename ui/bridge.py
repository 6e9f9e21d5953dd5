"""The one bridge from the engine to Qt: engine callbacks in, Qt signals out.

The engine calls its listeners synchronously on the loop's thread and never knows a widget exists.
Each execution is copied at the moment of the event: the engine keeps working on its own object,
and the console must show the state that was announced, not one half-way to the next.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.engine.engine import ExecutionEngine
from app.engine.events import EngineEvent, ExecutionChanged, HaltChanged, MarkoutRecorded


class EngineBridge(QObject):
    execution = Signal(object)  # app.domain.execution.Execution, a snapshot
    halt = Signal(object)  # app.engine.events.HaltChanged
    markout = Signal(str)  # the id of an execution whose TCA gained a mark-out

    def __init__(self, engine: ExecutionEngine, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = engine.subscribe(self._on_event)

    def _on_event(self, event: EngineEvent) -> None:
        if isinstance(event, ExecutionChanged):
            self.execution.emit(copy.copy(event.execution))
        elif isinstance(event, HaltChanged):
            self.halt.emit(event)
        elif isinstance(event, MarkoutRecorded):
            self.markout.emit(event.execution_id)

    def close(self) -> None:
        """Stop listening (idempotent): the window is going, the engine may still be draining."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
