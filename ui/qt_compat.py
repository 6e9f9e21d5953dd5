"""A guard against PySide6 6.12.0's lost reference to True.

In PySide6 6.12.0, `SignalInstance.emit()` (and `disconnect()`) return True without taking a
reference to it. On Python < 3.12, where True is an ordinary reference-counted object, every emit
leaves its count one lower, and after a few hundred emits — the bridge's, qasync's own
call_soon_threadsafe, pyqtgraph's — the interpreter aborts with "Fatal Python error: bool_dealloc".
6.11 and later fixed releases do not have the bug; pyproject.toml excludes 6.12.0.

Where the bug is present (detected, not assumed by version), True, False and None get a reference
count no program can exhaust — what Python 3.12 does for them anyway (immortal objects).
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)
_HEADROOM = 1 << 40  # a trillion lost references before anything could go wrong


class _Probe(QObject):
    ping = Signal()


def emit_loses_references() -> bool:
    """True when emitting a signal lowers True's reference count (the 6.12.0 bug)."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # immortal singletons: nothing to lose
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) < before


def guard_singletons() -> bool:
    """Apply the guard where needed; True when it was applied."""
    if not emit_loses_references():
        return False
    for singleton in (True, False, None):
        # ob_refcnt is the first field of every CPython object.
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    log.warning("PySide6 %s loses a reference to True on every signal emit: guarded", _pyside_version())
    return True


def _pyside_version() -> str:
    import PySide6

    return str(PySide6.__version__)


GUARDED = guard_singletons()
