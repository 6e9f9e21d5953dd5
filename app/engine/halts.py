"""The RPM's halt, as its decisions say it: each RPMOutput carries the RPM's `portfolio_state`, and the
newest one received speaks for the RPM (docs/DESIGN.md, step 1: an RPM halt rejects every execution).

The console's own kill switch is the engine's (ExecutionEngine.halt); this is the other source of a
halt, kept as structured state so that no listener reads it out of a rejection's wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.contracts import InvalidRPMOutput, parse_rpm_output
from app.engine.events import HaltChanged, HaltSource

NO_REASON = "no reason given"
RPM = "RPM"  # who engaged or released it: the upstream manager, not a person at this desk
# Decisions read back at a start to rebuild the state: enough to find when a halt still in force began
# on a busy desk; an older start of it shows as the oldest of these.
RPM_HALT_LOOKBACK = 500


@dataclass(frozen=True)
class RpmHalt:
    reason: str
    since: datetime  # the first decision received with the halt on, of the run that still holds


class RpmHaltWatch:
    """The RPM's halt state from the decisions in the order they were received."""

    def __init__(self) -> None:
        self.current: RpmHalt | None = None
        self._seen_at: datetime | None = None

    def observe(self, halted: bool, reason: str | None, at: datetime) -> HaltChanged | None:
        """Take one decision's portfolio state, received at `at`; the change to tell listeners, if any."""
        if self._seen_at is not None and at < self._seen_at:
            return None  # an older decision, finishing late: the newer one already spoke
        self._seen_at = at
        if halted:
            reason = reason or NO_REASON
            if self.current is not None and self.current.reason == reason:
                return None
            self.current = RpmHalt(reason, self.current.since if self.current else at)
            return HaltChanged(True, HaltSource.RPM, reason, RPM, self.current.since)
        if self.current is None:
            return None
        self.current = None
        return HaltChanged(False, HaltSource.RPM, None, RPM, at)

    def replay(self, received: list[tuple[datetime, str]]) -> HaltChanged | None:
        """Rebuild the state from recorded RPMOutputs (verbatim, oldest first): the halt now in force."""
        for at, raw in received:
            try:
                state = parse_rpm_output(raw).portfolio_state
            except InvalidRPMOutput:
                continue  # recorded by an earlier release under other rules: it says nothing now
            self.observe(state.trading_halted, state.halt_reason, at)
        if self.current is None:
            return None
        return HaltChanged(True, HaltSource.RPM, self.current.reason, RPM, self.current.since)
