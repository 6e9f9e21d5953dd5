"""Date ranges as users type them (CLI export, GET /audit_trail): one reading, so both agree on a range.

An ISO date or date-time; a naive value is UTC. A bare end date is inclusive: it covers that whole day,
so the range it ends is `< the next midnight`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta


def parse_start(value: str) -> datetime:
    """The first instant of a range; ValueError says what is wrong with the text."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date (YYYY-MM-DD) or date-time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range") from None


def _is_bare_date(value: str) -> bool:
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def parse_end(value: str) -> datetime:
    """The exclusive end of a range: a bare date means the midnight after it."""
    parsed = parse_start(value)
    if not _is_bare_date(value):
        return parsed
    try:
        return parsed + timedelta(days=1)
    except OverflowError:  # 9999-12-31: there is no next midnight, and nothing lies beyond it either
        return datetime.max.replace(tzinfo=UTC)
