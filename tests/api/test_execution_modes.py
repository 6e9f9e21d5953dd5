"""`serve` on a desk where every symbol is on Instant execution, and on one where every symbol is on
Exchange execution (resources/scenarios/instant.toml, exchange.toml): upstream sees the same answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.adapters.sim.state import load_state
from tests.api.served import SCENARIOS, Served
from tests.builders import rpm_payload


@pytest.mark.parametrize("scenario", ["instant.toml", "exchange.toml"])
def test_serve_executes_on_every_execution_mode(tmp_path: Path, scenario: str) -> None:
    served = Served.start(tmp_path, "--sim-scenario", str(SCENARIOS / scenario), "--order-timeout", "10")
    try:
        with served.client() as api:
            answers = [
                api.post("/execute", json=rpm_payload(order_id=f"modes_{scenario}_{n}", symbol=symbol, units=50_000))
                for n, symbol in enumerate(("EURUSD", "USDJPY", "GBPUSD"))
            ]
        assert [(a.status_code, a.json()["status"], a.json()["executed_units"]) for a in answers] == [
            (200, "FILLED", 50_000)
        ] * 3
    finally:
        assert served.stop() == 0, served.output
    state = load_state(tmp_path / "sim-state.json")
    tags = [o.comment for o in state.orders.values()]
    assert sorted(tags) == sorted(a.json()["execution_id"] for a in answers)  # one order per decision
    deals_per_order = sorted(len(state.deals_by_order[o.ticket]) for o in state.orders.values())
    # exchange.toml fills half an order, then the rest that rested: two deals of one order
    assert deals_per_order == ([2, 2, 2] if scenario == "exchange.toml" else [1, 1, 1])
