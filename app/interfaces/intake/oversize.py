"""Payloads over the 1 MiB limit: refused without being read whole, yet still on the record.

receive() is the door for anything that could be an RPMOutput; a payload too big to read is not
handed to it (that would mean holding it in memory), so its first MiB and its true size are recorded
here, in the same intake-error table and audit event as any other bad input.
"""

from __future__ import annotations

from app.domain.contracts import FieldError, InvalidRPMOutput
from app.interfaces.intake.receive import MAX_PAYLOAD_BYTES
from app.store.repository import ExecutionStore


def oversize_error(size: int) -> InvalidRPMOutput:
    return InvalidRPMOutput(
        [FieldError(field="body", message=f"payload of {size} bytes exceeds the limit of {MAX_PAYLOAD_BYTES} (1 MiB)")]
    )


async def refuse_oversize(
    store: ExecutionStore, *, channel: str, source: str | None, head: bytes, size: int
) -> InvalidRPMOutput:
    """Record a payload of `size` bytes whose first bytes are `head`; return the error to answer with."""
    error = oversize_error(size)
    text = head[:MAX_PAYLOAD_BYTES].decode("utf-8", errors="replace")
    await store.record_intake_error(
        channel=channel,
        source=source,
        raw=text.replace("\x00", "\\u0000"),  # no text column takes NUL (it never occurs in valid JSON)
        errors=error.errors,
        rpm_order_id=None,
    )
    return error
