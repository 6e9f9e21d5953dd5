"""The tamper-evident audit trail: a hash chain of events, each signed with an HMAC key.

Each event's hash covers its own content and the previous event's hash, so an edited, inserted or
removed row breaks the chain from that point; the signature makes a rebuilt chain detectable without
the key. The database refuses UPDATE and DELETE on the table (triggers in app.store.database).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

GENESIS = "0" * 64


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "value"):  # enums
        return value.value
    raise TypeError(f"not serialisable in the audit trail: {type(value).__name__}")


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=_default, ensure_ascii=False)


@dataclass(frozen=True)
class AuditEvent:
    seq: int
    event_timestamp: datetime
    event_type: str
    execution_id: str | None
    payload: str
    prev_hash: str
    hash: str
    signature: str

    @property
    def data(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.payload)
        return loaded


@dataclass(frozen=True)
class Unreadable:
    """A chain row with a value that cannot be read as what it should be: tampering, named by its seq."""

    seq: int
    hash: str
    why: str


def _digest(seq: int, ts: datetime, event_type: str, execution_id: str | None, payload: str, prev_hash: str) -> str:
    material = canonical_json([seq, ts.astimezone(UTC).isoformat(), event_type, execution_id, payload, prev_hash])
    return hashlib.sha256(material.encode()).hexdigest()


class AuditSigner:
    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the audit key must be at least 16 bytes")
        self._key = key

    def sign(self, digest: str) -> str:
        return hmac.new(self._key, digest.encode(), hashlib.sha256).hexdigest()

    @property
    def fingerprint(self) -> str:
        """Names the key without revealing it: what a store records of the key that signs it."""
        return hashlib.sha256(hmac.new(self._key, b"fingerprint", hashlib.sha256).digest()).hexdigest()[:16]

    def make(
        self, seq: int, ts: datetime, event_type: str, execution_id: str | None, data: dict[str, Any], prev_hash: str
    ) -> AuditEvent:
        payload = canonical_json(data)
        digest = _digest(seq, ts, event_type, execution_id, payload, prev_hash)
        return AuditEvent(seq, ts, event_type, execution_id, payload, prev_hash, digest, self.sign(digest))

    def verify(self, events: Iterable[AuditEvent | Unreadable]) -> Iterator[str]:
        """Yield one message per broken record, in chain order (the first is the first break)."""
        expected_seq, prev = 1, GENESIS
        for ev in events:
            if ev.seq != expected_seq:
                yield f"seq {expected_seq}: missing (next record found is seq {ev.seq})"
            elif isinstance(ev, Unreadable):
                yield f"seq {ev.seq}: {ev.why} (the record was altered)"
            elif ev.prev_hash != prev:
                yield f"seq {ev.seq}: prev_hash does not match the hash of seq {ev.seq - 1}"
            elif (
                _digest(ev.seq, ev.event_timestamp, ev.event_type, ev.execution_id, ev.payload, ev.prev_hash) != ev.hash
            ):
                yield f"seq {ev.seq}: content does not match its hash (the record was altered)"
            elif not hmac.compare_digest(self.sign(ev.hash), ev.signature):
                yield f"seq {ev.seq}: signature is not valid for this audit key"
            expected_seq, prev = ev.seq + 1, ev.hash
