"""SIGKILL in the middle of executions, then a restart on the same store and simulated broker.

What must hold afterwards, counted and not read off log lines: every accepted RPMOutput has exactly
one record, every order at the broker belongs to exactly one execution, no RPM order_id has two
orders, and nothing is left PENDING.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.api.served import Served
from tests.builders import rpm_payload

SLOW_BROKER = """
[behaviour]
latency_ms = 25.0
"""


async def post_all(served: Served, payloads: list[dict[str, object]]) -> list[httpx.Response | BaseException]:
    async with served.async_client() as client:
        return await asyncio.gather(
            *(client.post("/execute", params={"wait": "false"}, json=p) for p in payloads), return_exceptions=True
        )


def store_rows(data_dir: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(data_dir / "x.db") as conn:
        return conn.execute("SELECT execution_id, rpm_decision_id, status FROM execution_logs").fetchall()


def test_sigkill_mid_flight_leaves_one_record_and_at_most_one_order_per_decision(tmp_path: Path) -> None:
    scenario = tmp_path / "slow.toml"
    scenario.write_text(SLOW_BROKER)
    args = ("--sim-scenario", str(scenario), "--order-timeout", "5")
    served = Served.start(tmp_path, *args)
    payloads = [rpm_payload(order_id=f"rpm_crash_{n}", symbol=("EURUSD", "USDJPY", "GBPUSD")[n % 3]) for n in range(40)]
    answers = asyncio.run(post_all(served, payloads))
    accepted = [
        p["decision"]["order_id"]  # type: ignore[index]
        for p, a in zip(payloads, answers, strict=True)
        if isinstance(a, httpx.Response) and a.status_code in (200, 202)
    ]
    assert len(accepted) == len(payloads), [a for a in answers if not isinstance(a, httpx.Response)]
    deadline = time.monotonic() + 20
    while len(served.sim_orders()) < 5 and time.monotonic() < deadline:  # orders are reaching the broker
        time.sleep(0.02)
    served.stop(signal.SIGKILL)
    killed_with = Counter(status for _, _, status in store_rows(tmp_path))
    assert killed_with["PENDING"] + killed_with["SUBMITTED"] > 0, killed_with  # the kill did land mid-flight

    restarted = Served.start(tmp_path, *args)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = store_rows(tmp_path)
            if all(status not in ("PENDING", "SUBMITTED") for _, _, status in rows):
                break
            time.sleep(0.1)
        # Every accepted RPMOutput: exactly one record, none left unfinished.
        per_decision = Counter(rpm for _, rpm, _ in rows)
        assert sorted(per_decision) == sorted(accepted)
        assert set(per_decision.values()) == {1}
        assert [r for r in rows if r[2] in ("PENDING", "SUBMITTED")] == []
        # Every order at the broker: one execution's, and no decision with two orders.
        execution_of = {execution_id: rpm for execution_id, rpm, _ in rows}
        orders = restarted.sim_orders()
        tags = [o["comment"] for o in orders]
        assert all(tag in execution_of for tag in tags), tags
        assert Counter(execution_of[tag] for tag in tags).most_common(1)[0][1] == 1
        # And what the store says was filled is what the broker holds.
        filled = {e for e, _, status in rows if status == "FILLED"}
        assert filled == set(tags)
    finally:
        assert restarted.stop() == 0, restarted.output
