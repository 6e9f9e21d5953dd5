"""The file-drop inbox (CONTRACT §5): `DIR/<name>.json` in, `DIR/outbox/<name>.confirmation.json` out.

A file is taken only when it looks finished: a `*.json` name (upstream writes a temporary name and
renames), the same size and mtime on two polls in a row, and — because a writer may pause longer than
a poll — text that parses as JSON; a file that stays unparseable for `settle_s` is malformed, not
unfinished. Each file is executed through receive() in a task of its own (a bounded number at a
time), answered atomically, then moved to `processed/`; a bad one goes to `failed/` with
`<name>.error.txt`. A crash between answering and moving leaves the file where it was: the next start
executes it again, the engine finds its order_id already executed, and the same answer is written.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app import jsontext
from app.contracts import FieldError, InvalidRPMOutput
from app.engine.engine import ExecutionEngine
from app.files import write_atomically
from app.intake.detached import detached
from app.intake.oversize import refuse_oversize
from app.intake.receive import MAX_PAYLOAD_BYTES, receive

log = logging.getLogger(__name__)

CHANNEL = "inbox"
OUTBOX, PROCESSED, FAILED = "outbox", "processed", "failed"
_RETRY_AFTER_S = 5.0  # a file whose execution failed for a reason of our own (database down) is tried again


@dataclass(frozen=True)
class _Look:
    """What a poll saw of a file; `since` is when it was first seen looking like this."""

    size: int
    mtime_ns: int
    since: float


@dataclass(frozen=True)
class _Ready:
    name: str
    payload: bytes
    size: int
    unreadable: str | None = None  # why the file could not be read, when it could not


class InboxWatcher:
    """Watches one directory on whichever event loop start() runs on (asyncio or qasync)."""

    def __init__(
        self,
        engine: ExecutionEngine,
        directory: Path,
        *,
        poll_interval_s: float = 0.2,
        settle_s: float = 2.0,
        max_concurrent: int | None = None,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.poll_interval_s = poll_interval_s
        self.settle_s = settle_s
        self.max_concurrent = max_concurrent or engine.config.max_in_flight
        self._seen: dict[str, _Look] = {}
        self._retry_at: dict[str, float] = {}
        self._active: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    # ---- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._make_dirs)
        self._loop_task = asyncio.create_task(self._watch(), name=f"inbox {self.directory}")

    def _make_dirs(self) -> None:
        for sub in (OUTBOX, PROCESSED, FAILED):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)

    async def close_intake(self) -> None:
        """Take no new file; files already taken go on to their answer."""
        task, self._loop_task = self._loop_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def stop(self, within_s: float) -> int:
        """Stop taking files and give those taken `within_s` to be answered; return how many were not.

        Their executions go on in the engine; a file not answered stays in the inbox and is answered
        at the next start (its order_id already executed, nothing is sent again)."""
        await self.close_intake()
        pending = set(self._active.values())
        if not pending:
            return 0
        _done, left = await asyncio.wait(pending, timeout=within_s)
        for task in left:
            task.cancel()
        await asyncio.gather(*left, return_exceptions=True)
        return len(left)

    @property
    def busy(self) -> int:
        return len(self._active)

    # ---- polling --------------------------------------------------------------------------------
    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        unreadable: str | None = None  # said once, not at every poll
        while True:
            try:
                found = await asyncio.to_thread(self._scan)
                candidates = self._candidates(found, loop.time())
                ready = await asyncio.to_thread(self._read_all, candidates)
                unreadable = None
            except OSError as exc:  # the directory went away or is unreachable: say so, keep watching
                if str(exc) != unreadable:
                    log.warning("inbox %s cannot be read: %s", self.directory, exc)
                unreadable, ready = str(exc), []
            except Exception:  # the watcher must never die quietly while upstream keeps dropping files
                log.exception("inbox %s: poll failed", self.directory)
                ready = []
            for item in ready:
                if item is None:
                    continue
                del self._seen[item.name]
                self._active[item.name] = asyncio.create_task(self._handle(item), name=f"inbox file {item.name}")
            await asyncio.sleep(self.poll_interval_s)

    def _scan(self) -> dict[str, tuple[int, int]]:
        """Name → (size, mtime) of every `*.json` file in the directory (on a worker thread)."""
        found: dict[str, tuple[int, int]] = {}
        with os.scandir(self.directory) as entries:
            for entry in entries:
                name = entry.name
                try:
                    if name.startswith(".") or not name.lower().endswith(".json") or not entry.is_file():
                        continue
                    st = entry.stat()
                except FileNotFoundError:  # taken away by upstream while we looked
                    continue
                found[name] = (st.st_size, st.st_mtime_ns)
        return found

    def _candidates(self, found: dict[str, tuple[int, int]], now: float) -> list[tuple[str, int, bool]]:
        """The files unchanged since the previous poll, within capacity: (name, size, settled)."""
        for gone in self._seen.keys() - found.keys():
            del self._seen[gone]
        for gone in self._retry_at.keys() - found.keys():
            del self._retry_at[gone]
        candidates: list[tuple[str, int, bool]] = []
        capacity = self.max_concurrent - len(self._active)
        # Oldest first, so that a burst is executed in the order upstream wrote it.
        for name, (size, mtime_ns) in sorted(found.items(), key=lambda item: (item[1][1], item[0])):
            if len(candidates) >= capacity:
                break
            if name in self._active or self._retry_at.get(name, 0.0) > now:
                continue
            look = self._seen.get(name)
            if look is None or (look.size, look.mtime_ns) != (size, mtime_ns):
                self._seen[name] = _Look(size, mtime_ns, now)  # new or still changing: look again next poll
                continue
            candidates.append((name, size, now - look.since >= self.settle_s))
        return candidates

    def _read_all(self, candidates: list[tuple[str, int, bool]]) -> list[_Ready | None]:
        return [self._read_if_finished(*candidate) for candidate in candidates]

    def _read_if_finished(self, name: str, size: int, settled: bool) -> _Ready | None:
        """The file's bytes if it looks finished (on a worker thread); None to look again next poll."""
        try:
            with (self.directory / name).open("rb") as fh:
                payload = fh.read(MAX_PAYLOAD_BYTES + 1)
        except FileNotFoundError:
            return None  # taken away by upstream between the scan and now
        except OSError as exc:
            # Windows refuses to open a file another process is still writing: not finished yet,
            # unless it has looked the same for settle_s.
            return _Ready(name, b"", size, unreadable=str(exc)) if settled else None
        if len(payload) > MAX_PAYLOAD_BYTES or settled:
            return _Ready(name, payload, max(size, len(payload)))
        try:
            jsontext.loads(payload)  # read as it will be: a number past int()'s 4300 digits is no half-written file
        except (ValueError, RecursionError):
            return None  # a writer pausing half-way; malformed only once settled
        return _Ready(name, payload, len(payload))

    # ---- one file ---------------------------------------------------------------------------------
    async def _handle(self, item: _Ready) -> None:
        loop = asyncio.get_running_loop()
        try:
            if item.unreadable is not None:
                await asyncio.to_thread(self._fail, item.name, [f"the file cannot be read: {item.unreadable}"])
                return
            if item.size > MAX_PAYLOAD_BYTES:
                raise await refuse_oversize(
                    self.engine.store, channel=CHANNEL, source=item.name, head=item.payload, size=item.size
                )
            execution = await detached(receive(self.engine, item.payload, channel=CHANNEL, source=item.name))
            answer = execution.confirmation().model_dump_json(indent=2)
            await asyncio.to_thread(self._answer, item.name, answer)
        except InvalidRPMOutput as exc:
            await asyncio.to_thread(self._fail, item.name, _describe(exc.errors))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("inbox file %s: not answered; tried again in %.0f s", item.name, _RETRY_AFTER_S)
            self._retry_at[item.name] = loop.time() + _RETRY_AFTER_S
        else:
            self._retry_at.pop(item.name, None)
        finally:
            self._active.pop(item.name, None)

    def _answer(self, name: str, confirmation_json: str) -> None:
        write_atomically(self.directory / OUTBOX / f"{_stem(name)}.confirmation.json", confirmation_json + "\n")
        _move(self.directory / name, self.directory / PROCESSED)

    def _fail(self, name: str, reasons: list[str]) -> None:
        text = f"{name} was not executed:\n" + "".join(f"  {r}\n" for r in reasons)
        write_atomically(self.directory / FAILED / f"{_stem(name)}.error.txt", text)
        _move(self.directory / name, self.directory / FAILED)
        log.warning("inbox file %s failed: %s", name, "; ".join(reasons))


def _stem(name: str) -> str:
    return name[: -len(".json")]


def _describe(errors: list[FieldError]) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errors]


def _move(source: Path, folder: Path) -> None:
    """Into `folder`, keeping an earlier file of the same name (upstream may reuse names)."""
    target = folder / source.name
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / f"{_stem(source.name)}.{stamp}.json"
    os.replace(source, target)
