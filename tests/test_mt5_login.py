"""`execution-engine mt5-login`: the password asked without echo, kept in the keyring (a test one here)."""

from __future__ import annotations

import getpass

import keyring
import pytest
from keyring.backend import KeyringBackend

from app.host.credentials import KEYRING_SERVICE, mt5_password
from app.interfaces.cli import main


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.kept.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> object:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_mt5_login_keeps_the_password_in_the_keyring_for_the_next_start(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(getpass, "getpass", lambda prompt: "s3cret")
    code = main(["mt5-login", "--login", "5012345", "--server", "Broker-Demo", "--path", "C:/MT5/terminal64.exe"])

    assert code == 0
    assert memory_keyring.kept == {(KEYRING_SERVICE, "5012345"): "s3cret"}
    assert mt5_password(None, 5012345) == "s3cret"
    out = capsys.readouterr().out
    assert "s3cret" not in out and "EXEC_MT5_PATH=C:/MT5/terminal64.exe" in out


def test_mt5_login_with_no_password_stores_nothing(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(getpass, "getpass", lambda prompt: "")
    code = main(["mt5-login", "--login", "5012345", "--server", "Broker-Demo"])

    assert code == 2 and memory_keyring.kept == {}
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
