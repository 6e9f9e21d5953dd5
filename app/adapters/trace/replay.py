"""`trace-check`: a broker trace replayed, call by call and in order, against the simulator.

The simulator runs the scenario the trace implies (app/adapters/trace/derive.py) on a clock that
reads what the trace's clock read at each call, so that resting orders, fills and history ranges
come due as they did; before each call the symbol's quote is set to the one the trace shows at that
moment (a tick, a symbol_info, the bid and ask an order_send answered with).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.adapters.sim.scenario import Scenario, load_scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.adapters.trace.compare import Comparison, Divergence
from app.adapters.trace.derive import derive_scenario, opening_book
from app.adapters.trace.format import REDACTED, Call, decode_argument, encode, read_trace
from app.adapters.trace.recorder import PACKAGE_FUNCTIONS

_TICKET_ARGUMENTS = ("ticket", "position")
_TICKET_REQUEST_KEYS = ("order", "position", "position_by")
_ANY_LOGIN = 1  # a redacted login: the derived scenario accepts any


@dataclass(frozen=True)
class Report:
    trace: Path
    calls: int
    divergences: list[Divergence]

    def summary(self) -> str:
        if not self.divergences:
            return f"{self.trace}: {self.calls} calls replayed on the simulator: no divergence"
        kinds = Counter(d.kind for d in self.divergences)
        counted = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items()))
        replayed = f"{self.trace}: {self.calls} calls replayed on the simulator"
        return f"{replayed}: {len(self.divergences)} divergences ({counted})"

    def as_json(self) -> dict[str, Any]:
        return {
            "trace": str(self.trace),
            "calls": self.calls,
            "divergences": [d.as_json() for d in self.divergences],
            "summary": self.summary(),
        }


class Replay:
    def __init__(self, calls: list[Call], scenario: Scenario) -> None:
        self.calls = calls
        self.now = next((c.wall for c in calls if c.wall is not None), time.time())
        book = opening_book(calls)
        self.sim = SimulatedTerminal(scenario, clock=lambda: self.now, sleep=lambda _s: None, state=book)
        self.tickets: dict[int, int] = {}
        self.quotes: dict[str, tuple[Any, Any]] = {}

    def run(self) -> list[Divergence]:
        if self.calls and self.calls[0].function != "initialize":
            self.sim.initialize()  # a later part of a rotated trace starts connected
        found: list[Divergence] = []
        for call in self.calls:
            found += self.step(call)
        return found

    def step(self, call: Call) -> list[Divergence]:
        if call.wall is not None:
            # the end of the call: what the terminal's clock read while answering
            self.now = call.wall + float(call.raw.get("duration_ms") or 0) / 1000
        symbol = self._symbol(call)
        self._set_quote(call, symbol)
        check = Comparison(call.line, call.function, self.tickets, self.quotes.get(symbol or ""))
        if call.function not in PACKAGE_FUNCTIONS:
            check.answer(call.answer, f"<the simulator has no {call.function}()>")
            return check.found
        args, kwargs = self._arguments(call)
        try:
            answer, raised = encode(getattr(self.sim, call.function)(*args, **kwargs)), None
        except Exception as exc:  # the package raises for some bad arguments, and so does the simulator
            answer, raised = None, f"{type(exc).__name__}: {exc}"
        if raised or call.raised:
            if (raised or "").split(":")[0] != (call.raised or "").split(":")[0]:
                check.answer(call.raised or call.answer, raised or answer)
            return check.found
        if call.function == "last_error":
            check.last_error(call.answer, answer)
            return check.found
        check.answer(call.answer, answer)
        check.last_error(call.last_error, list(self.sim.last_error()))
        return check.found

    @staticmethod
    def _symbol(call: Call) -> str | None:
        if call.function in ("order_send", "order_check") and call.args and isinstance(call.args[0], dict):
            symbol = call.args[0].get("symbol")
        else:
            symbol = call.args[0] if call.args else call.kwargs.get("symbol")
        return symbol if isinstance(symbol, str) else None

    def _set_quote(self, call: Call, symbol: str | None) -> None:
        a = call.answer
        if symbol is None or not isinstance(a, dict) or symbol not in self.sim.scenario.symbols:
            return
        if call.function == "symbol_info_tick" and isinstance(a.get("time_msc"), int):
            at = a["time_msc"] / 1000
        elif call.function == "symbol_info" and isinstance(a.get("time"), int):
            at = float(a["time"])
        elif call.function == "order_send":
            at = self.now
        else:
            return
        bid, ask = a.get("bid"), a.get("ask")
        if not isinstance(bid, int | float) or not isinstance(ask, int | float) or not 0 < bid <= ask:
            return
        self.quotes[symbol] = (bid, ask)
        # A quote from the terminal's server clock may be ahead of this machine's: never later than now.
        when = min(at, self.now - self.sim.scenario.symbols[symbol].tick_age_s)
        now, self.now = self.now, when
        try:
            self.sim.set_quote(symbol, Decimal(str(bid)), Decimal(str(ask)))
        finally:
            self.now = now

    def _arguments(self, call: Call) -> tuple[list[Any], dict[str, Any]]:
        args = [decode_argument(a) for a in call.args]
        kwargs = {k: self._ticket(k, decode_argument(v)) for k, v in call.kwargs.items() if v != REDACTED}
        if call.function == "login":
            args = [(_ANY_LOGIN if i == 0 else None) if a == REDACTED else a for i, a in enumerate(args)]
        if call.function in ("order_send", "order_check") and args and isinstance(args[0], dict):
            args[0] = {k: self._ticket(k, v, _TICKET_REQUEST_KEYS) for k, v in args[0].items()}
        return args, kwargs

    def _ticket(self, key: str, value: Any, keys: tuple[str, ...] = _TICKET_ARGUMENTS) -> Any:
        return self.tickets.get(value, value) if key in keys and isinstance(value, int) else value


def check_trace(path: Path, scenario_file: Path | None = None) -> Report:
    """Replay the trace at `path`; ValueError (one line) for a trace or scenario that cannot be read."""
    calls = read_trace(path)
    if not calls:
        raise ValueError(f"{path}: no calls in it: not a broker trace, or recorded with nothing to record")
    base = load_scenario(scenario_file)
    try:
        replay = Replay(calls, derive_scenario(calls, base))
    except ValueError as exc:  # a value the simulator cannot take, e.g. a symbol with 9 digits
        raise ValueError(f"{path}: the simulator cannot take what the trace shows: {exc}") from None
    return Report(path, len(calls), replay.run())
