"""Slippage charts: per execution over time with a rolling mean, and docs/DESIGN.md's categories.

The timeline carries docs/DESIGN.md's lines either way of zero: the 2-pip target (green) and the 5-pip
alert threshold (red); the summary gives the mean |slippage| coloured against them, as the metrics
panel does. Both have axis titles; the legend sits under the timeline, never over the newest points;
the categories are horizontal bars, so their labels read on one line each whatever the dock's width;
with no fills yet the charts make way for a line saying so (not an empty clock axis).

Cheap at a burst of fills: points go into numpy buffers as they come, and a timer redraws at most
twice a second — one setData per series per tick — and only when something changed. The curves
have no symbols, clip to the view and downsample, so thousands of points cost what hundreds would.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSplitter, QStackedLayout, QVBoxLayout, QWidget

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from ui.slippage_series import CATEGORIES, SlippageSeries, category_counts, rolling_mean
from ui.targets import RULES, SLIPPAGE_TARGET, grade_colour, slippage_grade
from ui.theme import CATEGORY_COLOURS, StatusPalette

ALL_SYMBOLS = "All symbols"
ROLLING_WINDOW = 20
REDRAW_MS = 500  # 2 Hz: enough for an eye on slippage, and painting axes is not free
FILLED = (ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED)
CATEGORY_LABELS = ("excellent ≤1", "good ≤3", "acceptable ≤5", "poor >5")
NO_FILLS = "No fills yet — the slippage of each filled execution is drawn here."


class ClockAxis(pg.DateAxisItem):
    """Local wall-clock times (10:58:09) at every zoom short of days: what a trader reads a chart by."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if spacing >= 86_400:
            return list(super().tickStrings(values, scale, spacing))
        return [time.strftime("%H:%M:%S", time.localtime(v)) for v in values]


class SlippageCharts(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series = SlippageSeries()
        self.symbol = QComboBox()
        self.symbol.setObjectName("chartSymbol")
        self.symbol.addItem(ALL_SYMBOLS)
        self.symbol.setMinimumWidth(130)
        self.summary = QLabel()

        self.timeline = pg.PlotWidget(axisItems={"bottom": ClockAxis()})
        self.timeline.setLabel("left", "pips (+ is worse)")
        self.timeline.getAxis("left").enableAutoSIPrefix(False)  # pips stay pips, even on a flat line
        self.timeline.setLabel("bottom", "fill time")
        self.timeline.showGrid(x=True, y=True, alpha=0.25)
        self.timeline.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen((128, 128, 128), width=1)))
        self.palette_ = StatusPalette(dark=False)
        self.target_lines = self._threshold_lines(RULES.target_avg_slippage_pips, "target")
        self.alert_lines = self._threshold_lines(RULES.max_avg_slippage_pips, "alert")
        self._paint_thresholds()
        self.per_execution = pg.PlotDataItem(name="slippage per execution", pen=pg.mkPen((80, 150, 230, 170), width=1))
        self.mean = pg.PlotDataItem(name=f"rolling mean ({ROLLING_WINDOW})", pen=pg.mkPen((240, 160, 40), width=2.5))
        for item in (self.per_execution, self.mean):
            self.timeline.addItem(item)
            # After addItem: the item only takes these once it knows its view.
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        # The legend on one line where a title would go (the curves' names are the title): outside the
        # data, level with the other chart's title.
        self.legend = pg.LegendItem(colCount=2)
        for item in (self.per_execution, self.mean):
            self.legend.addItem(item, item.name())
        plot = self.timeline.getPlotItem()
        plot.layout.removeItem(plot.titleLabel)
        plot.layout.addItem(self.legend, 0, 1, Qt.AlignmentFlag.AlignHCenter)

        self.histogram = pg.PlotWidget()
        self.histogram.setTitle("By size (pips)")
        self.histogram.setLabel("bottom", "executions")
        self.histogram.setMouseEnabled(x=False, y=False)
        self.histogram.showGrid(x=True, alpha=0.25)
        # Horizontal bars, the best category on top: each label has a whole line to itself.
        self.bars = pg.BarGraphItem(
            x0=0,
            y=-np.arange(len(CATEGORIES)),
            width=np.zeros(len(CATEGORIES)),
            height=0.7,
            brushes=list(CATEGORY_COLOURS),
        )
        self.histogram.addItem(self.bars)
        self.histogram.setYRange(-len(CATEGORIES) + 0.6, 0.4, padding=0)
        self._set_category_ticks(np.zeros(len(CATEGORIES), dtype=np.int64))

        self.empty = QLabel(NO_FILLS)
        self.empty.setObjectName("chartsEmpty")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(QLabel("Symbol:"))
        top.addWidget(self.symbol)
        self.plots = QSplitter()
        self.plots.addWidget(self.timeline)
        self.plots.addWidget(self.histogram)
        self.plots.setSizes([560, 440])
        self.pages = QStackedLayout()
        self.pages.addWidget(self.empty)
        self.pages.addWidget(self.plots)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(self.pages, 1)

        self._dirty = False
        self.redraws = 0
        self._timer = QTimer(self, interval=REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self.symbol.currentIndexChanged.connect(self._mark_dirty)

    def _threshold_lines(self, pips: float, label: str) -> list[pg.InfiniteLine]:
        lines = []
        for sign in (1, -1):
            text = f"{label} {sign * pips:+g}"
            # At the left, above the line, inside the plot (the legend takes the top right).
            placed = {"position": 0.02, "anchors": [(0, 1), (0, 1)]}
            line = pg.InfiniteLine(pos=sign * pips, angle=0, label=text, labelOpts=placed)
            self.timeline.addItem(line)
            lines.append(line)
        return lines

    def _paint_thresholds(self) -> None:
        """The target's lines in the palette's green, the alert's in its red (the metrics tiles' colours)."""
        painted = ((self.target_lines, ExecutionStatus.FILLED), (self.alert_lines, ExecutionStatus.REJECTED))
        for lines, status in painted:
            colour = self.palette_.text[status]
            for line in lines:
                line.setPen(pg.mkPen(colour, width=1, style=Qt.PenStyle.DashLine))
                line.label.setColor(colour)

    # ---- data in -------------------------------------------------------------------------------
    def add_executions(self, executions: Iterable[Execution]) -> None:
        added = False
        for e in executions:
            if e.status not in FILLED or e.slippage_pips is None:
                continue
            at = e.fill_timestamp or e.last_update_timestamp
            if self.series.add(e.execution_id, at.timestamp(), float(e.slippage_pips), e.symbol):
                added = True
                if self.symbol.findText(e.symbol) < 0:
                    self._add_symbol(e.symbol)
        if added:
            self._mark_dirty()

    def on_execution(self, execution: Execution) -> None:
        self.add_executions((execution,))

    def _add_symbol(self, symbol: str) -> None:
        at = 1
        while at < self.symbol.count() and self.symbol.itemText(at) < symbol:
            at += 1
        self.symbol.insertItem(at, symbol)

    def _mark_dirty(self) -> None:
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    # ---- drawing -------------------------------------------------------------------------------
    def selected_symbol(self) -> str | None:
        text = self.symbol.currentText()
        return None if text == ALL_SYMBOLS else text

    def _redraw(self) -> None:
        if not self._dirty:
            self._timer.stop()  # idle until the next fill
            return
        self._dirty = False
        self.redraws += 1
        t, slip = self.series.view(self.selected_symbol())
        self.per_execution.setData(t, slip)
        self.mean.setData(t, rolling_mean(slip, ROLLING_WINDOW))
        counts = category_counts(slip)
        self.bars.setOpts(width=counts)
        self.histogram.setXRange(0, max(int(counts.max()), 1) * 1.08, padding=0)
        self._set_category_ticks(counts)
        n = len(slip)
        symbol = self.selected_symbol()
        self.empty.setText(NO_FILLS if symbol is None else f"No fills of {symbol} yet.")
        self.pages.setCurrentWidget(self.plots if n else self.empty)
        size = float(np.mean(np.abs(slip))) if n else None
        mean = f", mean {float(np.mean(slip)):+.2f} pips, mean |slippage| {size:.2f} pips" if size is not None else ""
        self.summary.setText(f"{n:,} fills{mean} ({SLIPPAGE_TARGET})")
        colour = grade_colour(slippage_grade(size), self.palette_)
        self.summary.setStyleSheet(f"color: {colour.name()};" if colour is not None else "")

    def _set_category_ticks(self, counts: npt.NDArray[np.int64]) -> None:
        # The counts go in the category labels: always legible, never over a bar.
        ticks = [(-i, f"{label}  ({int(counts[i]):,})") for i, label in enumerate(CATEGORY_LABELS)]
        axis = self.histogram.getAxis("left")
        axis.setTicks([ticks])
        # Wide enough for the longest label: pyqtgraph would only widen it after a clipped paint.
        metrics = QFontMetrics(axis.style["tickFont"] or self.font())
        axis.setWidth(max(metrics.horizontalAdvance(label) for _v, label in ticks) + 16)

    def category_counts(self) -> list[int]:
        _t, slip = self.series.view(self.selected_symbol())
        return [int(c) for c in category_counts(slip)]

    def apply_theme(self, dark: bool) -> None:
        self.palette_ = StatusPalette(dark)
        self._paint_thresholds()
        self._mark_dirty()  # the summary's colour is the palette's
        background = "#17181a" if dark else "#ffffff"
        foreground = "#c9cdd2" if dark else "#3c4043"
        for plot in (self.timeline, self.histogram):
            plot.setBackground(background)
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.setPen(foreground)
                axis.setTextPen(foreground)
                if axis.labelText:
                    axis.setLabel(axis.labelText, color=foreground)
        self.histogram.setTitle(self.histogram.getPlotItem().titleLabel.text, color=foreground)
        self.legend.setLabelTextColor(foreground)
