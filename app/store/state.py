"""Each execution's stored rows, sealed into the audit trail they are written with.

Every write of an execution puts the state of the rows it writes (its log row; its request at
creation; each new fill) into the payload of one of its audit events, so that the state is hashed and
signed with the chain. `verify` reads the rows as they stand, computes their state again and compares
it with the latest one the trail signed: an edited column, a deleted or added fill, a replaced request
are named, down to the column.

A state is "digest:tags": the SHA-256 of every column's value, then four hex digits per column (a CRC
of that column alone, in column-name order). The digest is what is proven; the tags only say which
column differs, at no more cost than a CRC per column on the writer's thread.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from app.domain.jsontext import plain
from app.store.tables import execution_fills, execution_logs, execution_requests

RECORD = "record"  # the payload key the states go under
LOG, REQUEST, FILLS = "execution_logs", "execution_requests", "execution_fills"
# A fill's id is the database's, given after the write: the fill is known by its deal.
_SKIPPED = {"fill_id"}


def _columns(table: Table) -> list[str]:
    return sorted(c.name for c in table.c if c.name not in _SKIPPED)


COLUMNS = {LOG: _columns(execution_logs), REQUEST: _columns(execution_requests), FILLS: _columns(execution_fills)}


def _text(value: Any) -> str:
    """One spelling per value, whatever the backend gives back (1.20000 and 1.2; -0 and 0; any zone)."""
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if hasattr(value, "value"):  # enums
        return repr(value.value)
    return repr(value)  # repr escapes separators and newlines: no two rows share a spelling


def _items(kind: str, row: Mapping[str, Any]) -> list[str]:
    return [f"{name}={_text(row[name])}" for name in COLUMNS[kind]]


def seal(kind: str, row: Mapping[str, Any]) -> str:
    items = _items(kind, row)
    digest = hashlib.sha256("\x1f".join(items).encode()).hexdigest()
    return digest + ":" + "".join(f"{zlib.crc32(item.encode()) & 0xFFFF:04x}" for item in items)


def differences(kind: str, row: Mapping[str, Any], sealed: str) -> list[str] | None:
    """None when the row is as sealed; else the columns that differ (all of them named, or `?` when
    the tags cannot tell which: the digest alone differs, or the seal is not one this release wrote)."""
    now = seal(kind, row)
    if now == sealed:
        return None
    tags, then = now.partition(":")[2], sealed.partition(":")[2]
    if len(tags) != len(then):
        return ["?"]
    named = [name for i, name in enumerate(COLUMNS[kind]) if tags[4 * i : 4 * i + 4] != then[4 * i : 4 * i + 4]]
    return named or ["?"]
