"""A start that fails on a setting says so in one line naming the setting and what to do.

The CLI prints that line and exits 2; the console shows it in a dialog offering to correct the setting.
Anything else that fails a start is the caller's to report as it sees fit (never as a traceback).
"""

from __future__ import annotations

import errno
import tempfile
from pathlib import Path

from app.host.logs import log_dir
from app.host.settings import Settings
from app.store.database import store_url
from app.store.errors import DatabaseError, first_line

DATA_DIR = "--data-dir"
DB = "--db"
PORT = "--port"
BROKER_TRACE = "--record-broker-trace"


class SettingProblem(Exception):
    """One setting (`setting`, its flag) cannot be used; str() is the line to show."""

    def __init__(self, setting: str, line: str) -> None:
        super().__init__(line)
        self.setting = setting


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data dir and its logs folder and check files can be written there."""
    try:
        log_dir(data_dir).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        raise _data_dir_problem(data_dir, exc) from exc


def _data_dir_problem(data_dir: Path, exc: OSError) -> SettingProblem:
    why = exc.strerror or str(exc)
    return SettingProblem(
        DATA_DIR,
        f"--data-dir {data_dir}: cannot be used as the data dir ({why}); "
        "choose another with --data-dir or EXEC_DATA_DIR",
    )


def explain(exc: BaseException, settings: Settings) -> SettingProblem | None:
    """The setting `exc` comes from, as one line; None when it comes from none of them."""
    if isinstance(exc, SettingProblem):
        return exc
    if isinstance(exc, ValueError):
        try:
            store_url(settings.database_url)
        except ValueError as bad:
            return SettingProblem(DB, f"--db: {bad}; correct it or drop --db (and EXEC_DB_URL) for the default store")
        return None
    if isinstance(exc, DatabaseError):
        where = store_url(settings.database_url).render_as_string(hide_password=True)
        first = first_line(exc)
        return SettingProblem(
            DB, f"--db {where}: cannot be opened ({first}); check it, or choose another store with --db"
        )
    if isinstance(exc, OSError):
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else exc
        if cause.errno == errno.EADDRINUSE:
            return SettingProblem(
                PORT,
                f"--port {settings.port}: already in use (another console or `execution-engine serve`?); "
                "choose another with --port N, or --port 0 for any free one",
            )
        trace = settings.broker_trace
        if exc.filename is not None and trace is not None and _within(trace, Path(str(exc.filename))):
            return SettingProblem(
                BROKER_TRACE,
                f"{BROKER_TRACE} {trace}: cannot be written ({exc.strerror or exc}); name a file in a folder"
                " you can write, or drop the flag (and EXEC_BROKER_TRACE)",
            )
        if exc.filename is not None and _within(Path(str(exc.filename)), settings.data_dir):
            return _data_dir_problem(settings.data_dir, exc)
    return None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
