"""A randomized run through the real engine, MT5 adapter and simulator in one process.

Executions start at their planned moments while the nemesis drops the terminal link, approves
cancels of resting orders (racing their fills) and runs reconciliation passes (racing the engine's
own polling). Then the link comes back, every resting order reaches its fill time, a restarted
engine reconciles what is left, and the checker compares the records with the broker's books.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.domain.contracts import ExecutionStatus, parse_rpm_output
from app.domain.execution import Execution
from app.engine.config import EngineConfig, PartialFillPolicy
from app.engine.engine import CancelRefused, ExecutionEngine
from app.store.integrity import verify_store
from app.store.repository import ExecutionStore
from tests.invariants import checker
from tests.invariants.plan import Nemesis, Plan

S = ExecutionStatus
EPOCH, FAR = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
AUDIT_KEY = b"soak-audit-key-0123456789abcdef0"


@dataclass
class Outcome:
    plan: Plan
    violations: list[str]
    executions: int = 0
    deals: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    histories: dict[str, list[str]] = field(default_factory=dict)

    def report(self) -> str:
        lines = [f"{len(self.violations)} violation(s) in {self.plan.describe()}"]
        lines += [f"  {v}" for v in self.violations]
        for execution_id, events in self.histories.items():
            lines.append(f"  history of {execution_id}: " + " → ".join(events))
        lines.append(f"  replay: python -m tests.soak_invariants --seed {self.plan.seed} --runs 1")
        return "\n".join(lines)


def engine_config(plan: Plan) -> EngineConfig:
    config: dict[str, Any] = dict(plan.config)
    config["partial_fill_policy"] = PartialFillPolicy(config["partial_fill_policy"])
    return EngineConfig(**config)


Told = dict[str, list[tuple[ExecutionStatus, Decimal]]]  # by decision: each final answer a client was given


def told_violations(told: Told, final: dict[str, Execution]) -> list[str]:
    """What a client was told stays true: a fill is never taken back, a rejection never hides a fill."""
    out = []
    for decision, answers in told.items():
        end = final.get(decision)
        for status, units in answers:
            if end is None:
                out.append(f"decision {decision}: told {status.value}, but no record exists")
            elif status in (S.REJECTED, S.CANCELLED) and end.executed_units != 0:
                out.append(f"{end.execution_id}: told {status.value}, yet {end.executed_units} units filled")
            elif status in (S.FILLED, S.PARTIALLY_FILLED) and end.executed_units < units:
                out.append(f"{end.execution_id}: told {units} units filled, record says {end.executed_units}")
    return out


async def books_of(sim: SimulatedTerminal) -> checker.BrokerBooks:
    """The broker's own books, asked through its API as any client would."""
    orders = (sim.orders_get() or ()) + (sim.history_orders_get(EPOCH, FAR) or ())
    return checker.BrokerBooks.from_records(orders, sim.history_deals_get(EPOCH, FAR) or ())


async def check_store(plan: Plan, sim: SimulatedTerminal, store: ExecutionStore, magic: int, told: Told) -> Outcome:
    executions = await store.history(limit=1_000_000)
    fills = {e.execution_id: await store.fills(e.execution_id) for e in executions}
    books = await books_of(sim)
    contract = {name: spec.contract_size for name, spec in sim.scenario.symbols.items()}
    violations = checker.check(books, executions, fills, contract, magic)
    violations += told_violations(told, {e.rpm_decision_id: e for e in executions})
    with store.db.reader.connect() as conn:  # the store as `verify` sees it: every row as its trail states it
        violations += [f"verify: {problem}" for problem in verify_store(conn, store.signer).problems]
    outcome = Outcome(plan, violations, len(executions), sum(d.magic == magic for d in books.deals))
    for e in executions:
        key = f"{e.status.value}/{e.rejection_reason.value}" if e.rejection_reason else e.status.value
        outcome.statuses[key] = outcome.statuses.get(key, 0) + 1
    for execution_id in sorted(set(re.findall(r"exec_[0-9a-f]+", "\n".join(violations))))[:5]:
        outcome.histories[execution_id] = [
            f"{a.event_type}{_brief(a.data)}" for a in await store.audit_for(execution_id)
        ]
    return outcome


def _brief(data: dict[str, Any]) -> str:
    keys = ("order", "state", "kind", "reason", "executed_units", "cancelled")
    shown = {k: data[k] for k in keys if data.get(k) is not None}
    return f"{shown}" if shown else ""


async def settle(engine: ExecutionEngine, plan: Plan, rounds: int = 60) -> None:
    """Let every resting order reach its fill time, then reconcile until the records stand still."""
    b = plan.behaviour
    await asyncio.sleep(b["pending_fill_after_s"] + b["pending_fill_jitter_s"] + 0.05)
    for _ in range(rounds):
        await engine.recover()
        late = await engine.reconciler.reconcile_stale()
        if not late and not await engine.store.unfinished():
            return
        await asyncio.sleep(0.05)


async def run(plan: Plan, db_url: str) -> Outcome:
    scenario = Scenario().with_overrides(account=plan.account, behaviour=plan.behaviour, symbols=plan.symbols)
    sim = SimulatedTerminal(scenario)
    broker = MT5Broker(sim, name="sim")
    await broker.connect()
    store = ExecutionStore.open(db_url, AUDIT_KEY)
    engine = ExecutionEngine(broker, store, engine_config(plan))
    told: Told = {}
    rnd = random.Random(plan.seed)
    try:

        async def send(at: float, payload: dict[str, Any]) -> None:
            await asyncio.sleep(at)
            raw = json.dumps(payload)
            answer = await engine.execute(parse_rpm_output(raw), raw=raw, channel="soak")
            told.setdefault(answer.rpm_decision_id, []).append((answer.status, answer.executed_units))

        async def move(m: Nemesis) -> None:
            await asyncio.sleep(m.at_s)
            if m.kind == "disconnect":
                sim.set_connected(False)
                await asyncio.sleep(m.duration_s)
                sim.set_connected(True)
            elif m.kind == "cancel":
                final = await store.history(statuses=[S.EXPIRED, S.PARTIALLY_FILLED], limit=1000)
                resting = await store.unfinished() + final
                # Refused when filled, already cancelling, or nothing rests: what a trader would be told.
                with contextlib.suppress(CancelRefused, LookupError):
                    if resting:
                        await engine.cancel(rnd.choice(resting).execution_id, approved_by="nemesis")
            elif m.kind == "reconcile":
                await engine.reconciler.reconcile_stale()

        await asyncio.gather(*(send(at, p) for at, p in plan.payloads), *(move(m) for m in plan.nemesis))
        sim.set_connected(True)
        return await restart_and_check(plan, broker, store, told)
    finally:
        sim.set_connected(True)
        await broker.close()
        store.close()


async def restart_and_check(plan: Plan, broker: MT5Broker, store: ExecutionStore, told: Told) -> Outcome:
    """A restarted engine on the same store and broker finishes what was left; then the checker."""
    restarted = ExecutionEngine(broker, store, engine_config(plan))
    await settle(restarted, plan)
    return await check_store(plan, broker.mt5, store, broker.magic, told)
