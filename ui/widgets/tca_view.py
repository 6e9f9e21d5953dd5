"""The TCA view: the per-group table (GET /tca's figures), mark-out curves per symbol with a 95 % band
of the mean, and mean slippage by hour of day; the table exports to CSV.

Every figure is computed by the store (app.store.tca_aggregates); the view only asks and draws. It asks
when shown, when a setting changes and on Refresh, never on each fill: the aggregates read the range.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.execution import utcnow
from app.store.repository import ExecutionStore
from app.store.tca_aggregates import GroupBy, TcaGroup
from ui import tca_table
from ui.tasks import TaskSpawner
from ui.widgets.tables import read_only_table

PERIODS = {"Today": 0, "Last 7 days": 7, "Last 30 days": 30, "Last 365 days": 365}
CURVE_COLOURS = ("#3b82c4", "#d99a1e", "#2e9d57", "#d64545", "#8e5cc4", "#4bb3b3", "#c4568e", "#7a7a7a")


def period_start(days: int, now: datetime) -> datetime:
    """Today: since UTC midnight; N days: since midnight N days ago."""
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=days)


class TcaView(QWidget):
    loaded = Signal()  # the figures on show are the store's as of the last load

    def __init__(self, spawner: TaskSpawner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._spawner = spawner
        self._store: ExecutionStore | None = None
        self.groups: list[TcaGroup] = []

        self.period = QComboBox()
        self.period.addItems(list(PERIODS))
        self.period.setCurrentText("Last 7 days")
        self.group_by = QComboBox()
        self.group_by.addItems([g.value for g in GroupBy])
        self.refresh_button = QPushButton("Refresh")
        self.export_button = QPushButton("Export CSV…")
        self.summary = QLabel()

        self.table = read_only_table(tca_table.HEADERS)
        self.table.setObjectName("tcaTable")

        self.curves = pg.PlotWidget()
        # Short titles: a title cannot shrink, and a wide one pushes the plot past its half of the dock.
        self.curves.setTitle("Mark-outs per symbol (95 % band)")
        self.curves.setLabel("left", "mean pips (+ is adverse)")
        self.curves.setLabel("bottom", "seconds after the fill")
        self.curves.showGrid(x=True, y=True, alpha=0.25)
        self.curves.addLegend(offset=(-10, 8), brush=(255, 255, 255, 210))
        self.curves.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((128, 128, 128), width=1)))
        self.curve_items: dict[str, pg.PlotDataItem] = {}

        self.hours = pg.PlotWidget()
        self.hours.setTitle("Slippage by hour of arrival")
        self.hours.setLabel("left", "mean pips")
        for plot in (self.curves, self.hours):
            plot.getAxis("left").enableAutoSIPrefix(False)  # pips stay pips, never "(x0.001)"
        self.hours.setLabel("bottom", "UTC hour")
        self.hours.setMouseEnabled(x=False, y=False)
        self.hours.showGrid(y=True, alpha=0.25)
        self.hour_bars = pg.BarGraphItem(x=np.arange(24), height=np.zeros(24), width=0.7, brush="#3b82c4")
        self.hours.addItem(self.hour_bars)
        self.hours.setXRange(-0.6, 23.6, padding=0)

        # Two short rows rather than one long one: the dock shares the bottom of a 1366-pixel screen.
        choices = QHBoxLayout()
        for label, widget in (("Period", self.period), ("Group by", self.group_by)):
            choices.addWidget(QLabel(label))
            choices.addWidget(widget)
        choices.addStretch(1)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.refresh_button)
        actions.addWidget(self.export_button)
        self.summary.setWordWrap(True)
        charts = QSplitter()
        charts.addWidget(self.curves)
        charts.addWidget(self.hours)
        charts.setSizes([500, 500])
        split = QSplitter()  # side by side: the dock is short on a laptop's screen
        split.addWidget(self.table)
        split.addWidget(charts)
        split.setSizes([400, 600])  # weights: the table's figures get two fifths, the charts the rest
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(choices)
        layout.addLayout(actions)
        layout.addWidget(split, 1)

        self.period.currentTextChanged.connect(lambda _: self.refresh())
        self.group_by.currentTextChanged.connect(lambda _: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(self._choose_export)

    def attach(self, store: ExecutionStore) -> None:
        self._store = store
        self.refresh()

    def range(self, now: datetime | None = None) -> tuple[datetime, datetime]:
        now = now or utcnow()
        return period_start(PERIODS[self.period.currentText()], now), now + timedelta(seconds=1)

    def refresh(self) -> None:
        if self._store is not None:
            self._spawner.spawn(self._load(self._store), "loading TCA")

    async def _load(self, store: ExecutionStore) -> None:
        start, end = self.range()
        by = GroupBy(self.group_by.currentText())
        groups = await store.tca_groups(by, start, end)
        symbols = groups if by is GroupBy.SYMBOL else await store.tca_groups(GroupBy.SYMBOL, start, end)
        hours = groups if by is GroupBy.HOUR else await store.tca_groups(GroupBy.HOUR, start, end)
        self.show_figures(groups, symbols, hours)

    def show_figures(self, groups: list[TcaGroup], symbols: list[TcaGroup], hours: list[TcaGroup]) -> None:
        self.groups = groups
        cells = tca_table.rows(groups)
        self.table.setRowCount(len(cells))
        for r, row in enumerate(cells):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        executions = sum(g.executions for g in groups)
        self.summary.setText(f"{executions} executions in {len(groups)} groups")
        self._draw_curves(symbols)
        heights = np.zeros(24)
        for g in hours:
            mean = g.metrics["slippage_pips"].mean
            heights[int(g.group)] = float(mean) if mean is not None else 0.0
        self.hour_bars.setOpts(height=heights)
        self.loaded.emit()

    def _draw_curves(self, symbols: list[TcaGroup]) -> None:
        for item in self.curve_items.values():
            self.curves.removeItem(item)
        self.curve_items = {}
        for n, group in enumerate(symbols):
            xs, means, low, high = tca_table.markout_curve(group)
            if not xs:
                continue
            colour = CURVE_COLOURS[n % len(CURVE_COLOURS)]
            pen = pg.mkPen(colour, width=2)
            line = pg.PlotDataItem(xs, means, name=group.group, pen=pen, symbol="o", symbolBrush=colour, symbolPen=pen)
            lower, upper = pg.PlotDataItem(xs, low, pen=None), pg.PlotDataItem(xs, high, pen=None)
            band = pg.FillBetweenItem(lower, upper, brush=pg.mkBrush(pg.mkColor(colour).lighter(160)))
            band.setOpacity(0.35)
            for item in (band, line):
                self.curves.addItem(item)
            self.curve_items[group.group] = line
            self.curve_items[f"{group.group} band"] = band

    def export_to(self, path: Path) -> int:
        """The table on show as CSV at `path`; returns the rows written."""
        with path.open("w", newline="", encoding="utf-8") as out:
            return tca_table.write_csv(self.groups, out)

    def _choose_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(self, "Export TCA table", "tca.csv", "CSV files (*.csv)")
        if name:
            rows = self.export_to(Path(name))
            self.summary.setText(f"{rows} groups exported to {name}")
