"""`execution-engine`: serve, execute, export, backup, verify, db, bench, sim-run, trace-check (docs/CONTRACT.md §1)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import __version__
from app.adapters.broker.types import BrokerUnavailable
from app.adapters.files import restrict_to_owner
from app.domain.contracts import InvalidRPMOutput
from app.domain.dates import parse_end, parse_start
from app.host.logs import configure_logging
from app.host.settings import Settings
from app.interfaces.startup import explain
from app.store.errors import DatabaseError
from app.store.repository import ExecutionStore

if TYPE_CHECKING:
    from app.store.migrate import ReadOnlyStore


def _argument(parse: Callable[[str], datetime]) -> Callable[[str], datetime]:
    def convert(value: str) -> datetime:
        try:
            return parse(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


_date = _argument(parse_start)
_end_date = _argument(parse_end)  # a bare end date is inclusive: it covers that whole day


def _port(value: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port (0-65535; 0 picks a free one)")
    return int(value)


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds (0 or more)")
    return seconds


def engine_flags(p: argparse.ArgumentParser) -> None:
    """The engine's settings as flags, the same for the console and every command that runs the engine."""
    p.add_argument("--broker", choices=["sim", "mt5"], help="default: mt5 where a terminal answers, else sim")
    p.add_argument("--db", dest="db_url", help="SQLAlchemy URL (default sqlite:///<data-dir>/executions.db)")
    p.add_argument("--sim-scenario", type=Path, help="simulator scenario TOML (docs/CONTRACT.md §6)")
    p.add_argument("--data-dir", type=Path, help="where the store, token, keys and logs live")
    p.add_argument(
        "--order-timeout", dest="order_timeout_s", type=float, help="seconds before a resting order is EXPIRED (60)"
    )
    p.add_argument("--max-spread-pips", type=str, help="widest spread accepted, in pips (3)")
    p.add_argument(
        "--position-check-interval",
        dest="position_check_s",
        type=float,
        metavar="SECONDS",
        help="seconds between checks of the broker's positions against the recorded fills (30)",
    )
    p.add_argument(
        "--alert-webhook",
        metavar="URL",
        help="serve and the console: POST each alert as JSON to this URL as it starts firing (chat, pager)",
    )
    p.add_argument(
        "--record-broker-trace",
        dest="broker_trace",
        type=Path,
        metavar="FILE",
        help="write every call to the MetaTrader5 module and its answer to FILE as JSON lines (no secrets)",
    )


def _store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", dest="db_url", help="SQLAlchemy URL (default sqlite:///<data-dir>/executions.db)")
    p.add_argument("--data-dir", type=Path, help="where the audit key lives (or set EXEC_AUDIT_KEY)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="execution-engine", description="FX execution engine for MetaTrader 5")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the engine, the local API and the inbox until SIGINT/SIGTERM")
    engine_flags(p)
    p.add_argument("--host", help="address the API listens on (127.0.0.1; another needs EXEC_API_TOKEN)")
    p.add_argument("--port", type=_port, help="API port (8787; 0 picks a free one and prints it)")
    p.add_argument("--inbox", type=Path, help="file-drop inbox directory (docs/CONTRACT.md §5)")
    p.add_argument(
        "--drain-timeout",
        type=_seconds,
        default=10.0,
        metavar="SECONDS",
        help="on SIGINT/SIGTERM, how long executions in flight may take to finish (10)",
    )

    p = sub.add_parser("execute", help="run one RPMOutput end to end and print the ExecutionConfirmation")
    p.add_argument("file", type=Path)
    engine_flags(p)

    p = sub.add_parser("export", help="write the audit CSV for a date range")
    _store_flags(p)
    p.add_argument("--start-date", type=_date, required=True)
    p.add_argument("--end-date", type=_end_date, required=True, help="inclusive when a bare date")
    p.add_argument("--symbol")
    p.add_argument("--status", action="append", default=[], help="repeatable: FILLED, REJECTED, ...")
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("backup", help="consistent online copy of a live SQLite store")
    _store_flags(p)
    p.add_argument("--out", type=Path, required=True)

    p = sub.add_parser("verify", help="check the audit trail's hash chain and signatures")
    _store_flags(p)

    p = sub.add_parser(
        "db",
        help="the store's schema: upgrade it to this release's, or say which it has; count GET /tca's rollup again",
    )
    db_sub = p.add_subparsers(dest="db_command", required=True)
    for name, what in [
        ("upgrade", "bring the store to this release's schema (every start does it too)"),
        ("current", "print the store's schema revision; creates and changes nothing"),
        ("rebuild-tca", "count GET /tca's rollup again from the executions (when verify says it differs)"),
    ]:
        db_sub.add_parser(name, help=what).add_argument("--db", dest="db_url", help="SQLAlchemy URL (or EXEC_DB_URL)")

    p = sub.add_parser("bench", help="throughput and latency of the whole engine on the simulator, against its floors")
    p.add_argument("--executions", type=int, default=2000, help="executions per run (2000)")
    p.add_argument("--concurrency", type=int, default=64, help="executions in flight in the concurrent run (64)")
    p.add_argument("--db", dest="db_url", help="a scratch database to use (default: a temporary SQLite file)")
    p.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="N",
        help="also time the desk's queries and the CSV export on a store of N executions (seeded into --db once)",
    )

    p = sub.add_parser("trace-check", help="replay a broker trace against the simulator and report each divergence")
    p.add_argument("file", type=Path, metavar="FILE", help="a trace written by --record-broker-trace")
    p.add_argument("--sim-scenario", type=Path, help="what the trace cannot show (requotes, fill ratio...): TOML")
    p.add_argument("--json", action="store_true", help="the report as one JSON object")
    p.add_argument("--anonymize", type=Path, metavar="OUT", help="instead: write a copy safe to send to OUT")

    p = sub.add_parser("mt5-login", help="store the MT5 account's password in the OS keyring (asked without echo)")
    p.add_argument("--login", type=int, required=True, help="the MT5 account number")
    p.add_argument("--server", required=True, help="the broker's trade server, as the terminal names it")
    p.add_argument("--path", help="the terminal64.exe to start (default: the one installed)")

    p = sub.add_parser("sim-run", help="run a MetaTrader5 script unchanged, with the simulator as MetaTrader5")
    p.add_argument("script", type=Path, metavar="SCRIPT.py")
    p.add_argument("--sim-scenario", type=Path, help="scenario TOML (docs/CONTRACT.md §6); default: the defaults")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="the script's own arguments")
    return parser


# The settings engine_flags names (flags win over EXEC_* variables, which win over defaults).
ENGINE_SETTINGS = (
    "broker",
    "db_url",
    "sim_scenario",
    "data_dir",
    "order_timeout_s",
    "max_spread_pips",
    "position_check_s",
    "alert_webhook",
    "broker_trace",
)
_SERVE_FLAGS = ("host", "port", "inbox")


def _settings(args: argparse.Namespace) -> Settings:
    names = (*ENGINE_SETTINGS, *_SERVE_FLAGS)
    given: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return Settings(**given)


async def _execute(args: argparse.Namespace) -> int:
    from app.host.runtime import Runtime
    from app.interfaces.intake.receive import receive

    payload = args.file.read_bytes()
    runtime = Runtime.build(_settings(args))
    await runtime.start()
    try:
        execution = await receive(runtime.engine, payload, channel="cli", source=str(args.file))
    except InvalidRPMOutput as exc:
        print(
            json.dumps({"error": "invalid RPMOutput", "fields": [e.model_dump() for e in exc.errors]}, indent=2),
            file=sys.stderr,
        )
        return 2
    finally:
        await runtime.stop()
    print(execution.confirmation().model_dump_json(indent=2))
    return 0


def _say(line: str) -> None:
    print(line, flush=True)  # a supervisor (or a test) reads these lines as they come


def _on_stop_signals(loop: asyncio.AbstractEventLoop, stop: Callable[[str], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop, sig.name)
        except (NotImplementedError, RuntimeError):  # Windows' loops take no signal handlers
            signal.signal(sig, lambda signum, _frame: loop.call_soon_threadsafe(stop, signal.Signals(signum).name))


async def _serve(args: argparse.Namespace) -> int:
    from app.host.service import EngineService

    service = EngineService(_settings(args))  # refuses an exposed address without a chosen token
    stopping = asyncio.Event()
    why: list[str] = []

    def stop(signame: str) -> None:
        why.append(signame)
        stopping.set()

    _on_stop_signals(asyncio.get_running_loop(), stop)
    log_file = configure_logging(service.settings.data_dir)
    await service.start()
    runtime, token, endpoint = service.runtime, service.token, service.endpoint
    assert runtime is not None and token is not None and endpoint is not None
    _say(f"execution-engine {__version__}")
    _say(f"broker: {runtime.broker_why}")
    _say(f"database: {runtime.store.db.describe()}")
    _say(f"api token: {token.describe()}")
    _say(f"logs: {log_file} (JSON lines)")
    if service.inbox is not None:
        _say(f"inbox: {service.inbox.directory} (answers in outbox/, then processed/ or failed/)")
    if runtime.engine.halted:
        _say(f"trading HALTED since before this start: {runtime.engine.halt_reason} (POST /resume to resume)")
    _say(f"listening on {endpoint.url}")
    await stopping.wait()
    _say(f"{why[0]} received: stopping; waiting up to {args.drain_timeout:g} s for executions in flight")
    left = await service.stop(drain_s=args.drain_timeout)
    if left:
        _say(f"stopped; {left} executions still in flight will be reconciled at the next start")
    else:
        _say("stopped")
    return 0


def _read_only(args: argparse.Namespace, *, any_schema: bool = False) -> ReadOnlyStore:
    """The store for export, backup and verify: read-only, never created nor upgraded. A store at an
    older schema is refused, naming the upgrade, unless the command reads every schema (`any_schema`)."""
    from app.store.migrate import open_read_only

    engine, schema = open_read_only(_settings(args).database_url)
    if schema.recorded != schema.head and not any_schema:
        engine.dispose()
        raise ValueError(
            f"{schema.where} is at schema {schema.label}, this release needs {schema.head}: run"
            " `execution-engine db upgrade` first (nothing was changed)"
        )
    return engine, schema


def _audit_key(args: argparse.Namespace) -> tuple[bytes, str]:
    """The audit key in use and where it came from; never created (a new key would verify nothing)."""
    from app.host.audit_key import find_key

    settings = _settings(args)
    found = find_key(settings.data_dir, settings.audit_key.get_secret_value() if settings.audit_key else None)
    if found is None:
        raise ValueError(
            f"no audit key: none in {settings.data_dir / 'audit-key'} and EXEC_AUDIT_KEY is not set"
            " (give the store's --data-dir; nothing was created)"
        )
    return found


def _rebuild_tca(url: str, where: str, fail: Callable[[str], int]) -> int:
    from app.store.database import connect
    from app.store.migrate import read_schema
    from app.store.tca_rollup import rebuild

    schema = read_schema(url)
    if schema.recorded != schema.head:
        return fail(
            f"{where} is at schema {schema.label}: run `execution-engine db upgrade` first (nothing was changed)"
        )
    db = connect(url)
    try:
        with db.write_transaction() as conn:
            rows = rebuild(conn)
    finally:
        db.dispose()
    print(f"{where}: GET /tca's rollup counted again from the executions ({rows} rows)")
    return 0


def _export(args: argparse.Namespace) -> int:
    from app.domain.contracts import ExecutionStatus
    from app.store.export import write_csv

    if args.end_date < args.start_date:
        print("execution-engine export: --end-date is before --start-date: swap them", file=sys.stderr)
        return 2
    statuses = [ExecutionStatus(s.upper()) for s in args.status]
    engine, _schema = _read_only(args)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with engine.connect() as conn, args.out.open("w", newline="", encoding="utf-8") as out:
            rows = write_csv(conn, out, args.start_date, args.end_date, symbol=args.symbol, statuses=statuses)
    finally:
        engine.dispose()
    print(f"exported {rows} executions to {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 intact, 1 tampered with (the first break named first), 2 cannot check (no store, no key,
    another store's key). A store of an earlier schema is checked read-only as it stands: its tables
    hold the same rows, and upgrading it is not verify's to do."""
    from app.domain.audit import AuditSigner
    from app.store.integrity import check_key, verify_store

    key, source = _audit_key(args)
    signer = AuditSigner(key)
    engine, schema = _read_only(args, any_schema=True)
    try:
        with engine.connect() as conn:
            key_note = check_key(conn, signer, source)
            report = verify_store(conn, signer, _settings(args).data_dir)
    finally:
        engine.dispose()
    notes = [n for n in [key_note, *report.notes] if n]
    if schema.recorded != schema.head:
        notes.insert(0, f"checked read-only at schema {schema.label} (not upgraded)")
    if report.problems:
        print(f"audit trail BROKEN: {report.problems[0]}")
        for problem in report.problems[1:10]:
            print(f"  also: {problem}")
        if len(report.problems) > 10:
            print(f"  and {len(report.problems) - 10} more")
    else:
        counts = f"{report.events} events, {report.executions} executions"
        print(f"audit trail intact: {counts}, chain head {report.head[:16]}…")
    for note in notes:
        print(f"  not checked: {note}")
    return 1 if report.problems else 0


def _backup(args: argparse.Namespace) -> int:
    from app.store.backup import backup_sqlite

    _read_only(args, any_schema=True)[0].dispose()  # a store there, or exit 2: backup creates none
    pages = backup_sqlite(_settings(args).database_url, args.out)
    print(f"backup written to {args.out} ({pages} pages)")
    return 0


def _db(args: argparse.Namespace) -> int:
    """`db upgrade` / `db current` / `db rebuild-tca`: one line each; a store that cannot be used says why in
    one line."""

    from app.store.database import connect, store_url
    from app.store.errors import first_line
    from app.store.migrate import read_schema, upgrade_store

    def fail(why: str) -> int:
        print(f"execution-engine db {args.db_command}: {why}", file=sys.stderr)
        return 2

    url = _settings(args).db_url
    if not url:
        return fail("--db URL (or EXEC_DB_URL) is required: it names the store")
    try:
        where = store_url(url).render_as_string(hide_password=True)
    except ValueError as exc:
        return fail(f"--db: {exc}")
    try:
        if args.db_command == "current":
            schema = read_schema(url)
            if schema.recorded == schema.head:
                print(f"{where}: {schema.head} (head)")
            else:
                later = f"the next start or `execution-engine db upgrade` brings it to {schema.head} (head)"
                print(f"{where}: {schema.label}: {later}")
            return 0
        if args.db_command == "rebuild-tca":
            return _rebuild_tca(url, where, fail)
        db = connect(url)
        try:
            upgrade = upgrade_store(db)
        finally:
            db.dispose()
    except DatabaseError as exc:
        return fail(f"--db {where}: {first_line(exc)}")
    except ValueError as exc:  # newer than this program, or not a store
        return fail(str(exc))
    before = upgrade.before
    if not upgrade.changed:
        print(f"{where}: at {before.head} (head) already: nothing to upgrade")
    elif before.revision is None:
        print(f"{where}: created at {before.head} (head)")
    else:
        kept = f"; the store as it was is in {upgrade.backup}" if upgrade.backup else ""
        print(f"{where}: upgraded from {before.label} to {before.head} (head){kept}")
    return 0


async def _bench(args: argparse.Namespace) -> int:
    from app.store.bench_history import history_bench
    from app.tools.bench import BENCH_KEY, render, run_bench

    result = await run_bench(args.executions, args.concurrency, args.db_url)
    if args.history:
        with tempfile.TemporaryDirectory(prefix="exec-history-") as tmp:
            store = ExecutionStore.open(args.db_url or f"sqlite:///{Path(tmp) / 'history.db'}", BENCH_KEY)
            try:
                result["history"] = await history_bench(store, args.history)
            finally:
                store.close()
    print(render(result))
    return 0


def _sim_run(args: argparse.Namespace) -> int:
    """One line on stderr and exit 2 for a script or scenario that cannot be read; else the script's status."""
    from app.adapters.sim.run import run_script

    scenario, rest = args.sim_scenario, list(args.args)
    try:
        # after SCRIPT.py, --sim-scenario is still ours when it comes first; later ones are the script's
        if rest[:1] == ["--sim-scenario"]:
            if len(rest) < 2:
                raise ValueError("--sim-scenario needs a FILE")
            scenario, rest = Path(rest[1]), rest[2:]
        elif rest and rest[0].startswith("--sim-scenario="):
            scenario, rest = Path(rest[0].partition("=")[2]), rest[1:]
        return run_script(args.script, rest, scenario)
    except (ValueError, OSError) as exc:
        print(f"execution-engine sim-run: {exc}", file=sys.stderr)
        return 2


def _trace_check(args: argparse.Namespace) -> int:
    """Exit 0 no divergence, 1 divergences (one line each, then the summary), 2 a trace that cannot be read."""
    if args.anonymize is not None:
        from app.adapters.trace.anonymize import anonymize_file

        print(anonymize_file(args.file, args.anonymize))
        return 0
    from app.adapters.trace.replay import check_trace

    report = check_trace(args.file, args.sim_scenario)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        for divergence in report.divergences:
            print(divergence.text())
        print(report.summary())
    return 1 if report.divergences else 0


def _mt5_login(args: argparse.Namespace) -> int:
    """Ask for the password without echo and keep it in the OS keyring, never in a file."""
    import getpass

    from app.host.credentials import keep_mt5_login

    try:
        password = getpass.getpass(f"MT5 password for {args.login} on {args.server}: ")
    except (EOFError, KeyboardInterrupt):
        print("\nexecution-engine mt5-login: no password given; nothing stored", file=sys.stderr)
        return 2
    try:
        print(keep_mt5_login(args.login, args.server, password, args.path))
    except ValueError as exc:
        print(f"execution-engine mt5-login: {exc}", file=sys.stderr)
        return 2
    return 0


def _one_line(args: argparse.Namespace, exc: BaseException) -> str:
    """What failed, naming the setting at fault where one is (app.interfaces.startup): never a traceback."""
    try:
        problem = explain(exc, _settings(args))
    except ValueError:  # the settings themselves are what is wrong: exc says which
        problem = None
    return str(problem or exc)


def main(argv: list[str] | None = None) -> int:
    restrict_to_owner()  # the store, logs, backups and exports are never other users' to read
    args = build_parser().parse_args(argv)
    if args.command == "sim-run":
        return _sim_run(args)  # before any logging set-up: the script's logging is its own
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "serve":
            return asyncio.run(_serve(args))
        if args.command == "execute":
            return asyncio.run(_execute(args))
        if args.command == "export":
            return _export(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "backup":
            return _backup(args)
        if args.command == "db":
            return _db(args)
        if args.command == "bench":
            return asyncio.run(_bench(args))
        if args.command == "mt5-login":
            return _mt5_login(args)
        if args.command == "trace-check":
            return _trace_check(args)
    except (ValueError, OSError, BrokerUnavailable, DatabaseError) as exc:
        print(f"execution-engine {args.command}: {_one_line(args, exc)}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
