"""The long randomized run, for before a release: `python -m tests.soak_invariants --runs N`.

Each run is one seed (tests/invariants/plan.py): real engine, adapter and simulator with latency per
call, fills at random moments, partial fills, requotes, lost answers, link drops, cancels racing
fills and reconciliation racing the engine; with --kill, `serve` itself is SIGKILLed at random
moments and restarted. Every run is checked against the broker's books; a failure prints its seed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from tests.invariants import inprocess, killed
from tests.invariants.plan import make_plan
from tests.postgres import postgres_url


@contextlib.contextmanager
def store_url(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp}/soak.db"
    else:
        yield from postgres_url()


def run_one(seed: int, args: argparse.Namespace) -> inprocess.Outcome:
    with tempfile.TemporaryDirectory() as tmp:
        if args.kill:
            plan = make_plan(seed, args.executions, max_latency_ms=args.max_latency_ms, span_s=4.0, kills=2)
            return killed.run(plan, Path(tmp))
        span = max(1.5, args.executions / 20)
        plan = make_plan(seed, args.executions, max_latency_ms=args.max_latency_ms, span_s=span)
        with store_url(args.db, Path(tmp)) as url:
            return asyncio.run(inprocess.run(plan, url))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.soak_invariants", description=__doc__)
    ap.add_argument("--runs", type=int, default=100, help="how many seeded runs (default 100)")
    ap.add_argument("--seed", type=int, default=None, help="the first seed (default: drawn and printed)")
    ap.add_argument("--executions", type=int, default=60, help="RPMOutputs per run (default 60)")
    ap.add_argument("--max-latency-ms", type=float, default=100.0, help="latency per broker call, 0..this")
    ap.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="a fresh SQLite file per run, or a fresh schema per run on the test PostgreSQL server",
    )
    ap.add_argument("--kill", action="store_true", help="run `serve` as a process and SIGKILL it at random moments")
    args = ap.parse_args(argv)
    first = args.seed if args.seed is not None else random.randrange(1, 10**6)
    print(f"first seed {first}, {args.runs} runs of {args.executions} executions", flush=True)
    totals: Counter[str] = Counter()
    failed: list[int] = []
    started = time.monotonic()
    for seed in range(first, first + args.runs):
        try:
            outcome = run_one(seed, args)
        except Exception:  # a run that crashes is a failed run: its seed and why, then the next one
            failed.append(seed)
            print(f"seed {seed}: crashed\n{traceback.format_exc()}", flush=True)
            continue
        totals.update(outcome.statuses)
        totals["deals"] += outcome.deals
        totals["executions"] += outcome.executions
        if outcome.violations:
            failed.append(seed)
            print(outcome.report(), flush=True)
        else:
            print(f"seed {seed}: ok, {outcome.executions} executions, {outcome.deals} deals", flush=True)
    minutes = (time.monotonic() - started) / 60
    print(f"\n{args.runs - len(failed)} passed, {len(failed)} failed in {minutes:.1f} min; totals: {dict(totals)}")
    if failed:
        print(f"failing seeds: {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
