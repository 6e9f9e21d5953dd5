"""Position reconciliation: the broker's positions of the console's magic against the recorded fills.

Trades are made at the simulated broker behind the engine's back (order_send called directly, as a
trader at the terminal or another program would), then a pass is run and its verdict read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal
from typing import Any

import pytest

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from app.engine.metrics import compute_metrics, prometheus_text
from app.host.settings import Settings
from app.interfaces.cli import _settings, build_parser
from tests.api.polling import eventually_async
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory
from tests.engine.test_cancel import expires_then_fills
from tests.engine.test_resting_remainder import (
    REST_S,
    harness_with_clock,
    partially_filled_with_a_resting_completion_order,
)
from tests.trades import MANUAL, trade_at_the_broker

S = ExecutionStatus
OTHER_EXPERT = 777


async def execute(h: Harness, **kwargs: Any) -> Execution:
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def events(h: Harness, *types: str) -> list[Any]:
    return [e for e in await h.store.audit_range(None, None) if e.event_type in types]


async def test_the_console_s_own_trades_match_buys_less_sells(harness: Harness) -> None:
    await execute(harness, units=100_000)
    await execute(harness, units=30_000, direction=-1)
    report = await harness.engine.positions.check()
    assert report is not None and report.status == "ok"
    (eurusd,) = report.symbols
    assert (eurusd.symbol, eurusd.recorded_units, eurusd.broker_units, eurusd.state) == (
        "EURUSD",
        Decimal(70_000),
        Decimal(70_000),
        "match",
    )
    assert harness.engine.positions.alerts() == []
    assert await events(harness, "POSITION_MISMATCH") == []


@pytest.mark.parametrize("suffix", ["", "/2"], ids=["its first order", "a completion order"])
async def test_a_deal_the_record_lacks_is_a_mismatch_then_recorded_through_the_engine(
    harness: Harness, suffix: str
) -> None:
    execution = await execute(harness, units=100_000)
    trade_at_the_broker(harness.sim, magic=harness.broker.magic, comment=execution.execution_id + suffix)

    report = await harness.engine.positions.check()

    story = await events(harness, "POSITION_MISMATCH", "UNRECORDED_DEAL", "FILLED", "POSITION_MISMATCH_CLEARED")
    mismatch, found, filled, cleared = story[-4:]  # the execution's own FILLED comes first
    assert mismatch.event_type == "POSITION_MISMATCH"
    assert mismatch.data == {
        "symbol": "EURUSD",
        "recorded_units": "100000",
        "broker_units": "200000",
        "difference": "100000",
    }
    assert (found.event_type, found.execution_id) == ("UNRECORDED_DEAL", execution.execution_id)
    assert [d["comment"] for d in found.data["deals"]] == [execution.execution_id + suffix]
    assert (filled.event_type, filled.execution_id) == ("FILLED", execution.execution_id)
    assert cleared.event_type == "POSITION_MISMATCH_CLEARED" and cleared.data["symbol"] == "EURUSD"

    corrected = await harness.store.get(execution.execution_id)
    assert corrected is not None
    assert (corrected.status, corrected.executed_units, corrected.fill_count) == (S.FILLED, 200_000, 2)
    assert len(await harness.store.fills(execution.execution_id)) == 2
    assert report is not None and report.status == "ok"
    assert harness.engine.positions.alerts() == []


async def test_a_deal_whose_tag_names_no_execution_is_reported_and_alerted_not_attributed(harness: Harness) -> None:
    await execute(harness, units=100_000)
    stray = trade_at_the_broker(harness.sim, magic=harness.broker.magic, comment="hedge by hand")

    for _ in range(2):  # audited when it appears, not once per pass
        report = await harness.engine.positions.check()
    assert report is not None and report.status == "mismatch"
    (row,) = report.mismatched
    assert (row.symbol, row.recorded_units, row.broker_units, row.difference) == ("EURUSD", 100_000, 200_000, 100_000)
    assert [d.deal for d in report.unattributed_deals] == [str(stray.deal)]
    assert len(await events(harness, "POSITION_MISMATCH")) == 1
    (unattributed,) = await events(harness, "UNATTRIBUTED_DEAL")
    assert (unattributed.data["deal"], unattributed.data["comment"]) == (str(stray.deal), "hedge by hand")
    assert await events(harness, "UNRECORDED_DEAL") == []

    (alert,) = harness.engine.positions.alerts()
    assert (alert.rule, alert.severity) == ("POSITION_MISMATCH", "critical")
    assert "EURUSD: recorded 100000 units, broker 200000 units" in alert.message
    assert f"deal {stray.deal}" in alert.message
    metrics = await compute_metrics(harness.store, broker_connected=True, extra_alerts=[alert])
    assert metrics.active_alerts[0] == alert
    assert 'execution_alert_firing{rule="POSITION_MISMATCH"} 1.0' in prometheus_text(metrics)

    # The stray position closed at the terminal: the broker holds what the record says again.
    trade_at_the_broker(harness.sim, magic=MANUAL, comment="close", direction=-1, position=stray.order)
    report = await harness.engine.positions.check()
    assert report is not None and report.status == "ok"
    assert harness.engine.positions.alerts() == []
    (cleared,) = await events(harness, "POSITION_MISMATCH_CLEARED")
    assert cleared.data == {"symbol": "EURUSD", "recorded_units": "100000", "broker_units": "100000"}


async def test_positions_opened_outside_the_console_are_listed_apart_never_a_mismatch(harness: Harness) -> None:
    await execute(harness, units=100_000)
    trade_at_the_broker(harness.sim, magic=MANUAL, comment="")
    trade_at_the_broker(harness.sim, magic=OTHER_EXPERT, comment="their robot", lots=0.5, direction=-1)

    report = await harness.engine.positions.check()

    assert report is not None and report.status == "ok"
    assert [(s.symbol, s.recorded_units, s.broker_units) for s in report.symbols] == [("EURUSD", 100_000, 100_000)]
    foreign = sorted(
        (f.position.magic, f.position.direction, f.position.lots, f.units) for f in report.foreign_positions
    )
    assert foreign == [(MANUAL, 1, Decimal("1.0"), 100_000), (OTHER_EXPERT, -1, Decimal("0.5"), -50_000)]
    assert await events(harness, "POSITION_MISMATCH", "UNATTRIBUTED_DEAL") == []


async def test_a_late_fill_of_an_expired_order_is_left_to_the_reconciler_not_alerted(
    harness_factory: HarnessFactory,
) -> None:
    h, clock = await expires_then_fills(harness_factory)
    expired = await execute(h, units=100_000)
    assert expired.status is S.EXPIRED
    clock.advance(REST_S)
    await eventually_async(lambda: h.sim.positions_get())  # the order fills at the broker, late

    report = await h.engine.positions.check()
    assert report is not None and report.status == "ok"
    assert [s.state for s in report.symbols] == ["settling"]
    assert h.engine.positions.alerts() == []

    await h.engine.reconciler.reconcile_stale()  # the Reconciler's own pass records the late fill
    report = await h.engine.positions.check()
    assert report is not None and [s.state for s in report.symbols] == ["match"]
    assert await events(h, "POSITION_MISMATCH", "UNRECORDED_DEAL") == []


async def test_a_late_fill_of_a_resting_completion_order_is_left_to_the_reconciler_too(
    harness_factory: HarnessFactory,
) -> None:
    h, clock = await harness_with_clock(harness_factory)
    execution = await partially_filled_with_a_resting_completion_order(h, clock)
    clock.advance(REST_S)  # the completion order, named by the record's ORDER_SENT only, fills late

    report = await h.engine.positions.check()
    assert report is not None and [(s.recorded_units, s.broker_units, s.state) for s in report.symbols] == [
        (50_000, 75_000, "settling")
    ]
    await h.engine.reconciler.reconcile_stale()
    report = await h.engine.positions.check()
    assert report is not None and [s.state for s in report.symbols] == ["match"]
    assert await events(h, "POSITION_MISMATCH", "UNRECORDED_DEAL") == []
    assert "LATE_FILL" in [e.event_type for e in await h.store.audit_for(execution.execution_id)]


async def test_an_unreachable_broker_skips_the_pass_and_says_so_once(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    execution = await execute(harness, units=100_000)
    trade_at_the_broker(harness.sim, magic=harness.broker.magic, comment="hedge by hand")
    assert (await harness.engine.positions.check()) is not None
    harness.sim.set_connected(False)
    with caplog.at_level(logging.WARNING, logger="app.engine.positions"):
        assert await harness.engine.positions.check() is None
        assert await harness.engine.positions.check() is None
    assert len(caplog.records) == 1 and "skipped" in caplog.records[0].getMessage()
    assert harness.engine.positions.status == "mismatch"  # the last verdict stands
    assert len(harness.engine.positions.alerts()) == 1
    assert len(await events(harness, "POSITION_MISMATCH", "POSITION_MISMATCH_CLEARED")) == 1
    harness.sim.set_connected(True)
    assert (await harness.store.get(execution.execution_id)).executed_units == 100_000  # type: ignore[union-attr]


async def test_the_watch_checks_again_every_interval(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(position_check_interval_s=0.01)
    await execute(h, units=100_000)
    watch = asyncio.create_task(h.engine.positions.watch())
    try:
        trade_at_the_broker(h.sim, magic=h.broker.magic, comment="hedge by hand")
        await eventually_async(lambda: h.engine.positions.status == "mismatch")
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch


def test_the_interval_is_a_setting_a_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXEC_POSITION_CHECK_S", "12.5")
    assert Settings().engine_config().position_check_interval_s == 12.5
    args = build_parser().parse_args(["serve", "--position-check-interval", "5"])
    assert _settings(args).engine_config().position_check_interval_s == 5
