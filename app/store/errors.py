"""What the database raises, under the store's names, so that callers outside app.store need not
import SQLAlchemy to catch it or to say what went wrong."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

# The database driver's failure (cannot connect, refused, lost, ...), as raised from the store's calls.
DatabaseError = DBAPIError


def first_line(exc: DatabaseError) -> str:
    """The driver's own message, its first line (without SQLAlchemy's statement and link)."""
    return str(exc.orig or exc).splitlines()[0]
