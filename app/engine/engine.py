"""The execution engine: docs/DESIGN.md's nine steps, in order, for each RPMOutput.

1 validate · 2 request · 3 PENDING log (durable before anything is sent) · 4 submit with retry ·
5 poll until filled or EXPIRED · 6 slippage · 7 partial fills · 8 final record · 9 confirmation.
It decides how to trade safely, never what or how big: the approved units go out exactly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app import __version__
from app.adapters.broker.types import (
    Broker,
    BrokerOrder,
    BrokerUnavailable,
    Fill,
    OrderRequest,
    OrderState,
    Quote,
    SendKind,
    SendOutcome,
    SymbolSpec,
)
from app.adapters.broker.volume import lots_to_units
from app.domain.audit_events import AuditEventType as A
from app.domain.contracts import DecisionStatus, ExecutionStatus, RejectionReason, RPMOutput
from app.domain.execution import EXECUTION_PREFIX, Execution, current_execution, new_id, utcnow
from app.domain.tca import MarkoutJob, Tca
from app.engine.config import EngineConfig, PartialFillPolicy
from app.engine.events import EngineEvent, ExecutionChanged, HaltChanged, HaltSource, MarkoutRecorded
from app.engine.halts import RPM_HALT_LOOKBACK, RpmHaltWatch
from app.engine.markouts import MarkoutScheduler
from app.engine.positions import PositionReconciler
from app.engine.recovery import CancelKind, CancelRefused, CancelResult, Reconciler, StaleOrder
from app.engine.slippage import categorize, slippage_pips, vwap
from app.engine.submission import Submission
from app.engine.validation import Rejection, check_halts, spread_pips, validate
from app.store.repository import DuplicateOrder, ExecutionStore

__all__ = ["CancelKind", "CancelRefused", "CancelResult", "EngineEvent", "ExecutionEngine", "StaleOrder"]

log = logging.getLogger(__name__)
S = ExecutionStatus
R = RejectionReason


Listener = Callable[[EngineEvent], None]
Event = tuple[A, dict[str, Any]]  # an audit event: type and data


@dataclass(frozen=True)
class InFlight:
    """An execution this process is working on: its first durable state, and its end."""

    created: asyncio.Future[Execution]
    done: asyncio.Future[Execution]


# An order that ends without a fill: the status that says why.
_FINAL_STATUS = {R.ORDER_TIMEOUT: S.EXPIRED, R.OPERATOR_CANCELLED: S.CANCELLED}


class ExecutionEngine:
    def __init__(self, broker: Broker, store: ExecutionStore, config: EngineConfig | None = None) -> None:
        self.broker = broker
        self.store = store
        self.config = config or EngineConfig()
        self.halt_reason: str | None = None  # the console's own kill switch
        self.rpm_halt = RpmHaltWatch()  # the RPM's, as its newest decision says
        self._listeners: list[Listener] = []
        self.inflight: dict[str, InFlight] = {}  # by RPM order id
        self._slots: asyncio.Semaphore | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.cancelling: dict[str, tuple[str, datetime]] = {}  # execution id → (approved by, approved at)
        self.reconciler = Reconciler(self)
        self.positions = PositionReconciler(self)
        self.markouts = MarkoutScheduler(broker, store, on_recorded=self._markout_recorded)

    # ---- wiring -----------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: EngineEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must never break an execution
                log.exception("engine listener failed")

    def notify(self, execution: Execution) -> None:
        self._emit(ExecutionChanged(execution))

    def _markout_recorded(self, execution_id: str) -> None:
        self._emit(MarkoutRecorded(execution_id))

    @property
    def halted(self) -> bool:
        return self.halt_reason is not None

    async def halt(self, reason: str, by: str) -> None:
        self.halt_reason = reason or "no reason given"
        event = await self.store.audit(A.HALT, {"reason": self.halt_reason, "by": by})
        self._emit(HaltChanged(True, HaltSource.CONSOLE, self.halt_reason, by, event.event_timestamp))

    async def resume(self, by: str) -> None:
        was = self.halt_reason
        self.halt_reason = None
        event = await self.store.audit(A.RESUME, {"previous_reason": was, "by": by})
        self._emit(HaltChanged(False, HaltSource.CONSOLE, None, by, event.event_timestamp))

    async def restore_halt(self) -> None:
        """A console halted before a restart stays halted until someone resumes it; the RPM's halt is
        what its newest recorded decisions said, until its next decision says otherwise."""
        last = await self.store.last_audit_event((A.HALT, A.RESUME))
        if last is not None and last.event_type == A.HALT:
            self.halt_reason = str(last.data["reason"])
            by = last.data.get("by")
            self._emit(HaltChanged(True, HaltSource.CONSOLE, self.halt_reason, by and str(by), last.event_timestamp))
        received = await self.store.newest_rpm_outputs(RPM_HALT_LOOKBACK)
        if (rpm_halt := self.rpm_halt.replay(received[::-1])) is not None:
            self._emit(rpm_halt)

    # ---- entry points -----------------------------------------------------------------------
    async def execute(self, rpm: RPMOutput, *, raw: str, channel: str, source: str | None = None) -> Execution:
        """Run one RPMOutput to its final state (or its order timeout) and return the record."""
        created: asyncio.Future[Execution] = asyncio.get_running_loop().create_future()
        return await self._run_once(rpm, raw, channel, source, created)

    async def start(self, rpm: RPMOutput, *, raw: str, channel: str, source: str | None = None) -> Execution:
        """Record the RPMOutput, return its first durable state, and finish the execution in the background."""
        created: asyncio.Future[Execution] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._run_once(rpm, raw, channel, source, created))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        _done, _ = await asyncio.wait({task, created}, return_when=asyncio.FIRST_COMPLETED)
        if created.done():
            return created.result()
        return task.result()

    async def drain(self, within_s: float) -> int:
        """Let executions in flight finish within `within_s` seconds; return how many were still running."""
        pending = {flight.done for flight in self.inflight.values()}  # one per execution, however it was started
        if pending:
            await asyncio.wait(pending, timeout=within_s)
        return self.in_flight()

    def in_flight(self) -> int:
        """How many executions this process is still working on (counted once each, by RPM order id)."""
        return sum(not flight.done.done() for flight in self.inflight.values())

    async def _run_once(
        self, rpm: RPMOutput, raw: str, channel: str, source: str | None, created: asyncio.Future[Execution]
    ) -> Execution:
        rpm_order_id = rpm.order_id
        running = self.inflight.get(rpm_order_id)
        if running is not None:
            if running.created.done() and not created.done():
                created.set_result(running.created.result())  # ?wait=false: the state it has now
            execution = await asyncio.shield(running.done)
            return await self._duplicate(execution, channel, source, created)
        # Registered before the first await: a copy arriving meanwhile joins this one.
        flight = InFlight(created, asyncio.get_running_loop().create_future())
        self.inflight[rpm_order_id] = flight
        log_context = current_execution.set(None)
        try:
            if self._slots is None:
                self._slots = asyncio.Semaphore(self.config.max_in_flight)
            async with self._slots:
                execution = await self._execute(rpm, raw, channel, source, created)
            flight.done.set_result(execution)
            return execution
        except DuplicateOrder as dup:  # executed before (any process, any time): the store's unique key says so
            flight.done.set_result(dup.existing)
            return await self._duplicate(dup.existing, channel, source, created)
        except BaseException as exc:
            flight.done.set_exception(exc)
            flight.done.exception()  # retrieved: waiters get it through their own await
            raise
        finally:
            del self.inflight[rpm_order_id]
            current_execution.reset(log_context)

    async def _duplicate(
        self, execution: Execution, channel: str, source: str | None, created: asyncio.Future[Execution]
    ) -> Execution:
        await self.store.audit(
            A.DUPLICATE_RECEIVED,
            {"channel": channel, "source": source, "rpm_order_id": execution.rpm_decision_id},
            execution.execution_id,
        )
        if not created.done():
            created.set_result(execution)
        return execution

    # ---- the nine steps ---------------------------------------------------------------------
    async def _execute(
        self, rpm: RPMOutput, raw: str, channel: str, source: str | None, created: asyncio.Future[Execution]
    ) -> Execution:
        now = utcnow()
        decision = rpm.decision
        trade = decision.approved_trade
        execution = Execution(
            execution_id=new_id(EXECUTION_PREFIX.rstrip("_")),
            request_id=new_id("req"),
            rpm_decision_id=decision.order_id,
            symbol=trade.symbol if trade else (decision.rejected_trade and decision.rejected_trade.symbol) or "",
            direction=trade.direction if trade else 0,
            intended_units=trade.position_units if trade else Decimal(0),
            status=S.PENDING,
            decision_status=decision.status.value,
            broker=self.broker.name,
            execution_engine_version=__version__,
            created_timestamp=now,
            last_update_timestamp=now,
            intended_price=trade.intended_price if trade else None,
            confidence_score=Decimal(str(trade.confidence_score))
            if trade and trade.confidence_score is not None
            else None,
            regime=trade.regime if trade else None,
            risk_per_trade=trade.risk_per_trade if trade else None,
            model_version=rpm.model_version,
            rpm_version=rpm.rpm_version,
        )
        current_execution.set(execution.execution_id)  # every log line of this execution carries its id
        state = rpm.portfolio_state
        if (rpm_halt := self.rpm_halt.observe(state.trading_halted, state.halt_reason, now)) is not None:
            self._emit(rpm_halt)
        request = {
            "request_id": execution.request_id,
            "rpm_order_id": decision.order_id,
            "execution_id": execution.execution_id,
            "received_timestamp": now,
            "channel": channel,
            "source": source,
            "decision_status": decision.status.value,
            "config_hash": rpm.config_hash,
            "timeout_seconds": Decimal(str(self.config.order_timeout_s)),
            "max_slippage_pips": self.config.max_slippage_pips,
            "rpm_output_raw": raw,
        }
        received = (
            A.RECEIVED,
            {
                "channel": channel,
                "source": source,
                "decision": decision.status.value,
                "symbol": execution.symbol,
                "direction": execution.direction,
                "units": execution.intended_units,
                "config_hash": rpm.config_hash,
                "rpm_version": rpm.rpm_version,
                "model_version": rpm.model_version,
            },
        )

        if decision.status is DecisionStatus.REJECTED:
            assert decision.rejected_trade is not None
            rt = decision.rejected_trade
            rpm_rejection = Rejection(
                R.RPM_REJECTED, f"{rt.rejection_reason}: {rt.rejection_details or ''}".rstrip(": ")
            )
            return await self._record_rejection(execution, request, [received], rpm_rejection, created)

        assert trade is not None
        # Step 1: halts first (no broker call at all), then everything the broker must tell us.
        rejection = check_halts(rpm.portfolio_state.trading_halted, rpm.portfolio_state.halt_reason, self.halt_reason)
        spec: SymbolSpec | None = None
        quote: Quote | None = None
        if rejection is None:
            try:
                snap = await self.broker.pre_trade_snapshot(trade.symbol, trade.direction, trade.position_units)
            except BrokerUnavailable as exc:
                rejection = Rejection(R.MARKET_DATA_UNAVAILABLE, f"broker unavailable: {exc}")
            else:
                rejection = validate(trade, snap, self.config, utcnow())
                spec, execution.lots, quote = snap.spec, snap.lots, snap.quote
                if snap.quote is not None:
                    execution.market_bid, execution.market_ask = snap.quote.bid, snap.quote.ask
                    execution.spread_pips = spread_pips(snap)
                    if execution.intended_price is None:
                        execution.intended_price = snap.quote.mid
        if rejection is not None:
            return await self._record_rejection(execution, request, [received], rejection, created)
        assert spec is not None and execution.lots is not None

        # Steps 2 and 3: request and PENDING log, durable before anything goes to the broker.
        await self.store.create_execution(
            request,
            execution,
            [
                received,
                (
                    A.VALIDATED,
                    {
                        "lots": execution.lots,
                        "bid": execution.market_bid,
                        "ask": execution.market_ask,
                        "spread_pips": execution.spread_pips,
                        "intended_price": execution.intended_price,
                    },
                ),
            ],
        )
        created.set_result(execution)
        self.notify(execution)

        # Steps 4 to 8.
        sub = await self._submit(execution, spec, execution.execution_id, execution.lots, quote)
        execution.broker_order_id = execution.broker_order_id or sub.order
        unsaved = list(sub.events)  # recorded with the next durable write of this execution
        if sub.resting and sub.order is not None:
            sub = await self._poll(execution, sub.order, unsaved)
            unsaved = []
        fills = [(sub.order or "", f) for f in sub.fills]
        if sub.rejection is None and not sub.uncertain and sub.order is not None:
            more_fills, more_events = await self._complete_remainder(execution, spec, fills)
            fills += more_fills
            unsaved += more_events
        return await self.record_outcome(execution, spec, sub, fills, events=unsaved)

    async def _record_rejection(
        self,
        execution: Execution,
        request: dict[str, Any],
        events: list[Event],
        rejection: Rejection,
        created: asyncio.Future[Execution],
    ) -> Execution:
        execution.status = S.REJECTED
        execution.rejection_reason, execution.rejection_details = rejection.reason, rejection.details
        events = [*events, (A.REJECTED, {"reason": rejection.reason, "details": rejection.details})]
        await self.store.create_execution(request, execution, events)
        created.set_result(execution)
        self.notify(execution)
        log.info("execution %s rejected: %s %s", execution.execution_id, rejection.reason, rejection.details)
        return execution

    # ---- step 4 -----------------------------------------------------------------------------
    async def _submit(
        self, execution: Execution, spec: SymbolSpec, tag: str, lots: Decimal, quote: Quote | None = None
    ) -> Submission:
        """Send one market order; retry network failures with back-off, never a broker rejection.

        Every answer that may hide an executed order is reconciled at the broker, by tag, before
        anything is sent again: a second order for one decision is the one thing never allowed."""
        cfg, retry = self.config, self.config.retry
        network_failures = requotes = 0
        if quote is None:
            quote = await self.broker.quote(execution.symbol)
        while True:
            if self.halt_reason is not None:
                return Submission(
                    rejection=Rejection(
                        R.TRADING_HALTED, f"console kill switch engaged before sending: {self.halt_reason}"
                    )
                )
            if quote is None:
                return Submission(rejection=Rejection(R.MARKET_DATA_UNAVAILABLE, "quote lost before sending"))
            price = quote.ask if execution.direction == 1 else quote.bid
            execution.attempts += 1
            execution.submission_timestamp = execution.submission_timestamp or utcnow()
            outcome = await self.broker.send_market_order(
                OrderRequest(tag, execution.symbol, execution.direction, lots, price)
            )
            if outcome.kind in (SendKind.FILLED, SendKind.PARTIAL, SendKind.PLACED):
                sent = self._event(execution, A.ORDER_SENT, outcome, tag=tag, lots=lots)
                resting = outcome.kind is SendKind.PLACED
                return Submission(order=outcome.order, fills=outcome.fills, resting=resting, events=(sent,))
            if outcome.kind is SendKind.REJECTED:
                refused = self._event(execution, A.BROKER_REJECTED, outcome, tag=tag)
                return Submission(rejection=Rejection(R.BROKER_REJECTION, outcome.detail), events=(refused,))
            if outcome.kind is SendKind.RETRYABLE and not outcome.backoff:
                requotes += 1
                await self._note(execution, A.REQUOTE, outcome, tag=tag, requotes=requotes)
                if requotes > cfg.max_requotes:
                    return Submission(
                        rejection=Rejection(R.BROKER_REJECTION, f"requoted {requotes} times: {outcome.detail}")
                    )
                quote = await self.broker.quote(execution.symbol)
                continue
            # A network failure (or throttling): wait, then make sure the broker does not have it.
            network_failures += 1
            await self._note(execution, A.NETWORK_ERROR, outcome, tag=tag, failure=network_failures)
            if retry.exhausted(network_failures) and outcome.kind is SendKind.RETRYABLE:
                return Submission(
                    rejection=Rejection(
                        R.BROKER_REJECTION, f"gave up after {network_failures} attempts: {outcome.detail}"
                    )
                )
            await asyncio.sleep(retry.delay(min(network_failures, cfg.max_retries + 1)))
            if outcome.kind is SendKind.AMBIGUOUS:
                found = await self._reconcile(execution, tag)
                if found is None:
                    return Submission(uncertain=True)
                if found:
                    order = found[0]
                    await self.store.audit(
                        A.RECONCILED,
                        {"tag": tag, "order": order.order, "state": order.state, "filled_lots": order.lots_filled},
                        execution.execution_id,
                    )
                    return self.interpret(order)
                if retry.exhausted(network_failures):
                    return Submission(
                        rejection=Rejection(
                            R.BROKER_REJECTION,
                            f"network failure after {network_failures} attempts "
                            f"(the broker confirms it holds no order): {outcome.detail}",
                        )
                    )
            quote = await self.broker.quote(execution.symbol)

    async def _reconcile(self, execution: Execution, tag: str) -> list[BrokerOrder] | None:
        """Our orders with exactly this tag, or None when the broker cannot be asked."""
        retry = self.config.retry
        for attempt in range(1, self.config.max_retries + 2):
            try:
                orders = await self.broker.find_orders(tag, execution.created_timestamp)
            except BrokerUnavailable as exc:
                await self.store.audit(
                    A.RECONCILE_FAILED, {"tag": tag, "attempt": attempt, "error": str(exc)}, execution.execution_id
                )
                await asyncio.sleep(retry.delay(attempt))
                continue
            return [o for o in orders if o.tag == tag]
        return None

    def interpret(self, order: BrokerOrder, execution_id: str = "") -> Submission:
        if not order.state.final:  # resting, or done but its deals not yet in: poll it
            return Submission(order=order.order, fills=order.fills, resting=True)
        if order.fills:
            return Submission(order=order.order, fills=order.fills)
        if order.state is OrderState.CANCELLED and execution_id in self.cancelling:
            by, at = self.cancelling[execution_id]
            return Submission(
                order=order.order,
                rejection=Rejection(
                    R.OPERATOR_CANCELLED,
                    f"order {order.order} cancelled at the broker, approved by {by} at {at.isoformat()}",
                ),
            )
        if order.state is OrderState.EXPIRED:
            return Submission(
                order=order.order, rejection=Rejection(R.ORDER_TIMEOUT, f"order {order.order} expired at the broker")
            )
        return Submission(
            order=order.order,
            rejection=Rejection(R.BROKER_REJECTION, f"order {order.order} {order.state.value} at the broker"),
        )

    @staticmethod
    def _event(execution: Execution, event_type: A, outcome: SendOutcome, **extra: Any) -> Event:
        data = {"kind": outcome.kind, "detail": outcome.detail, "code": outcome.code, "order": outcome.order}
        return event_type, {**data, "attempt": execution.attempts, **extra}

    async def _note(self, execution: Execution, event_type: A, outcome: SendOutcome, **extra: Any) -> None:
        """Audited at once: what happens on the way (requotes, network errors) is on disk as it happens."""
        await self.store.audit(*self._event(execution, event_type, outcome, **extra), execution.execution_id)

    # ---- step 5 -----------------------------------------------------------------------------
    async def _poll(self, execution: Execution, order: str, unsaved: Sequence[Event] = ()) -> Submission:
        """Poll a resting order until it is done or the order timeout passes (EXPIRED)."""
        execution.status = S.SUBMITTED
        await self.store.save(execution, [*unsaved, (A.SUBMITTED, {"order": order})])
        self.notify(execution)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.order_timeout_s
        last: BrokerOrder | None = None
        while loop.time() < deadline:
            await asyncio.sleep(min(self.config.poll_interval_s, max(0.0, deadline - loop.time())))
            try:
                last = await self.broker.order_status(order, execution.created_timestamp)
            except BrokerUnavailable as exc:
                await self.store.audit(A.POLL_FAILED, {"order": order, "error": str(exc)}, execution.execution_id)
                continue
            if last is not None and last.state.final:
                return self.interpret(last, execution.execution_id)
        if last is not None and last.state is OrderState.UNSETTLED:
            # Done at the broker, its deals not in yet: left SUBMITTED for reconciliation, never called a timeout.
            return Submission(order=order, uncertain=True, detail=f"order {order} done at the broker; deals not yet in")
        fills = last.fills if last is not None else ()
        return Submission(
            order=order,
            fills=fills,
            rejection=Rejection(
                R.ORDER_TIMEOUT,
                f"order {order} not filled within {self.config.order_timeout_s:g} s; still open at the broker",
            ),
        )

    # ---- step 7 -----------------------------------------------------------------------------
    async def _complete_remainder(
        self, execution: Execution, spec: SymbolSpec, fills: list[tuple[str, Fill]]
    ) -> tuple[list[tuple[str, Fill]], list[Event]]:
        """Option B of step 7: send up to N more orders for what is still unfilled."""
        added: list[tuple[str, Fill]] = []
        unsaved: list[Event] = []
        if self.config.partial_fill_policy is not PartialFillPolicy.COMPLETE or execution.lots is None:
            return added, unsaved
        for n in range(2, self.config.max_completion_orders + 2):
            filled = sum((f.lots for _, f in [*fills, *added]), Decimal(0))
            remaining = execution.lots - filled
            if filled == 0 or remaining <= 0 or remaining < spec.volume_min:
                break
            sub = await self._submit(execution, spec, f"{execution.execution_id}/{n}", remaining)
            unsaved += sub.events
            if sub.resting and sub.order is not None:
                sub = await self._poll(execution, sub.order, unsaved)
                unsaved = []
            added.extend((sub.order or "", f) for f in sub.fills)
            if sub.rejection is not None or sub.uncertain or not sub.fills:
                break
        return added, unsaved

    # ---- steps 6, 8 and 9 -------------------------------------------------------------------
    async def record_outcome(
        self,
        execution: Execution,
        spec: SymbolSpec,
        sub: Submission,
        fills: list[tuple[str, Fill]],
        stored_deals: frozenset[str] | set[str] = frozenset(),
        events: Sequence[Event] = (),
    ) -> Execution:
        """Steps 6 and 8 over every fill of the execution; only fills not yet stored are added."""
        now = utcnow()
        filled_lots = sum((f.lots for _, f in fills), Decimal(0))
        execution.executed_units = lots_to_units(filled_lots, spec) if filled_lots else Decimal(0)
        execution.fill_count = len(fills)
        events = list(events)
        if fills:
            execution.fill_price = vwap([(f.lots, f.price) for _, f in fills])
            execution.fill_timestamp = max(f.time for _, f in fills)
            if execution.intended_price is not None:
                execution.slippage_pips = slippage_pips(
                    execution.direction, execution.intended_price, execution.fill_price, spec.pip
                )
                execution.slippage_category = categorize(execution.slippage_pips).value
            full = execution.executed_units >= execution.intended_units
            execution.status = S.FILLED if full else S.PARTIALLY_FILLED
            # A fill is the truth, whatever was said before (a timeout, a cancel request).
            execution.rejection_reason = execution.rejection_details = None
            if not full:
                execution.rejection_details = (
                    f"filled {execution.executed_units} of {execution.intended_units} units"
                    + (f"; {sub.rejection.details}" if sub.rejection else "")
                )
                events.append(
                    (
                        A.PARTIAL_FILL,
                        {"executed_units": execution.executed_units, "intended_units": execution.intended_units},
                    )
                )
            limit = self.config.max_slippage_pips
            if limit is not None and execution.slippage_pips is not None and execution.slippage_pips > limit:
                # The order is filled and stays filled; the breach is flagged for the trader.
                execution.rejection_reason = R.SLIPPAGE_EXCEEDED
                execution.rejection_details = f"slippage {execution.slippage_pips} pips > limit {limit} pips"
            events.append(
                (
                    A.FILLED if full else A.PARTIALLY_FILLED,
                    {
                        "executed_units": execution.executed_units,
                        "fill_price": execution.fill_price,
                        "slippage_pips": execution.slippage_pips,
                        "category": execution.slippage_category,
                        "fills": [{"order": o, "deal": f.deal, "lots": f.lots, "price": f.price} for o, f in fills],
                    },
                )
            )
        elif sub.uncertain:
            execution.status = S.SUBMITTED
            execution.rejection_details = (
                sub.detail or "the broker could not be reached to confirm the order"
            ) + "; reconciliation pending"
            events.append((A.UNCERTAIN, {"details": execution.rejection_details}))
        elif sub.rejection is not None:
            execution.status = _FINAL_STATUS.get(sub.rejection.reason, S.REJECTED)
            execution.rejection_reason, execution.rejection_details = sub.rejection.reason, sub.rejection.details
            ended = {"reason": sub.rejection.reason, "details": sub.rejection.details}
            events.append((A(execution.status.value), ended))
        execution.last_update_timestamp = now
        units = [(order, f, lots_to_units(f.lots, spec)) for order, f in fills if f.deal not in stored_deals]
        tca = self._arrival_tca(execution, spec) if fills else None
        if tca is not None:
            events.insert(len(events) - 1, (A.TCA_ARRIVAL, self._tca_event(tca)))
        await self.store.save(execution, events, units, (tca, spec.pip) if tca else None)
        if tca is not None and not stored_deals:
            self._mark_out(execution, spec, tca)
        self.notify(execution)
        return execution

    def _mark_out(self, execution: Execution, spec: SymbolSpec, tca: Tca) -> None:
        """The first fills recorded: their mark-outs are sampled from now on (later fills keep the moment)."""
        e = execution
        assert e.fill_price is not None  # a TCA is made for a fill
        self.markouts.schedule(MarkoutJob(e.execution_id, e.symbol, e.direction, e.fill_price, spec.pip, tca))

    @staticmethod
    def _arrival_tca(execution: Execution, spec: SymbolSpec) -> Tca | None:
        """The arrival figures, from the quote read at validation; none for a fill with no such quote."""
        if execution.market_bid is None or execution.market_ask is None or execution.fill_timestamp is None:
            return None
        mid = (execution.market_bid + execution.market_ask) / 2
        assert execution.fill_price is not None  # set with the fill timestamp
        return Tca(
            arrival_mid=mid,
            spread_pips=execution.spread_pips,
            slippage_vs_arrival_pips=slippage_pips(execution.direction, mid, execution.fill_price, spec.pip),
            marked_from=execution.fill_timestamp,
        )

    @staticmethod
    def _tca_event(tca: Tca) -> dict[str, Any]:
        return {
            "arrival_mid": tca.arrival_mid,
            "spread_pips": tca.spread_pips,
            "slippage_vs_arrival_pips": tca.slippage_vs_arrival_pips,
            "marked_from": tca.marked_from,
        }

    # ---- recovery and the trader's cancellations (app.engine.recovery) ---------------------------
    async def recover(self) -> list[Execution]:
        return await self.reconciler.recover()

    async def watch(self) -> None:
        """Reconcile stale and late-filled executions until cancelled."""
        await self.reconciler.watch()

    async def stale_orders(self) -> list[StaleOrder]:
        return await self.reconciler.stale_orders()

    async def cancel(self, execution_id: str, *, approved_by: str) -> Execution:
        """Cancel a stale order; CancelRefused when there is none to cancel (callers reporting to a
        trader or a client use `try_cancel`)."""
        return await self.reconciler.cancel(execution_id, approved_by=approved_by)

    async def try_cancel(self, execution_id: str, *, approved_by: str) -> CancelResult:
        return await self.reconciler.try_cancel(execution_id, approved_by=approved_by)
