"""Logs for the desk's log pipeline: JSON lines, rotated, in the data dir.

Each line carries the execution id of the execution it was written for (a context variable set by
the engine), so one execution's story can be pulled out of the logs as easily as out of the audit trail.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path

current_execution: ContextVar[str | None] = ContextVar("current_execution", default=None)

LOG_FILE = "engine.log"
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


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
        elif handler.level == logging.NOTSET:
            handler.setLevel(root.level)  # stderr keeps its level when the root opens up for the file
    file_handler = logging.handlers.RotatingFileHandler(
        folder / LOG_FILE, maxBytes=10 * 1024 * 1024, backupCount=10, encoding="utf-8"
    )
    file_handler.setFormatter(JsonLines())
    file_handler.setLevel(level)
    setattr(file_handler, "_exec_console", True)  # noqa: B010 - marks the handler this module owns
    root.addHandler(file_handler)
    root.setLevel(min(level, root.level))
    return folder / LOG_FILE
