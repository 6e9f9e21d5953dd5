"""Logs for the desk's log pipeline: JSON lines, rotated, in the data dir.

Each line carries the execution id of the execution it was written for (a context variable set by
the engine), so one execution's story can be pulled out of the logs as easily as out of the audit trail.

A warning or error said again and again (a socket's accept failing on every attempt, a flood of bad
requests) is written once per interval, the next line counting the ones left out: 274,000 lines of one
error in a minute had rotated every earlier line out of the log.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from app.domain.execution import current_execution

LOG_FILE = "engine.log"
REPEAT_INTERVAL_S = 10.0
_VERDICT = "_said_once_verdict"  # the filter's decision, kept on the record for every handler
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", _VERDICT}


class SayOnce(logging.Filter):
    """Lets a warning or error through once per `interval_s` for the same logger and text; the next one
    let through carries `repeated`: how many were left out. One instance serves every handler, so that
    the file and stderr agree."""

    def __init__(self, interval_s: float = REPEAT_INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.clock = clock
        self._said: dict[tuple[str, int, str], tuple[float, int]] = {}  # → (when let through, left out since)
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        verdict = record.__dict__.get(_VERDICT)
        if verdict is None:
            verdict = self._decide(record)
            record.__dict__[_VERDICT] = verdict
        return bool(verdict)

    def _decide(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, record.getMessage())
        now = self.clock()
        with self._lock:
            said = self._said.get(key)
            if said is not None and now - said[0] < self.interval_s:
                self._said[key] = (said[0], said[1] + 1)
                return False
            if said is not None and said[1]:
                record.repeated = said[1]
            if len(self._said) > 1000:  # forget what was said long enough ago; the text varies without end
                self._said = {k: v for k, v in self._said.items() if now - v[0] < self.interval_s}
            self._said[key] = (now, 0)
            return True


_say_once = SayOnce()


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            "execution_id": getattr(record, "execution_id", None) or current_execution.get(),
        }
        line.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD and k != "execution_id"})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def log_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


def configure_logging(data_dir: Path, *, level: int = logging.INFO) -> Path:
    """Add JSON lines to <data_dir>/logs/engine.log (10 MB × 10 files); what went to stderr still does."""
    folder = log_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_exec_console", False):  # configured before (tests, a restart in-process)
            root.removeHandler(handler)
            handler.close()
            continue
        if handler.level == logging.NOTSET:
            handler.setLevel(root.level)  # stderr keeps its level when the root opens up for the file
        handler.addFilter(_say_once)
    file_handler = logging.handlers.RotatingFileHandler(
        folder / LOG_FILE, maxBytes=10 * 1024 * 1024, backupCount=10, encoding="utf-8"
    )
    file_handler.setFormatter(JsonLines())
    file_handler.setLevel(level)
    file_handler.addFilter(_say_once)
    setattr(file_handler, "_exec_console", True)  # noqa: B010 - marks the handler this module owns
    root.addHandler(file_handler)
    root.setLevel(min(level, root.level))
    return folder / LOG_FILE
