"""What app.engine.metrics computes its metrics and alerts from: the counts and timings read from the store,
in one read transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Float, cast, func, select

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.store.tables import audit_events, execution_logs

S, R = ExecutionStatus, RejectionReason
L = execution_logs
LATENCY_SAMPLE = 10_000  # the latest final executions the percentiles are taken over


@dataclass(frozen=True)
class MetricCounts:
    by_status: dict[str, int]
    rejections_by_reason: dict[str, int]  # rejected or expired executions, by reason
    avg_slippage: float | None  # over the executions with a slippage, unrounded
    network_errors: int
    recent_network_errors: int  # since `since_network`
    recent_rejections: int  # REJECTED since `since_hour`, RPM rejections excluded
    latencies_ms: list[float]  # of the latest LATENCY_SAMPLE final executions, sorted


def metric_counts(conn: Connection, since_hour: datetime, since_network: datetime) -> MetricCounts:
    by_status = {s: n for s, n in conn.execute(select(L.c.status, func.count()).group_by(L.c.status))}
    rejections_by_reason = {
        r: n
        for r, n in conn.execute(
            select(L.c.rejection_reason, func.count())
            .where(L.c.status.in_([S.REJECTED.value, S.EXPIRED.value]))
            .group_by(L.c.rejection_reason)
        )
    }
    avg = conn.execute(select(func.avg(cast(L.c.slippage_pips, Float))).where(L.c.slippage_pips.is_not(None))).scalar()
    network_errors = conn.execute(
        select(func.count()).select_from(audit_events).where(audit_events.c.event_type == "NETWORK_ERROR")
    ).scalar_one()
    recent_network = conn.execute(
        select(func.count())
        .select_from(audit_events)
        .where(audit_events.c.event_type == "NETWORK_ERROR", audit_events.c.event_timestamp >= since_network)
    ).scalar_one()
    recent_rejections = conn.execute(
        select(func.count())
        .select_from(L)
        .where(
            L.c.status == S.REJECTED.value,
            L.c.rejection_reason != R.RPM_REJECTED.value,
            L.c.created_timestamp >= since_hour,
        )
    ).scalar_one()
    rows = conn.execute(
        select(L.c.created_timestamp, L.c.last_update_timestamp)
        .where(L.c.status.not_in([S.PENDING.value, S.SUBMITTED.value]))
        .order_by(L.c.created_timestamp.desc())
        .limit(LATENCY_SAMPLE)
    ).all()
    return MetricCounts(
        by_status=by_status,
        rejections_by_reason=rejections_by_reason,
        avg_slippage=avg,
        network_errors=network_errors,
        recent_network_errors=recent_network,
        recent_rejections=recent_rejections,
        latencies_ms=sorted((end - start).total_seconds() * 1000 for start, end in rows),
    )
