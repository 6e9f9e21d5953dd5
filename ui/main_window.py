"""The console's main window: blotter in the middle, halt banner and alerts on top, panels in docks.

Built in two steps: the widgets first (before the loop runs, before the engine exists), then
attach() once the engine has started — only then are tasks created and timers started.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDesktopServices, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from app.domain.contracts import ExecutionStatus
from app.domain.execution import Execution
from app.host.logs import log_dir
from app.store.repository import ExecutionStore
from ui.app import Console
from ui.bridge import EngineBridge
from ui.controllers.halt import TITLE, HaltController
from ui.controllers.monitor import Monitor
from ui.controllers.positions import PositionsController
from ui.controllers.stale import StaleController
from ui.dialogs.detail_dialog import ExecutionDetailDialog
from ui.dialogs.export_dialog import ExportDialog
from ui.dialogs.mt5_login_dialog import Mt5LoginDialog
from ui.models.execution_table_model import ExecutionTableModel
from ui.notifications import DesktopNotifier
from ui.tasks import TaskSpawner
from ui.theme import ICONS, StatusPalette, ThemeChoice, apply_theme
from ui.widgets.account_strip import AccountStrip
from ui.widgets.alert_bar import AlertBar
from ui.widgets.blotter import FILTERS, Blotter
from ui.widgets.execution_detail import ExecutionDetail
from ui.widgets.halt_banner import HaltBanner
from ui.widgets.metrics_panel import MetricsPanel
from ui.widgets.positions_dock import PositionsDock
from ui.widgets.slippage_charts import SlippageCharts
from ui.widgets.stale_orders import StaleOrdersPanel
from ui.widgets.status_bar import ConsoleStatusBar
from ui.widgets.tca_view import TcaView
from ui.window_layout import LAYOUT_VERSION, apply_default_layout, window_size

CHART_HISTORY = 2000  # fills drawn at start-up; live ones are added as they come


class MainWindow(QMainWindow):
    closing = Signal()  # the trader closed the window: the console shuts down
    attached = Signal()  # the engine runs and every panel is live

    def __init__(self, settings: QSettings, theme: ThemeChoice = ThemeChoice.SYSTEM) -> None:
        super().__init__()
        self.settings = settings
        self.theme = theme
        self.console: Console | None = None
        self.bridge: EngineBridge | None = None
        self.detail_dialogs: list[ExecutionDetailDialog] = []
        self.export_dialog: ExportDialog | None = None
        self.setWindowTitle(TITLE)
        self.setWindowIcon(QIcon(str(ICONS / "console.svg")))
        self.notifier = DesktopNotifier(settings, self.windowIcon(), TITLE, self)

        self.spawner = TaskSpawner(self)
        self.model = ExecutionTableModel(self.spawner, self)
        self.blotter = Blotter(self.model)
        self.detail = ExecutionDetail(self.spawner)
        self.charts = SlippageCharts()
        self.metrics_panel = MetricsPanel()
        self.stale_panel = StaleOrdersPanel()
        self.positions_dock, self.account_strip = PositionsDock(), AccountStrip()
        self.tca_view = TcaView(self.spawner)
        self.banner = HaltBanner()
        self.alert_bar = AlertBar()
        self.halt_button = QPushButton()
        self.halt_button.setObjectName("haltButton")
        self.status = ConsoleStatusBar()
        self.setStatusBar(self.status)

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.alert_bar)
        layout.addWidget(self.blotter)
        self.setCentralWidget(central)
        self.docks = {
            "detail": self._dock("detail", "Execution detail", self.detail, Qt.DockWidgetArea.RightDockWidgetArea),
            "metrics": self._dock(
                "metrics", "Metrics && alerts", self.metrics_panel, Qt.DockWidgetArea.RightDockWidgetArea
            ),
            "slippage": self._dock("slippage", "Slippage", self.charts, Qt.DockWidgetArea.BottomDockWidgetArea),
            "stale": self._dock("stale", "Stale orders", self.stale_panel, Qt.DockWidgetArea.BottomDockWidgetArea),
            "positions": self._dock(
                "positions", "Positions", self.positions_dock, Qt.DockWidgetArea.BottomDockWidgetArea
            ),
            "tca": self._dock("tca", "TCA", self.tca_view, Qt.DockWidgetArea.BottomDockWidgetArea),
        }
        apply_default_layout(self, self.docks, window_size(self.screen().availableGeometry().size()))

        self.halt = HaltController(self, self.banner, self.halt_button, self.spawner)
        self.monitor = Monitor(self, self.metrics_panel, self.alert_bar, self.spawner)
        self.stale = StaleController(self, self.stale_panel, self.spawner)
        self.positions = PositionsController(self, self.positions_dock, self.account_strip, self.spawner)
        self.monitor.refreshed.connect(self.model.recount)  # also on its own after each batch of rows
        self.monitor.broker_state.connect(self.status.show_broker)
        self.monitor.alerts_raised.connect(self.notifier.on_alerts)
        self.stale.listed.connect(self._stale_listed)
        self.alert_bar.show_alerts.connect(lambda: self._raise_dock("metrics"))
        self.spawner.failed.connect(lambda message: self.status.showMessage(message, 10_000))
        self.blotter.selected.connect(self.detail.show_execution)
        self.blotter.activated.connect(self.open_detail)

        self._build_actions()
        self.restore_layout()
        self.apply_theme(self.theme)

    # ---- construction ------------------------------------------------------------------------------
    def _dock(self, name: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{name}Dock")  # saveState() finds the docks by name
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def _action(
        self, text: str, shortcut: str | QKeySequence.StandardKey | None, slot: Callable[[], object]
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _toggle(self, text: str, on: bool, slot: Callable[[bool], None]) -> QAction:
        action = QAction(text, self, checkable=True)
        action.setChecked(on)
        action.toggled.connect(slot)
        return action

    def _build_actions(self) -> None:
        self.export_action = self._action("&Export audit trail…", "Ctrl+E", self.open_export)
        self.export_action.setEnabled(False)
        self.halt_action = self._action("&Halt / resume trading…", "Ctrl+Shift+H", self.halt.request_toggle)
        quit_action = self._action("&Quit", QKeySequence.StandardKey.Quit, self.close)
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(self.export_action)
        self.mt5_action = self._action("&MT5 account…", None, self.open_mt5_login)
        self.mt5_action.setToolTip("Store the MT5 account's password in the OS keyring")
        self.mt5_action.setEnabled(False)
        file_menu.addAction(self.mt5_action)
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        trading = self.menuBar().addMenu("&Trading")
        trading.addAction(self.halt_action)
        view = self.menuBar().addMenu("&View")
        for i, (label, _statuses) in enumerate(FILTERS):
            show = self._action(f"Show {label.lower()}", f"Ctrl+{i + 1}", partial(self.blotter.set_filter_index, i))
            view.addAction(show)
        view.addAction(self._action("Find an execution", "Ctrl+F", self._focus_search))
        view.addAction(self._action("Filter by symbol", "Ctrl+Shift+F", self._focus_symbol))
        view.addAction(self._action("Reload blotter", "F5", self.model.reload))
        view.addSeparator()
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self.notify_action = self._toggle("Desktop &notifications", self.notifier.enabled, self.notifier.set_enabled)
        self.notify_action.setToolTip("Critical alerts and rejections as desktop notifications")
        self.sound_action = self._toggle("Notification &sound", self.notifier.sound, self.notifier.set_sound)
        self.sound_action.setEnabled(self.notifier.enabled)  # a sound goes with a notification, never alone
        self.notify_action.toggled.connect(self.sound_action.setEnabled)
        view.addAction(self.notify_action)
        view.addAction(self.sound_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(self._action("Open the &log folder", None, self.open_log_folder))
        help_menu.addAction(self._action("Open the &data folder", None, self.open_data_folder))
        themes = view.addMenu("Theme")
        group = QActionGroup(self)
        for choice in ThemeChoice:
            action = QAction(choice.value.capitalize(), self, checkable=True)
            action.setChecked(choice is self.theme)
            action.triggered.connect(lambda _checked=False, c=choice: self.apply_theme(c))
            group.addAction(action)
            themes.addAction(action)

        toolbar = QToolBar("Desk")
        toolbar.setObjectName("deskToolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(self.halt_button)
        toolbar.addSeparator()
        toolbar.addAction(self.export_action)
        toolbar.addSeparator()
        # The account beside the switches: the toolbar's row has the room, the blotter keeps its rows.
        self.account_strip.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        toolbar.addWidget(self.account_strip)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, toolbar)

    def _open_folder(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.statusBar().showMessage(f"{folder}", 15_000)  # no file manager here: say where it is

    def open_log_folder(self) -> None:
        if self.console is not None:
            self._open_folder(log_dir(self.console.settings.data_dir))

    def open_data_folder(self) -> None:
        if self.console is not None:
            self._open_folder(self.console.settings.data_dir)

    def _focus_search(self) -> None:
        self.blotter.search.setFocus()
        self.blotter.search.selectAll()

    def _focus_symbol(self) -> None:
        self.blotter.symbol.setFocus()
        self.blotter.symbol.showPopup()

    def _raise_dock(self, name: str) -> None:
        dock = self.docks[name]
        dock.show()
        dock.raise_()

    def _stale_listed(self, n: int) -> None:
        self.docks["stale"].setWindowTitle(f"Stale orders ({n})" if n else "Stale orders")

    # ---- engine ------------------------------------------------------------------------------------
    def attach(self, console: Console) -> None:
        """Go live on a started console: the bridge, the first loads, the refresh timers."""
        self.console = console
        runtime = console.runtime
        engine, store = runtime.engine, runtime.store
        self.bridge = EngineBridge(engine, self)
        for slot in (
            self.model.on_execution,
            self.charts.on_execution,
            self.detail.on_execution,
            self.notifier.on_execution,
            self._note_symbol,
        ):
            self.bridge.execution.connect(slot)
        self.bridge.halt.connect(self.halt.on_halt)
        self.bridge.markout.connect(self.detail.on_markout)
        for dialog in self.detail_dialogs:
            self.bridge.execution.connect(dialog.on_execution)
            self.bridge.markout.connect(dialog.detail.on_markout)
        self.model.attach(store)
        self.detail.attach(store)
        self.halt.attach(engine, store)
        self.monitor.attach(store, runtime.broker, runtime.link, engine.positions)
        self.stale.attach(engine)
        self.positions.attach(runtime.broker, engine.positions)
        self.tca_view.attach(store)
        self.status.set_broker(runtime.broker.name, runtime.broker_why)
        self.status.set_database(runtime.settings.database_url)
        self.status.set_api(console.api_url, console.token_hint)
        self.status.set_inbox(console.inbox)
        self.export_action.setEnabled(True)
        self.mt5_action.setEnabled(True)
        self.spawner.spawn(self._first_loads(store), "loading history")
        self.attached.emit()

    async def _first_loads(self, store: ExecutionStore) -> None:
        symbols = await store.symbols()
        self.blotter.add_symbols(symbols)
        fills = await store.history(
            statuses=[ExecutionStatus.FILLED, ExecutionStatus.PARTIALLY_FILLED], limit=CHART_HISTORY
        )
        self.charts.add_executions(reversed(fills))

    def _note_symbol(self, execution: Execution) -> None:
        if execution.symbol and self.blotter.symbol.findText(execution.symbol) < 0:
            self.blotter.add_symbols([execution.symbol])

    @property
    def is_attached(self) -> bool:
        return self.bridge is not None

    async def detach(self) -> None:
        """Stop every timer and task of the window; the engine may still be draining after this."""
        self.monitor.stop()
        self.stale.stop()
        self.positions.stop()
        if self.bridge is not None:
            self.bridge.close()
        await self.spawner.cancel_all()

    # ---- dialogs -----------------------------------------------------------------------------------
    def open_detail(self, execution_id: str) -> ExecutionDetailDialog | None:
        if self.console is None:
            return None
        dialog = ExecutionDetailDialog(self.spawner, self.console.runtime.store, self)
        dialog.show_execution(execution_id)
        if self.bridge is not None:
            self.bridge.execution.connect(dialog.on_execution)
            self.bridge.markout.connect(dialog.detail.on_markout)
        dialog.finished.connect(lambda _r, d=dialog: self._forget_detail(d))
        self.detail_dialogs.append(dialog)
        dialog.show()
        return dialog

    def _forget_detail(self, dialog: ExecutionDetailDialog) -> None:
        if dialog in self.detail_dialogs:
            self.detail_dialogs.remove(dialog)
        if self.bridge is not None:
            self.bridge.execution.disconnect(dialog.on_execution)
            self.bridge.markout.disconnect(dialog.detail.on_markout)
        dialog.deleteLater()

    def open_export(self) -> ExportDialog | None:
        if self.console is None:
            return None
        if self.export_dialog is not None and self.export_dialog.isVisible():
            self.export_dialog.raise_()
            return self.export_dialog
        symbols = [self.blotter.symbol.itemText(i) for i in range(1, self.blotter.symbol.count())]
        self.export_dialog = ExportDialog(
            self.spawner, self.console.runtime.store, symbols, self.console.settings.data_dir / "exports", self
        )
        self.export_dialog.open()
        return self.export_dialog

    def open_mt5_login(self) -> Mt5LoginDialog | None:
        if self.console is None:
            return None
        dialog = Mt5LoginDialog(self.spawner, self.console.settings, self)
        dialog.stored.connect(lambda line: self.status.showMessage(line, 30_000))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    # ---- look and layout ---------------------------------------------------------------------------
    def apply_theme(self, choice: ThemeChoice) -> None:
        self.theme = choice
        app = QApplication.instance()
        dark = apply_theme(app, choice) if isinstance(app, QApplication) else False
        palette = StatusPalette(dark)
        self.model.set_palette(palette)
        self.metrics_panel.palette_ = palette
        self.stale.palette = palette
        self.positions_dock.model.set_palette(palette)
        self.charts.apply_theme(dark)
        self.settings.setValue("theme", choice.value)

    def bring_forward(self) -> None:
        """Another console was started on this data dir: show this one instead."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    def restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state, LAYOUT_VERSION)
        self.blotter.restore_state(self.settings)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.blotter.save_state(self.settings)
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        if self.export_dialog is not None and self.export_dialog.running:
            self.export_dialog.reject()  # an export in progress stops, leaving no partial file
        for dialog in list(self.detail_dialogs):
            dialog.close()
        event.accept()
        self.closing.emit()
