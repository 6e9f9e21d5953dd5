"""How the traces in tests/traces/ were made: the engine on the simulator, once per scenario in
resources/scenarios/, recording its broker trace (--record-broker-trace) while it runs a few
executions. A trace's name is its scenario's; test_traces.py replays each under that scenario.

    PYTHONPATH=. python tests/traces/record.py            # every scenario
    PYTHONPATH=. python tests/traces/record.py requote    # one

Traces sent by desks go here too, named for what they show, replayed with the defaults (or a
scenario of the same name beside them, for what a trace cannot show).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from app.host.runtime import Runtime
from app.host.settings import Settings
from app.interfaces.intake.receive import receive

HERE = Path(__file__).parent
SCENARIOS = HERE.parent.parent / "resources" / "scenarios"
TRADES = (("EURUSD", 1, 95_000), ("USDJPY", -1, 50_000), ("GBPUSD", 1, 10_000), ("EURUSD", -1, 95_000))


def payload(n: int, symbol: str, direction: int, units: int) -> bytes:
    trade = {"symbol": symbol, "direction": direction, "position_units": units, "confidence_score": 0.7}
    return json.dumps(
        {
            "decision": {"status": "APPROVED", "order_id": f"trace-{n}", "approved_trade": trade},
            "portfolio_state": {"trading_halted": False},
            "config_hash": "traces",
            "rpm_version": "traces",
            "model_version": "traces",
        }
    ).encode()


async def record(scenario: Path, out: Path) -> None:
    out.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="exec-trace-") as tmp:
        settings = Settings(
            broker="sim",
            sim_scenario=scenario,
            data_dir=Path(tmp),
            broker_trace=out,
            order_timeout_s=1.0,
            audit_key="traces-audit-key",
        )
        runtime = Runtime.build(settings)
        await runtime.start()
        try:
            for n, trade in enumerate(TRADES):
                await receive(runtime.engine, payload(n, *trade), channel="cli")
        finally:
            await runtime.stop()


def main(names: list[str]) -> None:
    for scenario in sorted(SCENARIOS.glob("*.toml")):
        if not names or scenario.stem in names:
            asyncio.run(record(scenario, HERE / f"{scenario.stem}.jsonl"))
            print(f"recorded {scenario.stem}")


if __name__ == "__main__":
    main(sys.argv[1:])
