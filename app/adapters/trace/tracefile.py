"""The file a broker trace is written to: JSON lines, its owner's only, rotating by size.

FILE.1 is the newest full part, up to `backups` are kept, and each part starts with a header line, so
that a desk can record for days without filling its disk and each part reads on its own.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.adapters.trace.format import FORMAT, VERSION, dumps

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024 * 1024
BACKUPS = 5
GATHER_S = 0.2  # how long the writer lets lines gather once one is waiting: fewer wake-ups, less taken from the engine

Line = Callable[[], dict[str, Any]]


class TraceFile:
    """JSON lines, owner-only, rotating by size.

    Lines are submitted as functions that build them, and built and written by a thread of the file's
    own: encoding a record's hundred fields costs more than many a call to the simulator, and the
    caller is the adapter's one thread, which every execution waits on. The thread wakes for the first
    line waiting, lets the next `gather_s` of lines join it, and writes them all with one write: woken
    for every line, it took the interpreter from the engine eight times an execution. A crash loses
    at most the lines still waiting; close() writes them all."""

    def __init__(
        self, path: Path, *, max_bytes: int = MAX_BYTES, backups: int = BACKUPS, gather_s: float = GATHER_S
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups
        self.gather_s = gather_s
        self.about: dict[str, Any] = {}
        self._lock = threading.Lock()  # the file: its descriptor, size and part
        self._fd: int | None = None
        self._size = 0
        self._waiting = threading.Condition()  # the lines submitted and not yet taken by the writer
        self._lines: list[Line] = []
        self._stopping = False
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
        data = dumps(header)
        _write_all(fd, data)
        self._size += len(data)
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
        self.part += 1

    def write(self, lines: list[Line]) -> None:
        """Build the lines in order and write them with one write, or one per part where the file rotates
        among them: the part that reaches max_bytes is rotated after that line (it may pass it by a line),
        and the lines after it are built for the new part."""
        with self._lock:
            if self._fd is None:
                self._fd = self._open()
            chunk: list[bytes] = []
            for line in lines:
                chunk.append(dumps(line()))
                self._size += len(chunk[-1])
                if self._size >= self.max_bytes and self.backups > 0:
                    _write_all(self._fd, b"".join(chunk))
                    chunk = []
                    self._rotate()
            if chunk:
                _write_all(self._fd, b"".join(chunk))

    def submit(self, line: Line) -> None:
        """Queue a line: the order of submission is the order in the file."""
        with self._waiting:
            if self._writer is None:
                self._writer = threading.Thread(target=self._drain, name="broker-trace", daemon=True)
                self._writer.start()
            self._lines.append(line)
            if len(self._lines) == 1:
                self._waiting.notify()  # the writer waits for a first line only

    def _take(self) -> list[Line]:
        """The lines waiting, once there are some (gathered for gather_s); none when told to stop and
        none are left, and then this writer ends (under the lock: the next line starts another)."""
        with self._waiting:
            self._waiting.wait_for(lambda: self._lines or self._stopping)
            self._waiting.wait_for(lambda: self._stopping, timeout=self.gather_s)
            lines, self._lines = self._lines, []
            if not lines:
                self._writer = None
            return lines

    def _drain(self) -> None:
        while lines := self._take():
            if self._failed:
                continue
            try:
                self.write(lines)
            except OSError as exc:  # a full disk stops the trace, never the trading
                self._failed = True
                log.error("broker trace %s: cannot write (%s): recording stopped", self.path, exc)
            except Exception as exc:  # a line that cannot be built: the same, and this thread lives on to drain
                self._failed = True
                log.error(
                    "broker trace %s: a line could not be written (%s: %s): recording stopped",
                    self.path,
                    type(exc).__name__,
                    exc,
                )

    def flush(self) -> None:
        """Write every line submitted so far (the writer ends; the next line starts another)."""
        with self._waiting:
            writer, self._stopping = self._writer, True
            self._waiting.notify()
        if writer is not None:
            writer.join()
        with self._waiting:
            self._stopping = False

    def close(self) -> None:
        """Write every line submitted so far, then close the file."""
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _write_all(fd: int, data: bytes) -> None:
    """os.write may write part of a large buffer (a disk filling up): the rest follows, or the error."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
