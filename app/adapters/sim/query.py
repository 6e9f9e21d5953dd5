"""Argument handling shared by the *_get functions: symbol groups and history dates, as MT5 reads them."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

from app.adapters.mt5.records import TradeOrder, TradePosition


class ArgumentError(ValueError):
    """The call answers None with last_error (-2, text), as the extension does for bad arguments."""


@lru_cache(maxsize=256)
def _group(group: str) -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    include: list[re.Pattern[str]] = []
    exclude: list[re.Pattern[str]] = []
    for part in group.split(","):
        part = part.strip()
        if not part:
            continue
        target = exclude if part.startswith("!") else include
        part = part.lstrip("!")
        # "*" is the only wildcard in MT5 groups
        target.append(re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in part), re.IGNORECASE))
    return tuple(include), tuple(exclude)


def in_group(symbol: str, group: str | None) -> bool:
    """MT5 group filter: comma-separated masks with "*"; "!mask" excludes, e.g. "*USD*,!EUR*"."""
    if group is None:
        return True
    include, exclude = _group(group)
    if include and not any(p.fullmatch(symbol) for p in include):
        return False
    return not any(p.fullmatch(symbol) for p in exclude)


def seconds(value: object, name: str) -> int:
    """A history bound as the real package takes it: datetime (via .timestamp()) or int seconds."""
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    raise ArgumentError(f'Invalid "{name}" argument')


def check_str(value: object, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ArgumentError(f'Invalid "{name}" argument')
    return value


def check_int(value: object, name: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ArgumentError(f'Invalid "{name}" argument')
    return value


def check_number(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ArgumentError(f'Invalid "{name}" argument')


def date_range(date_from: object, date_to: object) -> tuple[int, int]:
    """Both bounds are needed when neither ticket nor position selects."""
    if date_from is None or date_to is None:
        raise ArgumentError("Invalid arguments")
    return seconds(date_from, "date_from"), seconds(date_to, "date_to")


T = TypeVar("T", TradeOrder, TradePosition)


def select(records: Iterable[T], symbol: str | None, group: str | None, ticket: int | None) -> list[T]:
    """The open orders or positions that pass every filter given."""
    return [
        r
        for r in records
        if (symbol is None or r.symbol == symbol)
        and in_group(r.symbol, group)
        and (ticket is None or r.ticket == ticket)
    ]
