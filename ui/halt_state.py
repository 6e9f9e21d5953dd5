"""Whether trading is halted, and by whom: the console's kill switch, or the RPM upstream.

The engine knows its own kill switch (engine.halt_reason). The RPM's halt is only seen in what it
sends: the engine checks the RPM's flag first, so an approved decision rejected "RPM halted trading"
means the RPM is halting, and any newer approved decision that got past that check means it is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.contracts import DecisionStatus, RejectionReason
from app.domain.execution import Execution

RPM_HALT_PREFIX = "RPM halted trading"


@dataclass
class HaltState:
    console_reason: str | None = None
    rpm_reason: str | None = None
    _rpm_seen_at: datetime | None = None

    @property
    def halted(self) -> bool:
        return self.console_reason is not None or self.rpm_reason is not None

    def set_console(self, halted: bool, reason: str | None) -> None:
        self.console_reason = (reason or "no reason given") if halted else None

    def observe(self, execution: Execution) -> bool:
        """Take what one execution says of the RPM's halt; True when the RPM's state changed."""
        if execution.decision_status == DecisionStatus.REJECTED.value:
            return False  # an RPM rejection is recorded before any halt check: it says nothing
        if self._rpm_seen_at is not None and execution.created_timestamp < self._rpm_seen_at:
            return False  # an update of an older execution: the newest decision speaks for the RPM
        self._rpm_seen_at = execution.created_timestamp
        before = self.rpm_reason
        self.rpm_reason = rpm_halt_reason(execution)
        return before != self.rpm_reason


def rpm_halt_reason(execution: Execution) -> str | None:
    """The RPM's halt reason when this execution was rejected because the RPM halted trading."""
    details = execution.rejection_details or ""
    if execution.rejection_reason is not RejectionReason.TRADING_HALTED or not details.startswith(RPM_HALT_PREFIX):
        return None
    return details[len(RPM_HALT_PREFIX) :].lstrip(": ") or "no reason given"
