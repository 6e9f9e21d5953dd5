"""Is the desk responsive? The console measured offscreen, beside `execution-engine bench`.

    python build/console_probe.py                       # 2,000 executions at full speed, 64 in flight
    python build/console_probe.py --store big.db        # and the blotter's first page on that store
    python build/console_probe.py --store big.db --seed 1000000   # seed big.db first (a few minutes)

1. While the embedded engine executes at full speed (zero-latency simulator, durable SQLite store,
   the window attached and updating), a 10 ms QTimer probes the event loop: how late each tick comes
   is how long the trader would wait for a click to register.
2. With --store, the window is opened on that store and the time until the blotter shows its first
   page is measured (the blotter pages from the store; it never loads every row).
The last line is JSON, like the benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import qasync  # noqa: E402
from pydantic import SecretStr  # noqa: E402
from PySide6.QtCore import QSettings, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.engine.metrics import percentile  # noqa: E402
from app.host.settings import Settings  # noqa: E402
from app.interfaces.intake.receive import receive  # noqa: E402
from app.store.repository import ExecutionStore  # noqa: E402
from app.store.seed import seed_store  # noqa: E402
from app.tools.bench import BENCH_KEY, _payload  # noqa: E402
from ui.app import Console  # noqa: E402
from ui.collector import GuiThreadCollector  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.theme import ThemeChoice  # noqa: E402

PROBE_MS = 10


class LoopProbe:
    """A 10 ms timer; each tick records how late it came."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(PROBE_MS)
        self.timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        self.late_ms.append(max(0.0, (now - self._last) * 1000 - PROBE_MS))
        self._last = now

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start()

    def figures(self) -> dict[str, float]:
        late = sorted(self.late_ms)
        return {
            "ticks": len(late),
            "p50_ms": round(percentile(late, 50) or 0.0, 2),
            "p99_ms": round(percentile(late, 99) or 0.0, 2),
            "max_ms": round(late[-1], 2),
        }


async def responsiveness(
    data_dir: Path, executions: int, concurrency: int, collector: GuiThreadCollector
) -> dict[str, object]:
    settings = Settings(data_dir=data_dir, broker="sim", port=0, audit_key=SecretStr(BENCH_KEY.decode()))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "rich.toml").write_text("[account]\nbalance = 1e12\n")
    settings = settings.model_copy(update={"sim_scenario": data_dir / "rich.toml"})
    console = Console(settings)
    window = MainWindow(QSettings(str(data_dir / "console.ini"), QSettings.Format.IniFormat), ThemeChoice.LIGHT)
    window.resize(1680, 1000)
    window.show()
    await console.start()
    window.attach(console)
    collector.settle()  # as the console's session does once started
    payloads = iter([_payload(n) for n in range(executions)])  # built before the probe starts: not the desk's work
    probe = LoopProbe()
    probe.start()
    engine = console.runtime.engine

    async def worker() -> None:
        for raw, _rpm in payloads:
            await receive(engine, raw.encode(), channel="probe")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - started
    await asyncio.sleep(0.5)  # the blotter's and the charts' timers catch up
    probe.timer.stop()
    result = {
        "executions": executions,
        "concurrency": concurrency,
        "executions_per_s": round(executions / wall, 1),
        "loop_lateness": probe.figures(),
        "blotter_rows": window.model.rowCount(),
    }
    await window.detach()
    await console.stop(drain_s=5.0)
    window.close()
    return result


async def blotter_open(store_path: Path) -> dict[str, object]:
    data_dir = store_path.parent / f"{store_path.stem}-console"
    settings = Settings(
        data_dir=data_dir,
        broker="sim",
        port=0,
        db_url=f"sqlite:///{store_path}",
        audit_key=SecretStr(BENCH_KEY.decode()),
    )
    console = Console(settings)
    window = MainWindow(QSettings(str(data_dir / "console.ini"), QSettings.Format.IniFormat), ThemeChoice.LIGHT)
    window.show()
    await console.start()
    started = time.perf_counter()
    window.attach(console)
    while window.model.rowCount() == 0:  # noqa: ASYNC110 - the model is Qt's, polled from the loop
        await asyncio.sleep(0.005)
    first_page_s = time.perf_counter() - started
    total = await console.runtime.store.read(
        lambda conn: conn.exec_driver_sql("SELECT count(*) FROM execution_logs").scalar_one()
    )
    result = {"store_executions": total, "first_page_s": round(first_page_s, 3), "rows_loaded": window.model.rowCount()}
    await window.detach()
    await console.stop(drain_s=1.0)
    window.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--store", type=Path, help="an SQLite store to open the blotter on")
    parser.add_argument("--seed", type=int, default=0, help="seed --store up to this many executions first")
    args = parser.parse_args()
    if args.store and args.seed:
        store = ExecutionStore.open(f"sqlite:///{args.store}", BENCH_KEY)
        have = store.db.reader.connect().exec_driver_sql("SELECT count(*) FROM execution_logs").scalar_one()
        if have < args.seed:
            seed_store(store.db, store.signer, args.seed - have)
        store.close()
    app = QApplication(sys.argv[:1])
    result: dict[str, object] = {}
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector()
    with loop, tempfile.TemporaryDirectory(prefix="console-probe-") as tmp:
        run = responsiveness(Path(tmp), args.executions, args.concurrency, collector)
        result["responsiveness"] = loop.run_until_complete(run)
        if args.store:
            result["blotter"] = loop.run_until_complete(blotter_open(args.store))
    r = result["responsiveness"]
    assert isinstance(r, dict)
    print(
        f"{r['executions']} executions at {r['executions_per_s']}/s with the window attached; "
        f"10 ms timer lateness p50 {r['loop_lateness']['p50_ms']} ms, p99 {r['loop_lateness']['p99_ms']} ms"
    )
    if "blotter" in result:
        b = result["blotter"]
        assert isinstance(b, dict)
        print(
            f"blotter on {b['store_executions']:,} executions: first page in {b['first_page_s']} s "
            f"({b['rows_loaded']} rows loaded)"
        )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
