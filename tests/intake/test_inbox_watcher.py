"""The inbox watcher in-process, on the real engine and simulator: crash safety, concurrency and its bound."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from app.interfaces.intake.inbox import InboxWatcher
from tests.api.polling import eventually_async as eventually
from tests.builders import json_text, rpm_payload
from tests.conftest import Harness, HarnessFactory

NEVER_FILLS = {"pending_fill_after_s": -1}


def drop(inbox: Path, name: str, payload: dict[str, Any] | str) -> None:
    temporary = inbox / f".{name}.tmp"
    temporary.write_text(payload if isinstance(payload, str) else json.dumps(payload))
    os.replace(temporary, inbox / f"{name}.json")


def answer_of(inbox: Path, name: str) -> dict[str, Any] | None:
    path = inbox / "outbox" / f"{name}.confirmation.json"
    answer: dict[str, Any] | None = json.loads(path.read_text()) if path.exists() else None
    return answer


def all_answered(inbox: Path, count: int, prefix: str) -> list[dict[str, Any]] | None:
    answers = [answer_of(inbox, f"{prefix}{i}") for i in range(count)]
    return [a for a in answers if a is not None] if all(answers) else None


async def orders_at_the_broker(harness: Harness, execution_id: str) -> int:
    execution = await harness.store.get(execution_id)
    assert execution is not None
    return len(await harness.broker.find_orders(execution_id, execution.created_timestamp - timedelta(minutes=1)))


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """SQLite only: the watcher never touches the database itself (the engine's tests cover both)."""
    return f"sqlite:///{tmp_path / 'executions.db'}"


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    return tmp_path / "inbox"


@pytest.fixture
async def watching(inbox: Path) -> AsyncIterator[Callable[..., Awaitable[InboxWatcher]]]:
    watchers: list[InboxWatcher] = []

    async def start(harness: Harness, **options: Any) -> InboxWatcher:
        watcher = InboxWatcher(harness.engine, inbox, poll_interval_s=0.02, settle_s=0.5, **options)
        await watcher.start()
        watchers.append(watcher)
        return watcher

    yield start
    for watcher in watchers:
        await watcher.stop(5.0)


async def test_a_file_answered_but_not_moved_before_a_crash_is_answered_again_without_a_second_order(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    watcher = await watching(harness)
    drop(inbox, "order", rpm_payload(units=1000, order_id="crash_1"))
    first = await eventually(lambda: (inbox / "processed" / "order.json").exists() and answer_of(inbox, "order"))
    await watcher.stop(1.0)

    # The process died after writing the answer and before moving the file: it is still in the inbox.
    shutil.move(inbox / "processed" / "order.json", inbox / "order.json")
    (inbox / "outbox" / "order.confirmation.json").unlink()
    await watching(harness)

    again = await eventually(lambda: (inbox / "processed" / "order.json").exists() and answer_of(inbox, "order"))
    assert again == first
    assert await orders_at_the_broker(harness, first["execution_id"]) == 1


async def test_files_are_executed_concurrently_not_one_after_another(
    harness_factory: HarnessFactory, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    harness: Harness = await harness_factory(behaviour=NEVER_FILLS, order_timeout_s=0.6)
    await watching(harness)
    for i in range(8):
        drop(inbox, f"f{i}", rpm_payload(units=1000, order_id=f"concurrent_{i}"))

    async def all_resting_at_once() -> bool:
        return len(await harness.store.unfinished()) == 8

    await eventually(all_resting_at_once)  # eight orders at the broker at the same time, none waiting
    answers = await eventually(lambda: all_answered(inbox, 8, "f"))
    assert {a["status"] for a in answers} == {"EXPIRED"}


async def test_no_more_files_than_the_bound_are_in_flight_at_once(
    harness_factory: HarnessFactory, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    harness: Harness = await harness_factory(behaviour=NEVER_FILLS, order_timeout_s=0.3)
    watcher = await watching(harness, max_concurrent=3)
    for i in range(7):
        drop(inbox, f"b{i}", rpm_payload(units=1000, order_id=f"bounded_{i}"))

    busiest = 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 20.0
    while not all_answered(inbox, 7, "b"):
        busiest = max(busiest, watcher.busy, len(await harness.store.unfinished()))
        assert loop.time() < deadline, "the inbox did not answer every file"
        await asyncio.sleep(0.01)
    assert busiest == 3


async def test_a_file_over_one_mib_goes_to_failed_and_is_recorded(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness)
    payload = rpm_payload(units=1000, order_id="too_big_file")
    payload["padding"] = "x" * (1024 * 1024)
    drop(inbox, "big", payload)
    size = (inbox / "big.json").stat().st_size

    reason = await eventually(
        lambda: (inbox / "failed" / "big.error.txt").exists() and (inbox / "failed" / "big.error.txt").read_text()
    )
    assert f"body: payload of {size} bytes exceeds" in reason
    assert (inbox / "failed" / "big.json").stat().st_size == size
    [recorded] = await harness.store.intake_errors()
    assert (recorded["channel"], recorded["source"]) == ("inbox", "big.json")
    assert len(recorded["raw_payload"]) == 1024 * 1024


async def test_a_file_not_answered_at_stop_is_left_for_the_next_start_and_never_sent_twice(
    harness_factory: HarnessFactory, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    harness: Harness = await harness_factory(behaviour=NEVER_FILLS, order_timeout_s=0.6)
    watcher = await watching(harness)
    drop(inbox, "late", rpm_payload(units=1000, order_id="left_at_stop"))

    async def resting() -> bool:
        return len(await harness.store.unfinished()) == 1

    await eventually(resting)
    assert await watcher.stop(0.05) == 1
    assert (inbox / "late.json").exists()  # not answered, not moved
    assert await harness.engine.drain(5.0) == 0  # the execution itself went on to its end in the engine

    await watching(harness)
    answer = await eventually(lambda: (inbox / "processed" / "late.json").exists() and answer_of(inbox, "late"))
    assert answer["status"] == "EXPIRED"
    assert await orders_at_the_broker(harness, answer["execution_id"]) == 1


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs POSIX permissions that bind the user")
async def test_an_unreadable_file_goes_to_failed_saying_so(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness)
    drop(inbox, "locked", rpm_payload(units=1000))
    (inbox / "locked.json").chmod(0)
    reason = await eventually(
        lambda: (inbox / "failed" / "locked.error.txt").exists() and (inbox / "failed" / "locked.error.txt").read_text()
    )
    assert "the file cannot be read" in reason


async def test_numbers_are_answered_exactly_as_sent_or_the_file_fails_naming_the_field(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness)
    units = "123456789012.12345678"  # past a float's 17 digits
    drop(inbox, "exact", json_text(rpm_payload(units="@units@", order_id="inbox_exact"), units=units))
    too_precise = json_text(rpm_payload(units="@units@", order_id="inbox_too_precise"), units="1000.000000000000001")
    drop(inbox, "too-precise", too_precise)

    path = inbox / "outbox" / "exact.confirmation.json"
    text = await eventually(lambda: (inbox / "processed" / "exact.json").exists() and path.read_text())
    assert json.loads(text, parse_float=Decimal)["intended_units"] == Decimal(units)
    reason_file = inbox / "failed" / "too-precise.error.txt"
    reason = await eventually(lambda: reason_file.exists() and reason_file.read_text())
    assert "decision.approved_trade.position_units: " in reason and "8 decimal places" in reason
    assert (inbox / "failed" / "too-precise.json").read_text() == too_precise
    [recorded] = await harness.store.intake_errors()
    assert recorded["raw_payload"] == too_precise


# ---- hostile inboxes: links, pipes, folders, names and outboxes that cannot be written --------------------------
SECRET = "the-audit-key-0123456789abcdef-never-to-be-read"


def reason_for(inbox: Path, stem: str) -> str | None:
    path = inbox / "failed" / f"{stem}.error.txt"
    return path.read_text() if path.exists() else None


@pytest.mark.skipif(os.name != "posix", reason="making links needs no privilege on POSIX only")
@pytest.mark.parametrize("target", ["environment", "secret", "order", "dangling"])
async def test_a_link_is_never_followed_the_link_itself_goes_to_failed(
    harness: Harness, inbox: Path, tmp_path: Path, watching: Callable[..., Awaitable[InboxWatcher]], target: str
) -> None:
    environment = Path("/proc/self/environ")  # the API token, the MT5 password, the audit key
    if target == "environment" and not environment.exists():
        pytest.skip("no /proc on this system")
    secret, order = tmp_path / "audit-key", tmp_path / "order.json"
    secret.write_text(SECRET)
    order.write_text(json.dumps(rpm_payload(units=1000, order_id="linked_order")))
    targets = {"environment": environment, "secret": secret, "order": order, "dangling": tmp_path / "gone.json"}
    await watching(harness)
    (inbox / "link.json").symlink_to(targets[target])

    reason = await eventually(lambda: reason_for(inbox, "link"))
    assert "a symbolic link" in reason and "never follows" in reason
    assert (inbox / "failed" / "link.json").readlink() == targets[target]  # the link moved, not its target
    assert secret.read_text() == SECRET and order.exists()
    assert await harness.store.intake_errors() == []  # nothing was read, so nothing of it is on record
    assert await harness.store.get_by_rpm_order("linked_order") is None


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
async def test_a_named_pipe_goes_to_failed_unopened_and_the_inbox_goes_on(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness)
    os.mkfifo(inbox / "pipe.json")  # opened for reading, it would block until a writer came

    assert "a named pipe" in await eventually(lambda: reason_for(inbox, "pipe"))
    assert stat.S_ISFIFO((inbox / "failed" / "pipe.json").lstat().st_mode)
    drop(inbox, "after", rpm_payload(units=1000))
    assert (await eventually(lambda: answer_of(inbox, "after")))["status"] == "FILLED"


async def test_a_directory_named_like_an_input_goes_to_failed_whole(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness)
    (inbox / "folder.json").mkdir()
    (inbox / "folder.json" / "inner.json").write_text(json.dumps(rpm_payload(units=1000, order_id="in_a_folder")))

    assert "a directory" in await eventually(lambda: reason_for(inbox, "folder"))
    assert await eventually(lambda: (inbox / "failed" / "folder.json" / "inner.json").exists())  # moved whole
    assert await harness.store.get_by_rpm_order("in_a_folder") is None


async def test_a_name_too_long_for_its_answer_is_refused_before_executing_and_recorded(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness)
    longest = os.pathconf(inbox, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    stem = "n" * (longest - 10 - len(".json"))  # `<stem>.confirmation.json` would be 13 bytes longer than its input
    drop(inbox, stem, rpm_payload(units=1000, order_id="long_name"))

    reason = await eventually(lambda: reason_for(inbox, stem))
    assert "file name:" in reason and f"over this file system's limit of {longest}" in reason
    assert (inbox / "failed" / f"{stem}.json").exists()
    assert await harness.store.get_by_rpm_order("long_name") is None  # nothing was sent
    [recorded] = await harness.store.intake_errors()
    assert (recorded["source"], recorded["rpm_order_id"]) == (f"{stem}.json", "long_name")
    assert json.loads(recorded["errors"])[0]["field"] == "file name"


async def test_a_confirmation_that_cannot_be_written_is_retried_a_few_times_then_the_input_fails(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]]
) -> None:
    await watching(harness, answer_retry_s=0.05)
    (inbox / "outbox" / "blocked.confirmation.json").mkdir()  # no answer can take its place
    drop(inbox, "blocked", rpm_payload(units=1000, order_id="blocked_answer"))

    reason = await eventually(lambda: reason_for(inbox, "blocked"))
    execution = await harness.store.get_by_rpm_order("blocked_answer")
    assert execution is not None and execution.status.value == "FILLED"
    assert "the confirmation could not be written" in reason and execution.execution_id in reason
    assert (inbox / "failed" / "blocked.json").exists()
    events = [event.event_type for event in await harness.store.audit_for(execution.execution_id)]
    assert "DUPLICATE_RECEIVED" not in events  # answered from memory, never executed again
    assert await orders_at_the_broker(harness, execution.execution_id) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
async def test_what_cannot_be_moved_to_failed_is_left_with_one_log_line(
    harness: Harness, inbox: Path, watching: Callable[..., Awaitable[InboxWatcher]], caplog: pytest.LogCaptureFixture
) -> None:
    await watching(harness)
    (inbox / "failed").rmdir()
    (inbox / "failed").write_text("not a folder: nothing can be moved into it")
    os.mkfifo(inbox / "stuck.json")

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if "stuck.json" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="app.interfaces.intake.inbox"):
        await eventually(said)
        drop(inbox, "later", rpm_payload(units=1000))  # the watcher polls on, many times, past the pipe
        await eventually(lambda: (inbox / "processed" / "later.json").exists())
    assert len(said()) == 1 and "a named pipe" in said()[0]
    assert stat.S_ISFIFO((inbox / "stuck.json").lstat().st_mode)
