"""Stale orders: listed from the reconciler every few seconds; cancelled at the broker only after
the trader confirms, one by one, each result shown as the engine recorded it."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QWidget

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution, utcnow
from app.engine.engine import CancelKind, ExecutionEngine, StaleOrder
from ui import formatting as fmt
from ui.controllers import operator_name
from ui.dialogs.cancel_dialog import CancelOrdersDialog
from ui.tasks import TaskSpawner
from ui.theme import StatusPalette
from ui.widgets.stale_orders import StaleOrdersPanel

S = ExecutionStatus


class StaleController(QObject):
    listed = Signal(int)  # how many stale orders the last refresh found
    cancel_done = Signal(str, object)  # execution id, the Execution after the attempt (None: refused)

    def __init__(self, window: QWidget, panel: StaleOrdersPanel, spawner: TaskSpawner, interval_ms: int = 3000) -> None:
        super().__init__(window)
        self.window, self.panel, self.spawner = window, panel, spawner
        self.engine: ExecutionEngine | None = None
        self.dialog: CancelOrdersDialog | None = None
        self.palette = StatusPalette(dark=False)
        self._busy = False
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.refresh)
        panel.cancel_requested.connect(self.request_cancel)

    def attach(self, engine: ExecutionEngine) -> None:
        self.engine = engine
        self._timer.start()
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()

    def refresh(self) -> None:
        if self._busy or self.engine is None:
            return
        self._busy = True
        self.spawner.spawn(self._refresh(), "listing stale orders")

    async def _refresh(self) -> None:
        assert self.engine is not None
        try:
            orders = await self.engine.stale_orders()
        finally:
            self._busy = False
        self.panel.set_orders(orders)
        self.listed.emit(len(orders))

    def request_cancel(self, orders: list[StaleOrder]) -> None:
        dialog = CancelOrdersDialog(orders, operator_name(), self.window)
        dialog.accepted.connect(lambda: self.spawner.spawn(self._cancel(orders), "cancelling stale orders"))
        self.dialog = dialog
        dialog.open()

    async def _cancel(self, orders: list[StaleOrder]) -> None:
        assert self.engine is not None
        by = operator_name()
        for stale in orders:
            e = stale.execution
            what = f"{e.symbol} {fmt.side(e.direction)} {fmt.units(e.intended_units)} (order {stale.order})"
            approved = fmt.local_time(utcnow(), with_date=False)
            try:
                result = await self.engine.try_cancel(e.execution_id, approved_by=by)
            except LookupError as exc:
                refused: str | None = str(exc)
            else:
                refused = result.reason if result.kind is CancelKind.REFUSED else None
            if refused is not None:
                self.panel.add_result(f"{approved}  {what}: not cancelled — {refused}", self.palette.text[S.REJECTED])
                self.cancel_done.emit(e.execution_id, None)
                continue
            after = result.execution
            self.panel.add_result(f"{approved}  {what}: {self._outcome(after)} (approved by {by})", self._colour(after))
            self.cancel_done.emit(e.execution_id, after)
        self.refresh()

    @staticmethod
    def _outcome(after: Execution) -> str:
        if after.status is S.CANCELLED:
            return "CANCELLED at the broker"
        if after.status in (S.FILLED, S.PARTIALLY_FILLED):
            price = fmt.price(after.fill_price, after.symbol)
            return f"{after.status.value} in the meantime, {fmt.units(after.executed_units)} @ {price}"
        return f"still resting ({after.status.value}): the broker did not cancel it; try again"

    def _colour(self, after: Execution) -> QColor | None:
        return self.palette.text.get(after.status)
