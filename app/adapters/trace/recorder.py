"""Recording a broker trace: the module object the adapter calls, wrapped so that every call to a
MetaTrader5 function is written as one JSON line (app/adapters/trace/format.py) to a TraceFile
(app/adapters/trace/tracefile.py).

Secrets never reach the file: passwords and logins are replaced where they are taken (the arguments
of initialize() and login(), AccountInfo.login) before anything is written. An answer equal to the
last one the same call got in the same part of the file is written as a reference to it ("same_as"),
and a record that differs from it in a few fields as the reference and those fields ("except"): the
link's check asks terminal_info() every 2 s all day, and a symbol's hundred fields change by a few
between two executions.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.adapters.sim.arguments import ARGUMENTS
from app.adapters.trace.format import REDACTED, SCALARS, encode
from app.adapters.trace.tracefile import TraceFile

REMEMBERED = 256  # distinct calls whose last answer is kept to be referred to
PACKAGE_FUNCTIONS = frozenset(ARGUMENTS)  # every function of the MetaTrader5 package
_SECRET_KEYS = ("password", "login")
Shown = tuple[Any, Any]  # a call's arguments and keyword arguments, as taken or as copies
Times = tuple[float, float, float]  # monotonic, wall and perf_counter when the call started


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
        # the lines' numbers, and (function, its arguments) -> (file part, answer, last_error, seq): the
        # trace's thread's alone, which builds the lines in the order they were submitted
        self._seq = 0
        self._answers: dict[Any, tuple[int, Any, Any, int]] = {}
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
        answered, raised, submit = self._answered, self._raised, self._trace.submit

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> Any:
            # the adapter's thread only keeps what the line needs; the trace's thread builds it (arguments
            # other than scalars are copied now, encoded: the caller may reuse a request dict)
            shown = (args, kwargs) if _scalars(args, kwargs) else (encode(args), encode(kwargs))
            times = (time.monotonic(), time.time(), time.perf_counter())
            try:
                answer = fn(*args, **kwargs)
            except BaseException as exc:
                took = time.perf_counter() - times[2]
                submit(functools.partial(raised, name, shown, times, took, f"{type(exc).__name__}: {exc}"))
                raise
            took = time.perf_counter() - times[2]
            error = answer if name == "last_error" else last_error()
            # records are immutable and encoded later; an array the caller may write into is copied now
            kept = encode(answer) if hasattr(answer, "dtype") else answer
            submit(functools.partial(answered, name, shown, times, took, kept, error))
            return answer

        return call

    def _line(self, name: str, shown: Shown, times: Times, took: float) -> dict[str, Any]:
        """The call's own fields, numbered in the order of the file."""
        self._seq += 1
        args, kwargs = redact_arguments(name, *shown)  # JSON data already: scalars, or encoded by the caller
        return {
            "seq": self._seq,
            "function": name,
            "args": args,
            "kwargs": kwargs,
            "monotonic": times[0],
            "wall": times[1],
            "duration_ms": round(took * 1000, 3),
        }

    def _raised(self, name: str, shown: Shown, times: Times, took: float, why: str) -> dict[str, Any]:
        return {**self._line(name, shown, times, took), "raised": why}

    def _answered(self, name: str, shown: Shown, times: Times, took: float, answer: Any, error: Any) -> dict[str, Any]:
        """The call's line: the answer whole, or by reference to the one the same call got last in this
        part of the file, with the fields that changed since."""
        line = self._line(name, shown, times, took)
        key = _key(name, line["args"], line["kwargs"])
        part, seq = self._trace.part, line["seq"]
        seen = self._answers.pop(key, None)
        self._answers[key] = (part, answer, error, seq)
        if len(self._answers) > REMEMBERED:
            del self._answers[next(iter(self._answers))]  # the least recently answered
        if seen is not None and seen[0] == part and seen[2] == error and type(seen[1]) is type(answer):
            if seen[1] == answer:
                return {**line, "same_as": seen[3]}
            changed = _changed(seen[1], answer)
            if changed is not None:
                return {**line, "same_as": seen[3], "except": redact_answer(name, changed)}
        return {**line, "answer": redact_answer(name, encode(answer)), "last_error": encode(error)}


def _scalars(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Every argument a scalar (a symbol, a ticket, a count), which the caller cannot change later."""
    return all(type(v) in SCALARS for v in args) and all(type(v) in SCALARS for v in kwargs.values())


def _key(name: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The call and its arguments as a key: the arguments themselves when they are scalars, else their text."""
    key = (name, *args, None, *kwargs.items())
    try:
        hash(key)
    except TypeError:  # a request dict
        return (name, repr(args), repr(kwargs))
    return key


def _changed(before: Any, after: Any) -> dict[str, Any] | None:
    """The fields of a record that changed, encoded; None when most did (the whole answer is shorter)."""
    fields = getattr(after, "_fields", None)
    if fields is None:
        return None
    changed = {k: encode(new) for k, old, new in zip(fields, before, after, strict=True) if old != new}
    return changed if 2 * len(changed) < len(fields) else None


def recording(module: Any, path: Path | None) -> tuple[Any, TraceFile | None]:
    """The module to hand the adapter, and the trace file to close at the end (None: not recording)."""
    if path is None:
        return module, None
    trace = TraceFile(path)
    recorded = RecordingModule(module, trace)
    trace.open()
    return recorded, trace
