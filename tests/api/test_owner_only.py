"""Owner-only by default: what the engine writes is its owner's alone, whatever umask it was started with."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.api.served import Served
from tests.builders import rpm_payload

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX; on Windows the data dir's ACL is")

CALLER_UMASK = 0o022  # a usual shell's: what it creates, group and others may read


def modes(folder: Path) -> dict[str, int]:
    """Every file and directory under `folder` (itself included) → its permission bits."""
    found = {".": stat.S_IMODE(folder.lstat().st_mode)}
    for path in folder.rglob("*"):
        found[str(path.relative_to(folder))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def owner_only(folder: Path, names: dict[str, int]) -> dict[str, int]:
    return {name: 0o700 if (folder / name).is_dir() else 0o600 for name in names}


def test_the_store_its_wal_the_simulator_state_and_the_logs_are_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # made by the engine
    served = Served.start(data_dir, umask=CALLER_UMASK)
    try:
        with served.client() as api:
            assert api.post("/execute", json=rpm_payload(units=1000)).json()["status"] == "FILLED"
            assert api.post("/execute", json=rpm_payload(units=2000)).json()["status"] == "FILLED"
        running = modes(data_dir)
    finally:
        assert served.stop() == 0, served.output
    for name in ("x.db", "x.db-wal", "x.db-shm", "sim-state.json", "sim-state.json.journal", "logs/engine.log"):
        assert name in running  # what is checked is there
    assert running == owner_only(data_dir, running)
    stopped = modes(data_dir)
    assert stopped == owner_only(data_dir, stopped)


@pytest.mark.parametrize("secret", ["api-token", "audit-key"])
def test_a_secret_file_readable_by_others_is_made_owner_only_and_said_so(tmp_path: Path, secret: str) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    for name, text in (("api-token", "t" * 43 + "\n"), ("audit-key", "k" * 64)):
        (data_dir / name).write_text(text)
        (data_dir / name).chmod(0o644 if name == secret else 0o600)

    served = Served.start(data_dir, env={"EXEC_AUDIT_KEY": ""})
    assert served.stop() == 0, served.output

    assert stat.S_IMODE((data_dir / secret).stat().st_mode) == 0o600
    [warning] = [line for line in served.lines if "readable by other users" in line]
    assert str(data_dir / secret) in warning and "WARNING" in warning
    assert "k" * 64 not in served.output and "t" * 43 not in served.output  # the secret itself is never said
