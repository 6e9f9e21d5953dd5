"""The audit trail's signing key: EXEC_AUDIT_KEY, or one generated once into the data dir (owner-only)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from app.adapters.files import keep_secret


def find_key(data_dir: Path, env_value: str | None) -> tuple[bytes, str] | None:
    """The audit key and where it came from (EXEC_AUDIT_KEY wins over the data dir's file); None when
    there is none. Creates nothing: what reads a store (verify, export) must not invent a key."""
    if env_value:
        return env_value.encode(), "EXEC_AUDIT_KEY"
    path = data_dir / "audit-key"
    if path.exists():
        keep_secret(path)
        return path.read_bytes().strip(), str(path)
    return None


def load_or_create_key(data_dir: Path, env_value: str | None) -> bytes:
    """The audit key (find_key); otherwise one generated once into the data dir, readable by its owner only."""
    if found := find_key(data_dir, env_value):
        return found[0]
    path = data_dir / "audit-key"
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key)
    return key
