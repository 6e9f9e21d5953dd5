"""`execution-engine bench`: the whole engine on the simulator with a durable store, against its floors.

From one run: executions through the engine one after another and with C in flight; bare simulator
`order_send` calls (the floor without durability); the cost of one durable commit on the store in
use (the floor of durability); and what recording the broker trace adds to an execution. Anyone can
rerun it; README quotes its figures.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import app.adapters.mt5.constants as mt5
from app.adapters.broker.mt5_adapter import MT5Broker
from app.adapters.sim.scenario import Scenario
from app.adapters.sim.terminal import SimulatedTerminal
from app.adapters.trace.format import decode_argument, read_trace
from app.adapters.trace.recorder import RecordingModule
from app.adapters.trace.tracefile import TraceFile
from app.domain.audit_events import AuditEventType
from app.domain.contracts import ExecutionStatus, parse_rpm_output
from app.domain.execution import new_id
from app.engine.config import EngineConfig
from app.engine.engine import ExecutionEngine
from app.engine.metrics import percentile
from app.store.repository import ExecutionStore

BENCH_KEY = b"benchmark-audit-key-not-for-production"
SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD")


@dataclass(frozen=True)
class Figures:
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @classmethod
    def of(cls, latencies_s: list[float], wall_s: float) -> Figures:
        ms = sorted(x * 1000 for x in latencies_s)
        p50, p95, p99 = (round(percentile(ms, q) or 0.0, 3) for q in (50, 95, 99))
        return cls(round(len(ms) / wall_s, 1), p50, p95, p99)


def _payload(n: int) -> tuple[str, Any]:
    raw = json.dumps(
        {
            "decision": {
                "status": "APPROVED",
                "order_id": new_id("bench"),
                "approved_trade": {
                    "symbol": SYMBOLS[n % len(SYMBOLS)],
                    "direction": 1 if n % 2 else -1,
                    "position_units": 10_000 * (1 + n % 5),
                    "confidence_score": 0.7,
                    "regime": "TRENDING",
                },
            },
            "portfolio_state": {"trading_halted": False},
            "config_hash": "bench",
            "rpm_version": "bench",
            "model_version": "bench",
        }
    )
    return raw, parse_rpm_output(raw)


async def _timed_executions(
    engine: ExecutionEngine, count: int, concurrency: int, offset: int
) -> tuple[list[float], float]:
    payloads = [_payload(offset + i) for i in range(count)]
    latencies: list[float] = []
    queue = iter(payloads)

    async def worker() -> None:
        for raw, rpm in queue:
            started = time.perf_counter()
            execution = await engine.execute(rpm, raw=raw, channel="bench")
            latencies.append(time.perf_counter() - started)
            if execution.status is not ExecutionStatus.FILLED:
                raise RuntimeError(f"bench execution not filled: {execution.rejection_details}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def _rich_simulator() -> SimulatedTerminal:
    """Zero latency, no state file, and margin enough that no bench order is refused."""
    return SimulatedTerminal(Scenario().with_overrides(account={"balance": 1e12}))


def _bare_sim(count: int) -> Figures:
    sim = _rich_simulator()
    sim.initialize()
    latencies = []
    started = time.perf_counter()
    for n in range(count):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        tick = sim.symbol_info_tick(symbol)
        assert tick is not None
        t0 = time.perf_counter()
        result = sim.order_send(
            {
                "action": mt5.TRADE_ACTION_DEAL,
                "symbol": symbol,
                "volume": 0.1,
                "type": mt5.ORDER_TYPE_BUY,
                "price": tick.ask,
                "deviation": 20,
                "magic": 1,
                "comment": "bench",
                "type_filling": mt5.ORDER_FILLING_FOK,
            }
        )
        latencies.append(time.perf_counter() - t0)
        if result is None or result.retcode != mt5.TRADE_RETCODE_DONE:
            raise RuntimeError(f"bare order_send failed: {result}")
    return Figures.of(latencies, time.perf_counter() - started)


async def _commit_cost(store: ExecutionStore, samples: int = 200) -> float:
    """One durable commit through the store, as a sequential caller pays it (milliseconds)."""
    started = time.perf_counter()
    for n in range(samples):
        await store.audit(AuditEventType.BENCH_COMMIT_PROBE, {"n": n})
    return round((time.perf_counter() - started) * 1000 / samples, 3)


def _recording_work(path: Path, executions: int, rounds: int = 7) -> tuple[float, float]:
    """The recording's own work per execution, in ms of CPU (every thread of the process) and elapsed:
    the run's calls made again on a simulator, bare and recorded in alternating order, the latter until
    every line is written; the medians of the rounds' differences. The CPU figure is the overhead
    stated: on a shared machine the elapsed one also holds the time a thread waited for a core (two
    threads here where bare needs one), which is another job's, not the recorder's."""
    calls = [(c.function, [decode_argument(a) for a in c.args], c.kwargs) for c in read_trace(path)]

    def spent_ms(recorded: bool, n: int) -> tuple[float, float]:
        trace = TraceFile(path.with_name(f"again-{n}.jsonl"))
        sim = _rich_simulator()
        module = RecordingModule(sim, trace) if recorded else sim
        cpu, elapsed = time.process_time(), time.perf_counter()
        for function, args, kwargs in calls:
            getattr(module, function)(*args, **kwargs)
        trace.close()  # the lines written, not merely queued
        return (time.process_time() - cpu) * 1000, (time.perf_counter() - elapsed) * 1000

    cpu: list[float] = []
    elapsed: list[float] = []
    for n in range(rounds):
        if n % 2:
            recorded, bare = spent_ms(True, n), spent_ms(False, n)
        else:
            bare, recorded = spent_ms(False, n), spent_ms(True, n)
        cpu.append(recorded[0] - bare[0])
        elapsed.append(recorded[1] - bare[1])
    cpu_ms, elapsed_ms = (percentile(sorted(d), 50) or 0.0 for d in (cpu, elapsed))
    return cpu_ms / executions, elapsed_ms / executions


async def _recording_cost(store: ExecutionStore, executions: int, each: int = 10) -> dict[str, float]:
    """Sequential executions without and with the broker trace recorded, in short rounds of `each`
    that alternate (ABBA), so that the machine's drift falls on both: the difference is the median of
    the paired rounds' (each round's median against its neighbour's), beside the medians of all; and
    the work the recording itself does.

    Both kinds of round run on one engine, adapter thread and simulator, the module the adapter calls
    swapped between rounds: two engines of their own differed by up to a third with neither recorded
    (which core each one's threads landed on). A recorded round's lines are all written before the
    next round starts, so that none of its writing falls on the other's (the last few lines' writing,
    a gathering's worth, is timed by neither).

    That work (CPU), against the median without it, is the overhead stated, as if none of it overlapped
    the execution (its lines are built on a thread of their own, largely while the store waits on the
    disk); what the hand-offs between threads add shows in the end-to-end difference alone."""
    pairs = max(1, executions // (2 * each))
    with tempfile.TemporaryDirectory(prefix="exec-bench-trace-") as tmp:
        path = Path(tmp) / "trace.jsonl"
        trace = TraceFile(path)
        sim = _rich_simulator()
        modules = {"plain": sim, "recorded": RecordingModule(sim, trace)}
        broker = MT5Broker(sim, name="sim")
        latencies: dict[str, list[float]] = {"plain": [], "recorded": []}
        ratios = []
        try:
            await broker.connect()
            engine = ExecutionEngine(broker, store, EngineConfig())
            for n in range(pairs):
                medians = {}
                for name in sorted(modules, reverse=n % 2 == 1):
                    broker.mt5 = modules[name]
                    offset = 2 * 10**9 + (2 * n + (name == "recorded")) * each
                    round_s = (await _timed_executions(engine, each, 1, offset=offset))[0]
                    trace.flush()
                    latencies[name] += round_s
                    medians[name] = percentile(sorted(round_s), 50) or 0.0
                ratios.append(medians["recorded"] / medians["plain"])
        finally:
            await broker.close()
            trace.close()
        done = each * pairs
        work_ms, work_elapsed_ms = _recording_work(path, done)
        size, calls = path.stat().st_size, len(read_trace(path))
    plain, recorded = (percentile(sorted(latencies[k]), 50) or 0.0 for k in ("plain", "recorded"))
    return {
        "plain_p50_ms": round(plain * 1000, 3),
        "recorded_p50_ms": round(recorded * 1000, 3),
        "end_to_end_pct": round(((percentile(sorted(ratios), 50) or 1.0) - 1) * 100, 1),
        "recording_work_ms": round(work_ms, 3),
        "recording_elapsed_ms": round(work_elapsed_ms, 3),
        "overhead_pct": round(work_ms * 100 / (plain * 1000), 1),
        "calls_per_execution": round(calls / done, 1),
        "bytes_per_execution": round(size / done),
    }


async def run_bench(executions: int, concurrency: int, db_url: str | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="exec-bench-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        store = ExecutionStore.open(url, BENCH_KEY)
        broker = MT5Broker(_rich_simulator(), name="sim")
        await broker.connect()
        engine = ExecutionEngine(broker, store, EngineConfig(max_in_flight=max(64, concurrency)))
        try:
            commit_ms = await _commit_cost(store)
            await _timed_executions(engine, min(50, executions), 1, offset=10**9)  # warm-up
            commits_before = store.writer.commits
            seq_lat, seq_wall = await _timed_executions(engine, executions, 1, offset=0)
            commits_per_execution = (store.writer.commits - commits_before) / executions
            con_lat, con_wall = await _timed_executions(engine, executions, concurrency, offset=executions)
            broker_trace = await _recording_cost(store, executions)
        finally:
            await broker.close()
            store.close()
    sequential, concurrent = Figures.of(seq_lat, seq_wall), Figures.of(con_lat, con_wall)
    return {
        "executions": executions,
        "concurrency": concurrency,
        "store": url.split(":", 1)[0].split("+")[0],
        "commit_ms": commit_ms,
        "commits_per_execution": round(commits_per_execution, 2),
        "sequential": sequential.__dict__,
        "concurrent": concurrent.__dict__,
        "bare_sim": _bare_sim(executions).__dict__,
        "broker_trace": broker_trace,
    }


def render(result: dict[str, Any]) -> str:
    """A table for people, then one JSON line for machines (last, as promised)."""
    floor = Decimal(str(result["commits_per_execution"])) * Decimal(str(result["commit_ms"]))
    lines = [
        f"executions: {result['executions']}   concurrency: {result['concurrency']}   store: {result['store']}",
        f"one durable commit: {result['commit_ms']} ms   commits per execution: {result['commits_per_execution']}"
        f"   durability floor: {floor:.3f} ms",
        "",
        f"{'run':<24}{'exec/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}",
    ]
    for name, key in (
        ("engine, sequential", "sequential"),
        (f"engine, {result['concurrency']} in flight", "concurrent"),
        ("bare sim order_send", "bare_sim"),
    ):
        f = result[key]
        lines.append(f"{name:<24}{f['per_s']:>10}{f['p50_ms']:>10}{f['p95_ms']:>10}{f['p99_ms']:>10}")
    t = result["broker_trace"]
    lines += [
        "",
        f"recording the broker trace: its own work {t['overhead_pct']} % of a sequential execution"
        f" ({t['recording_work_ms']} ms of CPU, {t['recording_elapsed_ms']} ms elapsed, for"
        f" {t['calls_per_execution']} calls, {t['bytes_per_execution']:,} bytes); end to end"
        f" {t['end_to_end_pct']:+} % (p50 {t['plain_p50_ms']} ms without, {t['recorded_p50_ms']} ms with)",
    ]
    history = result.get("history")
    if history:
        lines += ["", f"on a store of {history['store_executions']:,} executions (median of 20, of 3 for tca_*, ms):"]
        lines += [f"  {name:<24}{ms:>10}" for name, ms in history["queries_ms"].items()]
        export = history["export"]
        lines.append(
            f"  CSV export: {export['rows']:,} rows at {export['rows_per_s']:,} rows/s, "
            f"{export['csv_mb']} MB written, resident memory grew {export['peak_rss_growth_mb']} MB"
        )
    lines += ["", json.dumps(result)]
    return "\n".join(lines)
