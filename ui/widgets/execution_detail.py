"""One execution in full: every stored field, its request, its fills, and its audit events in order."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.audit import AuditEvent
from app.domain.execution import Execution
from app.domain.tca import HORIZONS_S, Tca, horizon_name
from app.store.repository import ExecutionStore, StoredFill
from ui import formatting as fmt
from ui.tasks import TaskSpawner
from ui.widgets.tables import read_only_table

REQUEST_FIELDS = ("channel", "source", "received_timestamp", "config_hash", "timeout_seconds", "max_slippage_pips")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return fmt.local_time(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Enum):
        return str(value.value)
    return str(value)


_PRICES = {"intended_price", "fill_price", "market_bid", "market_ask"}


def _field_text(name: str, value: Any, symbol: str) -> str:
    """Units and prices as the desk reads them everywhere else (152,000, not 152000.0)."""
    if isinstance(value, Decimal) and name.endswith("_units"):
        return fmt.units(value)
    if isinstance(value, Decimal) and name in _PRICES:
        return fmt.price(value, symbol)
    return _text(value)


def _tca_rows(tca: Tca, symbol: str) -> list[tuple[str, str]]:
    """The fill's TCA (pips + is a cost): arrival, then each mark-out as known, missing or still to come."""
    rows = [
        ("tca.arrival_mid", fmt.price(tca.arrival_mid, symbol)),
        ("tca.spread_pips", _text(tca.spread_pips)),
        ("tca.slippage_vs_arrival_pips", _text(tca.slippage_vs_arrival_pips)),
    ]
    for h in HORIZONS_S:
        pips = tca.markouts_pips.get(h)
        state = _text(pips) if pips is not None else "missing" if h in tca.missing else "to come"
        rows.append((f"tca.markout_{horizon_name(h)}_pips", state))
    return rows


class ExecutionDetail(QWidget):
    def __init__(self, spawner: TaskSpawner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spawner = spawner
        self._store: ExecutionStore | None = None
        self.execution_id: str | None = None
        self._generation = 0
        self.title = QLabel("Select an execution in the blotter")
        self.title.setObjectName("detailTitle")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields = read_only_table(("Field", "Value"))
        self.fields.setColumnWidth(0, 170)
        self.audit = read_only_table(("#", "Time", "Event", "Data"))
        for col, width in enumerate((60, 170, 150)):
            self.audit.setColumnWidth(col, width)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.fields)
        split.addWidget(self.audit)
        split.setSizes([400, 150])
        split.setStretchFactor(0, 3)  # the fields first: the audit trail scrolls
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(split)
        # A burst of events for the shown execution reloads it once.
        self._refresh = QTimer(self, singleShot=True, interval=150)
        self._refresh.timeout.connect(self._load_current)

    def attach(self, store: ExecutionStore) -> None:
        self._store = store

    def show_execution(self, execution_id: str) -> None:
        self.execution_id = execution_id
        self._load_current()

    def on_execution(self, execution: Execution) -> None:
        self.on_markout(execution.execution_id)

    def on_markout(self, execution_id: str) -> None:
        """The shown execution changed (a new state, or a mark-out): reload it, once per burst."""
        if execution_id == self.execution_id and not self._refresh.isActive():
            self._refresh.start()

    def _load_current(self) -> None:
        if self._store is None or self.execution_id is None:
            return
        self._generation += 1
        self._spawner.spawn(self._load(self.execution_id, self._generation), "loading an execution")

    async def _load(self, execution_id: str, generation: int) -> None:
        assert self._store is not None
        execution = await self._store.get(execution_id)
        request = await self._store.request(execution_id)
        fills = await self._store.fills(execution_id)
        events = await self._store.audit_for(execution_id)
        tca = await self._store.tca(execution_id)
        if generation == self._generation:
            self.show_record(execution, request, fills, events, tca)

    def show_record(
        self,
        execution: Execution | None,
        request: dict[str, Any] | None,
        fills: list[StoredFill],
        events: list[AuditEvent],
        tca: Tca | None = None,
    ) -> None:
        if execution is None:
            self.title.setText(f"{self.execution_id}: not in the store")
            self.fields.setRowCount(0)
            self.audit.setRowCount(0)
            return
        e = execution
        self.title.setText(
            f"<b>{e.symbol} {fmt.side(e.direction)} {fmt.units(e.intended_units)}</b> — "
            f"<b>{e.status.value}</b>{' · ' + e.rejection_reason.value if e.rejection_reason else ''}"
            f"<br><span>{e.execution_id}</span>"
        )
        rows: list[tuple[str, str]] = [
            (f.name, _field_text(f.name, getattr(e, f.name), e.symbol)) for f in dataclasses.fields(e)
        ]
        rows += [(f"request.{name}", _text((request or {}).get(name))) for name in REQUEST_FIELDS]
        for n, fill in enumerate(fills, start=1):
            rows.append(
                (
                    f"fill {n}",
                    f"order {fill.broker_order_id} deal {fill.deal_id}: {fmt.units(fill.units)} units "
                    f"({fill.lots} lots) @ {fmt.price(fill.price, e.symbol)} at {fmt.local_time(fill.fill_timestamp)}",
                )
            )
        if tca is not None:
            rows += _tca_rows(tca, e.symbol)
        self.fields.setRowCount(len(rows))
        for r, (name, value) in enumerate(rows):
            self.fields.setItem(r, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(value)
            item.setToolTip(value)
            self.fields.setItem(r, 1, item)
        self.audit.setRowCount(len(events))
        for r, event in enumerate(events):
            data = json.dumps(event.data, ensure_ascii=False, default=str)
            cells = (str(event.seq), fmt.local_time(event.event_timestamp), event.event_type, data)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 3:
                    item.setToolTip(json.dumps(event.data, ensure_ascii=False, default=str, indent=2))
                self.audit.setItem(r, c, item)
