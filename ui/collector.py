"""Cyclic garbage collection on the GUI thread, in small steps, away from the objects that live forever.

Left to itself, Python collects whenever allocations cross a threshold, on whichever thread
allocates: a worker thread (the broker's, the store's) may then free a Qt object, which crashes or
deadlocks Qt. And a full collection walks every object of the process (Qt's bindings, SQLAlchemy,
FastAPI, pydantic's schemas: hundreds of thousands), which froze the window for 60-110 ms once a
minute while executions flowed. So automatic collection is off, a timer on the GUI thread collects
generation by generation, and what is alive once the console has started is frozen out of the
collector's walks for the rest of the session (`settle`).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GuiThreadCollector(QObject):
    def __init__(self, interval_ms: int = 500, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._frozen = False
        gc.disable()
        self.timer = QTimer(self, interval=interval_ms)
        self.timer.timeout.connect(self.collect)
        self.timer.start()

    def collect(self) -> None:
        """Collect each generation whose count crossed its threshold, the young ones first."""
        counts = gc.get_count()
        for generation, (count, threshold) in enumerate(zip(counts, self._thresholds, strict=True)):
            if count <= threshold:
                break
            gc.collect(generation)

    def settle(self) -> None:
        """Once started: what is alive now (modules, schemas, the window) lives for the session."""
        gc.collect()
        gc.freeze()
        self._frozen = True

    def stop(self) -> None:
        """Back to how it was (in-process tests run more than one console)."""
        self.timer.stop()
        if self._frozen:
            gc.unfreeze()
        gc.collect()  # here, on the GUI thread: cycles left holding Qt objects must not reach a worker's collection
        if self._was_enabled:
            gc.enable()
