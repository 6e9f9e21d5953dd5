"""The local API's bearer token: EXEC_API_TOKEN, or one generated once into the data dir.

The generated file is created owner-only (0600) in one step, so there is no moment at which another
local user could read it; an existing file found readable by others is tightened and said so.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from app.adapters.files import keep_secret

TOKEN_FILE = "api-token"
IDENTITY = "api"  # who the audit trail says acted, for anything done with the token


@dataclass(frozen=True)
class ApiToken:
    secret: str = field(repr=False)
    path: Path | None  # None: the token came from EXEC_API_TOKEN

    @property
    def explicit(self) -> bool:
        return self.path is None

    def describe(self) -> str:
        return "from EXEC_API_TOKEN" if self.path is None else str(self.path)


def _create(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(token + "\n")
    return token


def _read(path: Path) -> str:
    keep_secret(path)
    token = path.read_text(encoding="ascii").strip()
    if not token:
        raise ValueError(f"{path} is empty: delete it to have a new token generated")
    return token


def load_or_create_token(data_dir: Path, env_value: str | None) -> ApiToken:
    """EXEC_API_TOKEN wins; otherwise the token kept in `<data_dir>/api-token`, generated on first start."""
    if env_value:
        return ApiToken(env_value, None)
    path = data_dir / TOKEN_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        return ApiToken(_create(path), path)
    except FileExistsError:
        return ApiToken(_read(path), path)
