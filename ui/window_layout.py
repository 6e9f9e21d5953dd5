"""The main window's first layout, fitted to the screen it opens on (a saved layout replaces it).

Sizes are in logical pixels, so a 1366×768 laptop at 125 % scaling is a 1093×614 screen here. Below
ROOMY_HEIGHT the window is compact: the execution detail and the metrics share the right-hand column,
as tabs, down to the status bar (stacked, each would get a few rows; tabbed, the detail shows its
fields and "Show alerts" brings the metrics forward), and the charts and the stale orders share the
bottom row as tabs (side by side, neither would be readable in what the blotter leaves).
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

# Saved with the docks' state: a layout saved by an earlier release (0: the detail over the metrics
# whatever the screen) is not restored, so a laptop gets the fitted one once.
LAYOUT_VERSION = 1
PREFERRED = QSize(1800, 1150)  # what the console asks for where the screen allows it
ROOMY_HEIGHT = 1100  # from this height on (a 1920×1200 screen), the detail and the metrics are stacked
RIGHT_SHARE = 0.36  # of the width, for the detail and the metrics
BOTTOM_SHARE = 0.28  # of the height, for the charts and the stale orders
ROOMY_BOTTOM_SHARE = 0.2  # the same on a tall screen, where the right column also holds the metrics' tiles
SLIPPAGE_SHARE = 0.62  # of the bottom row's width, for the charts


def window_size(available: QSize) -> QSize:
    return PREFERRED.boundedTo(available)


def apply_default_layout(window: QMainWindow, docks: dict[str, QDockWidget], size: QSize) -> None:
    """Size the window to `size` and share it out between the blotter and the docks."""
    window.resize(size)
    detail, metrics = docks["detail"], docks["metrics"]
    slippage, stale = docks["slippage"], docks["stale"]
    # Each pair side by side first (undoing tabs a layout for another screen may have made): the
    # metrics under the detail, the stale orders right of the charts.
    for dock, area, orientation in (
        (metrics, Qt.DockWidgetArea.RightDockWidgetArea, Qt.Orientation.Vertical),
        (stale, Qt.DockWidgetArea.BottomDockWidgetArea, Qt.Orientation.Horizontal),
    ):
        window.removeDockWidget(dock)
        window.addDockWidget(area, dock, orientation)
        dock.show()
    compact = size.height() < ROOMY_HEIGHT
    if compact:
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        window.tabifyDockWidget(metrics, detail)
        window.tabifyDockWidget(slippage, stale)
    else:
        window.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
    # The exposure beside the orders still resting, execution quality beside the slippage it explains.
    window.tabifyDockWidget(stale, docks["positions"])
    window.tabifyDockWidget(slippage, docks["tca"])
    for dock in (detail, slippage) if compact else (stale, slippage):
        dock.raise_()
    if not compact:
        window.resizeDocks([detail, metrics], [3, 2], Qt.Orientation.Vertical)  # the detail's fields first
        charts = int(size.width() * SLIPPAGE_SHARE)
        window.resizeDocks([slippage, stale], [charts, size.width() - charts], Qt.Orientation.Horizontal)
    window.resizeDocks([detail], [int(size.width() * RIGHT_SHARE)], Qt.Orientation.Horizontal)
    bottom = BOTTOM_SHARE if compact else ROOMY_BOTTOM_SHARE
    window.resizeDocks([slippage], [int(size.height() * bottom)], Qt.Orientation.Vertical)
