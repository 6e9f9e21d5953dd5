"""The simulated broker's own books, and their file when `behaviour.state_file` is set.

File format (JSON, MT5 field names so that it reads like a terminal's history):

    {"orders": [TradeOrder fields...],     # resting (those in `due`) and history orders
     "deals":  [TradeDeal fields...],       # buy and sell deals (the deposit is the scenario's balance)
     "sim":    {"version": 1, "next_ticket": int, "next_request_id": int, "order_send_calls": int,
                "realized_profit": "decimal string",
                "due": {"<order ticket>": <clock time it executes> | null (not by time)},
                "opened": <clock time of the deposit> | null,   # absent from earlier files: null
                "positions": [TradePosition fields...]}}

Every change is durable before the call that made it returns: it is appended (and fsynced) to a
journal beside the file, `<state_file>.journal`, one JSON line per change holding the records that
changed. The file itself is rewritten atomically from time to time (every COMPACT_EVERY changes, at
shutdown, and when a terminal opens it), so a long session does not rewrite a growing file at every
order. `load_state` reads the file and replays the journal: a restarted engine sees every order and
deal made before, and the order_send counter that connection drops are keyed on continues.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from app.adapters.files import write_atomically
from app.adapters.mt5.records import TradeDeal, TradeOrder, TradePosition

FORMAT_VERSION = 1
FIRST_TICKET = 1_000_001
COMPACT_EVERY = 1000  # journal lines before the file is rewritten whole

T = TypeVar("T", TradeOrder, TradeDeal, TradePosition)
K = TypeVar("K")
V = TypeVar("V")


class Tracked(dict[K, V]):
    """A dict that remembers which keys were set or removed since the changes were last taken."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.changed: set[K] = set()

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.changed.add(key)

    def __delitem__(self, key: K) -> None:
        super().__delitem__(key)
        self.changed.add(key)

    def pop(self, key: K, *default: Any) -> Any:
        self.changed.add(key)
        return super().pop(key, *default)


@dataclass
class SimState:
    orders: dict[int, TradeOrder] = field(default_factory=dict)
    deals: dict[int, TradeDeal] = field(default_factory=dict)
    positions: dict[int, TradePosition] = field(default_factory=dict)
    next_ticket: int = FIRST_TICKET
    next_request_id: int = 1
    order_send_calls: int = 0
    realized_profit: Decimal = Decimal(0)
    # The resting orders (placed, or partly filled with Return): ticket -> clock time at which it
    # executes; None: never by time (a pending order waits for its price, or the order never fills).
    due: dict[int, float | None] = field(default_factory=dict)
    # When the account opened (its deposit's time); None until the terminal is first asked.
    opened: float | None = None
    # derived, not kept on disk: deal tickets by their order and by their position
    deals_by_order: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)
    deals_by_position: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _recorded: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.orders, self.deals, self.positions = Tracked(self.orders), Tracked(self.deals), Tracked(self.positions)
        for deal in self.deals.values():
            self._index(deal)

    def take_changes(self) -> dict[str, Any] | None:
        """One journal line: the records changed since the last call (None when nothing did)."""
        books = (self.orders, self.deals, self.positions)
        changed = [book.changed for book in books if isinstance(book, Tracked)]
        counters = _counters(self)
        if not any(changed) and counters == self._recorded:
            return None
        line = {
            "orders": [self.orders[t]._asdict() for t in sorted(changed[0]) if t in self.orders],
            "deals": [self.deals[t]._asdict() for t in sorted(changed[1]) if t in self.deals],
            "positions": [self.positions[t]._asdict() for t in sorted(changed[2]) if t in self.positions],
            "closed_positions": sorted(t for t in changed[2] if t not in self.positions),
            "sim": counters,
        }
        self.forget_changes()
        return line

    def forget_changes(self) -> None:
        for book in (self.orders, self.deals, self.positions):
            if isinstance(book, Tracked):
                book.changed.clear()
        self._recorded = _counters(self)

    def add_deal(self, deal: TradeDeal) -> None:
        self.deals[deal.ticket] = deal
        self._index(deal)

    def _index(self, deal: TradeDeal) -> None:
        self.deals_by_order.setdefault(deal.order, []).append(deal.ticket)
        self.deals_by_position.setdefault(deal.position_id, []).append(deal.ticket)

    def new_ticket(self) -> int:
        """Orders, deals and positions share one increasing sequence, so a ticket names one thing."""
        ticket = self.next_ticket
        self.next_ticket += 1
        return ticket

    def new_request_id(self) -> int:
        rid = self.next_request_id
        self.next_request_id += 1
        return rid


def _counters(state: SimState) -> dict[str, Any]:
    return {
        "version": FORMAT_VERSION,
        "next_ticket": state.next_ticket,
        "next_request_id": state.next_request_id,
        "order_send_calls": state.order_send_calls,
        "realized_profit": str(state.realized_profit),
        "due": {str(t): when for t, when in state.due.items()},
        "opened": state.opened,
    }


def to_json(state: SimState) -> dict[str, Any]:
    return {
        "orders": [o._asdict() for o in state.orders.values()],
        "deals": [d._asdict() for d in state.deals.values()],
        "sim": {**_counters(state), "positions": [p._asdict() for p in state.positions.values()]},
    }


def from_json(data: Any) -> SimState:
    """The state in a parsed file; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with 'orders' and 'deals'")
    sim = data.get("sim", {})
    if not isinstance(sim, dict):
        raise ValueError("'sim': expected an object")
    state = SimState()
    _apply(state, data, sim, f"{'sim.'}")
    return state


def _apply(state: SimState, data: dict[str, Any], sim: dict[str, Any], where: str) -> None:
    """Records and counters of a file or of one journal line, laid over `state`."""
    for i, o in enumerate(_list(data, "orders")):
        order = _record(TradeOrder, o, f"orders[{i}]")
        state.orders[order.ticket] = order
    for i, d in enumerate(_list(data, "deals")):
        deal = _record(TradeDeal, d, f"deals[{i}]")
        if deal.ticket not in state.deals:
            state.add_deal(deal)
    for i, p in enumerate(_list(data if "positions" in data else sim, "positions")):
        position = _record(TradePosition, p, f"{where}positions[{i}]")
        state.positions[position.ticket] = position
    for ticket in _list(data, "closed_positions"):
        state.positions.pop(int(ticket), None)
    state.next_request_id = _int(sim, "next_request_id", state.next_request_id)
    state.order_send_calls = _int(sim, "order_send_calls", state.order_send_calls)
    try:
        state.realized_profit = Decimal(str(sim.get("realized_profit", state.realized_profit)))
    except InvalidOperation as exc:
        raise ValueError("'sim.realized_profit': expected a decimal") from exc
    due = sim.get("due", {})
    if not isinstance(due, dict):
        raise ValueError("'sim.due': expected an object")
    try:
        state.due = {int(t): (None if when is None else float(when)) for t, when in due.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'sim.due': {exc}") from exc
    opened = sim.get("opened", state.opened)  # absent from files of earlier versions
    if opened is not None and (isinstance(opened, bool) or not isinstance(opened, int | float)):
        raise ValueError("'sim.opened': expected a number or null")
    state.opened = None if opened is None else float(opened)
    # never reuse a ticket, even if the counter was lost
    highest = max([FIRST_TICKET - 1, *state.orders, *state.deals, *state.positions])
    state.next_ticket = max(_int(sim, "next_ticket", FIRST_TICKET), highest + 1)
    state.forget_changes()


def journal_path(path: str | Path) -> Path:
    return Path(f"{path}.journal")


def load_state(path: str | Path) -> SimState:
    """The state kept at path (the file, then its journal); a fresh one when path is "" or nothing is there."""
    if not str(path):
        return SimState()
    p = Path(path)
    try:
        state = from_json(json.loads(p.read_text(encoding="utf-8"))) if p.exists() else SimState()
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{p}: unreadable simulator state: {exc}") from exc
    journal = journal_path(p)
    if journal.exists():
        lines = journal.read_text(encoding="utf-8").splitlines()
        for n, text in enumerate(lines, 1):
            try:
                line = json.loads(text)
            except ValueError:
                if n == len(lines):
                    break  # the last line was being written when the process died: it never happened
                raise ValueError(f"{journal}:{n}: unreadable journal line") from None
            _apply(state, line, line.get("sim", {}), "")
    return state


class StateFile:
    """Where a terminal keeps its state: a journal line per change, the whole file now and then."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path) if str(path) else None
        self._lines = 0

    def load(self) -> SimState:
        state = load_state(self.path or "")
        if self.path is not None and journal_path(self.path).exists():
            self.compact(state)  # the file alone is complete again
        return state

    def record(self, state: SimState) -> None:
        """Make the changes since the last record durable."""
        line = state.take_changes()
        if self.path is None or line is None:
            return
        if self._lines >= COMPACT_EVERY or not self.path.exists():
            self.compact(state)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with journal_path(self.path).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._lines += 1

    def compact(self, state: SimState) -> None:
        if self.path is None:
            return
        save_state(self.path, state)
        journal_path(self.path).unlink(missing_ok=True)
        state.forget_changes()
        self._lines = 0


def save_state(path: str | Path, state: SimState) -> None:
    """Atomically replace the file at path with state; nothing when path is ""."""
    if str(path):
        write_atomically(Path(path), json.dumps(to_json(state), separators=(",", ":")))


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key, [])
    if not isinstance(value, list):
        raise ValueError(f"'{key}': expected a list")
    return value


def _int(obj: dict[str, Any], key: str, default: int) -> int:
    value = obj.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'sim.{key}': expected an integer")
    return value


def _record(cls: type[T], raw: Any, where: str) -> T:
    """A record from its JSON object, each field coerced to its declared type."""
    if not isinstance(raw, dict):
        raise ValueError(f"'{where}': expected an object")
    kinds: dict[str, type] = get_type_hints(cls)
    missing = [f for f in cls._fields if f not in raw]
    if missing:
        raise ValueError(f"'{where}': missing {', '.join(missing)}")
    values: dict[str, Any] = {}
    for f in cls._fields:
        kind = kinds[f]
        v = raw[f]
        try:
            values[f] = kind(v)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"'{where}.{f}': expected {kind.__name__}, got {v!r}") from exc
    return cls(**values)
