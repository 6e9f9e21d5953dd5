"""The engine on every execution mode, through the real adapter and the simulator.

What the adapter must send (MqlTradeRequest, MT5 help "Fill Policy"): a price and the configured
deviation for Instant and Request execution, which fill or kill; FOK or IOC per the symbol's flags for
Market execution; on Exchange execution those, or Return (no flag: always allowed there), answered
10008 PLACED and polled until filled. A requote (10004) is retried at the new quote; one decision
never gets a second order, and the approved size is never changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from app.domain.contracts import ExecutionStatus, RejectionReason
from app.domain.execution import Execution
from tests.builders import rpm
from tests.conftest import Harness, HarnessFactory

S = ExecutionStatus
R = RejectionReason


async def run(h: Harness, **kwargs: Any) -> Execution:
    parsed, raw = rpm(**kwargs)
    return await h.engine.execute(parsed, raw=raw, channel="test")


async def event_types(h: Harness, execution_id: str) -> list[str]:
    return [e.event_type for e in await h.store.audit_for(execution_id)]


def recording(h: Harness, before_send: Any = None) -> list[dict[str, Any]]:
    """The deal requests the adapter sends; `before_send(n)` runs before the n-th reaches the simulator."""
    sent: list[dict[str, Any]] = []
    real = h.sim.order_send

    def order_send(request: dict[str, Any]) -> Any:
        if request.get("action") == h.sim.TRADE_ACTION_DEAL:
            sent.append(request)
            if before_send is not None:
                before_send(len(sent))
        return real(request)

    h.sim.order_send = order_send  # type: ignore[method-assign]
    return sent


def orders(h: Harness) -> list[Any]:
    return [*(h.sim.orders_get() or ()), *(h.sim.history_orders_get(0, 2**32) or ())]


@pytest.mark.parametrize(
    ("symbol", "filling", "polled"),
    [
        ({"execution_mode": "instant"}, "FOK", False),
        ({"execution_mode": "instant", "filling_modes": ["fok"]}, "FOK", False),
        ({"execution_mode": "request"}, "FOK", False),
        ({"execution_mode": "market"}, "FOK", False),
        ({"execution_mode": "market", "filling_modes": ["ioc"]}, "IOC", False),
        ({"execution_mode": "exchange"}, "FOK", True),
        ({"execution_mode": "exchange", "filling_modes": ["return"]}, "RETURN", True),  # the only policy left
    ],
    ids=["instant", "instant-fok-only", "request", "market", "market-ioc", "exchange", "exchange-return"],
)
async def test_each_execution_mode_fills_through_the_engine(
    harness_factory: HarnessFactory, symbol: dict[str, Any], filling: str, polled: bool
) -> None:
    h = await harness_factory(symbols={"EURUSD": symbol})
    sent = recording(h)
    execution = await run(h, units=95_000)
    assert (execution.status, execution.executed_units, execution.fill_price) == (S.FILLED, 95_000, Decimal("1.0951"))
    (request,) = sent
    assert request["type_filling"] == getattr(h.sim, f"ORDER_FILLING_{filling}")
    assert (request["price"], request["deviation"], request["volume"]) == (1.0951, h.broker.deviation_points, 0.95)
    (order,) = orders(h)
    assert (order.state, order.type_filling) == (h.sim.ORDER_STATE_FILLED, request["type_filling"])
    assert ("SUBMITTED" in await event_types(h, execution.execution_id)) is polled


@pytest.mark.parametrize("mode", ["instant", "request"])
async def test_a_requote_beyond_the_deviation_is_resent_at_the_new_quote(
    harness_factory: HarnessFactory, mode: str
) -> None:
    h = await harness_factory(symbols={"EURUSD": {"execution_mode": mode}})

    def market_moves(n: int) -> None:
        if n == 1:  # between the engine's quote and its order: 30 points, beyond the 20 allowed
            h.sim.set_quote("EURUSD", 1.0953, 1.0954)

    sent = recording(h, market_moves)
    execution = await run(h, units=100_000)
    assert (execution.status, execution.attempts, execution.fill_price) == (S.FILLED, 2, Decimal("1.0954"))
    assert [r["price"] for r in sent] == [1.0951, 1.0954]  # re-read the quote, resent once
    assert "REQUOTE" in await event_types(h, execution.execution_id)
    (order,) = orders(h)  # the requoted request never became an order
    assert order.volume_initial == 1.0


async def test_a_move_within_the_deviation_fills_at_the_stream_price_on_instant(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(symbols={"EURUSD": {"execution_mode": "instant"}})
    recording(h, lambda n: h.sim.set_quote("EURUSD", 1.0951, 1.0952))  # 10 points: within 20
    execution = await run(h, units=100_000, intended_price="1.0951")
    assert (execution.status, execution.attempts, execution.fill_price) == (S.FILLED, 1, Decimal("1.0952"))
    assert execution.slippage_pips == Decimal("1")


async def test_a_market_that_keeps_running_away_ends_in_a_rejection_without_an_order(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(symbols={"EURUSD": {"execution_mode": "instant"}}, max_requotes=2)

    def away(n: int) -> None:
        step = Decimal("0.0005") * n
        h.sim.set_quote("EURUSD", Decimal("1.0950") + step, Decimal("1.0951") + step)

    sent = recording(h, away)
    execution = await run(h)
    assert (execution.status, execution.rejection_reason) == (S.REJECTED, R.BROKER_REJECTION)
    assert "requoted 3 times" in (execution.rejection_details or "")
    assert len(sent) == 3 and orders(h) == []


async def test_exchange_return_fills_part_then_the_rest_of_one_order(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(
        symbols={"EURUSD": {"execution_mode": "exchange", "filling_modes": ["return"]}},
        behaviour={"fill_ratio": 0.5, "pending_fill_after_s": 0.05},
    )
    execution = await run(h, units=100_000)
    assert (execution.status, execution.executed_units) == (S.FILLED, 100_000)
    fills = await h.store.fills(execution.execution_id)
    assert [f.lots for f in fills] == [Decimal("0.5"), Decimal("0.5")]
    assert len({f.broker_order_id for f in fills}) == 1 and h.sim.order_send_calls == 1
    assert "SUBMITTED" in await event_types(h, execution.execution_id)


async def test_exchange_fok_that_the_exchange_cancels_is_a_rejection_never_a_second_order(
    harness_factory: HarnessFactory,
) -> None:
    h = await harness_factory(symbols={"EURUSD": {"execution_mode": "exchange"}}, behaviour={"fill_ratio": 0.5})
    execution = await run(h, units=100_000)
    assert (execution.status, execution.rejection_reason) == (S.REJECTED, R.BROKER_REJECTION)
    assert "cancelled" in (execution.rejection_details or "")
    assert h.sim.order_send_calls == 1


async def test_exchange_ioc_accepts_the_partial_fill_as_it_stands(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(
        symbols={"EURUSD": {"execution_mode": "exchange", "filling_modes": ["ioc"]}}, behaviour={"fill_ratio": 0.7}
    )
    execution = await run(h, units=100_000)
    assert (execution.status, execution.executed_units) == (S.PARTIALLY_FILLED, 70_000)
    assert h.sim.order_send_calls == 1


async def test_a_netting_account_nets_the_engine_s_trades_and_reconciles(harness_factory: HarnessFactory) -> None:
    h = await harness_factory(account={"margin_mode": "netting"})
    await run(h, units=100_000)
    await run(h, units=30_000, direction=-1)
    (position,) = h.sim.positions_get() or ()
    assert (position.type, position.volume) == (h.sim.POSITION_TYPE_BUY, 0.7)
    report = await h.engine.positions.check()
    assert report is not None and report.status == "ok"
    assert [(s.symbol, s.broker_units) for s in report.symbols] == [("EURUSD", Decimal(70_000))]
