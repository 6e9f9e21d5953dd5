"""How numbers, prices and times read on the desk: one place, so every table and label agree."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal


def units(value: Decimal | None) -> str:
    """95,000 — whole units with thousands separators; fractions only when there are any."""
    if value is None:
        return ""
    if value == value.to_integral_value():
        return f"{int(value):,}"
    return f"{value.normalize():,f}"


def price_places(symbol: str) -> int:
    """Decimals a price of `symbol` is quoted with (5 on most FX, 3 on JPY pairs, 2 on metals)."""
    s = symbol.upper()
    if s.startswith(("XAU", "XAG")):
        return 2
    return 3 if "JPY" in s else 5


def price(value: Decimal | None, symbol: str) -> str:
    """A price at its symbol's precision, never cutting a digit the store holds (1.09505, 151.200)."""
    if value is None:
        return ""
    places = price_places(symbol)
    normal = value.normalize()
    exponent = normal.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places:
        return format(normal, "f")
    return format(value.quantize(Decimal(1).scaleb(-places)), "f")


def money(value: Decimal | None, *, signed: bool = False) -> str:
    """An amount in the account's currency to the cent, with separators: 100,250.00 (+12.40 when signed)."""
    if value is None:
        return "—"
    return f"{value.quantize(Decimal('0.01')):{'+' if signed else ''},f}"


def pips(value: Decimal | float | None) -> str:
    """Signed, one decimal: +0.6 is worse than intended for the trade, -0.3 better."""
    if value is None:
        return ""
    return f"{float(value):+.1f}"


def side(direction: int) -> str:
    return {1: "BUY", -1: "SELL"}.get(direction, "")


def local_time(value: datetime | None, *, with_date: bool = True, with_year: bool = True) -> str:
    """A UTC timestamp in the trader's local time, to the millisecond."""
    if value is None:
        return ""
    local = value.astimezone()
    date = ("%Y-%m-%d " if with_year else "%m-%d ") if with_date else ""
    text = local.strftime(f"{date}%H:%M:%S")
    return f"{text}.{local.microsecond // 1000:03d}"


def percent(value: float | None, places: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{places}f} %"


def duration(seconds: float) -> str:
    """Age of a stale order: 45 s, 3 min 05 s, 2 h 01 min."""
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def masked_url(url: str) -> str:
    """A database URL fit for the status bar: never its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
