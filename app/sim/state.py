"""The simulated broker's own books, and their file when `behaviour.state_file` is set.

File format (JSON, MT5 field names so that it reads like a terminal's history):

    {"orders": [TradeOrder fields...],     # open (ORDER_STATE_PLACED) and history orders, by `state`
     "deals":  [TradeDeal fields...],
     "sim":    {"version": 1, "next_ticket": int, "next_request_id": int, "order_send_calls": int,
                "realized_profit": "decimal string",
                "due": {"<order ticket>": <clock time it fills> | null (never)},
                "positions": [TradePosition fields...]}}

It is rewritten atomically (temp file, fsync, os.replace) after every change and read at
construction, so a new SimulatedTerminal on the same file -- a restarted engine -- sees every order
and deal made before, and the order_send counter that connection drops are keyed on continues.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from app.mt5.records import TradeDeal, TradeOrder, TradePosition

FORMAT_VERSION = 1
FIRST_TICKET = 1_000_001

T = TypeVar("T", TradeOrder, TradeDeal, TradePosition)


@dataclass
class SimState:
    orders: dict[int, TradeOrder] = field(default_factory=dict)
    deals: dict[int, TradeDeal] = field(default_factory=dict)
    positions: dict[int, TradePosition] = field(default_factory=dict)
    next_ticket: int = FIRST_TICKET
    next_request_id: int = 1
    order_send_calls: int = 0
    realized_profit: Decimal = Decimal(0)
    # The resting (ORDER_STATE_PLACED) orders: ticket -> clock time at which it fills; None: never.
    due: dict[int, float | None] = field(default_factory=dict)
    # derived, not kept on disk: deal tickets by their order and by their position
    deals_by_order: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)
    deals_by_position: dict[int, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for deal in self.deals.values():
            self._index(deal)

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


def to_json(state: SimState) -> dict[str, Any]:
    return {
        "orders": [o._asdict() for o in state.orders.values()],
        "deals": [d._asdict() for d in state.deals.values()],
        "sim": {
            "version": FORMAT_VERSION,
            "next_ticket": state.next_ticket,
            "next_request_id": state.next_request_id,
            "order_send_calls": state.order_send_calls,
            "realized_profit": str(state.realized_profit),
            "due": {str(t): when for t, when in state.due.items()},
            "positions": [p._asdict() for p in state.positions.values()],
        },
    }


def from_json(data: Any) -> SimState:
    """The state in a parsed file; ValueError says what is wrong with it."""
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object with 'orders' and 'deals'")
    sim = data.get("sim", {})
    if not isinstance(sim, dict):
        raise ValueError("'sim': expected an object")
    orders = [_record(TradeOrder, o, f"orders[{i}]") for i, o in enumerate(_list(data, "orders"))]
    deals = [_record(TradeDeal, d, f"deals[{i}]") for i, d in enumerate(_list(data, "deals"))]
    positions = [_record(TradePosition, p, f"sim.positions[{i}]") for i, p in enumerate(_list(sim, "positions"))]
    state = SimState(
        orders={o.ticket: o for o in orders},
        deals={d.ticket: d for d in deals},
        positions={p.ticket: p for p in positions},
        next_request_id=_int(sim, "next_request_id", 1),
        order_send_calls=_int(sim, "order_send_calls", 0),
    )
    try:
        state.realized_profit = Decimal(str(sim.get("realized_profit", "0")))
    except InvalidOperation as exc:
        raise ValueError("'sim.realized_profit': expected a decimal") from exc
    due = sim.get("due", {})
    if not isinstance(due, dict):
        raise ValueError("'sim.due': expected an object")
    try:
        state.due = {int(t): (None if when is None else float(when)) for t, when in due.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(f"'sim.due': {exc}") from exc
    # never reuse a ticket, even if the counter was lost
    highest = max([FIRST_TICKET - 1, *state.orders, *state.deals, *state.positions])
    state.next_ticket = max(_int(sim, "next_ticket", FIRST_TICKET), highest + 1)
    return state


def load_state(path: str | Path) -> SimState:
    """The state kept in path; a fresh one when path is "" (memory only) or the file does not exist yet."""
    if not str(path):
        return SimState()
    p = Path(path)
    if not p.exists():
        return SimState()
    try:
        return from_json(json.loads(p.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"{p}: unreadable simulator state: {exc}") from exc


def save_state(path: str | Path, state: SimState) -> None:
    """Atomically replace the file at path with state; nothing when path is ""."""
    if not str(path):
        return
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(to_json(state), separators=(",", ":"))
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(p.parent)


def _fsync_dir(directory: Path) -> None:
    # makes the rename itself durable on POSIX; Windows cannot open directories, and needs not
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
