"""A report that writes to a text file, streamed as an HTTP body in bounded memory.

The writer (the export's own write_csv, say) runs on a thread of its own with a database
connection; what it writes comes to the event loop in chunks, at most `depth` of them waiting at a
time, so a slow client slows the writer rather than filling memory. A client that goes away stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import AsyncIterator, Callable
from typing import TextIO, cast

_CHUNK_CHARS = 64 * 1024
_DONE = object()


class _Abandoned(Exception):
    """The client went away: the writer stops at its next write."""


class _Pipe(io.TextIOBase):
    def __init__(self, send: Callable[[bytes], None], chunk_chars: int) -> None:
        super().__init__()
        self._send = send
        self._chunk_chars = chunk_chars
        self._parts: list[str] = []
        self._size = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._parts.append(text)
        self._size += len(text)
        if self._size >= self._chunk_chars:
            self.flush_chunk()
        return len(text)

    def flush_chunk(self) -> None:
        if self._parts:
            data = "".join(self._parts).encode("utf-8")
            self._parts, self._size = [], 0
            self._send(data)


async def stream_text(
    write: Callable[[TextIO], object], *, chunk_chars: int = _CHUNK_CHARS, depth: int = 4
) -> AsyncIterator[bytes]:
    """Run `write(out)` on a thread and yield what it writes, UTF-8 encoded, chunk by chunk."""
    loop = asyncio.get_running_loop()
    items: asyncio.Queue[object] = asyncio.Queue()
    credit = threading.Semaphore(depth)  # chunks the writer may have in flight before it waits
    abandoned = threading.Event()

    def send(item: object) -> None:
        while not credit.acquire(timeout=0.1):
            if abandoned.is_set():
                raise _Abandoned
        if abandoned.is_set():
            raise _Abandoned
        loop.call_soon_threadsafe(items.put_nowait, item)

    def produce() -> None:
        try:
            pipe = _Pipe(send, chunk_chars)
            write(cast(TextIO, pipe))
            pipe.flush_chunk()
            send(_DONE)
        except _Abandoned:
            pass
        except BaseException as exc:  # handed to the consumer, which raises it in the response
            with contextlib.suppress(_Abandoned, RuntimeError):  # RuntimeError: the loop is already closed
                send(exc)

    threading.Thread(target=produce, name="stream-writer", daemon=True).start()
    try:
        while True:
            item = await items.get()
            credit.release()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, bytes)
            yield item
    finally:
        abandoned.set()
