"""The API's connections, bounded in number and in how long a client may take to send its request.

uvicorn by itself waits for a request's headers for ever and takes every connection offered: any
local user holding thousands of half-sent requests (slowloris) ran the process out of file
descriptors, and /health, /execute and the engine's own files with it. Here, on the same h11 protocol:

- a request's headers must arrive within HEADERS_S of the connection (or of the previous answer), and
  its body within BODY_S of its headers; a client slower than that is disconnected;
- at most MAX_CONNECTIONS are held: one more evicts the connection that has waited longest without
  a request under way (half-sent headers, or idle between requests), so that a client who sends its
  request at once is served however many others hang about; only when every connection is busy
  with a request is the new one closed.

What the API answers and how long it may take to answer stays the application's business.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

HEADERS_S = 10.0
BODY_S = 30.0  # a 1 MiB RPMOutput is a few milliseconds on loopback, seconds on a slow link
# Far below a desktop's default of 1024 file descriptors (and Windows' 512 sockets per select()), so
# that the store, the logs and the broker always have theirs; plenty for a desk's clients.
MAX_CONNECTIONS = 256
# The listening socket's queue, which is also how many connections the loop accepts in one turn before
# any of them is seen (and one evicted): uvicorn's 2,048 took a thousand descriptors at once.
BACKLOG = 128


class GuardedConnection(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request and a bound on connections."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._deadline_for: object = None  # the client's h11 state the deadline was set for
        self._idle_since = 0.0  # since when it has had no request under way

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self.loop.time()
        self._watch()
        self._admit()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.loop.time()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._set_deadline(None)
        super().connection_lost(exc)

    # ---- the deadline -----------------------------------------------------------------------------
    def _watch(self) -> None:
        """A deadline while the client owes us a request: its headers (IDLE) or its body (SEND_BODY)."""
        state = self.conn.their_state
        if state is self._deadline_for or self.transport.is_closing():
            return
        self._deadline_for = state
        self._set_deadline(HEADERS_S if state is h11.IDLE else BODY_S if state is h11.SEND_BODY else None)

    def _set_deadline(self, seconds: float | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None if seconds is None else self.loop.call_later(seconds, self._drop)

    def _drop(self) -> None:
        """Close: the request being read, if any, sees its client gone."""
        self._set_deadline(None)
        self.connections.discard(self)  # no longer counted, even before the loop reports it closed
        if not self.transport.is_closing():
            self.transport.close()

    # ---- the bound ----------------------------------------------------------------------------------
    @property
    def _evictable(self) -> bool:
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _admit(self) -> None:
        if len(self.connections) <= MAX_CONNECTIONS:
            return
        waiting = [c for c in self.connections if isinstance(c, GuardedConnection) and c is not self and c._evictable]
        oldest = min(waiting, key=lambda c: c._idle_since, default=None)
        if oldest is not None:
            oldest._drop()
            return
        log.warning("%d API connections, each with a request under way: a new one was closed", MAX_CONNECTIONS)
        self._drop()
