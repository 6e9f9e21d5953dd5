"""JSON log lines for the desk's pipeline, and the MT5 password kept out of every file."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from pydantic import SecretStr

from app.host.credentials import mt5_password, store_mt5_password
from app.host.logs import SayOnce, configure_logging
from app.host.runtime import mt5_initialize_kwargs
from app.host.settings import Settings
from tests.builders import rpm
from tests.conftest import Harness


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.items.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def json_log(tmp_path: Path) -> Iterator[Path]:
    path = configure_logging(tmp_path, level=logging.INFO)
    yield path
    for handler in list(logging.getLogger().handlers):
        if getattr(handler, "_exec_console", False):
            logging.getLogger().removeHandler(handler)
            handler.close()


async def test_log_lines_are_json_with_the_execution_id(harness: Harness, json_log: Path) -> None:
    parsed, raw = rpm(symbol="NOPE")
    execution = await harness.engine.execute(parsed, raw=raw, channel="test")
    lines = [json.loads(line) for line in json_log.read_text().splitlines()]
    mine = [line for line in lines if line["execution_id"] == execution.execution_id]
    assert mine, lines
    assert {"timestamp", "level", "logger", "event"} <= set(mine[0])
    assert mine[0]["timestamp"].endswith("Z")


def test_the_password_comes_from_the_environment_first(memory_keyring: MemoryKeyring) -> None:
    store_mt5_password(5001, "from-keyring")
    assert mt5_password(SecretStr("from-env"), 5001) == "from-env"
    assert mt5_password(None, 5001) == "from-keyring"
    assert mt5_password(None, 9999) is None


def test_initialize_gets_the_keyring_password_and_no_file_holds_it(
    memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    store_mt5_password(5001, "s3cret")
    settings = Settings(data_dir=tmp_path, mt5_login=5001, mt5_server="Broker-Demo", mt5_path="C:/MT5/terminal64.exe")
    kwargs = mt5_initialize_kwargs(settings)
    assert kwargs == {
        "timeout": 60_000,
        "path": "C:/MT5/terminal64.exe",
        "login": 5001,
        "server": "Broker-Demo",
        "password": "s3cret",
    }
    assert "s3cret" not in repr(settings)
    assert not any("s3cret" in p.read_text(errors="ignore") for p in tmp_path.rglob("*") if p.is_file())


def test_an_error_said_again_and_again_is_written_once_and_the_history_stays(json_log: Path) -> None:
    logging.getLogger("app.history").warning("what happened before the flood")
    accept = logging.getLogger("asyncio")
    for _ in range(100_000):  # what 21,000 half-open connections had the loop say in under a minute
        accept.error("socket.accept() out of system resource", exc_info=OSError(24, "Too many open files"))

    events = [json.loads(line)["event"] for line in json_log.read_text().splitlines()]
    assert events[0] == "what happened before the flood"
    assert events.count("socket.accept() out of system resource") == 1


def test_a_repeated_line_is_let_through_again_after_the_interval_counting_those_left_out() -> None:
    now = [0.0]
    say_once = SayOnce(interval_s=10.0, clock=lambda: now[0])
    logger = logging.getLogger("test.say_once")
    records = [logger.makeRecord(logger.name, logging.ERROR, "x.py", 1, "accept failed", None, None) for _ in range(5)]

    passed = [say_once.filter(records[0]), say_once.filter(records[1]), say_once.filter(records[2])]
    now[0] = 10.5
    passed += [say_once.filter(records[3]), say_once.filter(records[4])]
    info = logger.makeRecord(logger.name, logging.INFO, "x.py", 1, "accept failed", None, None)

    assert passed == [True, False, False, True, False]
    assert getattr(records[3], "repeated", None) == 2  # the two left out in the first interval
    assert say_once.filter(records[3]) is True  # the same record, seen by a second handler, gets the same answer
    assert say_once.filter(info) is True  # below WARNING nothing is held back
