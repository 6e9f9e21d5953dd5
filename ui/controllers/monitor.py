"""Metrics, alerts and the broker's connection, refreshed every few seconds off the UI thread.

compute_metrics reads on the store's thread pool and the broker probe runs on the broker's own
thread: the loop only awaits them, so a slow broker or a big store never freezes the window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication, QWidget

from app.adapters.broker.connection import ConnectionSupervisor
from app.adapters.broker.types import SupervisedBroker
from app.domain.execution import utcnow
from app.engine.metrics import Metrics, compute_metrics
from app.engine.positions import PositionReconciler
from app.store.repository import ExecutionStore
from ui.alert_book import AlertBook, AlertEntry
from ui.broker_view import BrokerView
from ui.controllers import operator_name
from ui.tasks import TaskSpawner
from ui.widgets.alert_bar import AlertBar
from ui.widgets.metrics_panel import MetricsPanel

BROKER_PROBE_TIMEOUT_S = 5.0


class Monitor(QObject):
    refreshed = Signal(object)  # Metrics
    broker_state = Signal(object)  # BrokerView
    alerts_raised = Signal(list)  # AlertEntry: the alerts that started firing at this refresh

    def __init__(
        self,
        window: QWidget,
        panel: MetricsPanel,
        bar: AlertBar,
        spawner: TaskSpawner,
        interval_ms: int = 3000,
    ) -> None:
        super().__init__(window)
        self.window, self.panel, self.bar, self.spawner = window, panel, bar, spawner
        self.book = AlertBook()
        self.metrics: Metrics | None = None
        self.store: ExecutionStore | None = None
        self.broker: SupervisedBroker | None = None
        self.link: ConnectionSupervisor | None = None
        self.positions: PositionReconciler | None = None
        self.clock: Callable[[], datetime] = utcnow  # the alerts' windows end here (a test moves it)
        self._lock: asyncio.Lock | None = None
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.refresh)
        panel.acknowledge.connect(self.acknowledge)
        bar.acknowledge_all.connect(lambda: self.acknowledge(self.book.unacknowledged()))

    def attach(
        self,
        store: ExecutionStore,
        broker: SupervisedBroker,
        link: ConnectionSupervisor | None = None,
        positions: PositionReconciler | None = None,
    ) -> None:
        self.store, self.broker, self.link, self.positions = store, broker, link, positions
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """Timer tick: a refresh, unless one is still out (they never pile up on a slow store)."""
        if self.store is None or (self._lock is not None and self._lock.locked()):
            return
        self.spawner.spawn(self.refresh_now(), "refreshing metrics")

    async def refresh_now(self) -> Metrics:
        """A refresh that starts after any running one (asked for by a test, or by the trader)."""
        assert self.store is not None and self.broker is not None
        self._lock = self._lock or asyncio.Lock()  # created on the running loop
        async with self._lock:
            try:
                answers, up, detail = await self.broker.probe(BROKER_PROBE_TIMEOUT_S)
                connected: bool | None = up if answers else None
            except Exception as exc:  # failed: the broker does not answer
                connected, detail = None, f"the terminal does not answer ({exc})"
            self.broker_state.emit(BrokerView(connected, detail, self.link.status if self.link else None))
            position_alerts = self.positions.alerts() if self.positions is not None else []
            m = await compute_metrics(
                self.store, broker_connected=bool(connected), extra_alerts=position_alerts, now=self.clock()
            )
        self.metrics = m
        self.panel.show_metrics(m)
        raised = self.book.update(m.active_alerts)
        self._show_alerts()
        if raised:
            QApplication.alert(self.window)  # the taskbar flashes when the console is behind other windows
            self.alerts_raised.emit(raised)
        self.refreshed.emit(m)
        return m

    def _show_alerts(self) -> None:
        self.panel.show_alerts(self.book.entries)
        self.bar.show_alerts_needing_ack(self.book.unacknowledged())

    def acknowledge(self, entries: list[AlertEntry]) -> None:
        if entries and self.store is not None:
            self.spawner.spawn(self._acknowledge(list(entries)), "acknowledging alerts")

    async def _acknowledge(self, entries: list[AlertEntry]) -> None:
        assert self.store is not None
        by = operator_name()
        for entry in entries:
            if not entry.needs_ack:
                continue
            event = await self.store.acknowledge_alert(entry.audit_data(), by)
            at: datetime = event.event_timestamp
            self.book.acknowledge(entry, by, at)
        self._show_alerts()
