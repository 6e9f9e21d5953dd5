"""Stores written by the earlier releases' own code open, upgrade and verify, with nothing lost.

The stores and their manifests (every row as that release read it back) are in tests/fixtures/stores,
made by tests/fixtures/make_release_stores.py from the releases' commits.
"""

from __future__ import annotations

import csv
import json
import os
import random
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, create_engine, event, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from app.domain import jsontext
from app.store import tca_rollup as rollup
from app.store.database import Database, connect
from app.store.migrate import MIGRATIONS, StoreTooNew, head, open_database, upgrade_store
from app.store.repository import ExecutionStore
from app.store.tables import execution_logs, execution_tca, metadata
from app.store.tca_aggregates import GroupBy, tca_groups
from tests.commands import cli
from tests.conftest import AUDIT_KEY
from tests.fixtures.make_release_stores import DUMP_SCHEMA, EVERY_STATUS, RELEASES, store_name, table_rows
from tests.postgres import postgres_url
from tests.store.test_tca_rollup import expected, write_random_executions

ROOT = Path(__file__).resolve().parents[2]
STORES = ROOT / "tests" / "fixtures" / "stores"
SAMPLE = ROOT / "resources" / "samples" / "approved_eurusd.json"
# The revision each release's store matches: release 0.1.0's PostgreSQL numbers are the narrower ones.
MATCHES = {
    ("0.1.0", "sqlite"): "0002",
    ("0.1.0", "postgres"): "0001",
    ("46062cf", "sqlite"): "0002",
    ("46062cf", "postgres"): "0002",
}


@dataclass
class ReleaseStore:
    url: str
    manifest: dict[str, Any]
    path: Path | None  # the SQLite file

    @property
    def env(self) -> dict[str, str]:
        return {"EXEC_AUDIT_KEY": self.manifest["audit_key"]}


def _restore(url: str, dump: Path) -> None:
    """The release's pg_dump of its schema, into this test's schema: psql's meta-commands (\\restrict)
    and the CREATE SCHEMA left out, the schema's name in every qualified name replaced."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        lines = [
            line
            for line in dump.read_text().splitlines()
            if not line.startswith("\\") and line != f"CREATE SCHEMA {DUMP_SCHEMA};"
        ]
        sql = "\n".join(lines).replace(f"{DUMP_SCHEMA}.", f'"{schema}".')
        raw = engine.raw_connection()
        try:
            raw.cursor().execute(sql)  # no parameters: the driver sends the whole script as it is
            raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        pytest.param(
            (release, backend),
            id=store_name(release, backend),
            marks=(pytest.mark.postgres,) if backend == "postgres" else (),
        )
        for release, backend in MATCHES
    ]
)
def release_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ReleaseStore]:
    release, backend = request.param
    name = store_name(release, backend)
    manifest = json.loads((STORES / f"{name}.manifest.json").read_text())
    if backend == "sqlite":
        path = tmp_path / "executions.db"
        path.write_bytes((STORES / f"{name}.db").read_bytes())
        yield ReleaseStore(f"sqlite:///{path}", manifest, path)
        return
    urls = postgres_url()
    url = next(urls)
    try:
        _restore(url, STORES / f"{name}.sql")
        yield ReleaseStore(url, manifest, None)
    finally:
        urls.close()


def assert_every_record_kept(db: Database, manifest: dict[str, Any]) -> None:
    """Every row the release wrote, read through this release's tables, as the release read it."""
    with db.reader.connect() as conn:
        rows = table_rows(conn, metadata)
    for table, written in manifest["rows"].items():
        assert len(rows[table]) == manifest["counts"][table] == len(written), table
        for before, now in zip(written, rows[table], strict=True):
            assert {column: now[column] for column in before} == before, table


def model_diff(conn: Connection) -> list[Any]:
    return compare_metadata(MigrationContext.configure(conn), metadata)


def assert_append_only(db: Database) -> None:
    for statement in ("UPDATE audit_events SET payload = '{}'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), db.writer.begin() as conn:
            conn.execute(text(statement))


def test_the_manifests_hold_every_kind_of_record() -> None:
    assert {release for release, _ in MATCHES} == set(RELEASES)
    for release, backend in MATCHES:
        rows = json.loads((STORES / f"{store_name(release, backend)}.manifest.json").read_text())["rows"]
        assert {r["status"] for r in rows["execution_logs"]} == EVERY_STATUS
        assert len({r["rejection_reason"] for r in rows["execution_logs"] if r["status"] == "REJECTED"}) >= 5
        events = {r["event_type"] for r in rows["audit_events"]}
        assert {"HALT", "RESUME", "CANCEL_APPROVED", "CANCELLED", "INPUT_INVALID"} <= events
        assert rows["execution_fills"] and rows["execution_requests"] and rows["intake_errors"]


def test_opening_a_release_store_upgrades_it_with_every_record_kept(release_store: ReleaseStore) -> None:
    db = open_database(release_store.url)
    try:
        assert_every_record_kept(db, release_store.manifest)
        with db.reader.connect() as conn:
            assert model_diff(conn) == []
    finally:
        db.dispose()
    done = cli("db", "current", "--db", release_store.url)
    assert done.returncode == 0 and done.stdout.strip().endswith(f": {head()} (head)"), done.stdout + done.stderr
    done = cli("verify", "--db", release_store.url, env=release_store.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{release_store.manifest['counts']['audit_events']} events" in done.stdout


def test_db_upgrade_upgrades_a_release_store_with_every_record_kept(release_store: ReleaseStore) -> None:
    release, backend = release_store.manifest["release"], release_store.manifest["backend"]
    done = cli("db", "upgrade", "--db", release_store.url)
    assert done.returncode == 0, done.stderr
    assert f"upgraded from unversioned (a release before schema revisions; matches {MATCHES[release, backend]})" in (
        done.stdout
    )
    assert done.stdout.count("\n") == 1 and done.stderr == ""
    again = cli("db", "upgrade", "--db", release_store.url)
    assert again.returncode == 0 and "nothing to upgrade" in again.stdout
    db = connect(release_store.url)  # only connected: no upgrade of its own
    try:
        assert_every_record_kept(db, release_store.manifest)
        with db.reader.connect() as conn:
            assert model_diff(conn) == []
    finally:
        db.dispose()
    assert cli("verify", "--db", release_store.url, env=release_store.env).returncode == 0


def test_verify_checks_a_release_store_as_it_stands(release_store: ReleaseStore) -> None:
    """Read-only: a desk can verify last year's store before deciding to upgrade it."""
    done = cli("verify", "--db", release_store.url, env=release_store.env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{release_store.manifest['counts']['audit_events']} events" in done.stdout
    assert "upgraded from unversioned" in cli("db", "upgrade", "--db", release_store.url).stdout  # still as it was


def test_db_current_names_what_a_release_store_matches_and_changes_nothing(release_store: ReleaseStore) -> None:
    release, backend = release_store.manifest["release"], release_store.manifest["backend"]
    before = release_store.path.read_bytes() if release_store.path else None
    done = cli("db", "current", "--db", release_store.url)
    assert done.returncode == 0, done.stderr
    assert f"matches {MATCHES[release, backend]})" in done.stdout and done.stdout.count("\n") == 1
    if release_store.path:
        assert release_store.path.read_bytes() == before
    engine = create_engine(release_store.url)
    try:
        with engine.connect() as conn:
            assert "alembic_version" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()


def test_an_upgraded_release_store_keeps_its_audit_trail_append_only(release_store: ReleaseStore) -> None:
    db = open_database(release_store.url)
    try:
        assert_append_only(db)
    finally:
        db.dispose()


def _tca_triggers(conn: Connection) -> list[str]:
    if conn.dialect.name == "sqlite":
        found = (
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('execution_logs', 'execution_tca')"
        )
    else:
        found = (
            "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
            " AND tgrelid::regclass::text IN ('execution_logs', 'execution_tca')"
        )
    return list(conn.execute(text(found)).scalars())


async def test_an_upgraded_release_store_answers_tca_from_its_rollup_as_from_its_rows(
    release_store: ReleaseStore,
) -> None:
    """Revision 0005 counts the rows already there into tca_rollup, and its triggers every change from then
    on, whoever writes: /tca's figures stay what the rows say."""
    release, backend = release_store.manifest["release"], release_store.manifest["backend"]
    rng = random.Random(20270310)
    db = connect(release_store.url)
    try:
        with db.write_transaction() as conn:
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = conn
            command.stamp(config, MATCHES[release, backend])
            command.upgrade(config, "0004")  # execution_tca, for mark-outs the release before could not record
            filled = conn.execute(
                select(execution_logs.c.execution_id, execution_logs.c.created_timestamp).where(
                    execution_logs.c.status.in_(["FILLED", "PARTIALLY_FILLED"])
                )
            ).all()
            assert len(filled) > 1
            tca_row = [
                {
                    "execution_id": eid,
                    "arrival_mid": Decimal("1.1"),
                    "spread_pips": Decimal(rng.randint(0, 30)) / 10,
                    "slippage_vs_arrival_pips": Decimal(rng.randint(-30, 50)) / 10,
                    "pip": Decimal("0.0001"),
                    "marked_from": created,
                    "markouts_missing": None,
                    "markouts_pending": 0,
                    **{f"markout_{h}s_pips": Decimal(rng.randint(-25, 35)) / 10 for h in (1, 5, 30, 60)},
                }
                for eid, created in filled
            ]
            conn.execute(insert(execution_tca), tca_row[1:])
            command.upgrade(config, "0005")  # the rows there are counted once, the triggers count what follows
            conn.execute(insert(execution_tca), tca_row[:1])
            conn.execute(update(execution_logs).where(execution_logs.c.execution_id == filled[1][0]).values(symbol="X"))
            before = {by: expected(conn, by, None, None) for by in GroupBy}
    finally:
        db.dispose()
    store = ExecutionStore.open(release_store.url, AUDIT_KEY)
    try:
        with store.db.reader.connect() as conn:
            assert len(_tca_triggers(conn)) == 8
            assert {by: tca_groups(conn, by, None, None) for by in GroupBy} == before
            assert before[GroupBy.SYMBOL][0].executions > 0
            assert rollup.drift(conn) is None
        # What the engine writes from now on, through its store:
        await write_random_executions(store, rng, 16)
        with store.db.reader.connect() as conn:
            assert {by: tca_groups(conn, by, None, None) for by in GroupBy} == {
                by: expected(conn, by, None, None) for by in GroupBy
            }
            assert rollup.drift(conn) is None
    finally:
        store.close()


def test_an_upgraded_release_store_records_and_exports_new_executions(
    release_store: ReleaseStore, tmp_path: Path
) -> None:
    url, env = release_store.url, release_store.env
    done = cli("execute", str(SAMPLE), "--broker", "sim", "--db", url, "--data-dir", str(tmp_path / "data"), env=env)
    assert done.returncode == 0, done.stderr
    new = json.loads(done.stdout)
    assert new["status"] == "FILLED"
    out = tmp_path / "audit.csv"
    done = cli(
        "export", "--db", url, "--start-date", "2000-01-01", "--end-date", "2100-01-01", "--out", str(out), env=env
    )
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as fh:
        exported = {row["execution_id"] for row in csv.DictReader(fh)}
    recorded = {r["execution_id"] for r in release_store.manifest["rows"]["execution_logs"]}
    assert exported == recorded | {new["execution_id"]}
    assert cli("verify", "--db", url, env=env).returncode == 0


def test_an_upgraded_release_store_exports_whole_units_as_a_trader_reads_them(
    release_store: ReleaseStore, tmp_path: Path
) -> None:
    """0.1.0 wrote 95000 units as "95000.0" (PostgreSQL pads to the column's scale): the CSV says 95000,
    the same value as recorded, without padding zeros."""
    assert cli("db", "upgrade", "--db", release_store.url, env=release_store.env).returncode == 0
    out = tmp_path / "audit.csv"
    done = cli(
        "export",
        "--db",
        release_store.url,
        "--start-date",
        "2000-01-01",
        "--end-date",
        "2100-01-01",
        "--out",
        str(out),
        env=release_store.env,
    )
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as fh:
        exported = {row["execution_id"]: row for row in csv.DictReader(fh)}
    numbers = ("intended_units", "executed_units", "lots", "intended_price", "fill_price", "slippage_pips")
    for recorded in release_store.manifest["rows"]["execution_logs"]:
        row = exported[recorded["execution_id"]]
        for name in numbers:
            cell, value = row[name], recorded[name]
            assert (cell == "") == (value is None), (name, cell, value)
            if cell:
                assert Decimal(cell) == Decimal(value), (name, cell, value)
                assert cell == jsontext.plain(Decimal(cell)), f"{name} written as {cell!r}"
    assert "95000" in {row["intended_units"] for row in exported.values()}


def test_an_sqlite_release_store_is_copied_beside_itself_before_its_upgrade(release_store: ReleaseStore) -> None:
    if release_store.path is None:
        pytest.skip("PostgreSQL stores are kept by the server's own backups")
    open_database(release_store.url).dispose()
    copy = release_store.path.with_name(f"executions.db.pre-{head()}.bak")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    engine = create_engine(f"sqlite:///{copy}")
    try:
        with engine.connect() as conn:
            assert "alembic_version" not in inspect(conn).get_table_names()  # the store as the release left it
            assert table_rows(conn, metadata) == release_store.manifest["rows"]
    finally:
        engine.dispose()


def test_two_openings_at_once_upgrade_a_store_once(release_store: ReleaseStore) -> None:
    holder, openers = connect(release_store.url), [connect(release_store.url) for _ in range(2)]
    waiting = [threading.Event() for _ in openers]
    for db, flag in zip(openers, waiting, strict=True):

        def locking(_conn: Any, _cursor: Any, statement: str, *_: Any, flag: threading.Event = flag) -> None:
            if "BEGIN IMMEDIATE" in statement or "pg_advisory_xact_lock" in statement:
                flag.set()

        event.listen(db.writer, "before_cursor_execute", locking)
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        with holder.write_transaction():  # both start while the store's write lock is taken
            upgrades = [pool.submit(upgrade_store, db) for db in openers]
            assert all(flag.wait(60) for flag in waiting)
        assert sorted(u.result(timeout=60).changed for u in upgrades) == [False, True]
        with holder.reader.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head()]
        assert_every_record_kept(holder, release_store.manifest)
    finally:
        pool.shutdown()
        for db in (holder, *openers):
            db.dispose()


async def test_a_new_store_is_made_at_head_by_the_migrations_and_matches_the_models(db_url: str) -> None:
    store = ExecutionStore.open(db_url, AUDIT_KEY)
    try:
        with store.db.reader.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == (head(),)
            assert model_diff(conn) == []  # a column added to app/store/tables.py needs its revision
        await store.audit("NOTE", {})
        assert_append_only(store.db)
    finally:
        store.close()
    done = cli("db", "current", "--db", db_url)
    assert done.stdout.strip().endswith(f": {head()} (head)")


def test_a_store_from_a_later_release_is_refused_in_one_line(db_url: str) -> None:
    open_database(db_url).dispose()
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
        with pytest.raises(StoreTooNew, match="schema revision 0999, which this program does not know"):
            open_database(db_url)
        for command in (["db", "upgrade"], ["db", "current"], ["db", "rebuild-tca"], ["verify"]):
            done = cli(*command, "--db", db_url, env={"EXEC_AUDIT_KEY": "any-key-0123456789abcdef"})
            assert done.returncode == 2, done.stdout + done.stderr
            assert done.stdout == "" and done.stderr.count("\n") == 1 and "0999" in done.stderr, done.stderr
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0999"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ((), "--db URL (or EXEC_DB_URL) is required"),
        (("--db", "not a url"), "--db: 'not a url' is not a database URL"),
        (("--db", "mysql://x/y"), "--db: unsupported database URL"),
        (("--db", "postgresql+psycopg://postgres@127.0.0.1:1/none"), "--db postgresql+psycopg://"),
    ],
)
@pytest.mark.parametrize("command", ["upgrade", "current", "rebuild-tca"])
def test_db_commands_name_a_bad_or_missing_setting_in_one_line(command: str, args: tuple[str, ...], says: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EXEC_DB_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "app.interfaces.cli", "db", command, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 2
    assert done.stderr.startswith(f"execution-engine db {command}: {says}") and done.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["current", "rebuild-tca"])
def test_db_current_and_rebuild_tca_create_no_store(tmp_path: Path, command: str) -> None:
    done = cli("db", command, "--db", f"sqlite:///{tmp_path / 'none' / 'executions.db'}")
    assert done.returncode == 2 and "no store at" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_rebuild_tca_asks_for_the_upgrade_of_an_older_store_and_changes_nothing(release_store: ReleaseStore) -> None:
    done = cli("db", "rebuild-tca", "--db", release_store.url)
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert (
        done.stderr.count("\n") == 1 and "run `execution-engine db upgrade` first (nothing was changed)" in done.stderr
    )
    done = cli("db", "current", "--db", release_store.url)
    assert "unversioned (a release before schema revisions" in done.stdout, done.stdout + done.stderr
