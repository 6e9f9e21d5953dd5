"""Metrics and alerts of docs/DESIGN.md, from the store: they survive a restart."""

from __future__ import annotations

import re
from collections.abc import Callable

from app.engine.metrics import AlertRules, compute_metrics, prometheus_text
from app.store.repository import ExecutionStore
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory


async def run(h: Harness, **kwargs):  # type: ignore[no-untyped-def]
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def test_metrics_count_what_happened(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"fill_slippage_points": 10})
    await run(h, intended_price=1.09505)  # filled 1.5 pips worse
    await run(h, intended_price=1.09505)
    await run(h, symbol="NOPE")  # rejected by validation
    await run(h, status="REJECTED")  # the RPM's decision, not an execution failure
    m = await compute_metrics(h.store, broker_connected=True)
    assert m.total_executions == 4
    assert m.successful_executions == 2
    assert m.failed_executions == 1
    assert m.success_rate == 2 / 3
    assert m.avg_slippage_pips == 1.5
    assert m.rejections_by_reason == {"SYMBOL_NOT_TRADABLE": 1, "RPM_REJECTED": 1}
    assert m.timeout_rate == 0
    assert m.latency_ms["p50"] is not None and m.latency_ms["p50"] >= 0


async def test_metrics_survive_a_restart(harness: Harness, store_factory: Callable[[], ExecutionStore]) -> None:
    await run(harness)
    reopened = store_factory()
    assert (await compute_metrics(reopened, broker_connected=True)).successful_executions == 1


async def test_alerts_fire_on_the_design_documents_rules(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_before": [1]})
    await run(h)  # one network error on the way
    for _ in range(3):
        await run(h, symbol="NOPE")
    rules = AlertRules(min_sample=2, max_rejections_per_hour=2)
    m = await compute_metrics(h.store, broker_connected=False, rules=rules)
    fired = {a.rule for a in m.active_alerts}
    assert fired == {"broker_connection_lost", "success_rate_low", "rejections_high", "network_errors"}
    assert m.network_errors == 1


async def test_no_alert_on_a_healthy_desk(harness: Harness) -> None:
    await run(harness)
    assert (await compute_metrics(harness.store, broker_connected=True)).active_alerts == []


async def test_prometheus_text_is_well_formed(harness: Harness) -> None:
    await run(harness)
    text = prometheus_text(await compute_metrics(harness.store, broker_connected=True))
    sample = re.compile(r'^[a-z_]+(\{[a-z]+="[^"]*"\})? (NaN|[-+]?[0-9.e+-]+)$')
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), line
    assert 'execution_total{status="FILLED"} 1.0' in text
