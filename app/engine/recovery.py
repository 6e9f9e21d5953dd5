"""Recovery and the trader's cancellations: executions brought to their true state at the broker.

At start-up every execution left unfinished (a crash, a lost broker) is reconciled by its tag; while
running, SUBMITTED executions past a threshold and final ones whose orders may still rest (EXPIRED,
PARTIALLY_FILLED) are watched on a rate-limited schedule, so that a fill arriving late wins and is
recorded as what it is.
Nothing here ever sends a new order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from app.adapters.broker.types import BrokerOrder, BrokerUnavailable, Fill, OrderState, SymbolSpec
from app.domain.audit_events import AuditEventType as A
from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import EXECUTION_PREFIX, Execution, utcnow
from app.engine.submission import Submission
from app.engine.validation import Rejection

if TYPE_CHECKING:
    from app.engine.engine import ExecutionEngine

S, R = ExecutionStatus, RejectionReason
log = logging.getLogger(__name__)
LATE_FILL_WINDOW = timedelta(hours=24)  # how long a final execution's orders are watched for a late fill
# Statuses whose orders may still rest at the broker: in flight, an EXPIRED order, or the remainder (or
# the completion order) of a partial fill left resting at its timeout. The final ones are watched for
# late fills; all are cancellable by the trader.
MAY_REST = (S.SUBMITTED, S.EXPIRED, S.PARTIALLY_FILLED)


@dataclass(frozen=True)
class StaleOrder:
    """An order resting at the broker past its time: the trader decides whether to cancel it."""

    execution: Execution
    order: str
    age_s: float


class CancelRefused(Exception):
    """The execution has no order that could be cancelled, or a cancel is already under way."""


class CancelKind(StrEnum):
    CANCELLED = "cancelled"
    FILLED_FIRST = "filled-first"  # the resting order filled before the cancel reached it: the fill stands
    STILL_RESTING = "still-resting"  # the broker did not cancel it and it is not known filled: try again
    REFUSED = "refused"  # nothing to cancel, a cancel already under way, or the broker unreachable


@dataclass(frozen=True)
class CancelResult:
    """The trader's cancel as every caller (the API, the console) reports it: one answer, one meaning."""

    kind: CancelKind
    execution: Execution  # as recorded after the attempt
    reason: str = ""  # why it was refused


class KeyedLocks:
    """One asyncio lock per key, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class Reconciler:
    def __init__(self, engine: ExecutionEngine) -> None:
        self.engine = engine
        self._recording = KeyedLocks()

    async def recover(self) -> list[Execution]:
        """Bring every execution left unfinished (a crash, a lost broker) to its true state.

        Nothing is resubmitted: an execution whose order the broker does not hold was never
        executed, and is closed as such."""
        recovered = []
        for execution in await self.engine.store.unfinished():
            recovered.append(await self.reconcile_one(execution))
        return recovered

    async def reconcile_one(self, execution: Execution) -> Execution:
        if execution.rpm_decision_id in self.engine.inflight:
            return execution  # this process is still working on it
        view = await self._broker_view(execution)
        if view is None:
            return execution
        orders, spec = view
        still_open = [o for o in orders if not o.state.final]
        if still_open:
            if execution.status is S.PENDING:
                execution.status, execution.broker_order_id = S.SUBMITTED, still_open[0].order
                await self.engine.store.save(
                    execution, [(A.RECONCILED, {"order": still_open[0].order, "state": "open"})]
                )
                self.engine.notify(execution)
            return execution
        await self.engine.store.audit(
            A.RECONCILED,
            {"orders": [{"order": o.order, "state": o.state, "filled_lots": o.lots_filled} for o in orders]},
            execution.execution_id,
        )
        return await self._record(execution, orders, spec)

    async def _broker_view(self, execution: Execution) -> tuple[list[BrokerOrder], SymbolSpec] | None:
        """Every order of the execution at the broker, and its symbol; None when the broker cannot say."""
        try:
            orders = await self.engine.broker.find_orders(
                execution.execution_id, execution.created_timestamp - timedelta(minutes=1)
            )
            spec = await self.engine.broker.symbol_spec(execution.symbol)
        except BrokerUnavailable as exc:
            await self.engine.store.audit(A.RECONCILE_FAILED, {"error": str(exc)}, execution.execution_id)
            return None
        return (orders, spec) if spec is not None else None

    async def _record(self, execution: Execution, orders: list[BrokerOrder], spec: SymbolSpec) -> Execution:
        """The execution's outcome from its orders, all final at the broker: the fills win."""
        fills = [(o.order, f) for o in orders for f in o.fills]
        if fills:
            sub = Submission(order=orders[0].order, fills=tuple(f for _, f in fills))
        elif orders:
            sub = self.engine.interpret(orders[0], execution.execution_id)
        else:
            sub = Submission(
                rejection=Rejection(R.BROKER_REJECTION, "the broker holds no order for it: never executed")
            )
        execution.broker_order_id = execution.broker_order_id or (orders[0].order if orders else None)
        return await self.record_found(execution, spec, sub, fills)

    async def record_found(
        self, execution: Execution, spec: SymbolSpec, sub: Submission, fills: list[tuple[str, Fill]]
    ) -> Execution:
        """Record what the broker showed, one recorder at a time per execution.

        A reconciliation pass, a cancel and the position check may each have read the broker at another
        moment: the record is read again under the lock and the fills it already holds are kept, so a
        view older than the record never takes a fill back, and no deal is recorded twice."""
        async with self._recording.hold(execution.execution_id):
            current = await self.engine.store.get(execution.execution_id) or execution
            current.broker_order_id = current.broker_order_id or execution.broker_order_id
            current.cancel_requested_timestamp = (
                current.cancel_requested_timestamp or execution.cancel_requested_timestamp
            )
            stored = await self.engine.store.fills(execution.execution_id)
            seen = {f.deal for _, f in fills}
            kept = [(s.broker_order_id, Fill(s.deal_id, s.lots, s.price, s.fill_timestamp)) for s in stored]
            every = [*fills, *(fill for fill in kept if fill[1].deal not in seen)]
            return await self.engine.record_outcome(current, spec, sub, every, {s.deal_id for s in stored})

    # ---- operator cancellation of a stale order ------------------------------------------------
    async def cancel(self, execution_id: str, *, approved_by: str) -> Execution:
        """Cancel the order of a stale execution at the broker, as the trader approved.

        A fill that lands first wins and is recorded as the fill it is; a cancel already under way is
        never sent a second time."""
        execution = await self.engine.store.get(execution_id)
        if execution is None:
            raise LookupError(execution_id)
        if execution.broker_order_id is None or execution.status not in MAY_REST:
            raise CancelRefused(f"{execution_id} is {execution.status.value}: there is no resting order to cancel")
        if execution_id in self.engine.cancelling:
            raise CancelRefused(f"{execution_id}: a cancellation is already in progress")
        approved_at = utcnow()
        self.engine.cancelling[execution_id] = (approved_by, approved_at)
        order = execution.broker_order_id
        try:
            await self.engine.store.audit(
                A.CANCEL_APPROVED, {"by": approved_by, "approved_at": approved_at, "order": order}, execution_id
            )
            try:
                order = await self._resting_order(execution)  # CANCEL_RESULT names the order cancelled
                outcome = await self.engine.broker.cancel_order(order, execution.created_timestamp)
            except BrokerUnavailable as exc:
                await self.engine.store.audit(A.CANCEL_FAILED, {"order": order, "error": str(exc)}, execution_id)
                raise CancelRefused(f"{execution_id}: the broker cannot be reached: {exc}") from exc
            await self.engine.store.audit(
                A.CANCEL_RESULT,
                {"order": order, "cancelled": outcome.cancelled, "detail": outcome.detail},
                execution_id,
            )
            running = self.engine.inflight.get(execution.rpm_decision_id)
            if running is not None:
                return await asyncio.shield(running.done)  # its poll loop sees the order's end and records it
            if outcome.order is None or not outcome.order.state.final:
                return execution  # not cancelled, not known filled: still resting, the trader may try again
            execution.cancel_requested_timestamp = approved_at
            # Every order and fill of the execution as the broker has them now: a completion order's
            # cancel must not lose the fills of the order before it.
            view = await self._broker_view(execution)
            if view is None or any(not o.state.final for o in view[0]):
                return execution  # reconciliation records the end once the broker can say it
            return await self._record(execution, *view)
        finally:
            self.engine.cancelling.pop(execution_id, None)

    async def try_cancel(self, execution_id: str, *, approved_by: str) -> CancelResult:
        """`cancel`, with a refusal told apart from a fill that beat the cancel (LookupError when unknown).

        An order that rested and filled before the approval arrived is answered with its fill, however
        the fill was found: by this cancel at the broker or by the reconciler just before it."""
        try:
            after = await self.cancel(execution_id, approved_by=approved_by)
        except CancelRefused as exc:
            now = await self.engine.store.get(execution_id)
            if now is None:
                raise LookupError(execution_id) from exc
            if now.status is S.FILLED and await self._rested(execution_id):
                return CancelResult(CancelKind.FILLED_FIRST, now)
            return CancelResult(CancelKind.REFUSED, now, str(exc))
        if after.status is S.CANCELLED:
            return CancelResult(CancelKind.CANCELLED, after)
        if after.status in (S.FILLED, S.PARTIALLY_FILLED):
            return CancelResult(CancelKind.FILLED_FIRST, after)
        return CancelResult(CancelKind.STILL_RESTING, after)

    async def _rested(self, execution_id: str) -> bool:
        """Whether the execution's order ever waited at the broker (an order filled at once never did)."""
        waited = (A.SUBMITTED, A.EXPIRED, A.UNCERTAIN)
        return any(e.event_type in waited for e in await self.engine.store.audit_for(execution_id))

    async def _resting_order(self, execution: Execution) -> str:
        """The execution's order resting at the broker: its first, or the completion order sent after it."""
        assert execution.broker_order_id is not None
        orders = await self.engine.broker.find_orders(
            execution.execution_id, execution.created_timestamp - timedelta(minutes=1)
        )
        resting = [o.order for o in orders if o.state is OrderState.OPEN]
        return resting[-1] if resting else execution.broker_order_id

    # ---- while running ---------------------------------------------------------------------------
    async def watch(self) -> None:
        """Reconcile on a rate-limited schedule until cancelled (one pass per reconcile_interval_s)."""
        while True:
            await asyncio.sleep(self.engine.config.reconcile_interval_s)
            try:
                await self.reconcile_stale()
            except Exception:  # a failed pass is retried on the next one; the engine goes on
                log.exception("reconciliation pass failed")

    async def reconcile_stale(self) -> list[Execution]:
        """One pass: SUBMITTED executions past the threshold, then final ones whose resting orders filled late."""
        engine, now = self.engine, utcnow()
        changed: list[Execution] = []
        for execution in await engine.store.unfinished():
            since = execution.submission_timestamp or execution.created_timestamp
            if (now - since).total_seconds() < engine.config.reconcile_after_s:
                continue
            after = await self.reconcile_one(execution)
            if after.status is not S.SUBMITTED:
                changed.append(after)
        final = await engine.store.history(statuses=MAY_REST[1:], start=now - LATE_FILL_WINDOW, limit=1000)
        final = [e for e in final if e.broker_order_id and e.execution_id not in engine.cancelling]
        if not final:
            return changed
        try:
            orders = await engine.broker.find_orders(EXECUTION_PREFIX, min(e.created_timestamp for e in final))
        except BrokerUnavailable:
            return changed
        for execution in final:
            mine = [o for o in orders if o.tag.split("/")[0] == execution.execution_id]
            fills = [(o.order, f) for o in mine for f in o.fills]
            stored = {s.deal_id for s in await engine.store.fills(execution.execution_id)}
            if not any(f.deal not in stored for _, f in fills):
                continue
            try:
                spec = await engine.broker.symbol_spec(execution.symbol)
            except BrokerUnavailable:
                return changed  # the link went: the next pass records it
            if spec is None:
                continue
            await engine.store.audit(A.LATE_FILL, {"orders": [o.order for o in mine]}, execution.execution_id)
            sub = Submission(order=execution.broker_order_id, fills=tuple(f for _, f in fills))
            changed.append(await self.record_found(execution, spec, sub, fills))
        return changed

    async def stale_orders(self) -> list[StaleOrder]:
        """Our orders still resting at the broker whose execution is final (EXPIRED, PARTIALLY_FILLED) or has
        rested too long."""
        engine, now = self.engine, utcnow()
        stale: list[StaleOrder] = []
        for order in await engine.broker.open_orders():
            execution = await engine.store.get(order.tag.split("/")[0])
            if execution is None or execution.status not in MAY_REST:
                continue
            age = (now - (execution.submission_timestamp or execution.created_timestamp)).total_seconds()
            if execution.status is not S.SUBMITTED or age >= engine.config.reconcile_after_s:
                stale.append(StaleOrder(execution, order.order, age))
        return sorted(stale, key=lambda s: -s.age_s)
