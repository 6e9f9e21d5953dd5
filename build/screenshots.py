"""Screenshots of the console for docs/: the main window (light, dark, halted) and each dialog.

    python build/screenshots.py            # offscreen; writes docs/*.png

Runs the real console on the demo desk (simulator + synthetic RPM feed) in a temporary data dir,
lets executions flow for a few seconds, then opens each dialog and grabs it. Rerun it after any
visible change and look at the pictures.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import qasync  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.domain.contracts import ExecutionStatus  # noqa: E402
from app.host.settings import Settings  # noqa: E402
from app.tools.demo import DEMO_SCENARIO_FILE, DemoFeed  # noqa: E402
from ui.app import Console  # noqa: E402
from ui.dialogs.halt_dialogs import HaltDialog  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402
from ui.theme import ThemeChoice  # noqa: E402

DOCS = ROOT / "docs"
SIZE = (1680, 1000)


async def until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the console did not get there in time")
        await asyncio.sleep(0.05)


async def grab(widget: QWidget, name: str) -> None:
    await asyncio.sleep(0.15)  # let pending paints and timers run (never processEvents() inside a task)
    path = DOCS / name
    widget.grab().save(str(path))
    print(f"wrote {path.relative_to(ROOT)}")


async def shoot(console: Console, window: MainWindow) -> None:
    await console.start()
    window.attach(console)
    engine = console.runtime.engine

    # A busy minute of the desk in a few seconds: the demo feed, faster.
    feed = DemoFeed(engine, seed=11, interval=(0.04, 0.12))
    feed.start()
    await until(lambda: feed.sent >= 90 and console.runtime.engine.in_flight() == 0, 40)
    await feed.stop()
    await until(lambda: window.stale_panel.model.rowCount() > 0, 20)  # the slow venue's; listed every 3 s
    await window.monitor.refresh_now()
    await asyncio.sleep(0.3)  # the chart's and the blotter's timers

    rows = [window.model.row(r) for r in range(window.model.rowCount())]
    partial = next(r for r in rows if r.status is ExecutionStatus.PARTIALLY_FILLED)
    window.blotter.view.selectRow(rows.index(partial))
    await until(lambda: window.detail.audit.rowCount() > 3)
    await grab(window, "console.png")

    detail = window.open_detail(partial.execution_id)
    assert detail is not None
    await until(lambda: detail.detail.audit.rowCount() > 3)
    await grab(detail, "execution-detail.png")
    detail.close()

    window.halt.request_toggle()
    halt = window.halt.dialog
    assert isinstance(halt, HaltDialog)
    halt.reason.setText("NFP release at 14:30 — flat until the spike settles")
    await grab(halt, "halt-dialog.png")
    halt.accept()
    await until(lambda: window.banner.isVisible() and "by " in window.banner.details.text())
    await grab(window, "console-halted.png")
    await engine.resume(by="screenshots")

    view = window.stale_panel.view
    view.selectAll()
    window.stale_panel.cancel.click()
    cancel = window.stale.dialog
    assert cancel is not None
    await until(cancel.isVisible)
    await grab(cancel, "cancel-dialog.png")
    cancel.reject()

    export = window.open_export()
    assert export is not None
    export.path.setText(str(Path(console.settings.data_dir) / "exports" / "executions.csv"))
    export.start_export()
    await until(lambda: export.cancel_button.text() == "Close")
    await grab(export, "export-dialog.png")
    export.reject()

    # The TCA tab, once the first fills' 1 s and 5 s mark-outs are in (30 s and 60 s come later).
    await until(lambda: window.tca_view.isVisible() or window.docks["tca"].raise_() is None)
    await asyncio.sleep(5.5)
    window.tca_view.refresh()
    await until(lambda: window.tca_view.table.rowCount() > 0)
    window.docks["tca"].setFloating(True)
    window.docks["tca"].resize(1400, 720)
    await grab(window.docks["tca"], "tca-view.png")
    window.docks["tca"].setFloating(False)
    window.docks["slippage"].raise_()

    window.apply_theme(ThemeChoice.DARK)
    await asyncio.sleep(0.2)
    await grab(window, "console-dark.png")

    await window.detach()
    await console.stop(drain_s=1.0)


def main() -> int:
    DOCS.mkdir(exist_ok=True)
    app = QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), broker="sim", sim_scenario=DEMO_SCENARIO_FILE, port=0, order_timeout_s=2.0
        )
        console = Console(settings, demo=True)  # the demo venues; its feed is started here, faster
        qsettings = QSettings(str(Path(tmp) / "console.ini"), QSettings.Format.IniFormat)
        window = MainWindow(qsettings, ThemeChoice.LIGHT)
        window.resize(*SIZE)
        window.show()
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(shoot(console, window))
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
