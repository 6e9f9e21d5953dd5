"""The MT5 account password: from EXEC_MT5_PASSWORD or the OS keyring, never from a settings file."""

from __future__ import annotations

import logging

from pydantic import SecretStr

log = logging.getLogger(__name__)
KEYRING_SERVICE = "fx-execution-console/mt5"


def mt5_password(env_value: SecretStr | None, login: int | None) -> str | None:
    if env_value is not None:
        return env_value.get_secret_value()
    if login is None:
        return None
    try:
        import keyring
        from keyring.errors import KeyringError
    except ImportError:
        return None
    try:
        return keyring.get_password(KEYRING_SERVICE, str(login))
    except KeyringError as exc:  # no keyring on this machine: the terminal may still be logged in
        log.warning("no OS keyring available for the MT5 password: %s", exc)
        return None


def store_mt5_password(login: int, password: str) -> None:
    import keyring

    keyring.set_password(KEYRING_SERVICE, str(login), password)
