"""Many RPMOutputs at once: each executed once, none waiting for another to be answered."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.api.served import Served
from tests.builders import rpm_payload

N = 50


async def _execute_all(served: Served, payloads: list[dict[str, Any]]) -> list[httpx.Response]:
    async with served.async_client() as client:
        return await asyncio.gather(*(client.post("/execute", json=p) for p in payloads))


def test_fifty_concurrent_executions_are_each_recorded_and_sent_exactly_once(served: Served) -> None:
    payloads = [rpm_payload(units=1000, order_id=f"api_burst_{i:02d}") for i in range(N)]
    responses = asyncio.run(_execute_all(served, payloads))

    assert [r.status_code for r in responses] == [200] * N
    confirmations = [r.json() for r in responses]
    assert {c["status"] for c in confirmations} == {"FILLED"}
    assert sorted(c["rpm_order_id"] for c in confirmations) == sorted(p["decision"]["order_id"] for p in payloads)
    execution_ids = {c["execution_id"] for c in confirmations}
    assert len(execution_ids) == N

    with served.client() as api:
        history = api.get("/history", params={"limit": 1000}).json()
    assert execution_ids <= {c["execution_id"] for c in history}
    orders = [o for o in served.sim_orders() if o["comment"] in execution_ids]
    assert len(orders) == N
    assert {o["comment"] for o in orders} == execution_ids
    assert {o["volume_initial"] for o in orders} == {0.01}
