"""The execution store: what the engine, the API and the console ask of the database.

Writes go through the group-commit writer; reads run on a small thread pool against the reader
engine, so neither ever blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO, TypeVar

from sqlalchemy import Connection, Select, bindparam, func, insert, select, text, union, update
from sqlalchemy.exc import IntegrityError

from app.adapters.broker.types import Fill
from app.domain.audit import AuditEvent, AuditSigner
from app.domain.audit_events import AuditEventType
from app.domain.contracts import ExecutionStatus, FieldError
from app.domain.execution import Execution, utcnow
from app.domain.tca import MarkoutJob, Tca
from app.store import state
from app.store.checkpoints import CheckpointLog
from app.store.database import Database
from app.store.metrics_queries import WindowCounts, metric_counts
from app.store.migrate import open_database
from app.store.tables import (
    audit_events,
    execution_fills,
    execution_logs,
    execution_requests,
    intake_errors,
    store_identity,
)
from app.store.tca import pending_markouts, read_tca, record_markout, write_tca
from app.store.tca_aggregates import GroupBy, TcaGroup, tca_groups
from app.store.writer import GroupCommitWriter, WriteBatch

T = TypeVar("T")
_IN_CHUNK = 500  # ids per IN (...) list: well under every backend's limit on bound parameters
Events = Sequence[tuple[AuditEventType, dict[str, Any]]]


class DuplicateOrder(Exception):
    """The RPM order_id already has an execution: the caller gets that one, nothing is sent."""

    def __init__(self, existing: Execution) -> None:
        super().__init__(f"order_id {existing.rpm_decision_id} already executed as {existing.execution_id}")
        self.existing = existing


@dataclass(frozen=True)
class StoredFill:
    broker_order_id: str
    deal_id: str
    lots: Decimal
    units: Decimal
    price: Decimal
    fill_timestamp: datetime


# Built once: the hot path reuses these statements instead of building them (35 SET clauses) per call.
_INSERT_REQUEST = insert(execution_requests)
_INSERT_LOG = insert(execution_logs)
_INSERT_FILL = insert(execution_fills)
_UPDATE_LOG = (
    update(execution_logs)
    .where(execution_logs.c.execution_id == bindparam("key_execution_id"))
    .values({c.name: bindparam(c.name) for c in execution_logs.c if c.name != "execution_id"})
)


def _audit_event(row: Any) -> AuditEvent:
    return AuditEvent(**dict(row._mapping))


def _claim(db: Database, signer: AuditSigner) -> None:
    """Record the key's fingerprint in a store that has none; refuse a store that records another."""
    with db.write_transaction() as conn:
        recorded = conn.execute(select(store_identity.c.key_fingerprint)).scalar()
        if recorded is None:
            conn.execute(
                insert(store_identity).values(id=1, key_fingerprint=signer.fingerprint, recorded_timestamp=utcnow())
            )
        elif recorded != signer.fingerprint:
            raise ValueError(
                f"{db.describe()} is signed by the audit key with fingerprint {recorded}; the key given has"
                f" fingerprint {signer.fingerprint} (not opened: its events would not verify)"
            )


def _audit_sealed(batch: WriteBatch, execution_id: str, events: Events, record: dict[str, Any]) -> None:
    """The events of one write of an execution, the last carrying the state of the rows written
    (app.store.state); a write without events gets one of its own, so that no write goes unsealed."""
    *earlier, (last_type, last_data) = events or [(AuditEventType.RECORDED, {})]
    for event_type, data in earlier:
        batch.audit(event_type, execution_id, data)
    batch.audit(last_type, execution_id, {**last_data, state.RECORD: record})


class ExecutionStore:
    def __init__(self, db: Database, signer: AuditSigner, checkpoints: CheckpointLog | None = None) -> None:
        self.db = db
        self.signer = signer
        self._checkpoints = checkpoints
        self.writer = GroupCommitWriter(db, signer, checkpoints=checkpoints)
        self._readers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="store-read")

    @classmethod
    def open(cls, url: str, audit_key: bytes, data_dir: Path | None = None) -> ExecutionStore:
        """The store, at this release's schema, signed with `audit_key` (refused, ValueError, when the store
        records another key's fingerprint); with `data_dir`, the chain's head checkpointed there."""
        signer = AuditSigner(audit_key)
        db = open_database(url)
        try:
            _claim(db, signer)
        except BaseException:
            db.dispose()
            raise
        store = cls(db, signer, CheckpointLog(data_dir, signer) if data_dir is not None else None)
        store.writer.start()
        return store

    def close(self) -> None:
        self.writer.stop()
        if self._checkpoints is not None:
            self._checkpoints.close()
        self._readers.shutdown(wait=True)
        self.db.dispose()

    async def read(self, query: Callable[[Connection], T]) -> T:
        def run() -> T:
            with self.db.reader.connect() as conn:
                return query(conn)

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    async def ping(self) -> None:
        """A round trip to the database (SELECT 1): raises whatever the database raises when it cannot answer."""
        await self.read(lambda conn: conn.execute(text("SELECT 1")).scalar())

    async def metric_counts(self, since: Mapping[str, datetime | None]) -> dict[str, WindowCounts]:
        """What app.engine.metrics computes from, per window, read in one transaction (app.store.metrics_queries)."""
        return await self.read(lambda conn: metric_counts(conn, since))

    # ---- streamed reads, on the calling thread, in one read transaction of their own ----------

    def write_export_csv(self, out: TextIO, start: datetime, end: datetime) -> int:
        """The audit export CSV of executions created in [start, end) (app.store.export.write_csv)."""
        from app.store.export import write_csv  # app.store.export uses this module's filters

        with self.db.reader.connect() as conn:
            return write_csv(conn, out, start, end)

    @contextmanager
    def audit_trail(self, start: datetime, end: datetime) -> Iterator[AuditTrailRows]:
        """The executions of [start, end) as the export's CSV cells and the audit events of the range,
        both streamed (read them in that order) from one read transaction, open while in the block."""
        from app.store.export import export_query, iter_rows  # app.store.export uses this module's filters

        with self.db.reader.connect() as conn:
            yield AuditTrailRows(records=iter_rows(conn, export_query(start, end)), events=_events(conn, start, end))

    # ---- writes -----------------------------------------------------------------------------
    async def create_execution(self, request: dict[str, Any], execution: Execution, events: Events) -> Execution:
        """Steps 2 and 3 in one durable commit: the request, the log and their audit events.

        Raises DuplicateOrder when the RPM order_id was taken first (by this or another engine)."""

        def op(batch: WriteBatch) -> None:
            row = execution.to_row()
            batch.add(_INSERT_REQUEST, request)
            batch.add(_INSERT_LOG, row)
            record = {state.LOG: state.seal(state.LOG, row), state.REQUEST: state.seal(state.REQUEST, request)}
            _audit_sealed(batch, execution.execution_id, events, record)

        try:
            await self.writer.write(op)
        except IntegrityError as exc:
            existing = await self.get_by_rpm_order(execution.rpm_decision_id)
            if existing is None:
                raise
            raise DuplicateOrder(existing) from exc
        return execution

    async def save(
        self,
        execution: Execution,
        events: Events,
        fills: Sequence[tuple[str, Fill, Decimal]] = (),
        tca: tuple[Tca, Decimal] | None = None,
    ) -> None:
        """Update the log, add new fills (order id, fill, units), the TCA's arrival figures (with the
        symbol's pip) and audit events, durably."""
        execution.last_update_timestamp = utcnow()
        row = execution.to_row()
        row["key_execution_id"] = row.pop("execution_id")

        fill_rows = [
            {
                "execution_id": execution.execution_id,
                "broker_order_id": order,
                "deal_id": f.deal,
                "lots": f.lots,
                "units": units,
                "price": f.price,
                "fill_timestamp": f.time,
            }
            for order, f, units in fills
        ]
        record: dict[str, Any] = {state.LOG: state.seal(state.LOG, {**row, "execution_id": execution.execution_id})}
        if fill_rows:
            record[state.FILLS] = {f["deal_id"]: state.seal(state.FILLS, f) for f in fill_rows}

        def op(batch: WriteBatch) -> None:
            batch.add(_UPDATE_LOG, row)
            if fill_rows:
                batch.add(_INSERT_FILL, fill_rows)
            if tca is not None:
                write_tca(batch, execution.execution_id, *tca)
            _audit_sealed(batch, execution.execution_id, events, record)

        await self.writer.write(op)

    async def record_markout(
        self, execution_id: str, horizon_s: int, pips: Decimal | None, event: dict[str, Any]
    ) -> bool:
        """One mark-out (None: no price was found) and its MARKOUT audit event, in one commit; False, and
        nothing written, when that horizon was settled already."""

        def op(batch: WriteBatch) -> bool:
            if not record_markout(batch.conn, execution_id, horizon_s, pips):
                return False
            batch.audit(AuditEventType.MARKOUT, execution_id, event)
            return True

        return await self.writer.write(op)

    async def audit(
        self, event_type: AuditEventType, data: dict[str, Any], execution_id: str | None = None
    ) -> AuditEvent:
        def op(batch: WriteBatch) -> AuditEvent:
            return batch.audit(event_type, execution_id, data)

        return await self.writer.write(op)

    async def acknowledge_alert(self, alert: dict[str, Any], by: str) -> AuditEvent:
        """The trader's acknowledgement of a firing alert, in the audit trail."""
        return await self.audit(AuditEventType.ALERT_ACK, {**alert, "by": by})

    async def record_intake_error(
        self, *, channel: str, source: str | None, raw: str, errors: list[FieldError], rpm_order_id: str | None
    ) -> int:
        """Every input is kept, even one that cannot be executed: raw payload and the reasons."""
        errors_json = json.dumps([e.model_dump() for e in errors])

        def op(batch: WriteBatch) -> int:
            result = batch.conn.execute(
                insert(intake_errors).values(
                    received_timestamp=utcnow(),
                    channel=channel,
                    source=source,
                    rpm_order_id=rpm_order_id,
                    errors=errors_json,
                    raw_payload=raw,
                )
            )
            key = int(result.inserted_primary_key[0])  # type: ignore[index]
            batch.audit(
                AuditEventType.INPUT_INVALID,
                None,
                {
                    "intake_error_id": key,
                    "channel": channel,
                    "source": source,
                    "rpm_order_id": rpm_order_id,
                    "errors": json.loads(errors_json),
                    "raw_bytes": len(raw),
                },
            )
            return key

        return await self.writer.write(op)

    # ---- reads ------------------------------------------------------------------------------
    async def _one(self, stmt: Select[Any]) -> Execution | None:
        def q(conn: Connection) -> Execution | None:
            row = conn.execute(stmt).first()
            return Execution.from_row(row) if row else None

        return await self.read(q)

    async def _many(self, stmt: Select[Any]) -> list[Execution]:
        return await self.read(lambda conn: [Execution.from_row(r) for r in conn.execute(stmt)])

    async def get(self, execution_id: str) -> Execution | None:
        return await self._one(select(execution_logs).where(execution_logs.c.execution_id == execution_id))

    async def get_by_rpm_order(self, rpm_order_id: str) -> Execution | None:
        return await self._one(select(execution_logs).where(execution_logs.c.rpm_decision_id == rpm_order_id))

    async def find_by_broker_order(self, broker_order_id: str) -> list[Execution]:
        return await self._many(select(execution_logs).where(execution_logs.c.order_id == broker_order_id))

    async def history(
        self,
        *,
        symbol: str | None = None,
        statuses: Sequence[ExecutionStatus] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Execution]:
        """Newest first; the (symbol, created) and (status, created) indexes serve these filters."""
        t = execution_logs
        conds = execution_filters(start, end, symbol, statuses)
        stmt = select(t).where(*conds).order_by(t.c.created_timestamp.desc()).limit(limit).offset(offset)
        return await self._many(stmt)

    async def search(
        self,
        text: str,
        *,
        symbol: str | None = None,
        statuses: Sequence[ExecutionStatus] = (),
        end: datetime | None = None,
        limit: int = 50,
    ) -> list[Execution]:
        """The executions `text` names (search_condition), newest first, within the desk's filters as history's."""
        t = execution_logs

        def q(conn: Connection) -> list[Execution]:
            conds = [search_condition(conn, text), *execution_filters(None, end, symbol, statuses)]
            stmt = select(t).where(*conds).order_by(t.c.created_timestamp.desc()).limit(limit)
            return [Execution.from_row(r) for r in conn.execute(stmt)]

        return await self.read(q)

    async def search_counts(self, text: str, *, symbol: str | None = None) -> dict[str, int]:
        """How many executions `text` names, by status (the blotter's tab counts while it searches)."""
        t = execution_logs

        def q(conn: Connection) -> dict[str, int]:
            conds = [search_condition(conn, text), *execution_filters(None, None, symbol, ())]
            stmt = select(t.c.status, func.count()).where(*conds).group_by(t.c.status)
            return {str(status): int(n) for status, n in conn.execute(stmt)}

        return await self.read(q)

    async def unfinished(self) -> list[Execution]:
        t = execution_logs
        live = [ExecutionStatus.PENDING.value, ExecutionStatus.SUBMITTED.value]
        return await self._many(select(t).where(t.c.status.in_(live)).order_by(t.c.created_timestamp))

    async def fills(self, execution_id: str) -> list[StoredFill]:
        t = execution_fills
        stmt = (
            select(t.c.broker_order_id, t.c.deal_id, t.c.lots, t.c.units, t.c.price, t.c.fill_timestamp)
            .where(t.c.execution_id == execution_id)
            .order_by(t.c.fill_id)
        )
        return await self.read(lambda conn: [StoredFill(*r) for r in conn.execute(stmt)])

    async def fills_watermark(self) -> int:
        """The newest fill's id (0 for none). Fills are only ever added, by one writer in id order."""
        return await self.read(lambda conn: conn.execute(select(func.max(execution_fills.c.fill_id))).scalar() or 0)

    async def net_recorded_units(self, broker: str, *, after: int = 0, upto: int | None = None) -> dict[str, Decimal]:
        """Per symbol, Σ direction × units over the fills recorded for `broker`'s executions whose fill id is
        past `after` (and at most `upto`). A symbol with such fills is there even when they net to 0.

        SQL groups the fills by symbol, side and size; the groups are added here exactly, because SQLite
        keeps units as text and its SUM would add them as floats."""
        f, t = execution_fills, execution_logs
        conds = [t.c.broker == broker, f.c.fill_id > after]
        if upto is not None:
            conds.append(f.c.fill_id <= upto)
        stmt = (
            select(t.c.symbol, t.c.direction, f.c.units, func.count())
            .select_from(f.join(t, f.c.execution_id == t.c.execution_id))
            .where(*conds)
            .group_by(t.c.symbol, t.c.direction, f.c.units)
        )

        def q(conn: Connection) -> dict[str, Decimal]:
            net: dict[str, Decimal] = {}
            for symbol, direction, units, count in conn.execute(stmt):
                net[symbol] = net.get(symbol, Decimal(0)) + direction * units * count
            return net

        return await self.read(q)

    async def recorded_deals(self, execution_ids: Collection[str]) -> set[str]:
        """The broker deal ids recorded as fills of these executions (looked up by the execution index)."""
        f = execution_fills
        ids = sorted(set(execution_ids))

        def q(conn: Connection) -> set[str]:
            found: set[str] = set()
            for i in range(0, len(ids), _IN_CHUNK):
                stmt = select(f.c.deal_id).where(f.c.execution_id.in_(ids[i : i + _IN_CHUNK]))
                found.update(conn.execute(stmt).scalars())
            return found

        return await self.read(q)

    async def newest_rpm_outputs(self, limit: int) -> list[tuple[datetime, str]]:
        """The RPMOutputs executed most recently, newest first: when each was received, and its text verbatim."""
        stmt = (
            select(execution_logs.c.created_timestamp, execution_requests.c.rpm_output_raw)
            .join(execution_requests, execution_requests.c.request_id == execution_logs.c.request_id)
            .order_by(execution_logs.c.created_timestamp.desc(), execution_logs.c.execution_id.desc())
            .limit(limit)
        )
        return await self.read(lambda conn: [(r.created_timestamp, r.rpm_output_raw) for r in conn.execute(stmt)])

    async def tca(self, execution_id: str) -> Tca | None:
        return await self.read(lambda conn: read_tca(conn, execution_id))

    async def tca_groups(self, by: GroupBy, start: datetime | None, end: datetime | None) -> list[TcaGroup]:
        """TCA figures per group of the executions created in [start, end) (app.store.tca_aggregates)."""
        return await self.read(lambda conn: tca_groups(conn, by, start, end))

    async def pending_markouts(self) -> list[MarkoutJob]:
        """The executions whose mark-outs are not all settled (a restart resumes them), oldest first."""
        return await self.read(pending_markouts)

    async def request(self, execution_id: str) -> dict[str, Any] | None:
        stmt = select(execution_requests).where(execution_requests.c.execution_id == execution_id)
        return await self.read(lambda conn: dict(r._mapping) if (r := conn.execute(stmt).first()) else None)

    async def audit_for(self, execution_id: str) -> list[AuditEvent]:
        t = audit_events
        stmt = select(t).where(t.c.execution_id == execution_id).order_by(t.c.seq)
        return await self.read(lambda conn: [_audit_event(r) for r in conn.execute(stmt)])

    async def audit_range(
        self, start: datetime | None, end: datetime | None, limit: int | None = None
    ) -> list[AuditEvent]:
        stmt = audit_range_query(start, end)
        if limit:
            stmt = stmt.limit(limit)
        return await self.read(lambda conn: [_audit_event(r) for r in conn.execute(stmt)])

    async def last_audit_event(self, event_types: Sequence[AuditEventType]) -> AuditEvent | None:
        t = audit_events
        stmt = select(t).where(t.c.event_type.in_(event_types)).order_by(t.c.seq.desc()).limit(1)
        return await self.read(lambda conn: _audit_event(r) if (r := conn.execute(stmt).first()) else None)

    async def intake_errors(self, limit: int = 100) -> list[dict[str, Any]]:
        t = intake_errors
        stmt = select(t).order_by(t.c.intake_error_id.desc()).limit(limit)
        return await self.read(lambda conn: [dict(r._mapping) for r in conn.execute(stmt)])

    async def count_by_status(self, symbol: str | None = None) -> dict[str, int]:
        """How many executions hold each status (of one symbol, or all): the blotter's tab counts."""
        t = execution_logs
        stmt = select(t.c.status, func.count()).where(*execution_filters(None, None, symbol, ())).group_by(t.c.status)
        return await self.read(lambda conn: {str(s): int(n) for s, n in conn.execute(stmt)})

    async def symbols(self) -> list[str]:
        """The symbols of the executions recorded, each once (in no particular order)."""
        stmt = select(execution_logs.c.symbol).distinct()
        return await self.read(lambda conn: [str(s) for s in conn.execute(stmt).scalars()])


@dataclass(frozen=True)
class AuditTrailRows:
    records: Iterator[list[str]]  # the executions, as the export's CSV cells (app.store.export.HEADER)
    events: Iterator[AuditEvent]


def _events(conn: Connection, start: datetime, end: datetime) -> Iterator[AuditEvent]:
    events = conn.execution_options(stream_results=True, yield_per=1000).execute(audit_range_query(start, end))
    for row in events:
        yield AuditEvent(**row._mapping)


def execution_filters(
    start: datetime | None, end: datetime | None, symbol: str | None, statuses: Sequence[ExecutionStatus]
) -> list[Any]:
    """The desk's filters on executions (created in [start, end), a symbol, statuses): history and export."""
    t = execution_logs
    conds: list[Any] = []
    if start:
        conds.append(t.c.created_timestamp >= start)
    if end:
        conds.append(t.c.created_timestamp < end)
    if symbol:
        conds.append(t.c.symbol == symbol.upper())
    if statuses:
        conds.append(t.c.status.in_([s.value for s in statuses]))
    return conds


def search_condition(conn: Connection, text: str) -> Any:
    """The executions `text` names, exactly: by execution id, RPM order id or broker ticket (the order
    sent, or an order or deal of one of its fills); or else, when it names none, by symbol."""
    t, f = execution_logs, execution_fills
    text = text.strip()
    # Ids first, each through its own index; then the symbol alone, so that its rows come in the
    # (symbol, created) index's order (an OR of both sorted every row of the symbol).
    named = union(
        select(t.c.execution_id).where(t.c.execution_id == text),
        select(t.c.execution_id).where(t.c.rpm_decision_id == text),
        select(t.c.execution_id).where(t.c.order_id == text),
        select(f.c.execution_id).where(f.c.broker_order_id == text),
        select(f.c.execution_id).where(f.c.deal_id == text),
    )
    ids = list(conn.execute(named).scalars())
    return t.c.execution_id.in_(ids) if ids else t.c.symbol == text.upper()


def audit_range_query(start: datetime | None, end: datetime | None) -> Select[Any]:
    t = audit_events
    conds = []
    if start:
        conds.append(t.c.event_timestamp >= start)
    if end:
        conds.append(t.c.event_timestamp < end)
    return select(t).where(*conds).order_by(t.c.seq)


def iter_audit_chain(conn: Connection, batch: int = 5000) -> Iterator[AuditEvent]:
    """The whole chain in seq order, streamed in pages (bounded memory on a large store)."""
    t = audit_events
    last = 0
    while True:
        rows = conn.execute(select(t).where(t.c.seq > last).order_by(t.c.seq).limit(batch)).all()
        if not rows:
            return
        for r in rows:
            yield _audit_event(r)
        last = rows[-1].seq
