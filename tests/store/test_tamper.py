"""Issue 14 items 1-3: every attack on the audit trail that `verify` once called intact, now caught."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, text

from app.interfaces.intake.receive import receive
from app.store.checkpoints import FILE
from app.store.repository import ExecutionStore
from tests.builders import rpm_payload
from tests.commands import cli
from tests.conftest import AUDIT_KEY, Harness

KEY_ENV = {"EXEC_AUDIT_KEY": AUDIT_KEY.decode()}


def verify(url: str, data_dir: Path, env: dict[str, str] | None = KEY_ENV) -> tuple[int, str]:
    done = cli("verify", "--db", url, "--data-dir", str(data_dir), env=env)
    return done.returncode, done.stdout + done.stderr


def tamper(url: str, sql: str, **params: object) -> None:
    """A person with database access, not the engine: triggers out of the way, then the edit."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            _triggers(conn, on=False)
            conn.execute(text(sql), params)
            _triggers(conn, on=True)
    finally:
        engine.dispose()


def _triggers(conn: Connection, *, on: bool) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text(f"ALTER TABLE audit_events {'ENABLE' if on else 'DISABLE'} TRIGGER USER"))
    elif not on:
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
        conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))


async def filled(harness: Harness) -> str:
    execution = await receive(harness.engine, json.dumps(rpm_payload()).encode(), channel="t")
    assert execution.status.value == "FILLED" and execution.fill_count >= 1
    return execution.execution_id


ATTACKS = {
    "price and slippage": (
        "UPDATE execution_logs SET fill_price='1.2000', slippage_pips='-1000' WHERE execution_id=:e",
        ["execution_logs.fill_price", "execution_logs.slippage_pips"],
    ),
    "status": ("UPDATE execution_logs SET status='REJECTED' WHERE execution_id=:e", ["execution_logs.status"]),
    "a fill deleted": ("DELETE FROM execution_fills WHERE execution_id=:e", ["missing from execution_fills"]),
    "raw RPMOutput": (
        "UPDATE execution_requests SET rpm_output_raw='{}' WHERE execution_id=:e",
        ["execution_requests.rpm_output_raw"],
    ),
    "the slippage against arrival": (
        "UPDATE execution_tca SET slippage_vs_arrival_pips='-99.9' WHERE execution_id=:e",
        ["execution_tca.slippage_vs_arrival_pips"],
    ),
    "a mark-out": (  # whether sampled by now or not, no mark-out of the test's fill is this far off
        "UPDATE execution_tca SET markout_60s_pips='-999.9', markouts_missing=NULL WHERE execution_id=:e",
        ["execution_tca.markout_60s_pips"],
    ),
    "the TCA deleted": ("DELETE FROM execution_tca WHERE execution_id=:e", ["missing from execution_tca"]),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_an_edited_execution_is_named_with_its_column(
    attack: str, harness: Harness, db_url: str, tmp_path: Path
) -> None:
    eid = await filled(harness)
    assert verify(db_url, tmp_path)[0] == 0
    sql, named = ATTACKS[attack]
    tamper(db_url, sql, e=eid)
    code, out = verify(db_url, tmp_path)
    assert code == 1 and f"execution {eid}" in out and all(n in out for n in named), out


async def test_an_unreadable_audit_timestamp_is_tampering_named_by_its_seq(
    harness: Harness, db_url: str, tmp_path: Path
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's timestamptz cannot hold an unreadable value")
    await filled(harness)
    tamper(db_url, "UPDATE audit_events SET event_timestamp='not a time' WHERE seq=2")
    code, out = verify(db_url, tmp_path)
    assert code == 1 and "seq 2:" in out and "event_timestamp is not readable" in out, out


def _checkpointed(db_url: str, data_dir: Path) -> ExecutionStore:
    return ExecutionStore.open(db_url, AUDIT_KEY, data_dir)


@pytest.mark.parametrize("cut", [1, 20, 50])
async def test_a_truncated_chain_is_caught_by_the_checkpoint(cut: int, db_url: str, tmp_path: Path) -> None:
    store = _checkpointed(db_url, tmp_path)
    try:
        for i in range(60):
            await store.audit("NOTE", {"i": i})
    finally:
        store.close()
    assert (tmp_path / FILE).stat().st_mode & 0o777 == 0o600
    assert verify(db_url, tmp_path)[0] == 0
    tamper(db_url, "DELETE FROM audit_events WHERE seq > :s", s=60 - cut)
    code, out = verify(db_url, tmp_path)
    assert code == 1 and f"seq {61 - cut}-60: missing" in out, out


async def test_an_older_backup_copied_over_the_store_is_caught(tmp_path: Path) -> None:
    url, live = f"sqlite:///{tmp_path / 'executions.db'}", tmp_path / "executions.db"
    store = _checkpointed(url, tmp_path)
    try:
        await store.audit("NOTE", {"i": 1})
        assert cli("backup", "--db", url, "--out", str(tmp_path / "old.db")).returncode == 0
        await store.audit("NOTE", {"i": 2})
    finally:
        store.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.db", live)
    code, out = verify(url, tmp_path)
    assert code == 1 and "seq 2-2: missing" in out, out


async def test_a_store_without_checkpoints_says_so_in_one_line(harness: Harness, db_url: str, tmp_path: Path) -> None:
    await filled(harness)
    code, out = verify(db_url, tmp_path)
    assert code == 0 and out.count("rollback of the chain could not be checked") == 1, out


@pytest.mark.parametrize(
    "command",
    [
        ["verify"],
        ["backup", "--out", "copy.db"],
        ["export", "--start-date", "2024-01-01", "--end-date", "2024-01-02", "--out", "x.csv"],
    ],
)
def test_reading_commands_never_create_a_store_or_a_key(command: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "does-not-exist.db"
    data_dir = tmp_path / "data"
    done = cli(command[0], "--db", f"sqlite:///{missing}", "--data-dir", str(data_dir), *command[1:], env=KEY_ENV)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "no store" in done.stderr, done.stderr
    assert not missing.exists() and not data_dir.exists()
    done = cli("verify", "--db", f"sqlite:///{missing}", "--data-dir", str(data_dir), env={})
    assert done.returncode == 2 and not data_dir.exists(), done.stderr


async def test_another_key_is_named_not_called_forgery(harness: Harness, db_url: str, tmp_path: Path) -> None:
    await filled(harness)
    (tmp_path / "audit-key").write_bytes(b"another-key-0123456789abcdef")
    (tmp_path / "audit-key").chmod(0o600)
    code, out = verify(db_url, tmp_path, env={})
    assert code == 2 and out.count("\n") == 1, out
    assert harness.store.signer.fingerprint in out and str(tmp_path / "audit-key") in out, out


def test_export_of_a_store_needing_an_upgrade_names_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'executions.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0002')"))
    engine.dispose()
    done = cli(
        "export",
        "--db",
        url,
        "--start-date",
        "2024-01-01",
        "--end-date",
        "2024-01-02",
        "--out",
        str(tmp_path / "x.csv"),
        env=KEY_ENV,
    )
    assert done.returncode == 2 and "execution-engine db upgrade" in done.stderr and done.stderr.count("\n") == 1, (
        done.stderr
    )
