"""Whether trading is halted, and by whom: the console's kill switch, or the RPM upstream.

Both come from the engine as structured state (HaltChanged events, engine.halt_reason and
engine.rpm_halt): the console reads no halt out of a rejection's wording.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.engine.events import HaltChanged, HaltSource
from app.engine.halts import NO_REASON


@dataclass
class HaltState:
    console_reason: str | None = None
    rpm_reason: str | None = None
    rpm_since: datetime | None = None

    @property
    def halted(self) -> bool:
        return self.console_reason is not None or self.rpm_reason is not None

    def apply(self, event: HaltChanged) -> None:
        reason = (event.reason or NO_REASON) if event.halted else None
        if event.source is HaltSource.RPM:
            self.rpm_reason, self.rpm_since = reason, event.since if event.halted else None
        else:
            self.console_reason = reason
