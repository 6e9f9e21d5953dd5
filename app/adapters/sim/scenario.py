"""The simulator's scenario: account, symbols and broker behaviour, read from TOML (docs/CONTRACT.md §6).

Every key is optional. The eight majors exist by default with realistic specs; a `[symbols.X]`
table overrides only the keys it gives, and a symbol that is not a major gets the same defaults plus
what it gives. Unknown keys and wrong types raise ValueError naming the key, e.g.
"symbols.EURUSD.digits: expected an integer".

docs/CONTRACT.md §6a adds `[account] margin_mode` ("hedging" | "netting") and `[symbols.X] execution_mode`
("instant" | "request" | "market" | "exchange"). Instant and request execution fill or kill (MT5 help,
Fill Policy), so such a symbol's `filling_modes` must hold "fok"; the others in its list are not offered.

Beyond docs/CONTRACT.md §6, a symbol's table may carry `pending_fill_after_s`, which overrides the behaviour's
value for that symbol's orders (one slow venue among fast ones); the behaviour may carry
`latency_jitter_ms` and `pending_fill_jitter_s`, a uniformly drawn extra per call and per resting order
(seeded by `random_seed`), so that randomized runs see every interleaving of calls and fills.

Prices, volumes and money are Decimal so that volume-step checks and price arithmetic are exact;
the MT5 result tuples expose floats, as the real package does.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

TRADE_MODES = ("full", "disabled", "longonly", "shortonly", "closeonly")
FILLING_MODES = ("fok", "ioc", "return")
EXECUTION_MODES = ("instant", "request", "market", "exchange")
MARGIN_MODES = ("hedging", "netting")


@dataclass(frozen=True)
class AccountSpec:
    balance: Decimal = Decimal("100000")
    currency: str = "USD"
    leverage: int = 30
    margin_mode: str = "hedging"  # hedging: a position per order; netting: one per symbol
    # 0: initialize()/login() accept any login and report it; non-zero: any other login fails
    # authorization, as a real terminal would.
    login: int = 0
    server: str = "SimBroker-Demo"
    name: str = "Simulated Account"
    company: str = "FX Execution Console Simulator"


@dataclass(frozen=True)
class SymbolSpec:
    name: str
    bid: Decimal
    ask: Decimal
    digits: int = 5
    contract_size: Decimal = Decimal("100000")
    volume_min: Decimal = Decimal("0.01")
    volume_step: Decimal = Decimal("0.01")
    volume_max: Decimal = Decimal("100")
    trade_mode: str = "full"
    market_open: bool = True
    filling_modes: tuple[str, ...] = ("fok", "ioc")
    execution_mode: str = "market"
    liquidity_lots: Decimal = Decimal("1000")
    tick_age_s: float = 0.0
    currency_base: str = ""
    currency_profit: str = ""
    description: str = ""
    # None: the symbol's orders rest as long as behaviour.pending_fill_after_s says
    pending_fill_after_s: float | None = None

    @property
    def point(self) -> Decimal:
        return Decimal(1).scaleb(-self.digits)


@dataclass(frozen=True)
class Behaviour:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0  # each call waits latency_ms + uniform(0, this)
    fill_slippage_points: int = 0
    fill_ratio: Decimal = Decimal("1")
    requote_every: int = 0
    connection_drop_before: tuple[int, ...] = ()
    connection_drop_after: tuple[int, ...] = ()
    reject_retcode: int = 0
    pending_fill_after_s: float = 0.0
    pending_fill_jitter_s: float = 0.0  # each resting order rests pending_fill_after_s + uniform(0, this)
    random_walk: bool = False
    random_seed: int = 0  # seeds random_walk and the jitters; the simulator's own key, beyond docs/CONTRACT.md §6
    state_file: str = ""


@dataclass(frozen=True)
class Scenario:
    account: AccountSpec = field(default_factory=AccountSpec)
    symbols: Mapping[str, SymbolSpec] = field(default_factory=lambda: dict(_MAJORS))
    behaviour: Behaviour = field(default_factory=Behaviour)

    def with_overrides(
        self,
        *,
        account: Mapping[str, Any] | None = None,
        symbols: Mapping[str, Mapping[str, Any]] | None = None,
        behaviour: Mapping[str, Any] | None = None,
    ) -> Scenario:
        """A copy with TOML-style keys applied, validated exactly as a scenario file would be.

        >>> Scenario().with_overrides(behaviour={"requote_every": 2}, symbols={"EURUSD": {"digits": 4}})
        """
        data: dict[str, Any] = {}
        if account:
            data["account"] = dict(account)
        if symbols:
            data["symbols"] = {k: dict(v) for k, v in symbols.items()}
        if behaviour:
            data["behaviour"] = dict(behaviour)
        return _apply(self, data)


def load_scenario(path: str | Path | None) -> Scenario:
    """The scenario in a TOML file (docs/CONTRACT.md §6); the defaults when path is None."""
    if path is None:
        return Scenario()
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return scenario_from_dict(data)
    except ValueError as exc:
        raise ValueError(f"{exc} (in {path})") from exc


def scenario_from_dict(data: Mapping[str, Any]) -> Scenario:
    """A scenario from an already-parsed TOML document (same keys and checks as load_scenario)."""
    return _apply(Scenario(), data)


# --- defaults -------------------------------------------------------------------------------------


def _major(name: str, bid: str, ask: str, description: str) -> SymbolSpec:
    digits = 3 if name.endswith("JPY") else 5
    return SymbolSpec(
        name=name,
        bid=Decimal(bid),
        ask=Decimal(ask),
        digits=digits,
        currency_base=name[:3],
        currency_profit=name[3:],
        description=description,
    )


# Spreads of 1.0–1.8 pips, levels of mid-2024.
_MAJORS: dict[str, SymbolSpec] = {
    s.name: s
    for s in (
        _major("EURUSD", "1.09500", "1.09510", "Euro vs US Dollar"),
        _major("GBPUSD", "1.27000", "1.27012", "Great Britain Pound vs US Dollar"),
        _major("USDJPY", "151.500", "151.512", "US Dollar vs Japanese Yen"),
        _major("USDCHF", "0.90400", "0.90414", "US Dollar vs Swiss Franc"),
        _major("USDCAD", "1.36200", "1.36214", "US Dollar vs Canadian Dollar"),
        _major("AUDUSD", "0.65800", "0.65812", "Australian Dollar vs US Dollar"),
        _major("NZDUSD", "0.60500", "0.60516", "New Zealand Dollar vs US Dollar"),
        _major("EURJPY", "165.900", "165.918", "Euro vs Japanese Yen"),
    )
}
MAJORS: tuple[str, ...] = tuple(_MAJORS)


# --- typed readers: each names the key it complains about -----------------------------------------


Reader = Callable[[str, Any], Any]


def _int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{key}: expected an integer, got {v!r}")
    return v


def _num(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise ValueError(f"{key}: expected a number, got {v!r}")
    return float(v)


def _dec(key: str, v: Any) -> Decimal:
    _num(key, v)
    # str() of the TOML float is its shortest repr, i.e. the decimal the user wrote
    return Decimal(str(v))


def _bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError(f"{key}: expected true or false, got {v!r}")
    return v


def _str(key: str, v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"{key}: expected a string, got {v!r}")
    return v


def _int_list(key: str, v: Any) -> tuple[int, ...]:
    if not isinstance(v, list):
        raise ValueError(f"{key}: expected a list of integers, got {v!r}")
    out = tuple(_int(f"{key}[{i}]", x) for i, x in enumerate(v))
    for i, x in enumerate(out):
        if x < 1:
            raise ValueError(f"{key}[{i}]: order_send calls are counted from 1, got {x}")
    return out


def _fillings(key: str, v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not v:
        raise ValueError(f"{key}: expected a non-empty list of {', '.join(FILLING_MODES)}, got {v!r}")
    out = tuple(_str(f"{key}[{i}]", x).lower() for i, x in enumerate(v))
    for i, x in enumerate(out):
        if x not in FILLING_MODES:
            raise ValueError(f"{key}[{i}]: expected one of {', '.join(FILLING_MODES)}, got {x!r}")
    return out


def _one_of(names: tuple[str, ...]) -> Reader:
    def read(key: str, v: Any) -> str:
        s = _str(key, v).lower()
        if s not in names:
            raise ValueError(f"{key}: expected one of {', '.join(names)}, got {v!r}")
        return s

    return read


def _currency(key: str, v: Any) -> str:
    s = _str(key, v).upper()
    if len(s) != 3 or not s.isalpha():
        raise ValueError(f"{key}: expected a 3-letter currency code, got {v!r}")
    return s


_ACCOUNT_KEYS: dict[str, Reader] = {
    "balance": _dec,
    "currency": _currency,
    "leverage": _int,
    "margin_mode": _one_of(MARGIN_MODES),
    "login": _int,
    "server": _str,
    "name": _str,
    "company": _str,
}
_SYMBOL_KEYS: dict[str, Reader] = {
    "bid": _dec,
    "ask": _dec,
    "digits": _int,
    "contract_size": _dec,
    "volume_min": _dec,
    "volume_step": _dec,
    "volume_max": _dec,
    "trade_mode": _one_of(TRADE_MODES),
    "market_open": _bool,
    "filling_modes": _fillings,
    "execution_mode": _one_of(EXECUTION_MODES),
    "liquidity_lots": _dec,
    "tick_age_s": _num,
    "currency_base": _currency,
    "currency_profit": _currency,
    "description": _str,
    "pending_fill_after_s": _num,
}
_BEHAVIOUR_KEYS: dict[str, Reader] = {
    "latency_ms": _num,
    "latency_jitter_ms": _num,
    "fill_slippage_points": _int,
    "fill_ratio": _dec,
    "requote_every": _int,
    "connection_drop_before": _int_list,
    "connection_drop_after": _int_list,
    "reject_retcode": _int,
    "pending_fill_after_s": _num,
    "pending_fill_jitter_s": _num,
    "random_walk": _bool,
    "random_seed": _int,
    "state_file": _str,
}


def _read_table(prefix: str, table: Any, readers: Mapping[str, Reader]) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ValueError(f"{prefix}: expected a table, got {table!r}")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if key not in readers:
            raise ValueError(f"{prefix}.{key}: unknown key (known: {', '.join(readers)})")
        out[key] = readers[key](f"{prefix}.{key}", value)
    return out


def _apply(base: Scenario, data: Mapping[str, Any]) -> Scenario:
    for key in data:
        if key not in ("account", "symbols", "behaviour"):
            raise ValueError(f"{key}: unknown key (known: account, symbols, behaviour)")
    account = dataclasses.replace(base.account, **_read_table("account", data.get("account", {}), _ACCOUNT_KEYS))
    _check_account(account)
    behaviour = dataclasses.replace(
        base.behaviour, **_read_table("behaviour", data.get("behaviour", {}), _BEHAVIOUR_KEYS)
    )
    _check_behaviour(behaviour)
    symbols = dict(base.symbols)
    tables = data.get("symbols", {})
    if not isinstance(tables, Mapping):
        raise ValueError(f"symbols: expected a table of symbol tables, got {tables!r}")
    for name, table in tables.items():
        prefix = f"symbols.{name}"
        given = _read_table(prefix, table, _SYMBOL_KEYS)
        symbols[name] = _symbol(name, prefix, symbols, given)
    return Scenario(account=account, symbols=symbols, behaviour=behaviour)


def _symbol(name: str, prefix: str, known: Mapping[str, SymbolSpec], given: dict[str, Any]) -> SymbolSpec:
    if name in known:
        spec = dataclasses.replace(known[name], **given)
    else:
        base = given.get("currency_base", name[:3].upper() if len(name) >= 6 else "USD")
        profit = given.get("currency_profit", name[3:6].upper() if len(name) >= 6 else "USD")
        digits = given.get("digits", 3 if profit == "JPY" else 5)
        bid, ask = _default_price(prefix, known, base, profit, digits, given)
        spec = SymbolSpec(
            name=name,
            bid=bid,
            ask=ask,
            digits=digits,
            currency_base=base,
            currency_profit=profit,
            description=f"{base} vs {profit}",
        )
        spec = dataclasses.replace(spec, **given)
    if not 0 <= spec.digits <= 8:
        raise ValueError(f"{prefix}.digits: expected 0..8, got {spec.digits}")
    for key in ("bid", "ask"):
        price: Decimal = getattr(spec, key)
        if key in given and price != price.quantize(spec.point):
            raise ValueError(f"{prefix}.{key}: {price} has more decimals than digits = {spec.digits}")
    # default prices adopt a changed digits setting instead of failing on it
    bid = spec.bid.quantize(spec.point, ROUND_HALF_UP)
    ask = spec.ask.quantize(spec.point, ROUND_HALF_UP)
    if bid <= 0:
        raise ValueError(f"{prefix}.bid: must be positive, got {spec.bid}")
    if ask < bid:
        raise ValueError(f"{prefix}.ask: must not be below bid ({spec.bid}), got {spec.ask}")
    spec = dataclasses.replace(spec, bid=bid, ask=ask)
    for key in ("contract_size", "volume_min", "volume_step", "volume_max"):
        if getattr(spec, key) <= 0:
            raise ValueError(f"{prefix}.{key}: must be positive, got {getattr(spec, key)}")
    if spec.volume_max < spec.volume_min:
        raise ValueError(f"{prefix}.volume_max: below volume_min ({spec.volume_min})")
    if spec.execution_mode in ("instant", "request") and "fok" not in spec.filling_modes:
        raise ValueError(f'{prefix}.filling_modes: {spec.execution_mode} execution fills or kills: list "fok"')
    if spec.liquidity_lots < 0:
        raise ValueError(f"{prefix}.liquidity_lots: must not be negative")
    if spec.tick_age_s < 0:
        raise ValueError(f"{prefix}.tick_age_s: must not be negative")
    if spec.pending_fill_after_s is not None:
        _check_rest(f"{prefix}.pending_fill_after_s", spec.pending_fill_after_s)
    return spec


def _default_price(
    prefix: str, known: Mapping[str, SymbolSpec], base: str, profit: str, digits: int, given: Mapping[str, Any]
) -> tuple[Decimal, Decimal]:
    """Bid/ask for a new symbol that names neither: the cross rate of the symbols already known."""
    point = Decimal(1).scaleb(-digits)
    if "bid" in given:
        bid: Decimal = given["bid"]
    else:
        from app.adapters.sim.market import cross_rate  # local: market imports this module

        mids = {(s.currency_base, s.currency_profit): (s.bid + s.ask) / 2 for s in known.values()}
        mid = cross_rate(mids, base, profit)
        if mid is None:
            raise ValueError(f"{prefix}.bid: required, no {base}/{profit} rate can be derived from the other symbols")
        bid = mid.quantize(point, ROUND_HALF_UP) - 10 * point
    ask: Decimal = given.get("ask", bid + 20 * point)  # 2 pips: crosses trade wider than the majors
    return bid, ask


def _check_account(a: AccountSpec) -> None:
    if a.balance < 0:
        raise ValueError(f"account.balance: must not be negative, got {a.balance}")
    if a.leverage < 1:
        raise ValueError(f"account.leverage: must be at least 1, got {a.leverage}")
    if a.login < 0:
        raise ValueError(f"account.login: must not be negative, got {a.login}")


def _check_behaviour(b: Behaviour) -> None:
    for key in ("latency_ms", "latency_jitter_ms", "pending_fill_jitter_s"):
        if getattr(b, key) < 0:
            raise ValueError(f"behaviour.{key}: must not be negative")
    if not 0 <= b.fill_ratio <= 1:
        raise ValueError(f"behaviour.fill_ratio: expected 0..1, got {b.fill_ratio}")
    if b.requote_every < 0:
        raise ValueError("behaviour.requote_every: must not be negative")
    _check_rest("behaviour.pending_fill_after_s", b.pending_fill_after_s)
    if b.reject_retcode < 0:
        raise ValueError("behaviour.reject_retcode: must not be negative")


def _check_rest(key: str, seconds: float) -> None:
    """A resting time: seconds (0: fills on send), or -1 for never."""
    if seconds < 0 and seconds != -1:
        raise ValueError(f"{key}: expected >= 0 or -1, got {seconds:g}")
