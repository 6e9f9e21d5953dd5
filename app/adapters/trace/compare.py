"""What the simulator answered against what the trace says the terminal answered: the divergences.

The trace is the reference. Compared: the retcode; fields present on one side only; each field's JSON
type; volumes and prices exactly (as decimals); the state the account is in (counts of orders,
positions and deals, balance and margin, the *_total answers); None against an answer; last_error().
Not compared: tickets, times, comments and the like, which no two runs share — tickets are mapped
instead, so that a later call naming a trace's ticket asks the simulator about its own. Of the quotes'
history (copy_ticks_*, copy_rates_*) only the rows' shape: a trace shows the quotes at its calls, never
every tick between them or before it began, so the simulator's history is its own.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from app.adapters.mt5 import constants as c
from app.adapters.trace.format import REDACTED

PRICES = frozenset({"price", "bid", "ask", "price_open", "price_current", "price_stoplimit", "sl", "tp"})
TICKETS = frozenset({"ticket", "order", "deal", "position_id", "identifier", "position", "position_by"})
STATE_CALLS = frozenset(
    {
        "positions_get",
        "orders_get",
        "history_orders_get",
        "history_deals_get",
        "positions_total",
        "orders_total",
        "history_orders_total",
        "history_deals_total",
    }
)
VALUE_CALLS = frozenset(
    {"symbol_select", "market_book_add", "market_book_release", "initialize", "login", "order_calc_margin"}
)
ACCOUNT_STATE = frozenset({"balance", "margin"})
QUOTE_HISTORY = frozenset(
    {"copy_ticks_from", "copy_ticks_range", "copy_rates_from", "copy_rates_from_pos", "copy_rates_range"}
)
_RETCODES = {v: k.removeprefix("TRADE_RETCODE_") for k, v in vars(c).items() if k.startswith("TRADE_RETCODE_")}


@dataclass(frozen=True)
class Divergence:
    line: int
    function: str
    kind: str  # retcode, missing_field, extra_field, type, volume, price, state, answer, last_error
    field: str
    recorded: Any
    simulated: Any
    note: str = ""

    def text(self) -> str:
        where = f" {self.field}" if self.field and self.field != self.kind else ""
        note = f" ({self.note})" if self.note else ""
        return (
            f"line {self.line} {self.function}: {self.kind}{where}: trace {_show(self.recorded)},"
            f" simulator {_show(self.simulated)}{note}"
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, dict | list) else f"<{type(value).__name__} of {len(value)}>"
    return text if len(text) <= 80 else text[:77] + "..."


def retcode_name(code: Any) -> str:
    return f"{code} {_RETCODES[code]}" if code in _RETCODES else repr(code)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}.get(type(value), "other")


def same_number(a: Any, b: Any) -> bool:
    return Decimal(str(a)) == Decimal(str(b))


class Comparison:
    """One call's answers, compared; `tickets` (trace's → simulator's) grows as answers are matched."""

    def __init__(self, line: int, function: str, tickets: dict[int, int], quote: tuple[Any, Any] | None) -> None:
        self.line = line
        self.function = function
        self.tickets = tickets
        self.quote = quote
        self.found: list[Divergence] = []

    def _add(self, kind: str, field: str, recorded: Any, simulated: Any, note: str = "") -> None:
        self.found.append(Divergence(self.line, self.function, kind, field, recorded, simulated, note))

    def last_error(self, recorded: Any, simulated: Any) -> None:
        both = isinstance(recorded, list) and recorded and isinstance(simulated, list | tuple) and simulated
        if both and recorded[0] != simulated[0]:
            self._add("last_error", "", recorded, list(simulated))

    def answer(self, recorded: Any, simulated: Any) -> None:
        if recorded is None or simulated is None:
            if (recorded is None) != (simulated is None):
                self._add("answer", "", recorded, simulated)
        elif isinstance(recorded, dict) and isinstance(simulated, dict):
            self._record("", recorded, simulated)
        elif isinstance(recorded, list) and isinstance(simulated, list) and self.function in QUOTE_HISTORY:
            if recorded and simulated and isinstance(recorded[0], dict) and isinstance(simulated[0], dict):
                self._shape("[0].", recorded[0], simulated[0])
        elif isinstance(recorded, list) and isinstance(simulated, list):
            self._items(recorded, simulated)
        elif json_type(recorded) != json_type(simulated):
            self._add("type", "", recorded, simulated)
        elif self.function in STATE_CALLS | VALUE_CALLS and not _equal(recorded, simulated):
            self._add("state" if self.function in STATE_CALLS else "answer", "", recorded, simulated)

    def _items(self, recorded: list[Any], simulated: list[Any]) -> None:
        if len(recorded) != len(simulated):
            self._add("state" if self.function in STATE_CALLS else "answer", "count", len(recorded), len(simulated))
        for i, (r, s) in enumerate(zip(recorded, simulated, strict=False)):
            if isinstance(r, dict) and isinstance(s, dict):
                self._record(f"[{i}].", r, s)
            elif json_type(r) != json_type(s):
                self._add("type", f"[{i}]", r, s)

    def _record(self, prefix: str, recorded: dict[str, Any], simulated: dict[str, Any]) -> None:
        self._fields(prefix, recorded, simulated)
        for key, r in recorded.items():
            if key in simulated and r != REDACTED:
                self._field(prefix, key, r, simulated[key])

    def _fields(self, prefix: str, recorded: dict[str, Any], simulated: dict[str, Any]) -> None:
        for key in recorded:
            if key not in simulated:
                self._add("missing_field", prefix + key, recorded[key], None)
        for key in simulated:
            if key not in recorded:
                self._add("extra_field", prefix + key, None, simulated[key])

    def _shape(self, prefix: str, recorded: dict[str, Any], simulated: dict[str, Any]) -> None:
        """The same fields, each of the same JSON type; the values not compared."""
        self._fields(prefix, recorded, simulated)
        for key, r in recorded.items():
            if key in simulated and json_type(r) != json_type(simulated[key]):
                self._add("type", prefix + key, r, simulated[key])

    def _field(self, prefix: str, key: str, r: Any, s: Any) -> None:
        name = prefix + key
        if json_type(r) != json_type(s):
            self._add("type", name, r, s)
        elif isinstance(r, dict):
            self._record(name + ".", r, s)
        elif key == "retcode" and r != s:
            self._add("retcode", name, retcode_name(r), retcode_name(s))
        elif isinstance(r, bool) or not isinstance(r, int | float):
            return
        elif key.startswith("volume") and not same_number(r, s):
            self._add("volume", name, r, s)
        elif key in PRICES and not same_number(r, s):
            self._add("price", name, r, s, self._beyond(r, s))
        elif self.function == "account_info" and key in ACCOUNT_STATE and not same_number(r, s):
            self._add("state", name, r, s)
        elif key in TICKETS and isinstance(r, int) and r and s:
            self.tickets.setdefault(r, int(s))

    def _beyond(self, recorded: Any, simulated: Any) -> str:
        """Where each price stands against the quote of that moment (bid to ask: within)."""
        if self.quote is None or not recorded:
            return ""
        bid, ask = (Decimal(str(x)) for x in self.quote)

        def where(price: Any) -> str:
            return "within" if bid <= Decimal(str(price)) <= ask else "beyond"

        quote = f"the quote was {bid}/{ask}"
        return f"{quote}; the trace's price is {where(recorded)} it, the simulator's {where(simulated)}"


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and not isinstance(a, bool) and isinstance(b, int | float):
        return same_number(a, b)
    return bool(a == b)
