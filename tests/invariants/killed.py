"""A randomized run against `execution-engine serve` as a process, SIGKILLed at random moments.

RPMOutputs go in over the API (`?wait=false`), cancels are approved over the API while fills are due,
and at each planned moment the process is killed with SIGKILL and started again on the same store and
simulated broker (whose books are its own journaled file, as a real broker's are its own). A send
that failed because the process was dead is sent again, as upstream would. At the end, a restarted
engine reconciles what is left and the checker compares the records with the broker's books.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.sim.scenario import load_scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.domain.contracts import ExecutionStatus
from app.store.repository import ExecutionStore
from tests.api.served import AUDIT_KEY, Served
from tests.invariants.inprocess import Outcome, Told, restart_and_check
from tests.invariants.plan import Plan

S = ExecutionStatus
FINAL = {s.value for s in (S.FILLED, S.PARTIALLY_FILLED, S.REJECTED, S.CANCELLED)}


def scenario_toml(plan: Plan) -> str:
    lines = ["[account]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in plan.account.items()]
    lines.append("\n[behaviour]")
    lines += [f"{key} = {json.dumps(value)}" for key, value in plan.behaviour.items()]
    for name, keys in plan.symbols.items():
        lines.append(f"\n[symbols.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def _post(served: Served, path: str, **kwargs: Any) -> httpx.Response | None:
    try:
        with served.client() as client:
            return client.post(path, **kwargs)
    except httpx.HTTPError:
        return None  # the process is dead or dying: upstream will try again


def run(plan: Plan, data_dir: Path) -> Outcome:
    scenario = data_dir / "scenario.toml"
    scenario.write_text(scenario_toml(plan))
    args = ("--sim-scenario", str(scenario), "--order-timeout", f"{plan.config['order_timeout_s']:.3f}")
    served = Served.start(data_dir, *args)
    rnd = random.Random(plan.seed)
    told: Told = {}
    known: list[str] = []
    steps: list[tuple[float, str, Any]] = [(at, "send", p) for at, p in plan.payloads]
    steps += [(m.at_s, m.kind, m) for m in plan.nemesis if m.kind in ("kill", "cancel")]
    unsent: list[dict[str, Any]] = []
    start = time.monotonic()
    try:
        for at, kind, item in sorted(steps, key=lambda s: s[0]):
            time.sleep(max(0.0, at - (time.monotonic() - start)))
            if kind == "kill":
                served.stop(signal.SIGKILL)
                served = Served.start(data_dir, *args)
                for payload in unsent:  # upstream sends again what got no answer
                    _send(served, payload, told, known, [])
                unsent = []
            elif kind == "cancel" and known:
                _post(served, f"/executions/{rnd.choice(known)}/cancel", json={"approved_by": "nemesis"})
            elif kind == "send":
                _send(served, item, told, known, unsent)
        for payload in unsent:
            _send(served, payload, told, known, [])
        b = plan.behaviour
        time.sleep(plan.config["order_timeout_s"] + b["pending_fill_after_s"] + b["pending_fill_jitter_s"])
    finally:
        served.stop(signal.SIGTERM)
    return asyncio.run(_finish(plan, data_dir, scenario, told))


def _send(served: Served, payload: dict[str, Any], told: Told, known: list[str], unsent: list[dict[str, Any]]) -> None:
    answer = _post(served, "/execute", params={"wait": "false"}, json=payload)
    if answer is None or answer.status_code >= 500:
        unsent.append(payload)
        return
    body = answer.json()
    known.append(body["execution_id"])
    if body["status"] in FINAL:
        told.setdefault(body["rpm_order_id"], []).append((S(body["status"]), Decimal(str(body["executed_units"]))))


async def _finish(plan: Plan, data_dir: Path, scenario: Path, told: Told) -> Outcome:
    loaded = load_scenario(scenario)
    state = str(data_dir / "sim-state.json")  # where serve keeps the simulated broker's books
    sim = SimulatedTerminal(replace(loaded, behaviour=replace(loaded.behaviour, state_file=state)))
    broker = MT5Broker(sim, name="sim")
    await broker.connect()
    store = ExecutionStore.open(f"sqlite:///{data_dir / 'x.db'}", AUDIT_KEY.encode())
    try:
        return await restart_and_check(plan, broker, store, told)
    finally:
        await broker.close()
        store.close()
