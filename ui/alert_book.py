"""The alerts the trader has been shown: raised when a rule starts firing, kept until acknowledged.

An acknowledged alert stays quiet while its rule keeps firing; once the rule stops, the entry is
closed, and the next time it fires it is a new alert to acknowledge.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.domain.execution import utcnow
from app.engine.metrics import Alert


@dataclass
class AlertEntry:
    rule: str
    severity: str
    message: str
    raised_at: datetime
    active: bool = True  # the rule still fires
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None

    @property
    def needs_ack(self) -> bool:
        return self.acknowledged_at is None

    def audit_data(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "raised_at": self.raised_at.isoformat(),
        }


class AlertBook:
    def __init__(self) -> None:
        self.entries: list[AlertEntry] = []  # newest first

    def update(self, firing: list[Alert], now: datetime | None = None) -> list[AlertEntry]:
        """Apply one evaluation of the rules; return the alerts raised by it."""
        now = now or utcnow()
        by_rule = {a.rule: a for a in firing}
        raised: list[AlertEntry] = []
        for entry in self.entries:
            if entry.active and entry.rule not in by_rule:
                entry.active = False
        open_rules = {e.rule for e in self.entries if e.active}
        for alert in firing:
            if alert.rule in open_rules:
                for entry in self.entries:
                    if entry.active and entry.rule == alert.rule:
                        entry.message, entry.severity = alert.message, alert.severity
                continue
            entry = AlertEntry(alert.rule, alert.severity, alert.message, now)
            self.entries.insert(0, entry)
            raised.append(entry)
        # Closed and acknowledged entries leave the list; closed unacknowledged ones wait for the trader.
        self.entries = [e for e in self.entries if e.active or e.needs_ack]
        return raised

    def unacknowledged(self) -> list[AlertEntry]:
        return [e for e in self.entries if e.needs_ack]

    def acknowledge(self, entry: AlertEntry, by: str, at: datetime | None = None) -> None:
        entry.acknowledged_by, entry.acknowledged_at = by, at or utcnow()
        self.entries = [e for e in self.entries if e.active or e.needs_ack]
