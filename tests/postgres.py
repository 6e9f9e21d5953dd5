"""The PostgreSQL test database: real, at 127.0.0.1:5432, or the tests that need it are skipped with the reason."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

ADMIN_URL = os.environ.get("EXEC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def postgres_url() -> Iterator[str]:
    """A fresh schema on the test server for one test, dropped afterwards."""
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # no server here: skip, saying why
        pytest.skip(f"PostgreSQL not reachable at {ADMIN_URL}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in ADMIN_URL else "?"
    try:
        yield f"{ADMIN_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
