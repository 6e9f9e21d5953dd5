"""The slippage charts: docs/DESIGN.md's categories, a symbol filter, and few redraws per burst."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetrics
from pytestqt.qtbot import QtBot

from app.domain.contracts import ExecutionStatus
from tests.ui.rows import execution
from ui.slippage_series import SlippageSeries, category_counts, rolling_mean
from ui.widgets.slippage_charts import SlippageCharts


def charts(qtbot: QtBot) -> SlippageCharts:
    widget = SlippageCharts()
    qtbot.addWidget(widget)
    widget.show()
    return widget


def test_the_categories_are_excellent_good_acceptable_poor_by_size_either_way() -> None:
    slippage = np.array([0.5, -1.0, 1.1, 2.9, -4.0, 5.0, 5.1, -9.0])
    assert category_counts(slippage).tolist() == [2, 2, 2, 2]


def test_the_rolling_mean_averages_the_last_window_of_executions() -> None:
    assert rolling_mean(np.array([1.0, 3.0, 5.0, 7.0]), 2).tolist() == [1.0, 2.0, 4.0, 6.0]


def test_a_late_fill_takes_its_place_in_time() -> None:
    series = SlippageSeries()
    for n, t in enumerate((10.0, 30.0, 20.0)):
        series.add(f"e{n}", t, float(n), "EURUSD")
    t, slip = series.view()
    assert t.tolist() == [10.0, 20.0, 30.0] and slip.tolist() == [0.0, 2.0, 1.0]


def test_the_histogram_shows_the_counts_of_the_fills(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    widget.add_executions(execution(slippage=s) for s in ("0.4", "-0.9", "2.0", "4.5", "7.5", "-12.0"))
    widget.add_executions([execution(status=ExecutionStatus.REJECTED)])  # no fill, no point

    qtbot.waitUntil(lambda: widget.redraws > 0)
    assert np.asarray(widget.bars.opts["width"]).tolist() == [2, 1, 1, 2]
    assert widget.summary.text().startswith("6 fills")


def test_the_symbol_filter_shows_one_symbols_fills(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    fills = [("EURUSD", "0.5"), ("USDJPY", "6.0"), ("USDJPY", "-7.0")]
    widget.add_executions(execution(symbol=symbol, slippage=slippage) for symbol, slippage in fills)
    widget.symbol.setCurrentText("USDJPY")

    qtbot.waitUntil(lambda: widget.category_counts() == [0, 0, 0, 2])
    qtbot.waitUntil(lambda: widget.per_execution.yData is not None and widget.per_execution.yData.tolist() == [6, -7])


def test_a_burst_of_fills_is_drawn_in_a_few_timer_ticks_not_one_redraw_each(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    for n in range(1000):
        widget.on_execution(execution(slippage=f"{(n % 20) / 4 - 2:.1f}"))

    qtbot.waitUntil(lambda: widget.redraws > 0 and len(widget.series) == 1000)
    assert widget.mean.yData is not None and len(widget.mean.yData) == 1000
    assert widget.redraws <= 2


def test_the_timeline_carries_the_two_pip_target_and_the_five_pip_alert_either_way(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    assert sorted(line.value() for line in widget.target_lines) == [-2, 2]
    assert sorted(line.value() for line in widget.alert_lines) == [-5, 5]
    green = widget.palette_.text[ExecutionStatus.FILLED]
    red = widget.palette_.text[ExecutionStatus.REJECTED]
    assert all(line.pen.color() == green for line in widget.target_lines)
    assert all(line.pen.color() == red for line in widget.alert_lines)


def test_the_summary_gives_the_mean_size_of_slippage_coloured_against_the_target(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    widget.add_executions(execution(slippage=s) for s in ("3.0", "-3.0"))  # cancel out signed, 3 pips in size

    qtbot.waitUntil(lambda: widget.redraws > 0)
    assert widget.summary.text() == "2 fills, mean +0.00 pips, mean |slippage| 3.00 pips (target < 2 pips)"
    amber = widget.palette_.text[ExecutionStatus.PARTIALLY_FILLED]
    assert amber.name() in widget.summary.styleSheet()


def test_with_no_fills_the_charts_say_so_instead_of_drawing_empty_axes(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    assert widget.empty.isVisible() and "No fills yet" in widget.empty.text()
    assert not widget.timeline.isVisible()

    widget.add_executions([execution(symbol="EURUSD", slippage="0.5")])
    qtbot.waitUntil(lambda: widget.timeline.isVisible())
    assert not widget.empty.isVisible()
    widget.symbol.addItem("USDJPY")
    widget.symbol.setCurrentText("USDJPY")
    qtbot.waitUntil(lambda: widget.empty.isVisible())
    assert widget.empty.text() == "No fills of USDJPY yet."


def test_every_axis_is_titled_and_the_legend_stays_off_the_data(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    widget.resize(900, 300)
    widget.add_executions(execution(slippage=s) for s in ("0.4", "-2.0", "4.5", "7.5"))
    qtbot.waitUntil(lambda: widget.timeline.isVisible())

    for plot in (widget.timeline, widget.histogram):
        assert plot.getAxis("bottom").labelText
    assert widget.timeline.getAxis("left").labelText
    data = widget.timeline.getPlotItem().getViewBox().sceneBoundingRect()
    assert not widget.legend.sceneBoundingRect().intersects(data)


def test_the_category_labels_have_a_line_each_and_carry_the_counts(qtbot: QtBot) -> None:
    widget = charts(qtbot)
    widget.resize(700, 220)  # a small dock on a 1366x768 screen
    widget.add_executions(execution(slippage=s) for s in ("0.4", "2.0", "2.5", "9.0"))
    qtbot.waitUntil(lambda: widget.histogram.isVisible() and widget.redraws > 0)

    axis = widget.histogram.getAxis("left")
    ticks = axis._tickLevels[0]  # pyqtgraph keeps what setTicks was given here: (value, label) each
    assert [label for _v, label in ticks] == ["excellent ≤1  (1)", "good ≤3  (2)", "acceptable ≤5  (0)", "poor >5  (1)"]
    view = widget.histogram.getPlotItem().getViewBox()
    line = QFontMetrics(axis.style["tickFont"] or QFont()).height()
    spacing = view.mapViewToScene(pg.Point(0, 0)).y() - view.mapViewToScene(pg.Point(0, 1)).y()
    assert abs(spacing) >= line  # one category per line: the labels cannot run together
