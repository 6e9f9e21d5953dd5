"""Reading a request body ourselves, so that the raw bytes are what gets recorded, within a bound."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

# Past the limit the rest is read and dropped (the client gets its 413 instead of a reset connection),
# but only this far: beyond it the connection is simply closed after the answer.
_DRAIN_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class Body:
    head: bytes  # the first `limit` + 1 bytes at most
    size: int  # every byte the client sent (as far as it was read)
    limit: int

    @property
    def too_large(self) -> bool:
        return self.size > self.limit


async def read_body(request: Request, limit: int) -> Body:
    """The body, holding at most `limit` + 1 bytes in memory whatever the client sends."""
    head = bytearray()
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if len(head) <= limit:
            head += chunk[: limit + 1 - len(head)]
        if size > _DRAIN_LIMIT:
            break
    return Body(bytes(head), size, limit)
