"""Alembic's environment, built on the store's own tables (app.store.tables).

Stores are upgraded by app.store.migrate (at every start, and by `execution-engine db upgrade`), which
hands in its connection already holding the store's write lock and inside its transaction. The
`alembic` command line, for writing a revision (pyproject.toml's [tool.alembic]), connects to the
database given as `-x db=URL`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from app.store.tables import metadata


def run(connection: Connection) -> None:
    # render_as_batch: SQLite alters a table by copying it, which Alembic's batch mode does for us.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    url = context.get_x_argument(as_dictionary=True).get("db")
    if not url:
        raise SystemExit("alembic: name a scratch store with -x db=URL (see README, Upgrading)")
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            run(connection)
    finally:
        engine.dispose()
