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


def keep_mt5_login(login: int, server: str, password: str, path: str | None = None) -> str:
    """`mt5-login` and the console's File → MT5 account…: the password into the OS keyring. Returns the
    line saying how to start with it; a ValueError of one line when nothing could be stored."""
    from keyring.errors import KeyringError

    if not password:
        raise ValueError("an empty password; nothing stored")
    try:
        store_mt5_password(login, password)
    except KeyringError as exc:
        raise ValueError(f"no OS keyring to keep it in ({exc}); set EXEC_MT5_PASSWORD") from exc
    start = f"EXEC_MT5_LOGIN={login} EXEC_MT5_SERVER={server}" + (f" EXEC_MT5_PATH={path}" if path else "")
    return f"password for {login} on {server} stored in the OS keyring; start with {start}"
