"""The `--demo` desk: a simulated broker with three venues of character, and a synthetic RPM feed.

The feed posts RPMOutputs through the production door (app.interfaces.intake.receive, channel "demo") every
0.5-2 s. Its traffic is a healthy desk's: approvals (and ADJUSTED decisions) on several majors, filled
with a realistic spread of slippage, and RPM rejections (nothing is sent). The venues that show the
console's other outcomes get an RPMOutput on a schedule, not by a draw, so that they show early and
never crowd the success rate under the 90 % alert (at most one in ten executions fails even if every
one of them does, from the first twenty on):

- SPREAD_TOO_WIDE: EURJPY quotes 2.4 pips and its spread breathes up to 3.6, around the 3-pip limit
  (the 35th RPMOutput, then every 150th: about 19 an hour, some of them rejected, which keeps an
  hour's rejections under the 10 that raise a warning as a rule);
- PARTIALLY_FILLED: NZDUSD's book shows four times what the venue really fills (IOC only; the 50th,
  then every 50th);
- stale orders: USDCAD orders rest 30 s at the venue, past the demo's 8 s order timeout, so they
  are EXPIRED with the order still open; cancel one, or watch it fill late. The first is the 24th
  RPMOutput (sent within 48 s even at the slowest pace, stale 8 s later: within the first minute),
  then every 100th.

The market, USDCAD's resting time included, is resources/scenarios/demo_desk.toml; NZDUSD's book, which
the simulator has no setting for, is added by DemoVenues. No Qt here: the console starts the feed once
its loop runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.adapters.broker.types import SymbolSpec
from app.adapters.mt5.records import BookInfo
from app.adapters.sim.terminal import SimulatedTerminal
from app.domain.contracts import InvalidRPMOutput
from app.engine.engine import ExecutionEngine
from app.interfaces.intake.receive import receive

log = logging.getLogger(__name__)

# demo.toml's market, plus the venues below (EURJPY's spread, NZDUSD's IOC-only thin book, USDCAD's rest).
DEMO_SCENARIO_FILE = Path(__file__).resolve().parents[2] / "resources" / "scenarios" / "demo_desk.toml"
DEMO_ORDER_TIMEOUT_S = 8.0  # short, so that a stale order shows within seconds

MAJORS = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF")
WIDE = "EURJPY"  # spread breathes around the limit
THIN = "NZDUSD"  # the book overstates what the venue fills
SLOW = "USDCAD"  # orders rest past the order timeout (demo_desk.toml)
THIN_BOOK_FACTOR = 4  # NZDUSD's book shows 4 lots where the venue fills 1
# (first, every): which RPMOutputs go to the special venues (the module's docstring says why). The three
# never fall on the same RPMOutput: 24 + 100a, 35 + 150b and 50c never meet.
SLOW_SCHEDULE = (24, 100)
WIDE_SCHEDULE = (35, 150)
THIN_SCHEDULE = (50, 50)
RPM_REJECTIONS = (
    ("MAX_DRAWDOWN", "portfolio drawdown 6.8% over the 6.5% soft limit"),
    ("CORRELATION_LIMIT", "correlated exposure to USD above 35% of equity"),
    ("LOW_CONFIDENCE", "confidence 0.41 below the 0.55 floor"),
    ("POSITION_LIMIT", "at most 3 open positions per symbol"),
)


class DemoVenues:
    """The simulated terminal as the demo's venues show it: the adapter takes any MetaTrader5-like object,
    so this one wraps the simulator and changes only the answer below."""

    def __init__(self, terminal: SimulatedTerminal) -> None:
        self._terminal = terminal

    def __getattr__(self, name: str) -> Any:
        return getattr(self._terminal, name)

    def market_book_get(self, symbol: str) -> tuple[BookInfo, ...] | None:
        book: tuple[BookInfo, ...] | None = self._terminal.market_book_get(symbol)
        if book is None or symbol != THIN:
            return book
        return tuple(
            level._replace(volume=level.volume * THIN_BOOK_FACTOR, volume_dbl=level.volume_dbl * THIN_BOOK_FACTOR)
            for level in book
        )


class DemoFeed:
    """A synthetic RPM: one RPMOutput every `interval` seconds, through receive(channel="demo")."""

    def __init__(
        self,
        engine: ExecutionEngine,
        *,
        seed: int | None = None,
        interval: tuple[float, float] = (0.5, 2.0),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.engine = engine
        self.interval = interval
        self._sleep = sleep  # the demo's clock: a test runs the feed on a clock of its own, without waiting
        self.sent = 0
        self._rng = random.Random(seed)
        self._task: asyncio.Task[None] | None = None
        self._sends: set[asyncio.Task[Any]] = set()
        self._built = 0
        self._specs: dict[str, SymbolSpec] = {}  # digits and pip size do not change during a demo

    def start(self) -> None:
        """Begin posting; call once the event loop runs."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="demo-feed")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._sends) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._sleep(self._rng.uniform(*self.interval))
            try:
                payload = await self.next_payload()
            except Exception:  # a broker hiccup: skip this one, the feed goes on
                log.warning("demo feed could not build an RPMOutput", exc_info=True)
                continue
            self.post(payload)

    async def settle(self) -> None:
        """Wait until every RPMOutput posted so far has been received (recorded, its execution started)."""
        await asyncio.gather(*self._sends, return_exceptions=True)

    def post(self, payload: dict[str, Any]) -> None:
        """Send one RPMOutput without waiting for its outcome (a slow order must not stall the feed)."""
        task = asyncio.get_running_loop().create_task(self._send(payload))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send(self, payload: dict[str, Any]) -> None:
        self.sent += 1
        try:
            await receive(self.engine, json.dumps(payload).encode(), channel="demo", source="demo-feed", wait=False)
        except InvalidRPMOutput:
            log.exception("the demo feed built an invalid RPMOutput")

    # ---- what the RPM says ----------------------------------------------------------------------
    def _due(self, schedule: tuple[int, int]) -> bool:
        first, every = schedule
        return self._built >= first and (self._built - first) % every == 0

    async def next_payload(self) -> dict[str, Any]:
        self._built += 1
        if self._due(SLOW_SCHEDULE):
            return await self.approved(SLOW)
        if self._due(THIN_SCHEDULE):
            return await self.approved(THIN, units=self._rng.randrange(150, 400) * 1000)
        if self._due(WIDE_SCHEDULE):
            return await self.approved(WIDE)
        if self._rng.random() < 0.10:
            return self.rejected()
        return await self.approved(self._rng.choice(MAJORS))

    async def approved(self, symbol: str, *, units: int | None = None) -> dict[str, Any]:
        """An approved trade whose intended price is the RPM's signal price: near the mid, rarely far off."""
        units = units or self._rng.randrange(20, 300) * 1000
        quote = await self.engine.broker.quote(symbol)
        spec = self._specs.get(symbol) or await self.engine.broker.symbol_spec(symbol)
        if spec is not None:
            self._specs[symbol] = spec
        trade: dict[str, Any] = {
            "symbol": symbol,
            "direction": self._rng.choice((1, -1)),
            "position_units": units,
            "confidence_score": round(self._rng.uniform(0.55, 0.95), 2),
            "regime": self._rng.choice(("TRENDING", "RANGING", "VOLATILE")),
            "base_units": units,
            "risk_per_trade": 500.0,
        }
        if quote is not None and spec is not None:
            # Most signals are fresh; one in seven comes from a market that has since moved.
            spread = 1.2 if self._rng.random() < 6 / 7 else 4.0
            offset = Decimal(str(round(self._rng.gauss(0.0, spread), 1))) * spec.pip
            trade["intended_price"] = float((quote.mid + offset).quantize(spec.point))
        status = "ADJUSTED" if self._rng.random() < 0.2 else "APPROVED"
        return self._rpm_output({"status": status, "approved_trade": trade})

    def rejected(self) -> dict[str, Any]:
        reason, details = self._rng.choice(RPM_REJECTIONS)
        rejected = {"rejection_reason": reason, "rejection_details": details, "symbol": self._rng.choice(MAJORS)}
        return self._rpm_output({"status": "REJECTED", "rejected_trade": rejected})

    def _rpm_output(self, decision: dict[str, Any]) -> dict[str, Any]:
        return {
            "decision": {**decision, "order_id": f"demo_{uuid.uuid4().hex[:16]}"},
            "portfolio_state": {
                "trading_halted": False,
                "halt_reason": None,
                "current_drawdown": round(self._rng.uniform(0.01, 0.06), 3),
                "equity": 250000.0,
            },
            "risk_metrics": {},
            "config_hash": "demo0000cfg1",
            "rpm_version": "1.0.0",
            "model_version": "demo-2.3.1",
        }
