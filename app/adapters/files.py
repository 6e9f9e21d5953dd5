"""Files that readers see whole or not at all, even across a crash; and files that are their owner's only."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)


def restrict_to_owner() -> None:
    """Whatever this process creates from now on is its owner's only (files 0600, directories 0700).

    Set once at the start of every command and the console, so that the store (and SQLite's -wal and
    -shm, which take the store's mode), the simulator's state, the logs, backups and exports are never
    readable by other local users, whatever umask the caller's shell has. Windows has no umask: there
    the data dir's ACL, which is the user's, does this."""
    if os.name == "posix":
        os.umask(0o077)


def keep_secret(path: Path) -> None:
    """A secret file (the API token, the audit key) found readable by others is made owner-only again.

    Tightened rather than refused: the owner would do just that, and refusing would stop the desk for
    a permission bit. Said in the log, because someone may have read it meanwhile."""
    if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        log.warning(
            "%s was readable by other users: permissions reset to 0600 (replace it if others may have read it)", path
        )


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the whole new one, never a part (temp file, fsync, rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A short fixed prefix: the final name may already be as long as the file system allows.
    fd, tmp = tempfile.mkstemp(prefix=".partial-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    if os.name == "posix":  # makes the rename itself durable; Windows cannot open a directory, nor needs to
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
