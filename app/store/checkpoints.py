"""Signed checkpoints of the audit chain's head, kept outside the database (a store cut short or put
back to an older copy still has a sound chain: only something outside it remembers how far it went).

After every commit that added audit events the writer appends one JSON line {seq, hash, time, hmac}
to the data dir's audit-checkpoints.jsonl (owner-only) and logs it for the log pipeline, as
Certificate Transparency publishes signed tree heads. Durability: one append per commit, no fsync.
The line is written after the store's own durable commit, so the file never runs ahead of a committed
store; after a power loss it may lag the store by its last lines, which only makes the check weaker for
those seconds, never wrong.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from app.domain.audit import AuditSigner, canonical_json
from app.domain.execution import utcnow

FILE = "audit-checkpoints.jsonl"
log = logging.getLogger("app.domain.audit.checkpoint")


def _signed(signer: AuditSigner, seq: int, head: str, at: str) -> str:
    return signer.sign(canonical_json(["checkpoint", seq, head, at]))


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    time: str


class CheckpointLog:
    def __init__(self, data_dir: Path, signer: AuditSigner) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / FILE
        self._signer = signer
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def write(self, seq: int, head: str) -> None:
        at = utcnow().isoformat()
        line = {"seq": seq, "hash": head, "time": at, "hmac": _signed(self._signer, seq, head, at)}
        try:
            os.write(self._fd, (json.dumps(line) + "\n").encode())  # one write(2) of O_APPEND: lines never interleave
        except OSError:  # the commit stands: its callers must hear it succeeded
            log.exception("could not append the audit checkpoint to %s", self.path)
        log.info("audit checkpoint", extra={"audit_checkpoint": line})

    def close(self) -> None:
        os.close(self._fd)


def latest(data_dir: Path, signer: AuditSigner) -> tuple[Checkpoint | None, list[str]]:
    """The furthest checkpoint signed by this key, and one problem per line that is not (a forged or
    altered line). A last line cut short by a crash is skipped silently."""
    path = data_dir / FILE
    if not path.is_file():
        return None, []
    best: Checkpoint | None = None
    problems: list[str] = []
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            item = json.loads(text)
            point = Checkpoint(int(item["seq"]), str(item["hash"]), str(item["time"]))
            good = _signed(signer, point.seq, point.hash, point.time) == item["hmac"]
        except (ValueError, KeyError, TypeError):
            if number == len(lines):  # no newline after it: the write was cut short
                continue
            problems.append(f"{path} line {number}: not a checkpoint")
            continue
        if not good:
            problems.append(f"{path} line {number}: checkpoint signature is not valid for this audit key")
        elif best is None or point.seq > best.seq:
            best = point
    return best, problems
