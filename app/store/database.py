"""Connections and schema: SQLite (WAL, full synchronous commits) or PostgreSQL, behind one face.

Every difference between the two backends lives here: pragmas, how a write transaction takes its
lock, and the triggers that make the audit table append-only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from app.store.tables import ExactDecimal, metadata

log = logging.getLogger(__name__)

# One number for the advisory lock that serialises writers on PostgreSQL (audit chain order).
_PG_WRITE_LOCK = 0x45584543  # "EXEC"

_SQLITE_TRIGGERS = [
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END""",
]
_PG_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$""",
    "DROP TRIGGER IF EXISTS audit_events_no_update ON audit_events",
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
       FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]


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


def open_database(url: str) -> Database:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("the SQLite store must be a file (sqlite:///path/to/executions.db)")
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        db = Database(url, _sqlite_engine(url, immediate=True), _sqlite_engine(url, immediate=False))
    elif parsed.get_backend_name() == "postgresql":
        writer = create_engine(url, pool_size=2, pool_pre_ping=True)
        reader = create_engine(url, pool_size=5, pool_pre_ping=True)
        db = Database(url, writer, reader)
    else:
        raise ValueError(
            f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: use sqlite or postgresql"
        )
    _create_schema(db)
    return db


def _create_schema(db: Database) -> None:
    with db.write_transaction() as conn:
        metadata.create_all(conn)
        if db.backend == "postgresql":
            _widen_exact_numbers(conn)
        for statement in _SQLITE_TRIGGERS if db.backend == "sqlite" else _PG_TRIGGERS:
            conn.exec_driver_sql(statement)


def _widened(have: tuple[int | None, int | None], want: tuple[int | None, int | None]) -> bool:
    """Is `want` a NUMERIC that holds every value `have` holds, and more?"""
    if have == want or have == (None, None):
        return False
    if want == (None, None):
        return True
    (p0, s0), (p1, s1) = have, want
    assert p0 is not None and s0 is not None and p1 is not None and s1 is not None
    return s1 >= s0 and p1 - s1 >= p0 - s0


def _widen_exact_numbers(conn: Connection) -> None:
    """A store made by an earlier version keeps its NUMERIC columns as they were created (create_all
    adds what is missing, never alters): those narrower than the schema's now are widened, which
    keeps every value. Nothing is ever narrowed."""
    have = {
        (table, column): (precision, scale)
        for table, column, precision, scale in conn.execute(
            text(
                "SELECT table_name, column_name, numeric_precision, numeric_scale FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND data_type = 'numeric'"
            )
        )
    }
    for table in metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, ExactDecimal) or (table.name, column.name) not in have:
                continue
            want = (column.type.precision, column.type.scale)
            if _widened(have[(table.name, column.name)], want):
                numeric = "numeric" if want == (None, None) else f"numeric({want[0]}, {want[1]})"
                log.warning("widening %s.%s to %s", table.name, column.name, numeric)
                conn.exec_driver_sql(f'ALTER TABLE {table.name} ALTER COLUMN "{column.name}" TYPE {numeric}')
