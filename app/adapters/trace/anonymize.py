"""A copy of a broker trace a desk can send: account numbers, names, servers and comments replaced.

Each distinct value gets one stand-in wherever it occurs (an order's comment in the request is the
same stand-in in every later answer that shows it), and a stand-in has the original's type, so the
copy still replays (app/adapters/trace/replay.py) as the original does.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from app.adapters.trace.format import REDACTED, dumps, is_header, read_lines, read_trace

# field name -> what it is; terminal paths name the Windows user and the broker's folder
_FIELDS = {
    "login": "account",
    "name": "name",
    "company": "name",
    "path": "name",
    "data_path": "name",
    "commondata_path": "name",
    "server": "server",
    "comment": "comment",
    "external_id": "comment",
}
_NAMED_RECORDS = ("account_info", "terminal_info")  # elsewhere "name" is a symbol's, and stays
_FIRST_ACCOUNT = 10_000_001


class Anonymizer:
    def __init__(self) -> None:
        self._seen: dict[tuple[str, Any], Any] = {}
        self.replaced: Counter[str] = Counter()

    def stand_in(self, what: str, value: Any) -> Any:
        if value in (None, "", 0, REDACTED) or isinstance(value, bool):
            return value
        key = (what, value)
        if key not in self._seen:
            n = sum(1 for w, _ in self._seen if w == what) + 1
            self._seen[key] = _FIRST_ACCOUNT + n - 1 if isinstance(value, int) else f"{what}-{n}"
            self.replaced[what] += 1
        return self._seen[key]

    def value(self, value: Any, *, names: bool) -> Any:
        if isinstance(value, list):
            return [self.value(v, names=names) for v in value]
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for k, v in value.items():
            what = _FIELDS.get(k)
            if what is not None and (what != "name" or names) and isinstance(v, int | str):
                out[k] = self.stand_in(what, v)
            else:
                out[k] = self.value(v, names=names)
        return out

    def line(self, data: dict[str, Any]) -> dict[str, Any]:
        if is_header(data):
            return data
        function = data.get("function")
        out = dict(data)
        for key in ("answer", "except"):  # a line by reference has no answer, and may have the fields changed
            if key in data:
                out[key] = self.value(data[key], names=function in _NAMED_RECORDS)
        out["kwargs"] = self.value(data.get("kwargs", {}), names=False)
        args = self.value(data.get("args", []), names=False)
        if function == "login" and isinstance(args, list):  # login(login, password, server, timeout)
            args = [
                self.stand_in(w, a) if w else a for w, a in zip(("account", None, "server"), args, strict=False)
            ] + args[3:]
        out["args"] = args
        return out


def anonymize_file(source: Path, out: Path) -> str:
    """Write the anonymized copy; one line saying what was replaced. ValueError for a bad trace."""
    read_trace(source)  # the whole file is a trace, or nothing is written
    if out.exists() and out.resolve() == source.resolve():
        raise ValueError(f"--anonymize {out}: that is the trace itself; name another file")
    anonymizer = Anonymizer()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    lines = 0
    with os.fdopen(fd, "wb") as fh:
        for _n, data in read_lines(source):
            fh.write(dumps(anonymizer.line(data)))
            lines += 1
    r = anonymizer.replaced
    return (
        f"anonymized copy written to {out} ({lines} lines): replaced {r['account']} account numbers,"
        f" {r['name']} names, {r['server']} servers, {r['comment']} comments"
    )
