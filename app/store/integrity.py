"""`verify`: the audit chain intact, and every execution present in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import exists, func, select

from app.audit import GENESIS, AuditEvent
from app.store.repository import ExecutionStore, iter_audit_chain
from app.store.tables import audit_events, execution_logs


@dataclass
class IntegrityReport:
    events: int = 0
    executions: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)


def verify_store(store: ExecutionStore) -> IntegrityReport:
    """Walk the whole chain once (streamed) and name every broken record, the first one first."""
    report = IntegrityReport()
    with store.db.reader.connect() as conn:

        def tracked() -> Iterator[AuditEvent]:
            for ev in iter_audit_chain(conn):
                report.events += 1
                report.head = ev.hash
                yield ev

        report.problems.extend(store.signer.verify(tracked()))
        report.executions = conn.execute(select(func.count()).select_from(execution_logs)).scalar_one()
        # An execution without a single audit event means events were taken out of the trail.
        orphan = conn.execute(
            select(execution_logs.c.execution_id)
            .where(~exists().where(audit_events.c.execution_id == execution_logs.c.execution_id))
            .limit(1)
        ).first()
        if orphan is not None:
            report.problems.append(f"execution {orphan.execution_id}: has no event in the audit trail")
    return report
