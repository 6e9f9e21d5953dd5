"""Screenshots of the console for docs/: the main window (light, dark, halted), the Positions dock and each dialog.

    python build/screenshots.py            # writes docs/*.png (needs Debian's xvfb and imagemagick)

Taken from a real X server at a desk laptop's 1366×768: without a DISPLAY the script runs itself
again under xvfb-run, on Qt's xcb platform, and each picture is read back from the X server's screen
with ImageMagick's `import` — what a trader would see, not a widget rendered into a pixmap.
Runs the real console on the demo desk (simulator + synthetic RPM feed) in a temporary data dir,
lets executions flow for a few seconds, then opens each dialog and takes it. Rerun it after any
visible change and look at the pictures.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCREEN = (1366, 768)
if not os.environ.get("DISPLAY"):
    xvfb = ["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN[0]}x{SCREEN[1]}x24"]
    os.execvpe(xvfb[0], [*xvfb, sys.executable, *sys.argv], {**os.environ, "QT_QPA_PLATFORM": "xcb"})
os.environ["QT_QPA_PLATFORM"] = "xcb"
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


async def until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise TimeoutError("the console did not get there in time")
        await asyncio.sleep(0.05)


async def grab(widget: QWidget, name: str) -> None:
    """The widget's part of the X server's screen (the whole screen for the main window)."""
    await asyncio.sleep(0.4)  # let pending paints and timers run (never processEvents() inside a task)
    path = DOCS / name
    frame = widget.frameGeometry()
    crop = f"{frame.width()}x{frame.height()}+{frame.x()}+{frame.y()}"
    shot = await asyncio.create_subprocess_exec("import", "-window", "root", "-crop", crop, "+repage", str(path))
    if await shot.wait() != 0:
        raise RuntimeError(f"ImageMagick's import could not read the screen for {name}")
    print(f"wrote {path.relative_to(ROOT)}")


def trade_by_hand(console: Console, symbol: str, lots: float, magic: int, comment: str) -> None:
    """A sell made at the terminal, not through the engine."""
    terminal = console.runtime.broker.mt5  # type: ignore[attr-defined]
    tick = terminal.symbol_info_tick(symbol)
    terminal.order_send(
        {
            "action": terminal.TRADE_ACTION_DEAL,
            "symbol": symbol,
            "volume": lots,
            "type": terminal.ORDER_TYPE_SELL,
            "price": tick.bid,
            "magic": magic,
            "comment": comment,
            "type_filling": terminal.ORDER_FILLING_FOK,
            "type_time": terminal.ORDER_TIME_GTC,
        }
    )


async def positions_dock(console: Console, window: MainWindow) -> None:
    """The dock alone, with a foreign position (magic 0: by hand) and a mismatch (the console's magic, a
    comment naming no execution) for it to show."""
    trade_by_hand(console, "GBPUSD", 0.5, 0, "by hand")
    trade_by_hand(console, "EURUSD", 0.3, console.runtime.broker.magic, "hedge by hand")
    await console.runtime.engine.positions.check()
    dock = window.docks["positions"]
    dock.setFloating(True)  # alone and wide enough for every column
    dock.resize(1180, 470)
    dock.move(0, 0)  # on the screen, whatever place the floating window was given
    dock.show()
    model = window.positions_dock.model
    rows = lambda: [model.row(r).line for r in range(model.rowCount())]  # noqa: E731
    await until(lambda: any(not line.ours for line in rows()) and any(line.mismatch for line in rows()))
    await grab(dock, "positions.png")


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
    window.docks["tca"].raise_()
    await until(window.tca_view.isVisible)
    await asyncio.sleep(5.5)
    window.tca_view.refresh()
    await until(lambda: window.tca_view.table.rowCount() > 0)
    window.docks["tca"].setFloating(True)
    window.docks["tca"].resize(1360, 700)  # within the screen: import reads it back from there
    window.docks["tca"].move(0, 0)
    window.tca_view.refresh()  # drawn again at its floating size (the charts keep the size they were drawn at)
    await until(lambda: window.tca_view.table.rowCount() > 0)
    await asyncio.sleep(1.0)
    await grab(window.docks["tca"], "tca-view.png")
    window.docks["tca"].setFloating(False)
    window.docks["slippage"].raise_()

    window.apply_theme(ThemeChoice.DARK)
    for tab in ("metrics", "stale"):  # the docks' other tabs, so that every panel is pictured once
        window.docks[tab].raise_()
    await asyncio.sleep(0.2)
    await grab(window, "console-dark.png")
    window.apply_theme(ThemeChoice.LIGHT)
    await positions_dock(console, window)

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
        window = MainWindow(qsettings, ThemeChoice.LIGHT)  # sized to the screen: 1366×768
        window.move(0, 0)  # no window manager places it
        window.show()
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(shoot(console, window))
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
