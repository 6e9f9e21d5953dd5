"""Recording a broker trace: the module object the adapter calls, wrapped so that every call to a
MetaTrader5 function is written as one JSON line (app/adapters/trace/format.py) to a TraceFile
(app/adapters/trace/tracefile.py).

Secrets never reach the file: passwords and logins are replaced where they are taken (the arguments
of initialize() and login(), AccountInfo.login) before anything is encoded. An answer equal to the
last one the same call got in the same part of the file is written as a reference to it ("same_as"),
and a record that differs from it in a few fields as the reference and those fields ("except"): the
link's check asks terminal_info() every 2 s all day, and a symbol's hundred fields change by a few
between two executions.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.adapters.sim.arguments import ARGUMENTS
from app.adapters.trace.format import REDACTED, encode
from app.adapters.trace.tracefile import Line, TraceFile

REMEMBERED = 256  # distinct calls whose last answer is kept to be referred to
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


class RecordingModule:
    """The module object with its package functions recorded; everything else passes through."""

    def __init__(self, module: Any, trace: TraceFile) -> None:
        self._module = module
        self._trace = trace
        self._seq = 0
        self._seq_lock = threading.Lock()
        # (function, its arguments) -> (file part, answer, last_error, seq); the trace's thread's alone
        self._answers: dict[tuple[str, str, str], tuple[int, Any, Any, int]] = {}
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
                self._submit(entry, functools.partial(_raised, entry))
                raise
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
            error = answer if name == "last_error" else last_error()
            # records are immutable and encoded later; an array the caller may write into is copied now
            kept = encode(answer) if hasattr(answer, "dtype") else answer
            self._submit(entry, functools.partial(self._answered, entry, name, kept, error))
            return answer

        return call

    def _submit(self, entry: dict[str, Any], line: Line) -> None:
        with self._seq_lock:  # numbered and queued together: the file's order is the calls' order
            self._seq += 1
            entry["seq"] = self._seq
            self._trace.submit(line)

    def _answered(self, entry: dict[str, Any], name: str, answer: Any, error: Any) -> dict[str, Any]:
        """The call's line, built on the trace's thread: the answer whole, or by reference to the one
        the same call got last in this part of the file, with the fields that changed since."""
        key = (name, repr(entry["args"]), repr(entry["kwargs"]))
        part, seq = self._trace.part, entry["seq"]
        seen = self._answers.pop(key, None)
        self._answers[key] = (part, answer, error, seq)
        if len(self._answers) > REMEMBERED:
            del self._answers[next(iter(self._answers))]  # the least recently answered
        line = {"seq": seq, **entry}
        if seen is not None and seen[0] == part and seen[2] == error and type(seen[1]) is type(answer):
            if seen[1] == answer:
                return {**line, "same_as": seen[3]}
            changed = _changed(seen[1], answer)
            if changed is not None:
                return {**line, "same_as": seen[3], "except": redact_answer(name, changed)}
        return {**line, "answer": redact_answer(name, encode(answer)), "last_error": encode(error)}


def _changed(before: Any, after: Any) -> dict[str, Any] | None:
    """The fields of a record that changed, encoded; None when most did (the whole answer is shorter)."""
    fields = getattr(after, "_fields", None)
    if fields is None:
        return None
    changed = {k: encode(new) for k, old, new in zip(fields, before, after, strict=True) if old != new}
    return changed if 2 * len(changed) < len(fields) else None


def _raised(entry: dict[str, Any]) -> dict[str, Any]:
    return {"seq": entry["seq"], **entry}


def recording(module: Any, path: Path | None) -> tuple[Any, TraceFile | None]:
    """The module to hand the adapter, and the trace file to close at the end (None: not recording)."""
    if path is None:
        return module, None
    trace = TraceFile(path)
    recorded = RecordingModule(module, trace)
    trace.open()
    return recorded, trace
