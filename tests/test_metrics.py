"""Metrics and alerts of docs/DESIGN.md, from the store: they survive a restart."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.domain.execution import utcnow
from app.engine.metrics import AlertRules, Metrics, compute_metrics, prometheus_text
from app.store.repository import ExecutionStore
from app.store.writer import WriteBatch
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


# ---- windows: the clock is moved by passing `now`, never by waiting ----------------------------------

LATER = {"15m": timedelta(minutes=16), "1h": timedelta(minutes=61), "today": timedelta(days=1)}


async def at(h: Harness, later: timedelta = timedelta(0), rules: AlertRules | None = None) -> Metrics:
    return await compute_metrics(h.store, broker_connected=True, rules=rules, now=utcnow() + later)


def fired(m: Metrics) -> set[str]:
    return {a.rule for a in m.active_alerts}


async def test_each_window_counts_the_executions_created_in_it(harness: Harness) -> None:
    await run(harness)
    await run(harness, symbol="NOPE")

    now = await at(harness)
    assert set(now.windows) == {"15m", "1h", "today", "all"}
    for window in now.windows.values():
        assert (window.total_executions, window.successful_executions, window.failed_executions) == (2, 1, 1)
        assert window.success_rate == 0.5
    assert now.as_json()["windows"]["all"] == {
        k: v for k, v in now.as_json().items() if k in now.windows["all"].__dict__
    }

    for name, later in LATER.items():
        moved = await at(harness, later)
        assert moved.windows[name].total_executions == 0, name
        assert moved.windows[name].success_rate is None, name
        assert moved.windows["all"].total_executions == 2
        assert moved.total_executions == 2  # the top-level figures are all time
    assert (await at(harness, LATER["15m"])).windows["1h"].total_executions == 2


async def test_success_rate_alert_needs_twenty_executions_in_the_hour_and_clears_when_the_hour_passes(
    harness: Harness,
) -> None:
    for _ in range(16):
        await run(harness)
    for _ in range(3):
        await run(harness, symbol="NOPE")
    nineteen = await at(harness)
    assert nineteen.windows["1h"].success_rate is not None and nineteen.windows["1h"].success_rate < 0.9
    assert "success_rate_low" not in fired(nineteen)  # 19 executions: too few to judge

    await run(harness)  # 17 of 20 filled: 85 %
    twenty = await at(harness)
    [alert] = [a for a in twenty.active_alerts if a.rule == "success_rate_low"]
    assert alert.severity == "critical" and "85.0% < 90% over the last hour" in alert.message

    assert "success_rate_low" not in fired(await at(harness, LATER["1h"]))


async def test_slippage_either_way_does_not_cancel_out_and_its_alert_clears_when_the_hour_passes(
    harness: Harness,
) -> None:
    # EURUSD asks 1.09510: a buy intended at 1.09450 fills 6 pips worse, at 1.09570 6 pips better.
    for intended in (1.09450, 1.09570) * 3:
        await run(harness, intended_price=intended)

    m = await at(harness)
    hour = m.windows["1h"]
    assert (hour.avg_slippage_pips, hour.avg_abs_slippage_pips, hour.avg_adverse_slippage_pips) == (0.0, 6.0, 3.0)
    [alert] = [a for a in m.active_alerts if a.rule == "slippage_high"]
    assert "|slippage| 6.0 pips > 5.0 pips" in alert.message and "adverse 3.0 pips" in alert.message

    assert "slippage_high" not in fired(await at(harness, LATER["1h"]))
    assert "slippage_high" not in fired(await at(harness, rules=AlertRules(min_slippage_sample=7)))


async def test_more_than_ten_rejections_in_the_hour_alert_as_a_count_and_a_rate_and_clear_after_it(
    harness: Harness,
) -> None:
    await run(harness)
    for _ in range(10):
        await run(harness, symbol="NOPE")
    await run(harness, status="REJECTED")  # the RPM's: not a rejection of ours
    ten = await at(harness)
    assert ten.windows["1h"].rejections == 10 and "rejections_high" not in fired(ten)
    assert ten.windows["1h"].rejection_rate == 10 / 11  # a rate: of the executions asked

    await run(harness, symbol="NOPE")
    eleven = await at(harness)
    [alert] = [a for a in eleven.active_alerts if a.rule == "rejections_high"]
    assert alert.message == "11 rejections in the last hour > 10 (92% of executions)"
    assert "rejections_high" not in fired(await at(harness, LATER["1h"]))


async def test_network_errors_alert_for_fifteen_minutes(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(behaviour={"connection_drop_before": [1]})
    await run(h)  # one network error on the way, then filled
    await run(h)

    m = await at(h)
    assert "network_errors" in fired(m)
    assert m.windows["15m"].network_errors == 1
    assert m.windows["15m"].network_error_rate == 0.5  # one execution of two met one
    later = await at(h, LATER["15m"])
    assert "network_errors" not in fired(later)
    assert later.windows["1h"].network_errors == 1 and later.network_errors == 1


async def test_database_errors_alert_for_fifteen_minutes_not_for_ever(harness: Harness) -> None:
    def broken(batch: WriteBatch) -> None:
        batch.conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(DBAPIError):
        await harness.store.writer.write(broken)

    m = await at(harness)
    [alert] = [a for a in m.active_alerts if a.rule == "database_errors"]
    assert alert.severity == "critical" and "in the last 15 min" in alert.message
    assert "database_errors" not in fired(await at(harness, LATER["15m"]))
