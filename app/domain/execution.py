"""The execution record: one row of execution_logs, as the engine, the store and the console see it."""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.domain.contracts import ExecutionConfirmation, ExecutionStatus, RejectionReason

# The execution the running task works for: every log line written meanwhile carries its id.
current_execution: ContextVar[str | None] = ContextVar("current_execution", default=None)

EXECUTION_PREFIX = "exec_"  # every execution id, and so every order comment of ours, starts with it


def new_id(prefix: str) -> str:
    # 80 random bits: unique in practice, and short enough to travel in an MT5 comment (31 chars).
    return f"{prefix}_{secrets.token_hex(10)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Execution:
    execution_id: str
    request_id: str
    rpm_decision_id: str
    symbol: str
    direction: int
    intended_units: Decimal
    status: ExecutionStatus
    decision_status: str
    broker: str
    execution_engine_version: str
    created_timestamp: datetime
    last_update_timestamp: datetime
    broker_order_id: str | None = None  # the broker's ticket of the order we placed
    executed_units: Decimal = Decimal(0)
    lots: Decimal | None = None
    intended_price: Decimal | None = None
    fill_price: Decimal | None = None
    slippage_pips: Decimal | None = None
    slippage_category: str | None = None
    market_bid: Decimal | None = None
    market_ask: Decimal | None = None
    spread_pips: Decimal | None = None
    rejection_reason: RejectionReason | None = None
    rejection_details: str | None = None
    attempts: int = 0
    fill_count: int = 0
    confidence_score: Decimal | None = None
    regime: str | None = None
    risk_per_trade: Decimal | None = None
    model_version: str | None = None
    rpm_version: str | None = None
    submission_timestamp: datetime | None = None
    fill_timestamp: datetime | None = None
    cancel_requested_timestamp: datetime | None = None

    def to_row(self) -> dict[str, Any]:
        row = {COLUMN_OF.get(name, name): getattr(self, name) for name in _FIELDS}  # shallow: asdict() deep-copies
        row["status"] = self.status.value
        row["rejection_reason"] = self.rejection_reason.value if self.rejection_reason else None
        return row

    @classmethod
    def from_row(cls, row: Any) -> Execution:
        mapping = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        values = {name: mapping[COLUMN_OF.get(name, name)] for name in _FIELDS}
        values["status"] = ExecutionStatus(values["status"])
        if values["rejection_reason"]:
            values["rejection_reason"] = RejectionReason(values["rejection_reason"])
        return cls(**values)

    def confirmation(self) -> ExecutionConfirmation:
        return ExecutionConfirmation(
            execution_id=self.execution_id,
            request_id=self.request_id,
            rpm_order_id=self.rpm_decision_id,
            order_id=self.broker_order_id,
            status=self.status,
            rejection_reason=self.rejection_reason,
            rejection_details=self.rejection_details,
            symbol=self.symbol,
            direction=self.direction,
            intended_units=self.intended_units,
            executed_units=self.executed_units,
            intended_price=self.intended_price,
            fill_price=self.fill_price,
            slippage_pips=self.slippage_pips,
            timestamp=self.last_update_timestamp,
        )


_FIELDS = tuple(f.name for f in fields(Execution))

# Field -> execution_logs column where they differ: the column keeps the name 0.1.0 stores were written
# with (and the external contract's `order_id`), the code says what it holds.
COLUMN_OF = {"broker_order_id": "order_id"}
