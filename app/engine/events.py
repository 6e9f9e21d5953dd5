"""What the engine tells its listeners (the console's bridge, the API's waiters), one type per kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.execution import Execution


@dataclass(frozen=True)
class ExecutionChanged:
    """An execution reached a new durable state."""

    execution: Execution


class HaltSource(StrEnum):
    CONSOLE = "console"  # the console's own kill switch (HALT / RESUME)
    RPM = "rpm"  # the RPM's portfolio_state.trading_halted, as its newest decision says


@dataclass(frozen=True)
class HaltChanged:
    """A halt was engaged or released by `source`; `by` and `since` say who and when (None when unknown)."""

    halted: bool
    source: HaltSource
    reason: str | None = None
    by: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class MarkoutRecorded:
    """A mark-out of the execution was recorded (or found missing): its TCA changed."""

    execution_id: str


EngineEvent = ExecutionChanged | HaltChanged | MarkoutRecorded
