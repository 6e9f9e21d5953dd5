"""Recording a broker trace: the module object the adapter calls, wrapped so that every call to a
MetaTrader5 function is written as one JSON line (app/adapters/trace/format.py).

Secrets never reach the file: passwords and logins are replaced where they are taken (the arguments
of initialize() and login(), AccountInfo.login) before anything is encoded. The file is its owner's
only and rotates by size (FILE.1 the newest full part, up to `backups` kept), each part starting with
a header, so that a desk can record for days without filling its disk.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.adapters.sim.arguments import ARGUMENTS
from app.adapters.trace.format import FORMAT, REDACTED, VERSION, dumps, encode

log = logging.getLogger(__name__)
MAX_BYTES = 64 * 1024 * 1024
BACKUPS = 5
PACKAGE_FUNCTIONS = frozenset(ARGUMENTS)  # every function of the MetaTrader5 package
_SECRET_KEYS = ("password", "login")


def redact_arguments(function: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """The call's arguments with the account's login and password replaced (login(login, password, ...))."""
    shown = list(args)
    if function == "login":
        for i in range(min(2, len(shown))):
            shown[i] = REDACTED
    named = {k: (REDACTED if k in _SECRET_KEYS else v) for k, v in kwargs.items()}
    return shown, named


def redact_answer(function: str, answer: Any) -> Any:
    if function == "account_info" and isinstance(answer, dict) and "login" in answer:
        return {**answer, "login": REDACTED}
    return answer


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
        line = (dumps(data) + "\n").encode()
        with self._lock:
            if self._fd is None:
                self._fd = self._open()
            elif self._size + len(line) > self.max_bytes and self.backups > 0:
                self._rotate()
            # one write per line, unbuffered: a crash loses at most the call in progress
            self._size += os.write(self._fd, line)

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


class RecordingModule:
    """The module object with its package functions recorded; everything else passes through."""

    def __init__(self, module: Any, trace: TraceFile) -> None:
        self._module = module
        self._trace = trace
        self._seq = 0
        self._seq_lock = threading.Lock()
        trace.about = {
            "module": type(module).__name__ if not hasattr(module, "__name__") else module.__name__,
            "package_version": str(getattr(module, "__version__", "")),
        }

    def __dir__(self) -> list[str]:
        return dir(self._module)  # the adapter lists the retcode names off the module

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._module, name)
        if name in PACKAGE_FUNCTIONS and callable(attr):
            attr = self._recorded(name, attr)
        if not name.startswith("_"):
            setattr(self, name, attr)  # looked up once: later calls skip __getattr__
        return attr

    def _recorded(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        last_error = self._module.last_error

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            shown_args, shown_kwargs = redact_arguments(name, args, kwargs)
            entry: dict[str, Any] = {
                "function": name,
                "args": encode(shown_args),
                "kwargs": encode(shown_kwargs),
                "monotonic": time.monotonic(),
                "wall": time.time(),
            }
            started = time.perf_counter()
            try:
                answer = fn(*args, **kwargs)
            except BaseException as exc:
                entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
                entry["raised"] = f"{type(exc).__name__}: {exc}"
                self._submit(entry, functools.partial(_answered, entry, name, None, None))
                raise
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            error = answer if name == "last_error" else last_error()
            # records are immutable and encoded later; an array the caller may write into is copied now
            kept = encode(answer) if hasattr(answer, "dtype") else answer
            self._submit(entry, functools.partial(_answered, entry, name, kept, error))
            return answer

        return call

    def _submit(self, entry: dict[str, Any], line: Line) -> None:
        with self._seq_lock:  # numbered and queued together: the file's order is the calls' order
            self._seq += 1
            entry["seq"] = self._seq
            self._trace.submit(line)


def _answered(entry: dict[str, Any], name: str, answer: Any, error: Any) -> dict[str, Any]:
    """The call's line, built on the trace's thread."""
    if "raised" in entry:
        return {"seq": entry["seq"], **entry}
    return {"seq": entry["seq"], **entry, "answer": redact_answer(name, encode(answer)), "last_error": encode(error)}


def recording(module: Any, path: Path | None) -> tuple[Any, TraceFile | None]:
    """The module to hand the adapter, and the trace file to close at the end (None: not recording)."""
    if path is None:
        return module, None
    trace = TraceFile(path)
    recorded = RecordingModule(module, trace)
    trace.open()
    return recorded, trace
