"""What app.engine.metrics computes its metrics and alerts from: per window, the counts, averages and timings
read from the store in one read transaction.

A window is named by the caller and given by its start (None: all time). Each window is its own set of
aggregate queries bounded by the start, so the recent windows read index ranges of recent rows, not the
whole table. An execution belongs to the windows its creation falls in; a network error to those its
audit event falls in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Column, Connection, Float, Select, case, cast, func, select

from app.domain.audit_events import AuditEventType
from app.domain.contracts import ExecutionStatus
from app.store.tables import audit_events, execution_logs

S = ExecutionStatus
L, A = execution_logs, audit_events
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])
LATENCY_SAMPLE = 10_000  # the latest final executions the percentiles are taken over


@dataclass(frozen=True)
class WindowCounts:
    by_status: dict[str, int]
    rejections_by_reason: dict[str, int]  # rejected or expired executions, by reason
    fills_with_slippage: int
    avg_slippage: float | None  # signed (+ is worse), over the executions with a slippage, unrounded
    avg_abs_slippage: float | None  # |slippage|: a poor fill either way counts
    avg_adverse_slippage: float | None  # max(slippage, 0): what the fills cost, improvements counted as none
    network_errors: int  # NETWORK_ERROR events
    executions_with_network_errors: int  # distinct executions among them
    latencies_ms: list[float]  # of the latest LATENCY_SAMPLE final executions, sorted


def _within(query: Q, at: Column[Any], since: datetime | None) -> Q:
    return query if since is None else query.where(at >= since)


def _window(conn: Connection, since: datetime | None, latest: list[tuple[datetime, datetime]]) -> WindowCounts:
    created = L.c.created_timestamp
    # Every status named, so that a window reads idx_status (status, created_timestamp) as one range per status.
    by_status = select(L.c.status, func.count()).where(L.c.status.in_([s.value for s in S])).group_by(L.c.status)
    reasons = (
        select(L.c.rejection_reason, func.count())
        .where(L.c.status.in_([S.REJECTED.value, S.EXPIRED.value]))
        .group_by(L.c.rejection_reason)
    )
    slip = cast(L.c.slippage_pips, Float)
    slippage = select(
        func.count(), func.avg(slip), func.avg(func.abs(slip)), func.avg(case((slip > 0, slip), else_=0.0))
    ).where(L.c.slippage_pips.is_not(None))
    network = select(func.count(), func.count(func.distinct(A.c.execution_id))).where(
        A.c.event_type == AuditEventType.NETWORK_ERROR.value
    )
    fills, avg, avg_abs, avg_adverse = conn.execute(_within(slippage, created, since)).one()
    errors, erring = conn.execute(_within(network, A.c.event_timestamp, since)).one()
    return WindowCounts(
        by_status={s: n for s, n in conn.execute(_within(by_status, created, since))},
        rejections_by_reason={r: n for r, n in conn.execute(_within(reasons, created, since))},
        fills_with_slippage=fills,
        avg_slippage=avg,
        avg_abs_slippage=avg_abs,
        avg_adverse_slippage=avg_adverse,
        network_errors=errors,
        executions_with_network_errors=erring,
        latencies_ms=sorted(
            (end - begin).total_seconds() * 1000 for begin, end in latest if since is None or begin >= since
        ),
    )


def metric_counts(conn: Connection, since: Mapping[str, datetime | None]) -> dict[str, WindowCounts]:
    """The counts of each window, by the window's name; `since` gives each window's start (None: all time)."""
    latest = conn.execute(
        select(L.c.created_timestamp, L.c.last_update_timestamp)
        .where(L.c.status.not_in([S.PENDING.value, S.SUBMITTED.value]))
        .order_by(L.c.created_timestamp.desc())
        .limit(LATENCY_SAMPLE)
    ).all()
    rows = [(begin, end) for begin, end in latest]
    return {name: _window(conn, start, rows) for name, start in since.items()}
