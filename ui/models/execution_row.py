"""One blotter row: a snapshot of an Execution, formatted when first shown, with its sort keys."""

from __future__ import annotations

from datetime import datetime

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import Execution
from ui import formatting as fmt

# Column constants: the blotter's order, and the only place it is written down. What the trader reads
# at a glance comes first — the status and why, so that a rejection's reason is on screen even on a
# 1366-pixel laptop; the identifiers, long and rarely read, last.
TIME, SYMBOL, SIDE, STATUS, REASON, INTENDED_UNITS, EXECUTED_UNITS = range(7)
INTENDED_PRICE, FILL_PRICE, SLIPPAGE, EXECUTION_ID, RPM_ORDER_ID = range(7, 12)
HEADERS = (
    "Time",
    "Symbol",
    "Side",
    "Status",
    "Reason",
    "Units",
    "Executed",
    "Intended px",
    "Fill px",
    "Slip (pips)",
    "Execution",
    "RPM order",
)
COLUMN_COUNT = len(HEADERS)
NUMERIC_COLUMNS = frozenset({INTENDED_UNITS, EXECUTED_UNITS, INTENDED_PRICE, FILL_PRICE, SLIPPAGE})
# The texts each column usually holds at its widest: the blotter sizes its columns by them in the
# font it is shown in (whatever the screen's scaling), never by measuring rows.
WIDEST: tuple[tuple[str, ...], ...] = (
    ("12-31 23:59:59.999",),
    ("EURUSDm",),
    ("SELL",),
    tuple(s.value for s in ExecutionStatus),
    (*(r.value for r in RejectionReason), "partial: 100,000 of 200,000"),
    ("10,000,000",),
    ("10,000,000",),
    ("151.2565",),
    ("151.2565",),
    ("+12.3",),
    ("exec_0f841b9eecc9b684475e",),
    ("demo_4274f14b3f2e45f4",),
)

_FILLED = (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED)
SortKey = str | int | float
_MISSING = float("-inf")  # empty values sort below every real one, whichever the direction


class Row:
    """An execution as the blotter shows it; its texts are formatted the first time they are shown.

    Most rows of a busy day are never on screen: formatting them all as they arrive (local time,
    prices at the symbol's precision) was most of the blotter's time while executions flowed.
    """

    __slots__ = ("_keys", "_texts", "execution")

    def __init__(self, execution: Execution) -> None:
        self.execution = execution  # a snapshot (the bridge copies each event's), never mutated
        self._texts: tuple[str, ...] | None = None
        self._keys: tuple[SortKey, ...] | None = None

    @property
    def execution_id(self) -> str:
        return self.execution.execution_id

    @property
    def created(self) -> datetime:
        return self.execution.created_timestamp

    @property
    def status(self) -> ExecutionStatus:
        return self.execution.status

    @property
    def texts(self) -> tuple[str, ...]:
        """What each column shows."""
        if self._texts is None:
            e = self.execution
            # Nothing traded, nothing to read: blanks, not zeros (an RPM rejection carries no size).
            executed = fmt.units(e.executed_units) if e.executed_units or e.status in _FILLED else ""
            self._texts = (
                fmt.local_time(e.created_timestamp, with_year=False),
                e.symbol,
                fmt.side(e.direction),
                e.status.value,
                self._reason(),
                fmt.units(e.intended_units) if e.intended_units else "",
                executed,
                fmt.price(e.intended_price, e.symbol),
                fmt.price(e.fill_price, e.symbol),
                fmt.pips(e.slippage_pips),
                e.execution_id,
                e.rpm_decision_id,
            )
        return self._texts

    def key(self, column: int) -> SortKey:
        """What `column` sorts by."""
        if self._keys is None:
            e = self.execution
            self._keys = (
                e.created_timestamp.timestamp(),
                e.symbol,
                e.direction,
                e.status.value,
                self._reason(),
                float(e.intended_units),
                float(e.executed_units),
                float(e.intended_price) if e.intended_price is not None else _MISSING,
                float(e.fill_price) if e.fill_price is not None else _MISSING,
                float(e.slippage_pips) if e.slippage_pips is not None else _MISSING,
                e.execution_id,
                e.rpm_decision_id,
            )
        return self._keys[column]

    @property
    def tooltip(self) -> str:
        e = self.execution
        tip = e.rejection_details or ""
        if e.slippage_category:
            tip = f"{tip}\nslippage: {e.slippage_category}".strip()
        return tip

    def _reason(self) -> str:
        e = self.execution
        if e.rejection_reason is not None:
            return e.rejection_reason.value
        if e.status is ExecutionStatus.PARTIALLY_FILLED:
            return f"partial: {fmt.units(e.executed_units)} of {fmt.units(e.intended_units)}"
        return e.rejection_details or ""
