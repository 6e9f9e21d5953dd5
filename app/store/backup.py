"""`backup`: a consistent copy of a live SQLite store, through SQLite's online backup API.

A file copy of a WAL database in use can miss committed pages or catch a half-written one; the
backup API copies a consistent snapshot while the engine keeps writing. PostgreSQL desks rely on the
server's own replication and pg_dump instead.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


def backup_sqlite(url: str, out: Path) -> int:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        raise ValueError("backup copies SQLite stores; for PostgreSQL use the server's replication and pg_dump")
    source_path = Path(parsed.database)
    if not source_path.exists():
        raise ValueError(f"no SQLite store at {source_path}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # a copy of the store is its owner's only
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(tmp)
    try:
        source.backup(target, pages=1024)
        pages = target.execute("PRAGMA page_count").fetchone()[0]
        target.execute("PRAGMA journal_mode=DELETE")  # a self-contained single file
    finally:
        target.close()
        source.close()
    tmp.replace(out)
    return int(pages)
