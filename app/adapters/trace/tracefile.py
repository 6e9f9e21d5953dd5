"""The file a broker trace is written to: JSON lines, its owner's only, rotating by size.

FILE.1 is the newest full part, up to `backups` are kept, and each part starts with a header line, so
that a desk can record for days without filling its disk and each part reads on its own.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.adapters.trace.format import FORMAT, VERSION, dumps

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024 * 1024
BACKUPS = 5

Line = Callable[[], dict[str, Any]]


class TraceFile:
    """JSON lines, owner-only, rotating by size.

    Lines are submitted as functions that build them, and built and written by a thread of the file's
    own: encoding a record's hundred fields costs more than many a call to the simulator, and the
    caller is the adapter's one thread, which every execution waits on. close() writes what is queued."""

    def __init__(self, path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.about: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0
        self._queue: queue.SimpleQueue[Line | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._failed = False
        self.part = 0  # counts rotations: a line refers only to lines of its own part

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # a file left by another tool with wider permissions is tightened
        self._size = os.fstat(fd).st_size
        header = {"trace": FORMAT, "version": VERSION, "opened": datetime.now(UTC).isoformat(), **self.about}
        self._size += os.write(fd, (dumps(header) + "\n").encode())
        return fd

    def open(self) -> None:
        """Open (or create) the file now: a path that cannot be written fails the start, not a later call."""
        with self._lock:
            if self._fd is None:
                self._fd = self._open()

    def _rotate(self) -> None:
        assert self._fd is not None
        os.close(self._fd)
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._fd = self._open()

    def write(self, data: dict[str, Any]) -> None:
        """One line; the part that reaches max_bytes is rotated after it (a part may pass it by a line)."""
        line = (dumps(data) + "\n").encode()
        with self._lock:
            if self._fd is None:
                self._fd = self._open()
            # one write per line, unbuffered: a crash loses at most the lines still queued
            self._size += os.write(self._fd, line)
            if self._size >= self.max_bytes and self.backups > 0:
                self._rotate()
                self.part += 1

    def submit(self, line: Line) -> None:
        with self._lock:
            if self._writer is None:
                self._writer = threading.Thread(target=self._drain, name="broker-trace", daemon=True)
                self._writer.start()
        self._queue.put(line)

    def _drain(self) -> None:
        while (line := self._queue.get()) is not None:
            if self._failed:
                continue
            try:
                self.write(line())
            except OSError as exc:  # a full disk stops the trace, never the trading
                self._failed = True
                log.error("broker trace %s: cannot write (%s): recording stopped", self.path, exc)

    def close(self) -> None:
        """Write every line submitted so far, then close the file."""
        with self._lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            self._queue.put(None)
            writer.join()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
