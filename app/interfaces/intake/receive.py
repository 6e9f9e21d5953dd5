"""The one door every RPMOutput comes through, whatever the channel (API, inbox, CLI, demo feed).

A payload that cannot be executed is still recorded — raw bytes and the reason per field — before
the caller hears about it.
"""

from __future__ import annotations

from typing import Any

from app.domain import jsontext
from app.domain.contracts import FieldError, InvalidRPMOutput, parse_rpm_output
from app.domain.execution import Execution
from app.engine.engine import ExecutionEngine

MAX_PAYLOAD_BYTES = 1024 * 1024


def _guess_order_id(text: str) -> str | None:
    """The order_id of a payload that failed validation, when one can be read at all (for the record)."""
    try:
        data: Any = jsontext.loads(text)
        order_id = data["decision"]["order_id"]
    except (ValueError, TypeError, KeyError, RecursionError):
        return None
    return order_id[:64] if isinstance(order_id, str) and order_id.isprintable() else None


async def receive(
    engine: ExecutionEngine, payload: bytes, *, channel: str, source: str | None = None, wait: bool = True
) -> Execution:
    """Execute a raw RPMOutput. Raises InvalidRPMOutput (already recorded) when it cannot be executed."""
    text = payload.decode("utf-8", errors="replace")
    try:
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise InvalidRPMOutput([FieldError(field="body", message=f"payload of {len(payload)} bytes exceeds 1 MiB")])
        if "\ufffd" in text and "\ufffd".encode() not in payload:
            raise InvalidRPMOutput([FieldError(field="body", message="payload is not valid UTF-8")])
        rpm = parse_rpm_output(text)
    except InvalidRPMOutput as exc:
        await _record(engine, text, exc.errors, channel=channel, source=source)
        raise
    if wait:
        return await engine.execute(rpm, raw=text, channel=channel, source=source)
    return await engine.start(rpm, raw=text, channel=channel, source=source)


async def refuse(
    engine: ExecutionEngine, payload: bytes, errors: list[FieldError], *, channel: str, source: str | None
) -> InvalidRPMOutput:
    """Record a payload refused for what came with it rather than for its content (a file name the answer
    could not carry); the error to answer with."""
    await _record(engine, payload.decode("utf-8", errors="replace"), errors, channel=channel, source=source)
    return InvalidRPMOutput(errors)


async def _record(
    engine: ExecutionEngine, text: str, errors: list[FieldError], *, channel: str, source: str | None
) -> None:
    await engine.store.record_intake_error(
        channel=channel,
        source=source,
        # As received, but for NUL, which no text column takes (it never occurs in valid JSON).
        raw=text[:MAX_PAYLOAD_BYTES].replace("\x00", "\\u0000"),
        errors=errors,
        rpm_order_id=_guess_order_id(text),
    )
