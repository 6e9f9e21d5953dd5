"""What sending an order came back with, in the engine's terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.adapters.broker.types import Fill
from app.domain.audit_events import AuditEventType
from app.engine.validation import Rejection


@dataclass
class Submission:
    """What step 4 came back with: an order at the broker (maybe filled), or a final refusal."""

    order: str | None = None
    fills: tuple[Fill, ...] = ()
    resting: bool = False
    rejection: Rejection | None = None
    uncertain: bool = False  # the broker's answer is not yet known: left SUBMITTED for reconciliation
    detail: str = ""  # why it is uncertain, when it is
    events: tuple[tuple[AuditEventType, dict[str, Any]], ...] = ()  # audit events to record with the next write
