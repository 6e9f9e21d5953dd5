"""ExecutionStore.search: the blotter's search box, by execution id, RPM order id, broker ticket or symbol."""

from __future__ import annotations

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from tests.builders import rpm
from tests.conftest import Harness


async def run(h: Harness, **kwargs: object) -> Execution:
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def test_search_finds_an_execution_by_each_of_its_names(harness: Harness) -> None:
    eur = await run(harness, symbol="EURUSD")
    await run(harness, symbol="USDJPY")
    fills = await harness.store.fills(eur.execution_id)
    assert eur.broker_order_id and fills

    async def found(text: str) -> list[str]:
        return [e.execution_id for e in await harness.store.search(text)]

    ticket = eur.broker_order_id
    for name in (eur.execution_id, eur.rpm_decision_id, ticket, fills[0].deal_id, f" {ticket} "):
        assert await found(name) == [eur.execution_id], name
    assert await found("eurusd") == [eur.execution_id]  # a symbol, as typed
    assert await found("no-such-ticket") == []


async def test_search_keeps_the_desk_s_filters_and_counts_by_status(harness: Harness) -> None:
    filled = await run(harness, symbol="EURUSD")
    await run(harness, symbol="USDJPY")
    refused = await run(harness, symbol="EURUSD", halted=True)  # the RPM's halt: rejected, its symbol kept

    rejected_only = await harness.store.search("EURUSD", statuses=[ExecutionStatus.REJECTED])
    assert [e.execution_id for e in rejected_only] == [refused.execution_id]
    assert [e.execution_id for e in await harness.store.search("EURUSD")] == [
        refused.execution_id,
        filled.execution_id,
    ]  # newest first
    assert await harness.store.search_counts("EURUSD") == {"FILLED": 1, "REJECTED": 1}
    assert await harness.store.search_counts(filled.broker_order_id or "") == {"FILLED": 1}
