"""`execution-engine`: serve, execute, export, backup, verify, bench (CONTRACT §1)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app import __version__
from app.contracts import InvalidRPMOutput
from app.settings import Settings
from app.store.repository import ExecutionStore


def _date(value: str) -> datetime:
    """An ISO date or date-time; a bare date means midnight UTC."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not an ISO date (YYYY-MM-DD) or date-time") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _end_date(value: str) -> datetime:
    """An end date is inclusive: a bare date covers that whole day."""
    parsed = _date(value)
    return parsed + timedelta(days=1) if len(value) == 10 else parsed


def _engine_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", choices=["sim", "mt5"], help="default: mt5 where a terminal answers, else sim")
    p.add_argument("--db", dest="db_url", help="SQLAlchemy URL (default sqlite:///<data-dir>/executions.db)")
    p.add_argument("--sim-scenario", type=Path, help="simulator scenario TOML (CONTRACT §6)")
    p.add_argument("--data-dir", type=Path, help="where the store, token, keys and logs live")
    p.add_argument(
        "--order-timeout", dest="order_timeout_s", type=float, help="seconds before a resting order is EXPIRED (60)"
    )
    p.add_argument("--max-spread-pips", type=str, help="widest spread accepted, in pips (3)")


def _store_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", dest="db_url", help="SQLAlchemy URL (default sqlite:///<data-dir>/executions.db)")
    p.add_argument("--data-dir", type=Path, help="where the audit key lives (or set EXEC_AUDIT_KEY)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="execution-engine", description="FX execution engine for MetaTrader 5")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("execute", help="run one RPMOutput end to end and print the ExecutionConfirmation")
    p.add_argument("file", type=Path)
    _engine_flags(p)

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
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    names = ("broker", "db_url", "sim_scenario", "data_dir", "order_timeout_s", "max_spread_pips")
    given: dict[str, Any] = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    return Settings(**given)


async def _execute(args: argparse.Namespace) -> int:
    from app.intake.receive import receive
    from app.runtime import Runtime

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


def _open_store(args: argparse.Namespace) -> ExecutionStore:
    from app.audit import load_or_create_key

    settings = _settings(args)
    key = load_or_create_key(settings.data_dir, settings.audit_key.get_secret_value() if settings.audit_key else None)
    return ExecutionStore.open(settings.database_url, key)


def _export(args: argparse.Namespace) -> int:
    from app.contracts import ExecutionStatus
    from app.export import write_csv

    statuses = [ExecutionStatus(s.upper()) for s in args.status]
    store = _open_store(args)
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with store.db.reader.connect() as conn, args.out.open("w", newline="", encoding="utf-8") as out:
            rows = write_csv(conn, out, args.start_date, args.end_date, symbol=args.symbol, statuses=statuses)
    finally:
        store.close()
    print(f"exported {rows} executions to {args.out}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from app.store.integrity import verify_store

    store = _open_store(args)
    try:
        report = verify_store(store)
    finally:
        store.close()
    if report.problems:
        print(f"audit trail BROKEN: {report.problems[0]}")
        for problem in report.problems[1:10]:
            print(f"  also: {problem}")
        return 1
    print(f"audit trail intact: {report.events} events, {report.executions} executions, chain head {report.head[:16]}…")
    return 0


def _backup(args: argparse.Namespace) -> int:
    from app.store.backup import backup_sqlite

    settings = _settings(args)
    pages = backup_sqlite(settings.database_url, args.out)
    print(f"backup written to {args.out} ({pages} pages)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "execute":
            return asyncio.run(_execute(args))
        if args.command == "export":
            return _export(args)
        if args.command == "verify":
            return _verify(args)
        if args.command == "backup":
            return _backup(args)
    except (ValueError, OSError) as exc:
        print(f"execution-engine {args.command}: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
