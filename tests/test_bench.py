"""The benchmark completes and prints every figure it promises (its speed is README's business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.store.integrity import IntegrityReport, verify_store
from app.store.repository import ExecutionStore
from app.store.seed import seed_store

ROOT = Path(__file__).resolve().parents[1]


def verified(store: ExecutionStore) -> IntegrityReport:
    with store.db.reader.connect() as conn:
        return verify_store(conn, store.signer)


def test_bench_smoke_run_prints_every_figure() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "app.interfaces.cli",
            "bench",
            "--executions",
            "30",
            "--concurrency",
            "4",
            "--history",
            "500",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1])  # the JSON line comes last
    assert (result["executions"], result["concurrency"], result["store"]) == (30, 4, "sqlite")
    assert result["commit_ms"] > 0 and result["commits_per_execution"] >= 2
    for run in ("sequential", "concurrent", "bare_sim"):
        assert set(result[run]) == {"per_s", "p50_ms", "p95_ms", "p99_ms"}
        assert all(value > 0 for value in result[run].values())
    trace = result["broker_trace"]
    assert trace["plain_p50_ms"] > 0 and trace["recorded_p50_ms"] > 0 and trace["recording_work_ms"] > 0
    assert trace["calls_per_execution"] > 1 and trace["bytes_per_execution"] > 0
    assert "end_to_end_pct" in trace and "recording_elapsed_ms" in trace
    assert trace["overhead_pct"] > 0
    assert any(line.startswith("recording the broker trace: ") for line in lines)
    history = result["history"]
    assert history["store_executions"] == 500 and history["export"]["rows"] >= 500
    assert set(history["queries_ms"]) >= {"history_newest_50", "history_symbol_50", "audit_one_day"}
    assert any(line.startswith("engine, sequential") for line in lines)


def test_a_seeded_store_grows_to_a_larger_history_with_its_audit_chain_intact(tmp_path: Path) -> None:
    store = ExecutionStore.open(f"sqlite:///{tmp_path / 'history.db'}", b"bench-key-0123456789abcdef")
    try:
        seed_store(store.db, store.signer, 300)
        seed_store(store.db, store.signer, 200)  # `bench --history 500` on the store of a `--history 300`
        with store.db.reader.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(DISTINCT execution_id) FROM execution_logs").scalar_one() == 500
        report = verified(store)
        assert (report.problems, report.events, report.executions) == ([], 500, 500)
    finally:
        store.close()
