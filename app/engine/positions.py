"""Position reconciliation: the broker's open positions of the console's magic against the recorded fills.

At start-up and every `position_check_interval_s`, per symbol: the net units the store's fills imply
(direction × units, over this broker's executions) against the net units of the broker's open
positions carrying the console's magic. A difference is the critical alert POSITION_MISMATCH, audited
when it appears and when it clears. Positions of another magic (other experts, manual trades) are
listed apart and never count.

A deal of our magic that no stored fill accounts for is attributed by the tag in its comment to its
execution, and that record is brought to the truth through the normal recorded path (the Reconciler's
reconcile_one: record_outcome with the fills), never edited in place. A deal whose tag names no
execution is reported, not attributed. Nothing here ever sends an order.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from app.adapters.broker.types import BrokerDeal, BrokerPosition, BrokerUnavailable, SymbolSpec
from app.adapters.broker.volume import lots_to_units, plain
from app.domain.audit import AuditEvent
from app.domain.audit_events import AuditEventType as A
from app.domain.execution import EXECUTION_PREFIX, Execution, utcnow
from app.engine.metrics import Alert
from app.engine.recovery import LATE_FILL_WINDOW

if TYPE_CHECKING:
    from app.engine.engine import ExecutionEngine

log = logging.getLogger(__name__)
ZERO = Decimal(0)
DEALS_WINDOW = timedelta(hours=24)  # deal history read at least this far back when explaining a difference
CLOCK_SKEW = timedelta(minutes=5)  # the trade server's clock against ours
MISMATCH = A.POSITION_MISMATCH

State = Literal["match", "mismatch", "settling"]


@dataclass(frozen=True)
class SymbolPosition:
    symbol: str
    recorded_units: Decimal
    broker_units: Decimal
    # settling: not judged this pass — an execution of the symbol is in flight, its record changed while
    # the broker was read, or the difference is a late fill that the Reconciler is about to record.
    state: State

    @property
    def difference(self) -> Decimal:
        return plain(self.broker_units - self.recorded_units)


@dataclass(frozen=True)
class ForeignPosition:
    position: BrokerPosition
    units: Decimal | None  # None: the broker gives no contract size for the symbol


@dataclass(frozen=True)
class PositionReport:
    checked_at: datetime
    symbols: tuple[SymbolPosition, ...]
    foreign_positions: tuple[ForeignPosition, ...]
    unattributed_deals: tuple[BrokerDeal, ...] = ()

    @property
    def mismatched(self) -> list[SymbolPosition]:
        return [s for s in self.symbols if s.state == "mismatch"]

    @property
    def status(self) -> Literal["ok", "mismatch"]:
        return "mismatch" if self.mismatched else "ok"


@dataclass
class _Survey:
    report: PositionReport
    to_correct: dict[str, tuple[Execution, list[BrokerDeal]]]  # by execution id: deals its record lacks


def _tagged(deal: BrokerDeal) -> str:
    """The execution id in a deal's tag (a completion order's tag carries "/n" after it)."""
    return deal.tag.split("/")[0]


def _plus(net: dict[str, Decimal], added: dict[str, Decimal]) -> dict[str, Decimal]:
    return {s: net.get(s, ZERO) + added.get(s, ZERO) for s in net.keys() | added.keys()}


def _judge(recorded: dict[str, Decimal], held: dict[str, Decimal], unsure: set[str]) -> dict[str, SymbolPosition]:
    """A row per symbol either side holds, by symbol: match, mismatch, or settling when `unsure`."""
    rows: dict[str, SymbolPosition] = {}
    for symbol in sorted(recorded.keys() | held.keys()):
        r, b = plain(recorded.get(symbol, ZERO)), plain(held.get(symbol, ZERO))
        if r == 0 and b == 0:
            continue
        state: State = "settling" if symbol in unsure else "match" if r == b else "mismatch"
        rows[symbol] = SymbolPosition(symbol, r, b, state)
    return rows


def _orders_named(events: list[AuditEvent]) -> set[str]:
    """The orders an execution's audit events name (sent, completion, found by reconciliation): an order
    sent behind the engine's back is not among them."""
    named: set[str] = set()
    for event in events:
        data = event.data
        for item in [data.get("order"), *data.get("orders", ())]:  # "orders": ids, or {"order": id, ...}
            order = item.get("order") if isinstance(item, dict) else item
            if order:
                named.add(str(order))
    return named


def _deal_data(deal: BrokerDeal) -> dict[str, object]:
    return {
        "deal": deal.deal,
        "order": deal.order,
        "symbol": deal.symbol,
        "direction": deal.direction,
        "lots": deal.lots,
        "price": deal.price,
        "time": deal.time,
        "comment": deal.tag,
    }


class PositionReconciler:
    def __init__(self, engine: ExecutionEngine) -> None:
        self.engine = engine
        self.last: PositionReport | None = None  # the latest pass that reached the broker
        self._mismatched: dict[str, SymbolPosition] = {}  # the verdict standing, by symbol
        self._recorded: dict[str, Decimal] = {}  # the record's net units by symbol, up to fill id _mark
        self._mark = 0
        self._reported: set[str] = set()  # deals already audited: once each, not once per pass
        self._lock = asyncio.Lock()  # one pass at a time: two would record the same deal twice
        self._unreachable = False

    # ---- what monitoring reads -------------------------------------------------------------------
    @property
    def status(self) -> Literal["ok", "mismatch", "unchecked"]:
        if self._mismatched:
            return "mismatch"
        return "ok" if self.last is not None else "unchecked"

    @property
    def mismatches(self) -> tuple[SymbolPosition, ...]:
        """The symbols the standing verdict calls a mismatch, by symbol (what alerts() tells)."""
        return tuple(sorted(self._mismatched.values(), key=lambda r: r.symbol))

    def alerts(self) -> list[Alert]:
        """POSITION_MISMATCH naming each symbol with both figures (and any deal that names no execution)."""
        if not self._mismatched:
            return []
        unattributed = self.last.unattributed_deals if self.last is not None else ()
        parts = []
        for row in sorted(self._mismatched.values(), key=lambda r: r.symbol):
            part = f"{row.symbol}: recorded {row.recorded_units} units, broker {row.broker_units} units"
            part += "".join(
                f", deal {d.deal} ({d.tag!r}) names no execution" for d in unattributed if d.symbol == row.symbol
            )
            parts.append(part)
        return [Alert(MISMATCH, "critical", "position mismatch — " + "; ".join(parts))]

    # ---- passes ----------------------------------------------------------------------------------
    async def watch(self) -> None:
        """A pass every position_check_interval_s until cancelled (the runtime makes the start-up one)."""
        while True:
            await asyncio.sleep(self.engine.config.position_check_interval_s)
            await self.check_logged()

    async def check_logged(self) -> PositionReport | None:
        """check(), its failure logged rather than raised: a failed pass is retried on the next one."""
        try:
            return await self.check()
        except Exception:
            log.exception("position reconciliation pass failed")
            return None

    async def check(self) -> PositionReport | None:
        """One pass. None when the broker cannot be reached: the pass is skipped, the last verdict stands."""
        async with self._lock:
            try:
                survey = await self._survey()
                report = await self._publish(survey.report)
                if survey.to_correct:
                    await self._correct(survey.to_correct)
                    report = await self._publish((await self._survey()).report)
            except BrokerUnavailable as exc:
                if not self._unreachable:  # said once; the broker-connection alert tells the rest
                    log.warning("position reconciliation skipped until the broker answers: %s", exc)
                self._unreachable = True
                return None
            self._unreachable = False
            return report

    async def _survey(self) -> _Survey:
        engine = self.engine
        broker, store = engine.broker, engine.store
        # The record's net per symbol is kept up to the newest fill seen and brought up to date with the
        # fills added since (fills are only ever added): a pass on a quiet desk reads no history. A symbol
        # with fills recorded while the broker was read, or an execution in flight, is judged later.
        mark = await store.fills_watermark()
        added = await store.net_recorded_units(broker.name, after=self._mark, upto=mark)
        self._recorded, self._mark = _plus(self._recorded, added), mark
        positions = await broker.positions()
        unsure = set(await store.net_recorded_units(broker.name, after=mark)) | self._symbols_in_flight()
        specs = {s: await broker.symbol_spec(s) for s in sorted({p.symbol for p in positions} | set(self._recorded))}

        def units(p: BrokerPosition) -> Decimal | None:
            spec = specs[p.symbol]
            return p.direction * lots_to_units(p.lots, spec) if spec is not None else None

        # Net units per symbol = Σ buy volume − Σ sell volume, × contract size. On a hedging account each
        # of our orders opens a position of its own, and they are summed; on a netting account a symbol
        # has one position, the net of every deal on it (a sell of ours reduces or reverses it), whose
        # type is its sign: the same sum is then that position's signed volume. It carries one magic, so
        # there a foreign trade on a symbol the console holds changes (or takes over) the console's
        # position and shows as a difference — rightly: the exposure is no longer what the record says.
        ours = [p for p in positions if p.magic == broker.magic]
        held: dict[str, Decimal] = {}
        for p in ours:
            held[p.symbol] = held.get(p.symbol, ZERO) + (units(p) or ZERO)
        unsure |= {s for s, spec in specs.items() if spec is None}
        rows = _judge(self._recorded, held, unsure)
        foreign = tuple(ForeignPosition(p, units(p)) for p in positions if p.magic != broker.magic)
        survey = _Survey(PositionReport(utcnow(), (), foreign), {})
        if any(row.state == "mismatch" for row in rows.values()):
            # Summed whole before a difference is called one: a store shared with another engine may
            # commit fills out of id order, which the running sum would miss.
            self._recorded = await store.net_recorded_units(broker.name, upto=mark)
            unsure |= {s for s in self._recorded if s not in specs}  # a symbol not seen before: next pass
            rows = _judge(self._recorded, held, unsure)
            if any(row.state == "mismatch" for row in rows.values()):
                await self._explain(rows, ours, specs, survey)
        survey.report = replace(survey.report, symbols=tuple(rows.values()))
        return survey

    async def _explain(
        self,
        rows: dict[str, SymbolPosition],
        ours: list[BrokerPosition],
        specs: dict[str, SymbolSpec | None],
        survey: _Survey,
    ) -> None:
        """Look for the deals of our magic that the record lacks on the symbols that differ."""
        engine, now = self.engine, utcnow()
        differing = {s for s, row in rows.items() if row.state == "mismatch"}
        since = min([p.opened for p in ours if p.symbol in differing] + [now - DEALS_WINDOW]) - CLOCK_SKEW
        deals = [d for d in await engine.broker.deals(since) if d.symbol in differing]
        recorded = await engine.store.recorded_deals({_tagged(d) for d in deals})
        missing: dict[str, list[BrokerDeal]] = {}
        for deal in deals:
            if deal.deal not in recorded:
                missing.setdefault(_tagged(deal), []).append(deal)
        in_hand: dict[str, Decimal] = {}  # by symbol: units the Reconciler (or an execution) will record
        unattributed: list[BrokerDeal] = []
        for execution_id, found in missing.items():
            execution = await engine.store.get(execution_id) if execution_id.startswith(EXECUTION_PREFIX) else None
            if execution is None:
                unattributed += found
            elif await self._in_hand(execution, found):
                for d in found:
                    spec = specs[d.symbol]
                    assert spec is not None  # a symbol without one is never judged a mismatch
                    in_hand[d.symbol] = in_hand.get(d.symbol, ZERO) + d.direction * lots_to_units(d.lots, spec)
            else:
                survey.to_correct[execution_id] = (execution, found)
        busy = self._symbols_in_flight()  # again: an execution may have started since the positions were read
        for symbol in differing:
            row = rows[symbol]
            if symbol in busy or row.difference == in_hand.get(symbol, ZERO):
                rows[symbol] = replace(row, state="settling")
        survey.report = replace(survey.report, unattributed_deals=tuple(unattributed))
        for deal in unattributed:
            if deal.deal not in self._reported:
                self._reported.add(deal.deal)
                await engine.store.audit(A.UNATTRIBUTED_DEAL, _deal_data(deal))

    async def _in_hand(self, execution: Execution, deals: list[BrokerDeal]) -> bool:
        """The deals are the engine's own watchers' to record: the execution is in flight here, being
        cancelled or not yet final (the Reconciler's), or they are late fills of orders its record
        names, within the window in which the Reconciler watches for late fills."""
        engine = self.engine
        if execution.rpm_decision_id in engine.inflight or execution.execution_id in engine.cancelling:
            return True
        if not execution.status.is_final:
            return True
        if utcnow() - execution.created_timestamp >= LATE_FILL_WINDOW:
            return False
        known = {execution.broker_order_id} | _orders_named(await engine.store.audit_for(execution.execution_id))
        return all(d.order in known for d in deals)

    def _symbols_in_flight(self) -> set[str]:
        # An execution is in flight before its PENDING record exists, but sends nothing until it does.
        return {f.created.result().symbol for f in self.engine.inflight.values() if f.created.done()}

    async def _correct(self, to_correct: dict[str, tuple[Execution, list[BrokerDeal]]]) -> None:
        """Each execution whose record lacks deals of its own: said in the audit trail, then reconciled."""
        for execution_id, (execution, deals) in to_correct.items():
            new = [d for d in deals if d.deal not in self._reported]
            if new:
                self._reported.update(d.deal for d in new)
                data = {"found_by": "position reconciliation", "deals": [_deal_data(d) for d in new]}
                await self.engine.store.audit(A.UNRECORDED_DEAL, data, execution_id)
            await self.engine.reconciler.reconcile_one(execution)

    async def _publish(self, report: PositionReport) -> PositionReport:
        """The pass's verdict: a symbol not judged keeps the one it had; changes are audited."""
        before = self._mismatched
        rows = [before[s.symbol] if s.state == "settling" and s.symbol in before else s for s in report.symbols]
        report = replace(report, symbols=tuple(rows))
        now = {row.symbol: row for row in report.mismatched}
        for symbol, row in now.items():
            if symbol not in before:
                await self.engine.store.audit(
                    MISMATCH,
                    {
                        "symbol": symbol,
                        "recorded_units": row.recorded_units,
                        "broker_units": row.broker_units,
                        "difference": row.difference,
                    },
                )
        by_symbol = {row.symbol: row for row in rows}
        for symbol in before.keys() - now.keys():
            row = by_symbol.get(symbol, SymbolPosition(symbol, ZERO, ZERO, "match"))
            await self.engine.store.audit(
                A.POSITION_MISMATCH_CLEARED,
                {"symbol": symbol, "recorded_units": row.recorded_units, "broker_units": row.broker_units},
            )
        self._mismatched, self.last = now, report
        return report
