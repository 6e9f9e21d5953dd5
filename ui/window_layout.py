"""The main window's first layout, fitted to the screen it opens on (a saved layout replaces it).

Sizes are in logical pixels, so a 1366×768 laptop at 125 % scaling is a 1093×614 screen here. Below
ROOMY_HEIGHT the execution detail and the metrics share the right-hand column as tabs: stacked, each
would get a few rows; tabbed, the detail shows its fields and "Show alerts" brings the metrics forward.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

PREFERRED = QSize(1600, 1000)  # what the console asks for where the screen allows it
ROOMY_HEIGHT = 1000  # from this height on, the detail and the metrics are stacked
RIGHT_SHARE = 0.36  # of the width, for the detail and the metrics
BOTTOM_SHARE = 0.30  # of the height, for the charts and the stale orders
SLIPPAGE_SHARE = 0.62  # of the bottom row's width, for the charts


def window_size(available: QSize) -> QSize:
    return PREFERRED.boundedTo(available)


def apply_default_layout(window: QMainWindow, docks: dict[str, QDockWidget], size: QSize) -> None:
    """Size the window to `size` and share it out between the blotter and the docks."""
    window.resize(size)
    detail, metrics = docks["detail"], docks["metrics"]
    slippage, stale = docks["slippage"], docks["stale"]
    if size.height() < ROOMY_HEIGHT:
        window.tabifyDockWidget(metrics, detail)
        detail.raise_()
    else:
        half = size.height() // 2
        window.resizeDocks([detail, metrics], [half, half], Qt.Orientation.Vertical)
    bottom_width = size.width()
    window.resizeDocks(
        [slippage, stale],
        [int(bottom_width * SLIPPAGE_SHARE), int(bottom_width * (1 - SLIPPAGE_SHARE))],
        Qt.Orientation.Horizontal,
    )
    window.resizeDocks([detail], [int(size.width() * RIGHT_SHARE)], Qt.Orientation.Horizontal)
    window.resizeDocks([slippage], [int(size.height() * BOTTOM_SHARE)], Qt.Orientation.Vertical)
