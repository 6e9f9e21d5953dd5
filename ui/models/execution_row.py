"""One blotter row: a frozen snapshot of an Execution, formatted once, with its sort keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.contracts import ExecutionStatus
from app.execution import Execution
from ui import formatting as fmt

# Column constants: the blotter's order, and the only place it is written down. What the trader reads
# at a glance comes first; the identifiers, long and rarely read, last.
TIME, SYMBOL, SIDE, INTENDED_UNITS, EXECUTED_UNITS, INTENDED_PRICE, FILL_PRICE = range(7)
SLIPPAGE, STATUS, REASON, EXECUTION_ID, RPM_ORDER_ID = range(7, 12)
HEADERS = (
    "Time",
    "Symbol",
    "Side",
    "Units",
    "Executed",
    "Intended px",
    "Fill px",
    "Slip (pips)",
    "Status",
    "Reason",
    "Execution",
    "RPM order",
)
COLUMN_COUNT = len(HEADERS)
NUMERIC_COLUMNS = frozenset({INTENDED_UNITS, EXECUTED_UNITS, INTENDED_PRICE, FILL_PRICE, SLIPPAGE})
DEFAULT_WIDTHS = (150, 70, 46, 86, 90, 104, 90, 100, 140, 230, 200, 170)

_FILLED = (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED)
SortKey = str | int | float  # native to Qt: the sort proxy compares them without calling Python


@dataclass(frozen=True, slots=True)
class Row:
    execution_id: str
    created: datetime
    status: ExecutionStatus
    symbol: str
    texts: tuple[str, ...]  # what each column shows
    keys: tuple[SortKey, ...]  # what each column sorts by
    tooltip: str

    @classmethod
    def from_execution(cls, e: Execution) -> Row:
        if e.rejection_reason is not None:
            reason = e.rejection_reason.value
        elif e.status is ExecutionStatus.PARTIALLY_FILLED:
            reason = f"partial: {fmt.units(e.executed_units)} of {fmt.units(e.intended_units)}"
        else:
            reason = e.rejection_details or ""
        # Nothing traded, nothing to read: blanks, not zeros (an RPM rejection carries no size at all).
        executed = fmt.units(e.executed_units) if e.executed_units or e.status in _FILLED else ""
        slippage = float(e.slippage_pips) if e.slippage_pips is not None else None
        missing = float("-inf")  # empty values sort below every real one, whichever the direction
        texts = (
            fmt.local_time(e.created_timestamp, with_year=False),
            e.symbol,
            fmt.side(e.direction),
            fmt.units(e.intended_units) if e.intended_units else "",
            executed,
            fmt.price(e.intended_price, e.symbol),
            fmt.price(e.fill_price, e.symbol),
            fmt.pips(e.slippage_pips),
            e.status.value,
            reason,
            e.execution_id,
            e.rpm_decision_id,
        )
        keys: tuple[SortKey, ...] = (
            e.created_timestamp.timestamp(),
            e.symbol,
            e.direction,
            float(e.intended_units),
            float(e.executed_units),
            float(e.intended_price) if e.intended_price is not None else missing,
            float(e.fill_price) if e.fill_price is not None else missing,
            slippage if slippage is not None else missing,
            e.status.value,
            reason,
            e.execution_id,
            e.rpm_decision_id,
        )
        tip = e.rejection_details or ""
        if e.slippage_category:
            tip = f"{tip}\nslippage: {e.slippage_category}".strip()
        return cls(e.execution_id, e.created_timestamp, e.status, e.symbol, texts, keys, tip)
