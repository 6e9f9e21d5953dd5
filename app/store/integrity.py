"""`verify`: the audit chain intact, every execution's stored rows as the chain sealed them, and the
chain as long as the latest checkpoint kept outside the store says it was.

Every value is read as raw as the driver gives it and decoded here, one at a time: a value that cannot
be read as what its column holds (an unparsable timestamp, a price that is not a number) is tampering,
named by its record, never an error of the check itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Table, exists, inspect, select, type_coerce
from sqlalchemy.types import NullType

from app.domain.audit import GENESIS, AuditEvent, AuditSigner, Unreadable
from app.domain.audit_events import AuditEventType
from app.domain.tca import HORIZONS_S, horizon_name
from app.store import checkpoints, state
from app.store import tca_rollup as rollup
from app.store.tables import (
    audit_events,
    execution_fills,
    execution_logs,
    execution_requests,
    execution_tca,
    store_identity,
    tca_rollup,
)

_PAGE = 5000


@dataclass
class IntegrityReport:
    events: int = 0
    last_seq: int = 0
    executions: int = 0
    head: str = GENESIS
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what could not be checked, said plainly


class KeyMismatch(ValueError):
    """The store records another audit key's fingerprint than the key in use."""


def check_key(conn: Connection, signer: AuditSigner, key_source: str) -> str | None:
    """KeyMismatch when the store names another key; a note when it names none (a store of a release
    before it recorded its key, or one not opened by the engine since its upgrade)."""
    if not inspect(conn).has_table(store_identity.name):
        return "the store does not record its audit key (schema before 0003): the key could not be checked"
    recorded = conn.execute(select(store_identity.c.key_fingerprint)).scalar()
    if recorded is None:
        return "the store does not record its audit key yet (recorded at the engine's next start)"
    if recorded != signer.fingerprint:
        raise KeyMismatch(
            f"the store is signed by the audit key with fingerprint {recorded}; the key in use ({key_source})"
            f" has fingerprint {signer.fingerprint}: give the store's key (--data-dir or EXEC_AUDIT_KEY)"
        )
    return None


def _decoder(conn: Connection, table: Table) -> tuple[Any, Callable[[Any], tuple[dict[str, Any], str | None]]]:
    """A select of the table's raw values and a decoder of one of its rows: (values, the first column
    that would not decode and why, or None)."""
    dialect = conn.dialect
    if dialect.name != "sqlite":  # PostgreSQL's typed columns hold nothing their types cannot read
        return select(table), lambda row: (dict(row._mapping), None)
    processors = [(c.name, c.type.dialect_impl(dialect).result_processor(dialect, None)) for c in table.c]
    stmt = select(*[type_coerce(c, NullType()).label(c.name) for c in table.c])

    def decode(row: Any) -> tuple[dict[str, Any], str | None]:
        values: dict[str, Any] = {}
        unreadable: str | None = None
        for (name, process), raw in zip(processors, row, strict=True):
            try:
                values[name] = process(raw) if process else raw
            except Exception as exc:  # whatever the type's parser raises: the stored value is not one
                values[name] = raw
                unreadable = unreadable or f"{table.name}.{name} is not readable ({raw!r}: {exc})"
        return values, unreadable

    return stmt, decode


def _rows(conn: Connection, table: Table, key: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """The table's rows, decoded, in pages by its key (bounded memory on a large store)."""
    stmt, decode = _decoder(conn, table)
    column = table.c[key]
    last: Any = None
    while True:
        page = stmt.order_by(column).limit(_PAGE)
        if last is not None:
            page = page.where(column > last)
        rows = conn.execute(page).all()
        if not rows:
            return
        for row in rows:
            yield decode(row)
        last = rows[-1]._mapping[key]


@dataclass
class _Seals:
    """The latest state the chain signed of each execution's rows."""

    logs: dict[str, tuple[int, str]] = field(default_factory=dict)
    requests: dict[str, tuple[int, str]] = field(default_factory=dict)
    fills: dict[tuple[str, str], tuple[int, str]] = field(default_factory=dict)

    def take(self, ev: AuditEvent) -> None:
        record = ev.data.get(state.RECORD) if ev.execution_id and state.RECORD in ev.payload else None
        if not isinstance(record, dict):
            return
        eid = ev.execution_id
        assert eid is not None
        if state.LOG in record:
            self.logs[eid] = (ev.seq, record[state.LOG])
        if state.REQUEST in record:
            self.requests[eid] = (ev.seq, record[state.REQUEST])
        for deal, sealed in record.get(state.FILLS, {}).items():
            self.fills[(eid, deal)] = (ev.seq, sealed)


@dataclass
class _TcaTrail:
    """Each fill's TCA as its audit events state it: the arrival figures (the first TCA_ARRIVAL; a later
    fill's restates the slippage against arrival) and each mark-out (its MARKOUT event)."""

    arrival: dict[str, tuple[int, Any, Any]] = field(default_factory=dict)  # seq, arrival mid, spread
    slippage: dict[str, Any] = field(default_factory=dict)
    markouts: dict[tuple[str, str], Any] = field(default_factory=dict)

    def take(self, ev: AuditEvent) -> None:
        if ev.execution_id is None:
            return
        if ev.event_type == AuditEventType.TCA_ARRIVAL:
            data = ev.data
            if ev.execution_id not in self.arrival:
                self.arrival[ev.execution_id] = (ev.seq, data.get("arrival_mid"), data.get("spread_pips"))
            self.slippage[ev.execution_id] = data.get("slippage_vs_arrival_pips")
        elif ev.event_type == AuditEventType.MARKOUT:
            data = ev.data
            self.markouts[(ev.execution_id, str(data.get("horizon")))] = data.get("markout_pips")


def verify_store(conn: Connection, signer: AuditSigner, data_dir: Path | None = None) -> IntegrityReport:
    """Walk the whole chain once (streamed), then every execution's rows, and name every broken
    record, the first one first. `conn` may be read-only."""
    report = IntegrityReport()
    seals = _Seals()
    tca = _TcaTrail()
    hashes: dict[int, str] = {}
    point, point_problems = checkpoints.latest(data_dir, signer) if data_dir else (None, [])

    def chain() -> Iterator[AuditEvent | Unreadable]:
        for values, unreadable in _rows(conn, audit_events, "seq"):
            report.events += 1
            report.last_seq, report.head = values["seq"], str(values["hash"])
            if point is not None and values["seq"] == point.seq:
                hashes[point.seq] = report.head
            if unreadable:
                yield Unreadable(values["seq"], report.head, unreadable)
                continue
            ev = AuditEvent(**values)
            try:
                seals.take(ev)
                tca.take(ev)
            except (ValueError, TypeError, AttributeError):
                yield Unreadable(ev.seq, ev.hash, "payload is not the JSON record it should be")
                continue
            yield ev

    report.problems.extend(signer.verify(chain()))
    report.problems.extend(point_problems)
    _check_rows(conn, seals, report)
    _check_tca(conn, seals, tca, report)
    if data_dir is None:
        report.notes.append("no data dir given: truncation or rollback of the chain could not be checked")
    elif point is None:
        report.notes.append(
            f"no checkpoint in {data_dir / checkpoints.FILE}: truncation or rollback of the chain could not be checked"
        )
    else:
        last = report.last_seq
        if last < point.seq:
            report.problems.append(
                f"seq {last + 1}-{point.seq}: missing: the store ends at seq {last} but the checkpoint of"
                f" {point.time} records seq {point.seq} (the store was truncated or rolled back)"
            )
        elif hashes.get(point.seq) != point.hash:
            report.problems.append(
                f"seq {point.seq}: its hash differs from the checkpoint of {point.time} (the chain was rewritten)"
            )
    return report


def _compare(kind: str, what: str, values: dict[str, Any], sealed: tuple[int, str] | None) -> str | None:
    if sealed is None:
        return None
    seq, seal = sealed
    columns = state.differences(kind, values, seal)
    if columns is None:
        return None
    return f"{what}: {', '.join(f'{kind}.{c}' for c in columns)} differs from the audit trail (sealed at seq {seq})"


def _check_logs(conn: Connection, seals: _Seals, report: IntegrityReport) -> None:
    unsealed = 0
    seen: set[str] = set()
    for values, unreadable in _rows(conn, execution_logs, "execution_id"):
        eid = values["execution_id"]
        seen.add(eid)
        report.executions += 1
        if unreadable:
            report.problems.append(f"execution {eid}: {unreadable} (the record was altered)")
        elif eid not in seals.logs:
            unsealed += 1
        elif problem := _compare(state.LOG, f"execution {eid}", values, seals.logs[eid]):
            report.problems.append(problem)
    for eid in seals.logs.keys() - seen:
        report.problems.append(f"execution {eid}: in the audit trail but missing from execution_logs (deleted)")
    if unsealed:
        report.notes.append(
            f"{unsealed} executions were written before record seals (an earlier release): their stored"
            " columns could not be checked against the audit trail"
        )


def _check_requests(conn: Connection, seals: _Seals, report: IntegrityReport) -> None:
    requests = dict(seals.requests)
    for values, unreadable in _rows(conn, execution_requests, "request_id"):
        eid = values["execution_id"]
        if unreadable:
            report.problems.append(f"execution {eid}: {unreadable} (the record was altered)")
        elif problem := _compare(state.REQUEST, f"execution {eid}", values, requests.pop(eid, None)):
            report.problems.append(problem)
    for eid in requests:
        report.problems.append(f"execution {eid}: its request is missing from execution_requests (deleted)")


def _check_fills(conn: Connection, seals: _Seals, report: IntegrityReport) -> None:
    # Fills are checked for the executions whose creation was sealed: every fill of those was sealed.
    fills = dict(seals.fills)
    for values, unreadable in _rows(conn, execution_fills, "fill_id"):
        eid, deal = values["execution_id"], values["deal_id"]
        what = f"execution {eid}: fill {deal}"
        if unreadable:
            report.problems.append(f"{what}: {unreadable} (the record was altered)")
        elif (eid, deal) in fills:
            if problem := _compare(state.FILLS, what, values, fills.pop((eid, deal))):
                report.problems.append(problem)
        elif eid in seals.requests:
            report.problems.append(f"{what}: not in the audit trail (added)")
    for eid, deal in fills:
        report.problems.append(f"execution {eid}: fill {deal} is missing from execution_fills (deleted)")


def _check_rows(conn: Connection, seals: _Seals, report: IntegrityReport) -> None:
    _check_logs(conn, seals, report)
    _check_requests(conn, seals, report)
    _check_fills(conn, seals, report)
    # An execution without a single audit event means events were taken out of the trail.
    orphan = conn.execute(
        select(execution_logs.c.execution_id)
        .where(~exists().where(audit_events.c.execution_id == execution_logs.c.execution_id))
        .limit(1)
    ).first()
    if orphan is not None:
        report.problems.append(f"execution {orphan.execution_id}: has no event in the audit trail")
    if not inspect(conn).has_table(tca_rollup.name):
        report.notes.append("the store has no TCA rollup (schema before 0005): it could not be checked")
    elif drift := rollup.drift(conn):
        report.problems.append(drift)


def _same(stored: Any, stated: Any) -> bool:
    """A stored number against the one its event states (JSON text or number; None for none)."""
    if stored is None or stated is None:
        return stored is None and stated is None
    try:
        return Decimal(str(stored)) == Decimal(str(stated))
    except InvalidOperation:
        return False


def _tca_differences(values: dict[str, Any], trail: _TcaTrail, eid: str) -> list[str]:
    _seq, mid, spread = trail.arrival[eid]
    stated = {"arrival_mid": mid, "spread_pips": spread, "slippage_vs_arrival_pips": trail.slippage[eid]}
    missing = set((values["markouts_missing"] or "").split())
    differ = [column for column, value in stated.items() if not _same(values[column], value)]
    for horizon in map(horizon_name, HORIZONS_S):
        column, key = f"markout_{horizon}_pips", (eid, horizon)
        if key not in trail.markouts:  # not sampled yet: neither a value nor marked missing
            settled_here = values[column] is not None or horizon in missing
            differ += [column] if settled_here else []
        elif trail.markouts[key] is None:
            differ += [] if values[column] is None and horizon in missing else [column]
        elif not _same(values[column], trail.markouts[key]) or horizon in missing:
            differ.append(column)
    return differ


def _check_tca(conn: Connection, seals: _Seals, trail: _TcaTrail, report: IntegrityReport) -> None:
    """Every fill's TCA row as its events state it: an edited figure, an added row or a deleted one."""
    if not inspect(conn).has_table(execution_tca.name):
        return  # a store of a release before TCA (revision 0004), checked as it stands: none to check
    unstated = set(trail.arrival)
    for values, unreadable in _rows(conn, execution_tca, "execution_id"):
        eid = values["execution_id"]
        unstated.discard(eid)
        if unreadable:
            report.problems.append(f"execution {eid}: {unreadable} (the record was altered)")
        elif eid not in trail.arrival:
            # As with fills: checked for the executions whose creation was sealed (not a seeded store's)
            if eid in seals.requests:
                report.problems.append(f"execution {eid}: its TCA row is not in the audit trail (added)")
        elif differ := _tca_differences(values, trail, eid):
            seq = trail.arrival[eid][0]
            columns = ", ".join(f"{execution_tca.name}.{c}" for c in differ)
            report.problems.append(f"execution {eid}: {columns} differs from the audit trail (TCA from seq {seq})")
    for eid in sorted(unstated):
        report.problems.append(f"execution {eid}: its TCA row is missing from execution_tca (deleted)")
