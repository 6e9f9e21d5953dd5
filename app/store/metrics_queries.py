"""What app.engine.metrics computes its metrics and alerts from: per window, the counts, averages and timings
read from the store in one read transaction.

A window is named by the caller and given by its start (None: all time). Each figure is one conditional
aggregate per window, so a query scans its table once whatever the number of windows. An execution belongs
to the windows its creation falls in; a network error to those its audit event falls in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, Float, case, cast, func, select

from app.domain.audit_events import AuditEventType
from app.domain.contracts import ExecutionStatus
from app.store.tables import audit_events, execution_logs

S = ExecutionStatus
L, A = execution_logs, audit_events
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


def _count(at: Column[Any], since: datetime | None) -> ColumnElement[Any]:
    return func.count() if since is None else func.sum(case((at >= since, 1), else_=0))


def _when(at: Column[Any], since: datetime | None, value: ColumnElement[Any]) -> ColumnElement[Any]:
    return value if since is None else case((at >= since, value), else_=None)


def _by_status(conn: Connection, since: Mapping[str, datetime | None]) -> list[tuple[str, Any, list[int]]]:
    names = list(since)
    rows = conn.execute(
        select(L.c.status, L.c.rejection_reason, *(_count(L.c.created_timestamp, since[n]) for n in names)).group_by(
            L.c.status, L.c.rejection_reason
        )
    )
    return [(row[0], row[1], [int(n or 0) for n in row[2:]]) for row in rows]


def _slippage(conn: Connection, since: Mapping[str, datetime | None]) -> dict[str, tuple[Any, ...]]:
    """Per window: the fills with a slippage, and the averages of slippage, |slippage| and max(slippage, 0)."""
    slip = cast(L.c.slippage_pips, Float)
    measures = (slip, func.abs(slip), case((slip > 0, slip), else_=0.0))
    at = L.c.created_timestamp
    columns = []
    for n in since:
        columns += [_count(at, since[n]), *(func.avg(_when(at, since[n], m)) for m in measures)]
    row = conn.execute(select(*columns).where(L.c.slippage_pips.is_not(None))).one()
    return {n: (int(row[i * 4] or 0), *row[i * 4 + 1 : i * 4 + 4]) for i, n in enumerate(since)}


def _network(conn: Connection, since: Mapping[str, datetime | None]) -> dict[str, tuple[int, int]]:
    at = A.c.event_timestamp
    columns = []
    for n in since:
        columns += [_count(at, since[n]), func.count(func.distinct(_when(at, since[n], A.c.execution_id)))]
    row = conn.execute(select(*columns).where(A.c.event_type == AuditEventType.NETWORK_ERROR.value)).one()
    return {n: (int(row[i * 2] or 0), int(row[i * 2 + 1] or 0)) for i, n in enumerate(since)}


def metric_counts(conn: Connection, since: Mapping[str, datetime | None]) -> dict[str, WindowCounts]:
    """The counts of each window, by the window's name; `since` gives each window's start (None: all time)."""
    statuses = _by_status(conn, since)
    slippage = _slippage(conn, since)
    network = _network(conn, since)
    rows = conn.execute(
        select(L.c.created_timestamp, L.c.last_update_timestamp)
        .where(L.c.status.not_in([S.PENDING.value, S.SUBMITTED.value]))
        .order_by(L.c.created_timestamp.desc())
        .limit(LATENCY_SAMPLE)
    ).all()
    out: dict[str, WindowCounts] = {}
    for i, name in enumerate(since):
        by_status: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for status, reason, counts in statuses:
            if counts[i]:
                by_status[status] = by_status.get(status, 0) + counts[i]
                if status in (S.REJECTED.value, S.EXPIRED.value):
                    reasons[reason] = reasons.get(reason, 0) + counts[i]
        start = since[name]
        latencies = [(end - begin).total_seconds() * 1000 for begin, end in rows if start is None or begin >= start]
        fills, avg, avg_abs, avg_adverse = slippage[name]
        out[name] = WindowCounts(
            by_status=by_status,
            rejections_by_reason=reasons,
            fills_with_slippage=fills,
            avg_slippage=avg,
            avg_abs_slippage=avg_abs,
            avg_adverse_slippage=avg_adverse,
            network_errors=network[name][0],
            executions_with_network_errors=network[name][1],
            latencies_ms=sorted(latencies),
        )
    return out
