"""A setting the engine cannot use: one line on stderr naming it and what to do, exit 2, no traceback."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.test_cli import SAMPLES, cli

SAMPLE = str(SAMPLES / "approved_eurusd.json")
COMMANDS = {"execute": [SAMPLE], "serve": ["--port", "0"]}


def _refused(done: object, *words: str) -> None:
    stderr = getattr(done, "stderr", "")
    assert getattr(done, "returncode", None) == 2, stderr
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("nonsense", "is not a database URL"),
        ("postgresql+psycopg://desk:secret@127.0.0.1:1/x", "Connection refused"),
        ("sqlite:///{json}", "file is not a database"),
    ],
    ids=["not-a-url", "connection-refused", "a-json-file"],
)
def test_a_store_that_cannot_be_opened_is_named_as_the_db_setting(
    tmp_path: Path, command: str, url: str, why: str
) -> None:
    json_file = tmp_path / "input.json"
    json_file.write_text('{"not": "a store"}')
    done = cli(command, *COMMANDS[command], "--broker", "sim", "--db", url.format(json=json_file), data_dir=tmp_path)
    _refused(done, f"execution-engine {command}: --db", why)
    assert "secret" not in done.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_a_data_dir_that_cannot_be_made_is_named_as_the_data_dir(tmp_path: Path, command: str) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    done = cli(command, *COMMANDS[command], "--broker", "sim", data_dir=a_file / "data")
    _refused(done, "--data-dir", "cannot be used as the data dir", "EXEC_DATA_DIR")


def test_serve_on_a_port_in_use_names_the_port_and_the_way_out(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        done = cli("serve", "--broker", "sim", "--port", port, data_dir=tmp_path)
    _refused(done, f"--port {port}: already in use", "--port 0")


def test_export_refuses_an_end_date_before_the_start_date(tmp_path: Path) -> None:
    out = tmp_path / "audit.csv"
    done = cli("export", "--start-date", "2026-12-05", "--end-date", "2026-12-01", "--out", str(out), data_dir=tmp_path)
    _refused(done, "--end-date is before --start-date")
    assert not out.exists()
