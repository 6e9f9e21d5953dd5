"""The file-drop inbox (docs/CONTRACT.md §5): `DIR/<name>.json` in, `DIR/outbox/<name>.confirmation.json` out.

A file is taken only when it looks finished: a `*.json` name (upstream writes a temporary name and
renames), the same size and mtime on two polls in a row, and — because a writer may pause longer than
a poll — text that parses as JSON; a file that stays unparseable for `settle_s` is malformed, not
unfinished. Each file is executed through receive() in a task of its own (a bounded number at a
time), answered atomically, then moved to `processed/`; a bad one goes to `failed/` with
`<name>.error.txt`. A crash between answering and moving leaves the file where it was: the next start
executes it again, the engine finds its order_id already executed, and the same answer is written.

Nothing but a regular file is ever read, and a name is never trusted: a link is never followed (it
could point at /proc/self/environ or the API token, whose text would end up on record), a named pipe
never opened (reading one blocks), and the file opened must be the very one listed. Anything else
under a `*.json` name goes to `failed/` itself, with the reason; what cannot be moved there is left,
said once in the log. A name too long to carry its answer's suffix is refused before it is executed,
and an answer that cannot be written is tried a few times, then the input fails with the reason: the
execution's record stands either way, and a file is never executed again and again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.adapters.files import write_atomically
from app.domain import jsontext
from app.domain.contracts import FieldError, InvalidRPMOutput
from app.domain.execution import Execution
from app.engine.engine import ExecutionEngine
from app.interfaces.intake.detached import detached
from app.interfaces.intake.names import fitting, name_length, name_max
from app.interfaces.intake.oversize import refuse_oversize
from app.interfaces.intake.receive import MAX_PAYLOAD_BYTES, receive, refuse

log = logging.getLogger(__name__)

CHANNEL = "inbox"
OUTBOX, PROCESSED, FAILED = "outbox", "processed", "failed"
_RETRY_AFTER_S = 5.0  # a file whose execution failed for a reason of our own (database down) is tried again
_ANSWER_ATTEMPTS = 3  # an answer that cannot be written is tried this often, then its input fails
_CONFIRMATION = ".confirmation.json"
# Never through a link, never waiting on a pipe put in a file's place: where the system has these flags.
_READ_FLAGS = os.O_RDONLY | sum(getattr(os, flag, 0) for flag in ("O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC", "O_BINARY"))
_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
)

Identity = tuple[int, int]  # (device, inode): the file itself, whatever its name


def _identity(st: os.stat_result) -> Identity:
    return st.st_dev, st.st_ino


@dataclass(frozen=True)
class _Listed:
    """A `*.json` entry as a scan saw it, not following it."""

    size: int
    mtime_ns: int
    identity: Identity
    kind: str | None  # what it is when it is not a regular file

    @classmethod
    def of(cls, st: os.stat_result) -> _Listed:
        kind = None if stat.S_ISREG(st.st_mode) else next((k for is_, k in _KINDS if is_(st.st_mode)), "a device")
        return cls(st.st_size, st.st_mtime_ns, _identity(st), kind)


@dataclass(frozen=True)
class _Look:
    """What a poll saw of a file; `since` is when it was first seen looking like this."""

    listed: _Listed
    since: float


@dataclass(frozen=True)
class _Ready:
    name: str
    identity: Identity
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
        answer_retry_s: float = _RETRY_AFTER_S,
    ) -> None:
        self.engine = engine
        self.directory = directory
        self.poll_interval_s = poll_interval_s
        self.settle_s = settle_s
        self.max_concurrent = max_concurrent or engine.config.max_in_flight
        self.answer_retry_s = answer_retry_s
        self._longest_name = 255  # the outbox's NAME_MAX, read at start
        self._seen: dict[str, _Look] = {}
        self._retry_at: dict[str, float] = {}
        self._left: dict[str, Identity] = {}  # entries that could not be moved to failed/, said once
        self._active: dict[str, asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    # ---- life cycle -----------------------------------------------------------------------------
    async def start(self) -> None:
        await asyncio.to_thread(self._make_dirs)
        self._loop_task = asyncio.create_task(self._watch(), name=f"inbox {self.directory}")

    def _make_dirs(self) -> None:
        for sub in (OUTBOX, PROCESSED, FAILED):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        self._longest_name = name_max(self.directory / OUTBOX)

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
                self._forget_gone(found)
                for name, listed in found.items():
                    if listed.kind is not None and self._left.get(name) != listed.identity:
                        reason = f"{name} is {listed.kind}: the inbox reads regular files only and never follows a link"
                        await self._refuse(name, listed.identity, [reason])
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

    def _scan(self) -> dict[str, _Listed]:
        """Every `*.json` entry in the directory, whatever it is, not following links (on a worker thread)."""
        found: dict[str, _Listed] = {}
        with os.scandir(self.directory) as entries:
            for entry in entries:
                name = entry.name
                if name.startswith(".") or not name.lower().endswith(".json"):
                    continue
                try:
                    st = os.lstat(entry.path)  # not entry.stat(): Windows leaves its inode out
                except FileNotFoundError:  # taken away by upstream while we looked
                    continue
                found[name] = _Listed.of(st)
        return found

    def _forget_gone(self, found: dict[str, _Listed]) -> None:
        """What was known of names no longer there, or no longer the same file, is forgotten."""
        for gone in self._seen.keys() - found.keys():
            del self._seen[gone]
        for gone in self._retry_at.keys() - found.keys():
            del self._retry_at[gone]
        for name, identity in list(self._left.items()):
            if name not in found or found[name].identity != identity:
                del self._left[name]

    def _candidates(self, found: dict[str, _Listed], now: float) -> list[tuple[str, _Listed, bool]]:
        """The regular files unchanged since the previous poll, within capacity: (name, listed, settled)."""
        candidates: list[tuple[str, _Listed, bool]] = []
        capacity = self.max_concurrent - len(self._active)
        files = [(name, listed) for name, listed in found.items() if listed.kind is None and name not in self._left]
        # Oldest first, so that a burst is executed in the order upstream wrote it.
        for name, listed in sorted(files, key=lambda item: (item[1].mtime_ns, item[0])):
            if len(candidates) >= capacity:
                break
            if name in self._active or self._retry_at.get(name, 0.0) > now:
                continue
            look = self._seen.get(name)
            if look is None or look.listed != listed:
                self._seen[name] = _Look(listed, now)  # new or still changing: look again next poll
                continue
            candidates.append((name, listed, now - look.since >= self.settle_s))
        return candidates

    def _read_all(self, candidates: list[tuple[str, _Listed, bool]]) -> list[_Ready | None]:
        return [self._read_if_finished(*candidate) for candidate in candidates]

    def _read_if_finished(self, name: str, listed: _Listed, settled: bool) -> _Ready | None:
        """The file's bytes if it looks finished (on a worker thread); None to look again next poll."""
        path = self.directory / name
        try:
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            return None  # taken away by upstream between the scan and now
        except OSError as exc:
            if not self._still(path, listed):
                return None  # something else is there now (a link: O_NOFOLLOW): the next scan says what
            # Windows refuses to open a file another process is still writing: not finished yet,
            # unless it has looked the same for settle_s.
            return _Ready(name, listed.identity, b"", listed.size, unreadable=str(exc)) if settled else None
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or _identity(st) != listed.identity:
                return None  # replaced since it was listed: the next scan says by what
            payload = fh.read(MAX_PAYLOAD_BYTES + 1)
        if len(payload) > MAX_PAYLOAD_BYTES or settled:
            return _Ready(name, listed.identity, payload, max(listed.size, len(payload)))
        try:
            jsontext.loads(payload)  # read as it will be: a number past int()'s 4300 digits is no half-written file
        except (ValueError, RecursionError):
            return None  # a writer pausing half-way; malformed only once settled
        return _Ready(name, listed.identity, payload, len(payload))

    @staticmethod
    def _still(path: Path, listed: _Listed) -> bool:
        """Whether `path` is still the regular file that was listed."""
        try:
            return _Listed.of(os.lstat(path)) == listed
        except OSError:
            return False

    # ---- one file ---------------------------------------------------------------------------------
    async def _handle(self, item: _Ready) -> None:
        loop = asyncio.get_running_loop()
        try:
            if item.unreadable is not None:
                await self._refuse(item.name, item.identity, [f"the file cannot be read: {item.unreadable}"])
                return
            if item.size > MAX_PAYLOAD_BYTES:
                raise await refuse_oversize(
                    self.engine.store, channel=CHANNEL, source=item.name, head=item.payload, size=item.size
                )
            too_long = self._answer_name_too_long(item.name)
            if too_long is not None:
                raise await refuse(self.engine, item.payload, [too_long], channel=CHANNEL, source=item.name)
            execution = await detached(receive(self.engine, item.payload, channel=CHANNEL, source=item.name))
            await self._deliver(item, execution)
        except InvalidRPMOutput as exc:
            await self._refuse(item.name, item.identity, _describe(exc.errors))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("inbox file %s: not answered; tried again in %.0f s", item.name, _RETRY_AFTER_S)
            self._retry_at[item.name] = loop.time() + _RETRY_AFTER_S
        else:
            self._retry_at.pop(item.name, None)
        finally:
            self._active.pop(item.name, None)

    def _answer_name_too_long(self, name: str) -> FieldError | None:
        """Why `name` cannot be answered under `<name>.confirmation.json`, if it cannot: said before it is
        executed, rather than an execution whose answer never comes."""
        answer = _stem(name) + _CONFIRMATION
        if name_length(answer) <= self._longest_name:
            return None
        return FieldError(
            field="file name",
            message=f"{name_length(name)} bytes: its answer's name {_stem(name)[:16]}…{_CONFIRMATION} would be "
            f"{name_length(answer)}, over this file system's limit of {self._longest_name}; "
            f"use a name of at most {self._longest_name - len(_CONFIRMATION) + len('.json')} bytes",
        )

    async def _deliver(self, item: _Ready, execution: Execution) -> None:
        """Write the answer, trying again a few times; then the input fails, saying where the answer is."""
        answer = execution.confirmation().model_dump_json(indent=2)
        for attempt in range(1, _ANSWER_ATTEMPTS + 1):
            try:
                await asyncio.to_thread(self._answer, item.name, answer)
                return
            except OSError as exc:
                problem = exc
            if attempt < _ANSWER_ATTEMPTS:
                log.warning(
                    "inbox file %s: its answer could not be written (%s); trying again in %g s",
                    item.name,
                    problem,
                    self.answer_retry_s,
                )
                await asyncio.sleep(self.answer_retry_s)
        where = f"{OUTBOX}/{_stem(item.name)}{_CONFIRMATION}"
        reason = (
            f"the confirmation could not be written to {where} ({problem}; {_ANSWER_ATTEMPTS} attempts); "
            f"execution {execution.execution_id} is recorded, {execution.status.value}: "
            f"GET /executions/{execution.execution_id} answers it"
        )
        await self._refuse(item.name, item.identity, [reason])

    def _answer(self, name: str, confirmation_json: str) -> None:
        write_atomically(self.directory / OUTBOX / f"{_stem(name)}{_CONFIRMATION}", confirmation_json + "\n")
        _move(self.directory / name, self.directory / PROCESSED)

    async def _refuse(self, name: str, identity: Identity, reasons: list[str]) -> None:
        """Into failed/ with the reasons; or, when even that cannot be done, left where it is, said once."""
        try:
            await asyncio.to_thread(self._fail, name, reasons)
        except FileNotFoundError:
            pass  # taken away by upstream meanwhile
        except OSError as exc:
            self._left[name] = identity
            log.warning(
                "inbox file %s left where it is (%s); it cannot be moved to failed/: %s", name, "; ".join(reasons), exc
            )

    def _fail(self, name: str, reasons: list[str]) -> None:
        text = f"{name} was not executed:\n" + "".join(f"  {r}\n" for r in reasons)
        failed = self.directory / FAILED
        write_atomically(failed / fitting(failed, _stem(name), ".error.txt"), text)
        _move(self.directory / name, failed)
        log.warning("inbox file %s failed: %s", name, "; ".join(reasons))


def _stem(name: str) -> str:
    return name[: -len(".json")]


def _describe(errors: list[FieldError]) -> list[str]:
    return [f"{e.field}: {e.message}" for e in errors]


def _move(source: Path, folder: Path) -> None:
    """Into `folder` (a link itself, never its target), keeping an earlier entry of the same name
    (upstream may reuse names)."""
    target = folder / source.name
    if os.path.lexists(target):
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = folder / fitting(folder, _stem(source.name), f".{stamp}.json")
    os.replace(source, target)
