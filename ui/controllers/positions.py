"""Positions and the account, read from the broker every few seconds off the UI thread.

The reads run on the broker's own thread (app.adapters.broker.mt5_adapter): the loop only awaits them,
so a slow terminal never freezes the window, and a refresh still out when the timer fires is not doubled.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, QTimer, Signal

from app.adapters.broker.types import Broker, BrokerUnavailable
from app.engine.exposure import PositionsView, read_positions
from app.engine.positions import PositionReconciler
from ui.tasks import TaskSpawner
from ui.widgets.account_strip import AccountStrip
from ui.widgets.positions_dock import PositionsDock

READ_TIMEOUT_S = 5.0


class PositionsController(QObject):
    refreshed = Signal(object)  # PositionsView, or None when the broker did not answer

    def __init__(
        self, parent: QObject, dock: PositionsDock, strip: AccountStrip, spawner: TaskSpawner, interval_ms: int = 2000
    ) -> None:
        super().__init__(parent)
        self.dock, self.strip, self.spawner = dock, strip, spawner
        self.broker: Broker | None = None
        self.reconciler: PositionReconciler | None = None
        self._busy = False
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.refresh)

    def attach(self, broker: Broker, reconciler: PositionReconciler) -> None:
        self.broker, self.reconciler = broker, reconciler
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        """Timer tick: a read, unless one is still out."""
        if self._busy or self.broker is None:
            return
        self._busy = True
        self.spawner.spawn(self._refresh(), "reading positions")

    async def _refresh(self) -> PositionsView | None:
        assert self.broker is not None and self.reconciler is not None
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                view = await read_positions(self.broker, self.reconciler)
                account = await self.broker.account()
        except (BrokerUnavailable, TimeoutError) as exc:
            detail = str(exc) or f"the broker did not answer within {READ_TIMEOUT_S:g} s"
            self.dock.show_unavailable(detail)
            self.strip.show_unavailable(detail)
            self.refreshed.emit(None)
            return None
        finally:
            self._busy = False
        self.dock.show_view(view)
        self.strip.show_account(account)
        self.refreshed.emit(view)
        return view
