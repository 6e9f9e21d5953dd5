"""One broker trace line per call to the MetaTrader5 module, as JSON.

    {"seq": 7, "function": "order_send", "args": [{...request...}], "kwargs": {},
     "answer": {...OrderSendResult fields...}, "last_error": [1, "Success"],
     "monotonic": 12345.678, "wall": 1733090000.123, "duration_ms": 0.41}

The first line of every file is a header ({"trace": FORMAT, "version": 1, ...}). Answers keep the
package's shapes: a record is a dict with its field names, a tuple of records a list of dicts, a numpy
array a list of dicts (one per row), floats as the package gave them. A datetime argument is
{"$datetime": ISO-8601}. A call that raised carries "raised" instead of an answer. A call that got
the very answer and last_error() an earlier line of the same file shows carries {"same_as": its seq}
instead of them, and with "except": {fields} when a few of the record's fields changed since (so an
answer edited by hand carries to the lines that refer to it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

FORMAT = "fx-execution-console broker trace"
VERSION = 1
REDACTED = "[redacted]"
_DATETIME = "$datetime"


SCALARS = frozenset({type(None), bool, int, float, str})


def encode(value: Any) -> Any:
    """A value the module took or gave, as JSON data (records by field name)."""
    if type(value) in SCALARS:
        return value
    fields = getattr(value, "_fields", None)
    if fields is not None:  # the package's named tuples and ours
        record = dict(zip(fields, value, strict=True))
        for k in _nested(type(value), value):
            record[k] = encode(record[k])
        return record
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, datetime):
        return {_DATETIME: value.isoformat()}
    names = getattr(getattr(value, "dtype", None), "names", None)
    if names:  # a numpy structured array (bars, ticks): one dict per row
        return [dict(zip(names, (encode(x) for x in row.tolist()), strict=True)) for row in value]
    if hasattr(value, "tolist"):  # a numpy scalar or plain array
        return encode(value.tolist())
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return repr(value)


_NESTED: dict[type, tuple[str, ...]] = {}


def _nested(kind: type, record: Any) -> tuple[str, ...]:
    """The fields of a record type that hold more than a scalar (OrderSendResult.request), found on the
    first record of the type: a record type's fields keep their types, and most hold scalars only."""
    found = _NESTED.get(kind)
    if found is None:
        found = _NESTED[kind] = tuple(k for k, v in zip(record._fields, record, strict=True) if type(v) not in SCALARS)
    return found


def decode_argument(value: Any) -> Any:
    """An argument as the module takes it again (datetimes back from their JSON form)."""
    if isinstance(value, dict):
        if set(value) == {_DATETIME}:
            return datetime.fromisoformat(value[_DATETIME])
        return {k: decode_argument(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_argument(v) for v in value]
    return value


@dataclass(frozen=True)
class Call:
    line: int
    function: str
    args: list[Any]
    kwargs: dict[str, Any]
    answer: Any
    last_error: list[Any] | None
    wall: float | None
    raised: str | None
    raw: dict[str, Any]


def _call(line: int, data: Any, earlier: dict[Any, Call]) -> Call:
    if not isinstance(data, dict) or not isinstance(data.get("function"), str):
        raise ValueError(f'line {line}: not a trace call (needs a "function" name)')
    args, kwargs = data.get("args", []), data.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ValueError(f'line {line}: "args" must be a list and "kwargs" an object')
    answer, error = data.get("answer"), data.get("last_error")
    if "same_as" in data:
        same = earlier.get(data["same_as"])
        if same is None:
            raise ValueError(f"line {line}: same_as {data['same_as']!r}: no earlier line of this file has that seq")
        answer, error = same.answer, same.last_error
        changed = data.get("except", {})
        if not isinstance(changed, dict) or (changed and not isinstance(answer, dict)):
            raise ValueError(f'line {line}: "except" must be the fields of a record that changed')
        answer = {**answer, **changed} if changed else answer
    wall = data.get("wall")
    return Call(
        line=line,
        function=data["function"],
        args=args,
        kwargs=kwargs,
        answer=answer,
        last_error=error if isinstance(error, list) else None,
        wall=float(wall) if isinstance(wall, int | float) else None,
        raised=data.get("raised"),
        raw=data,
    )


def read_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-empty line; ValueError naming the line that is not JSON."""
    try:
        fh = path.open("rb")  # bytes: a line that is not UTF-8 is reported like one that is not JSON
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file (give a trace written by --record-broker-trace)") from None
    except IsADirectoryError:
        raise ValueError(f"{path}: a directory, not a trace file") from None
    with fh:
        for n, text in enumerate(fh, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {n}: not JSON ({exc.msg})") from None
            except UnicodeDecodeError:
                raise ValueError(f"{path} line {n}: not UTF-8 text: not a trace") from None
            if not isinstance(data, dict):
                raise ValueError(f"{path} line {n}: not a JSON object")
            yield n, data


def is_header(data: dict[str, Any]) -> bool:
    return data.get("trace") == FORMAT


def read_trace(path: Path) -> list[Call]:
    """The calls of a trace file, in order; ValueError (one line) for a file that is not one."""
    calls: list[Call] = []
    by_seq: dict[Any, Call] = {}
    for n, data in read_lines(path):
        if is_header(data):
            if data.get("version") != VERSION:
                raise ValueError(
                    f"{path} line {n}: trace version {data.get('version')!r}, this release reads {VERSION}"
                )
            continue
        try:
            call = _call(n, data, by_seq)
        except ValueError as exc:
            raise ValueError(f"{path} {exc}") from None
        calls.append(call)
        if "seq" in data:
            by_seq[data["seq"]] = call
    return calls


def dumps(data: Any) -> bytes:
    """One line of the file, its newline included: compact JSON in UTF-8. orjson, as encoding the lines
    was the largest part of what recording costs (a tenth of the standard library's time per line)."""
    return orjson.dumps(data, option=orjson.OPT_APPEND_NEWLINE)
