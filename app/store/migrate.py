"""The store's schema version: every store is brought to this release's schema when it is opened.

The schema's history is a line of Alembic revisions (app/store/migrations/versions). A new store is
made by running them all; an older one is upgraded, one process at a time (under the store's write
lock), an SQLite store copied beside itself first. Stores of the releases made before there were
revisions have no alembic_version table: they are recognised by their tables and stamped at the
revision that matches what they have, then upgraded like any other. A store at a revision this
program does not know was written by a later release: it is refused, never opened.
"""

from __future__ import annotations

import functools
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text

from app.store.backup import backup_sqlite
from app.store.database import Database, connect, store_url

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# What every release before revisions created, all in one transaction (so a store has all or none).
RELEASE_TABLES = frozenset({"execution_requests", "execution_logs", "execution_fills", "intake_errors", "audit_events"})
RELEASE_0_1_0 = "0001"  # release 0.1.0's schema
WIDER_NUMBERS = "0002"  # the release after it (46062cf): the same, its PostgreSQL numbers wider


class StoreTooNew(ValueError):
    """The store was written by a later release than this program."""


class NotAStore(ValueError):
    """What the URL names is not a store this program can open (missing, or only some of its tables)."""


@dataclass(frozen=True)
class Schema:
    """Where a store stands: the revision it records, or, for a store of a release before revisions
    were recorded, the one its tables match; neither for an empty database."""

    where: str
    recorded: str | None
    matches: str | None
    head: str

    @property
    def revision(self) -> str | None:
        return self.recorded or self.matches

    @property
    def label(self) -> str:
        return self.recorded or f"unversioned (a release before schema revisions; matches {self.matches})"


@dataclass(frozen=True)
class Upgrade:
    before: Schema
    backup: Path | None

    @property
    def changed(self) -> bool:
        return self.before.recorded != self.before.head


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection  # env.py migrates on it, in its transaction
    return config


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    revision = _scripts().get_current_head()
    assert revision is not None, f"no revisions in {MIGRATIONS}"
    return revision


def _schema(conn: Connection, where: str) -> Schema:
    tables = set(inspect(conn).get_table_names())
    recorded: str | None = None
    if "alembic_version" in tables:
        heads = MigrationContext.configure(conn).get_current_heads()
        known = {script.revision for script in _scripts().walk_revisions()}
        for revision in heads:
            if revision not in known:
                raise StoreTooNew(
                    f"{where} is at schema revision {revision}, which this program does not know (it knows up to"
                    f" {head()}): it was written by a later release; run that release or a newer one (not opened)"
                )
        recorded = heads[0] if heads else None  # one line of history: never more than one head
    matches = None
    if recorded is None and tables & RELEASE_TABLES:
        if missing := RELEASE_TABLES - tables:
            raise NotAStore(f"{where} has some of the store's tables but not {', '.join(sorted(missing))} (not opened)")
        matches = _release_revision(conn)
    return Schema(where, recorded, matches, head())


def _release_revision(conn: Connection) -> str:
    """The revision an unversioned store matches. Release 0.1.0 made its PostgreSQL numbers narrower
    (units NUMERIC(20, 2)); the next release made them wider, and widened a 0.1.0 store's all at once
    when it opened one, so one column tells. Their SQLite stores are the same: text of any length."""
    if conn.dialect.name != "postgresql":
        return WIDER_NUMBERS
    precision = conn.execute(
        text(
            "SELECT numeric_precision FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = 'execution_logs' AND column_name = 'intended_units'"
        )
    ).scalar()
    return RELEASE_0_1_0 if precision == 20 else WIDER_NUMBERS


def upgrade_store(db: Database) -> Upgrade:
    """Bring the store to this release's head. Under the store's write lock (SQLite's BEGIN IMMEDIATE,
    PostgreSQL's advisory lock) in one transaction: two processes opening it at once do not both
    migrate, and a failed upgrade leaves the store as it was."""
    with db.write_transaction() as conn:
        before = _schema(conn, db.describe())
        if before.recorded == before.head:
            return Upgrade(before, None)
        backup = None
        if db.sqlite_path is not None and before.revision is not None:
            # The store as it was, beside it: what the user goes back to should they need the release before.
            backup = db.sqlite_path.with_name(f"{db.sqlite_path.name}.pre-{before.head}.bak")
            backup_sqlite(db.url, backup)
        config = _config(conn)
        if before.matches is not None:
            command.stamp(config, before.matches)
        command.upgrade(config, "head")
    return Upgrade(before, backup)


def open_database(url: str) -> Database:
    """The store at `url`, at this release's schema (created or upgraded first). A store newer than this
    program is refused (StoreTooNew, a ValueError), never opened."""
    db = connect(url)
    try:
        upgrade = upgrade_store(db)
    except BaseException:
        db.dispose()
        raise
    before = upgrade.before
    if upgrade.changed and before.revision is not None:
        log.warning(
            "upgraded the store %s from schema %s to %s%s",
            before.where,
            before.label,
            before.head,
            f"; the store as it was is in {upgrade.backup}" if upgrade.backup else "",
        )
    return db


ReadOnlyStore = tuple[Engine, Schema]  # open_read_only's: an engine that only reads, and where the store stands


def open_read_only(url: str) -> ReadOnlyStore:
    """An engine that can only read the store at `url`, and where the store stands; nothing is created
    or changed (NotAStore when there is no store there)."""
    parsed = store_url(url)
    where = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        assert parsed.database is not None
        path = Path(parsed.database).resolve()
        if not path.is_file():
            raise NotAStore(f"no store at {where} (nothing was created)")
        uri = f"{path.as_uri()}?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False))
    else:
        engine = create_engine(parsed)

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            # per session, not in the URL's options, which may carry the user's own (a search_path)
            with dbapi_conn.cursor() as cur:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            dbapi_conn.commit()

    try:
        with engine.connect() as conn:
            schema = _schema(conn, where)
        if schema.revision is None:
            raise NotAStore(f"no store at {where} (nothing was created)")
    except BaseException:
        engine.dispose()
        raise
    return engine, schema


def read_schema(url: str) -> Schema:
    """Where the store at `url` stands, read without creating or changing anything."""
    engine, schema = open_read_only(url)
    engine.dispose()
    return schema
