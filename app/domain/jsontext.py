"""JSON text with exact numbers, read and written: a number goes from its text to a Decimal (or an int)
and back to text without ever being a float, which keeps 17 significant digits at most.

json.loads reads decimals as floats unless told otherwise, json.dumps cannot write a Decimal as a number,
and pydantic does both through floats or strings: every JSON the engine reads or answers with numbers in
it goes through here.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def _integer(text: str) -> int | Decimal:
    # Past Python's limit on reading an int from text (4300 digits) an integer is still an exact number.
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def loads(text: str | bytes) -> Any:
    """Numbers with a fraction or an exponent as Decimal, integers as int. NaN and (-)Infinity, which are
    no JSON numbers, come back as Decimal NaN and (-)Infinity for the caller to refuse."""
    return json.loads(text, parse_float=Decimal, parse_int=_integer, parse_constant=Decimal)


def number(value: Decimal) -> str:
    """A finite Decimal's exact JSON text, without the zeros past the point that say nothing about it
    (PostgreSQL pads a value to its column's scale, SQLite keeps it as written): 95000.00000000 is 95000.
    A zero is 0, whatever its sign or exponent."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a number JSON can carry")
    if value.is_zero():
        return "0"
    mantissa, e, exponent = str(value).partition("E")  # str() is exact, and valid JSON for a finite value
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    return mantissa + e + exponent


def plain(value: Decimal) -> str:
    """A Decimal as a trader reads it: fixed-point, without the zeros past the point that say nothing
    (95000.0 is 95000, 1.20000 is 1.2), a zero of any sign 0. The value is unchanged: only its spelling."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def dumps(value: Any, indent: int | None = None) -> str:
    """As json.dumps (compact, or indented by `indent`), with each Decimal written as its exact number."""
    return _write(value, indent, 0)


def _write(value: Any, indent: int | None, depth: int) -> str:
    if isinstance(value, Decimal):
        return number(value)
    if isinstance(value, dict) and value:
        colon = ":" if indent is None else ": "
        items = [f"{_plain(str(k))}{colon}{_write(v, indent, depth + 1)}" for k, v in value.items()]
        return _enclosed("{", items, "}", indent, depth)
    if isinstance(value, list | tuple) and value:
        return _enclosed("[", [_write(v, indent, depth + 1) for v in value], "]", indent, depth)
    return _plain(value)


def _plain(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _enclosed(opening: str, items: list[str], closing: str, indent: int | None, depth: int) -> str:
    if indent is None:
        return opening + ",".join(items) + closing
    inner, outer = "\n" + " " * (indent * (depth + 1)), "\n" + " " * (indent * depth)
    return opening + inner + ("," + inner).join(items) + outer + closing


def with_decimals(exact: Any, plain: Any) -> Any:
    """A model's JSON-mode dump (`plain`), with the Decimals of its Python-mode dump (`exact`) put back
    where pydantic wrote them as strings; the rest (timestamps, enums) stays as the JSON mode writes it."""
    if isinstance(exact, Decimal):
        return exact
    if isinstance(plain, dict):
        return {k: with_decimals(e, p) for e, (k, p) in zip(exact.values(), plain.items(), strict=True)}
    if isinstance(plain, list):
        return [with_decimals(e, p) for e, p in zip(exact, plain, strict=True)]
    return plain
