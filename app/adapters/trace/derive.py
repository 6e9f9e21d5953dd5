"""The simulator scenario a trace implies: the account from account_info, each symbol's specification
and execution and filling modes from symbol_info, closed markets and Return filling from what
order_send answered. What a trace cannot show (requotes, fill ratio, dropped answers, resting times)
comes from the base scenario (`--sim-scenario`, else the defaults).

Quotes are not a scenario's: the replay sets them at each moment from the trace (app/adapters/trace/replay.py),
so the derived scenario has no random walk and no state file. The book the replay starts from is the
one the trace shows before its first order_send (`opening_book`): a desk's terminal is rarely flat
when the recording starts, and an empty book would make every later positions_get a divergence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.adapters.mt5 import constants as c
from app.adapters.mt5.records import SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC
from app.adapters.sim.info import TRADE_MODES
from app.adapters.sim.rules import EXECUTION_MODES, MARGIN_MODES
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.state import SimState, from_json
from app.adapters.trace.format import Call

_TRADE_MODE = {v: k for k, v in TRADE_MODES.items()}
_EXECUTION_MODE = {v: k for k, v in EXECUTION_MODES.items()}
_MARGIN_MODE = {v: k for k, v in MARGIN_MODES.items()}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _account(info: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if _number(info.get("balance")) and info["balance"] >= 0:
        out["balance"] = info["balance"]
    if isinstance(info.get("currency"), str) and len(info["currency"]) == 3 and info["currency"].isalpha():
        out["currency"] = info["currency"]
    if isinstance(info.get("leverage"), int) and info["leverage"] >= 1:
        out["leverage"] = info["leverage"]
    if info.get("margin_mode") in _MARGIN_MODE:
        out["margin_mode"] = _MARGIN_MODE[info["margin_mode"]]
    out.update({k: info[k] for k in ("server", "name", "company") if isinstance(info.get(k), str)})
    return out


def _currency(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 3 and value.isalpha()


def _symbol(info: dict[str, Any], takes_return: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(info.get("digits"), int) and 0 <= info["digits"] <= 8:
        out["digits"] = info["digits"]
    bid, ask = info.get("bid"), info.get("ask")
    if isinstance(bid, int | float) and isinstance(ask, int | float) and 0 < bid <= ask:
        out["bid"], out["ask"] = bid, ask
    for key, field in (
        ("contract_size", "trade_contract_size"),
        ("volume_min", "volume_min"),
        ("volume_step", "volume_step"),
        ("volume_max", "volume_max"),
    ):
        if _number(info.get(field)) and info[field] > 0:
            out[key] = info[field]
    if info.get("trade_mode") in _TRADE_MODE:
        out["trade_mode"] = _TRADE_MODE[info["trade_mode"]]
    if info.get("trade_exemode") in _EXECUTION_MODE:
        out["execution_mode"] = _EXECUTION_MODE[info["trade_exemode"]]
    flags = info.get("filling_mode")
    if isinstance(flags, int):
        modes = [name for name, flag in (("fok", SYMBOL_FILLING_FOK), ("ioc", SYMBOL_FILLING_IOC)) if flags & flag]
        modes += ["return"] if takes_return else []
        if modes:
            out["filling_modes"] = modes
    out.update({k: info[k] for k in ("currency_base", "currency_profit") if _currency(info.get(k))})
    if isinstance(info.get("description"), str):
        out["description"] = info["description"]
    return out


def _symbol_infos(calls: Iterable[Call]) -> dict[str, dict[str, Any]]:
    """The first full description of each symbol the trace saw (symbol_info, or symbols_get)."""
    seen: dict[str, dict[str, Any]] = {}
    for call in calls:
        answers = call.answer if call.function == "symbols_get" and isinstance(call.answer, list) else [call.answer]
        if call.function not in ("symbol_info", "symbols_get"):
            continue
        for info in answers:
            if isinstance(info, dict) and isinstance(info.get("name"), str):
                seen.setdefault(info["name"], info)
    return seen


def _sends(calls: Iterable[Call]) -> Iterable[tuple[dict[str, Any], int]]:
    """(request, retcode) of every order_send and order_check that was answered."""
    for call in calls:
        if call.function in ("order_send", "order_check") and call.args and isinstance(call.answer, dict):
            request, retcode = call.args[0], call.answer.get("retcode")
            if isinstance(request, dict) and isinstance(retcode, int):
                yield request, retcode


def derive_scenario(calls: list[Call], base: Scenario) -> Scenario:
    """The base scenario with the trace's account, symbols and modes; ValueError naming a bad value."""
    account = next(
        (_account(c.answer) for c in calls if c.function == "account_info" and isinstance(c.answer, dict)), {}
    )
    takes_return: set[str] = set()
    closed: set[str] = set()
    traded: set[str] = set()
    for request, retcode in _sends(calls):
        symbol = str(request.get("symbol"))
        if request.get("type_filling") == c.ORDER_FILLING_RETURN and retcode != c.TRADE_RETCODE_INVALID_FILL:
            takes_return.add(symbol)
        (closed if retcode == c.TRADE_RETCODE_MARKET_CLOSED else traded).add(symbol)
    symbols = {name: _symbol(info, name in takes_return) for name, info in _symbol_infos(calls).items()}
    for name in closed - traded:  # closed all along; a market that closed once in a day is not modelled
        symbols.setdefault(name, {})["market_open"] = False
    return base.with_overrides(account=account, symbols=symbols, behaviour={"random_walk": False, "state_file": ""})


_BOOKS = {
    "positions_get": "positions",
    "orders_get": "orders",
    "history_orders_get": "orders",
    "history_deals_get": "deals",
}


def opening_book(calls: list[Call]) -> SimState:
    """The positions, orders and history the terminal showed before the trace's first order_send, under
    their own tickets (the simulator's next tickets come after them); ValueError naming a record the
    simulator cannot hold. The open orders wait for their price: the trace cannot say when they fill."""
    book: dict[str, dict[int, dict[str, Any]]] = {"positions": {}, "orders": {}, "deals": {}}
    open_orders: set[int] = set()
    for call in calls:
        if call.function == "order_send":
            break
        if call.function not in _BOOKS or not isinstance(call.answer, list):
            continue
        for record in call.answer:
            if isinstance(record, dict) and isinstance(record.get("ticket"), int):
                book[_BOOKS[call.function]].setdefault(record["ticket"], record)
                if call.function == "orders_get":
                    open_orders.add(record["ticket"])
    sim: dict[str, Any] = {
        "positions": _by_ticket(book["positions"]),
        "due": {str(t): None for t in sorted(open_orders)},
        "opened": _opening_deposit(book["deals"]),
    }
    return from_json({"orders": _by_ticket(book["orders"]), "deals": _by_ticket(book["deals"]), "sim": sim})


def _by_ticket(records: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [records[t] for t in sorted(records)]


def _opening_deposit(deals: dict[int, dict[str, Any]]) -> float | None:
    """When the account opened: the simulator makes its deposit deal itself, so the trace's first
    balance deal is taken out of the book and its time given instead (None: no history was seen)."""
    if not deals:
        return None
    balances = [
        d for d in deals.values() if d.get("type") == c.DEAL_TYPE_BALANCE and isinstance(d.get("time_msc"), int)
    ]
    if not balances:
        return 0.0  # opened before anything the trace asked about: the deposit falls in none of its ranges
    first = min(balances, key=lambda d: d["time_msc"])
    del deals[first["ticket"]]
    return float(first["time_msc"]) / 1000
