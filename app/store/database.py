"""Connections and schema: SQLite (WAL, full synchronous commits) or PostgreSQL, behind one face.

Every difference between the two backends lives here: pragmas and how a write transaction takes its
lock. The schema is the migrations' (app.store.migrate opens a store at this release's schema).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# One number for the advisory lock that serialises writers on PostgreSQL (audit chain order) and
# schema upgrades (one process migrates; the others then find the store upgraded).
_PG_WRITE_LOCK = 0x45584543  # "EXEC"


@dataclass
class Database:
    """A writer engine (one connection, exclusive write transactions) and a reader engine."""

    url: str
    writer: Engine
    reader: Engine

    @property
    def backend(self) -> str:
        return self.writer.dialect.name

    @property
    def sqlite_path(self) -> Path | None:
        if self.backend != "sqlite":
            return None
        database = make_url(self.url).database
        return Path(database) if database else None

    @contextmanager
    def write_transaction(self) -> Iterator[Connection]:
        """A transaction that holds the store's write lock from its first statement."""
        with self.writer.connect() as conn, conn.begin():
            if self.backend == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_WRITE_LOCK})
            yield conn

    def describe(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.writer.dispose()
        self.reader.dispose()


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module so BEGIN IMMEDIATE is ours to say.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # a commit is on disk before it returns
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def store_url(url: str) -> URL:
    """The store's URL, checked: an SQLite file or a PostgreSQL database (ValueError otherwise)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError(
            f"{url!r} is not a database URL (sqlite:///path/executions.db or postgresql+psycopg://…)"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        raise ValueError("the SQLite store must be a file (sqlite:///path/to/executions.db)")
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: use sqlite or postgresql"
        )
    return parsed


def connect(url: str) -> Database:
    """The store's engines, its schema untouched (app.store.migrate.open_database upgrades it)."""
    parsed = store_url(url)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        return Database(url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    writer = create_engine(url, pool_size=2, pool_pre_ping=True)
    reader = create_engine(url, pool_size=5, pool_pre_ping=True)
    return Database(url, writer, reader)
