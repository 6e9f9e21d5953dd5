"""Trades made at the simulated broker behind the engine's back: by hand at the terminal, or by another program."""

from __future__ import annotations

from typing import Any

from app.adapters.sim.terminal import SimulatedTerminal

MANUAL = 0  # the magic of a trade made by hand at the terminal


def trade_at_the_broker(
    sim: SimulatedTerminal, *, magic: int, comment: str, lots: float = 1.0, direction: int = 1, position: int = 0
) -> Any:
    """An order sent to the broker directly, not through the engine; its answer."""
    tick = sim.symbol_info_tick("EURUSD")
    result = sim.order_send(
        {
            "action": sim.TRADE_ACTION_DEAL,
            "symbol": "EURUSD",
            "volume": lots,
            "type": sim.ORDER_TYPE_BUY if direction == 1 else sim.ORDER_TYPE_SELL,
            "price": tick.ask if direction == 1 else tick.bid,
            "magic": magic,
            "comment": comment,
            "position": position,
            "type_filling": sim.ORDER_FILLING_FOK,
            "type_time": sim.ORDER_TIME_GTC,
        }
    )
    assert result.retcode == sim.TRADE_RETCODE_DONE, result
    return result
