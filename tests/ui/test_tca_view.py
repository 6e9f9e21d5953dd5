"""The console's TCA view (issue 16 item 4): the store's figures in a table, curves and bars, and as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import qasync
from pytestqt.qtbot import QtBot

from app.store.repository import ExecutionStore
from app.store.tca_aggregates import GroupBy
from tests.conftest import AUDIT_KEY
from tests.store.test_tca_aggregates import write_case
from tests.ui.conftest import WindowFactory, drive, post
from ui import tca_table
from ui.tasks import TaskSpawner
from ui.widgets.tca_view import TcaView, period_start


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExecutionStore]:
    opened = ExecutionStore.open(f"sqlite:///{tmp_path / 'tca.db'}", AUDIT_KEY)
    # CASE's day is yesterday (its e0 the day before): in the view's last 7 days, never in the future.
    write_case(opened, datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1))
    yield opened
    opened.close()


def test_the_mark_out_band_is_the_mean_plus_or_minus_1_96_standard_errors(store: ExecutionStore) -> None:
    [eur, _jpy] = asyncio.run(store.tca_groups(GroupBy.SYMBOL, datetime(2000, 1, 1, tzinfo=UTC), None))
    xs, means, low, high = tca_table.markout_curve(eur)
    assert xs == [1.0, 5.0, 30.0, 60.0] and means == [0.13, -0.3, 1.0, 2.0]
    half = 1.96 * 0.31 / np.sqrt(3)
    assert (low[0], high[0]) == pytest.approx((0.13 - half, 0.13 + half))
    assert (low[3], high[3]) == (2.0, 2.0)  # one mark-out: no spread to show


def test_the_view_shows_the_stores_figures_and_exports_them(
    qtbot: QtBot, qloop: qasync.QEventLoop, store: ExecutionStore, tmp_path: Path
) -> None:
    view = TcaView(TaskSpawner())
    qtbot.addWidget(view)
    view.show()
    view.period.blockSignals(True)
    view.period.setCurrentText("Last 7 days")  # e0, the day before, too
    view.period.blockSignals(False)
    with qtbot.waitSignal(view.loaded):
        view.attach(store)

    assert [view.table.item(r, 0).text() for r in range(view.table.rowCount())] == ["EURUSD", "USDJPY"]
    eur = {h: view.table.item(0, c).text() for c, h in enumerate(tca_table.HEADERS)}
    assert (eur["executions"], eur["sent"], eur["filled"], eur["fill ratio"]) == ("6", "5", "4", "0.8000")
    assert eur["slippage p50"] == "9.0" and eur["mark-out 1s mean"] == "0.13"
    assert set(view.curve_items) == {"EURUSD", "EURUSD band", "USDJPY", "USDJPY band"}
    heights = np.asarray(view.hour_bars.opts["height"])
    assert heights[9] == 23.0  # 50.0, 9.0 and 10.0 at 09h
    assert heights[14] == pytest.approx(-0.5)  # -1.0 and 0.0 at 14h

    with qtbot.waitSignal(view.loaded):
        view.group_by.setCurrentText("size")
    assert [view.table.item(r, 0).text() for r in range(view.table.rowCount())] == [
        "<10k",
        "10k-100k",
        "100k-1M",
        "1M-10M",
    ]
    out = tmp_path / "tca.csv"
    assert view.export_to(out) == 4
    header, *rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert tuple(header) == tca_table.HEADERS
    assert rows == tca_table.rows(view.groups)
    assert rows[0][:4] == ["<10k", "2", "2", "2"]  # e0 (1000 units) and e3 (5000)


def test_today_leaves_out_yesterday(qtbot: QtBot, qloop: qasync.QEventLoop, store: ExecutionStore) -> None:
    view = TcaView(TaskSpawner())
    qtbot.addWidget(view)
    view.period.setCurrentText("Today")
    with qtbot.waitSignal(view.loaded):
        view.attach(store)
    assert view.summary.text() == "0 executions in 0 groups" and view.table.rowCount() == 0
    now = datetime(2027, 3, 3, 15, 30, tzinfo=UTC)
    assert view.range(now) == (datetime(2027, 3, 3, tzinfo=UTC), datetime(2027, 3, 3, 15, 30, 1, tzinfo=UTC))
    assert period_start(7, now) == datetime(2027, 2, 24, tzinfo=UTC)


def test_the_detail_shows_the_fills_tca_and_each_mark_out_as_it_comes(
    qtbot: QtBot, window_factory: WindowFactory
) -> None:
    window, console = window_factory()
    execution = post(qtbot, console, units=1000)
    window.detail.show_execution(execution.execution_id)

    def field(name: str) -> str | None:
        rows = window.detail.fields
        found = [rows.item(r, 1).text() for r in range(rows.rowCount()) if rows.item(r, 0).text() == name]
        return found[0] if found else None

    qtbot.waitUntil(lambda: field("tca.markout_1s_pips") == "to come")
    assert field("tca.spread_pips") == "1.0"
    markouts = console.runtime.engine.markouts
    assert execution.fill_timestamp is not None
    # The scheduler's clock moved past the 1 s moment, rather than waiting for it (the console's own
    # runner may take it first on a slow machine: either way it is sampled once).
    markouts.clock = lambda: execution.fill_timestamp + timedelta(seconds=1.5)  # type: ignore[operator]
    drive(qtbot, markouts.run_due())
    qtbot.waitUntil(lambda: field("tca.markout_1s_pips") not in (None, "to come"))
    assert field("tca.markout_5s_pips") == "to come"
