"""The desk's numbers at a glance (success, slippage, latency, timeouts, network) over a window the trader
chooses (the last hour unless they choose otherwise: what the alert rules look at), coloured against
docs/DESIGN.md's targets, and the alerts list."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.contracts import ExecutionStatus
from app.engine.metrics import HOUR, Metrics, WindowMetrics
from ui import formatting as fmt
from ui.alert_book import AlertEntry
from ui.targets import SLIPPAGE_TARGET, SUCCESS_TARGET, grade_colour, slippage_grade, success_grade
from ui.theme import StatusPalette
from ui.widgets.tables import read_only_table

WINDOW_CHOICES = (("Last 15 min", "15m"), ("Last hour", HOUR), ("Today", "today"), ("All time", "all"))
KPIS = (
    ("success", "Success rate"),
    ("slippage", "Avg |slippage|"),
    ("p50", "Latency p50"),
    ("p95", "Latency p95"),
    ("p99", "Latency p99"),
    ("timeouts", "Timeout rate"),
    ("network", "Network errors"),
    ("total", "Executions"),
)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


class Tile(QFrame):
    def __init__(self, caption: str) -> None:
        super().__init__()
        self.setObjectName("kpiTile")
        self.caption = QLabel(caption)
        self.caption.setObjectName("kpiCaption")
        self.value = QLabel("—")
        self.value.setObjectName("kpiValue")
        self.note = QLabel()  # the target, or the figure's companion (a rate, the adverse slippage)
        self.note.setObjectName("kpiCaption")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        layout.addWidget(self.note)

    def set(self, text: str, colour: QColor | None, note: str = "") -> None:
        self.value.setText(text)
        self.value.setStyleSheet(f"color: {colour.name()};" if colour is not None else "")
        self.note.setText(note)
        self.note.setVisible(bool(note))


class MetricsPanel(QWidget):
    acknowledge = Signal(list)  # list[AlertEntry] the trader acknowledges

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.palette_ = StatusPalette(dark=False)
        self.window_choice = QComboBox()
        self.window_choice.setObjectName("metricsWindow")
        for label, name in WINDOW_CHOICES:
            self.window_choice.addItem(label, name)
        self.window_choice.setCurrentIndex(self.window_choice.findData(HOUR))
        self.window_choice.currentIndexChanged.connect(self._show_window)
        choice = QHBoxLayout()
        choice.addWidget(QLabel("Figures over:"))
        choice.addWidget(self.window_choice)
        choice.addStretch(1)
        self.tiles = {key: Tile(caption) for key, caption in KPIS}
        grid = QGridLayout()
        grid.setSpacing(6)
        for i, (key, _caption) in enumerate(KPIS):
            grid.addWidget(self.tiles[key], i // 4, i % 4)
        self.rejections = read_only_table(("Rejection reason", "Count"))
        self.rejections.setColumnWidth(0, 230)
        self.alerts = read_only_table(("Raised", "Severity", "Alert", "State"))
        for col, width in enumerate((90, 75, 300, 70)):
            self.alerts.setColumnWidth(col, width)
        # The alert's text takes what the dock leaves: its state stays in view on a laptop's screen.
        self.alerts.horizontalHeader().setStretchLastSection(False)
        self.alerts.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.alerts.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.ack = QPushButton("Acknowledge selected")
        self.ack.setObjectName("ackButton")
        self.ack_all = QPushButton("Acknowledge all")
        self.ack.clicked.connect(self._ack_selected)
        self.ack_all.clicked.connect(lambda: self.acknowledge.emit(list(self._entries)))
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.ack)
        buttons.addWidget(self.ack_all)
        self.alerts_title = QLabel("<b>Alerts</b>")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(choice)
        layout.addLayout(grid)
        layout.addWidget(self.rejections, 2)
        layout.addWidget(self.alerts_title)
        layout.addWidget(self.alerts, 3)
        layout.addLayout(buttons)
        self._entries: list[AlertEntry] = []
        self._metrics: Metrics | None = None

    def selected_window(self) -> str:
        return str(self.window_choice.currentData())

    def show_metrics(self, m: Metrics) -> None:
        self._metrics = m
        self._show_window()

    def _show_window(self) -> None:
        if self._metrics is None:
            return
        m: WindowMetrics = self._metrics.windows.get(self.selected_window(), self._metrics)
        bad = self.palette_.text[ExecutionStatus.REJECTED]
        self.tiles["success"].set(
            fmt.percent(m.success_rate), grade_colour(success_grade(m.success_rate), self.palette_), SUCCESS_TARGET
        )
        size, adverse = m.avg_abs_slippage_pips, m.avg_adverse_slippage_pips
        self.tiles["slippage"].set(
            "—" if size is None else f"{size:.2f} pips",
            grade_colour(slippage_grade(size), self.palette_),
            SLIPPAGE_TARGET if adverse is None else f"adverse {adverse:.2f} · {SLIPPAGE_TARGET}",
        )
        for q in ("p50", "p95", "p99"):
            self.tiles[q].set(_ms(m.latency_ms.get(q)), None)
        self.tiles["timeouts"].set(fmt.percent(m.timeout_rate), None)
        network_rate = "" if m.network_error_rate is None else f"{fmt.percent(m.network_error_rate)} of executions"
        self.tiles["network"].set(f"{m.network_errors:,}", bad if m.network_errors else None, network_rate)
        rejected = "" if m.rejection_rate is None else f"{fmt.percent(m.rejection_rate)} rejected"
        self.tiles["total"].set(f"{m.total_executions:,}", None, rejected)
        reasons = sorted(m.rejections_by_reason.items(), key=lambda kv: (-kv[1], str(kv[0])))
        self.rejections.setRowCount(len(reasons))
        for r, (reason, count) in enumerate(reasons):
            self.rejections.setItem(r, 0, QTableWidgetItem(str(reason or "—")))
            item = QTableWidgetItem(f"{count:,}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.rejections.setItem(r, 1, item)

    def show_alerts(self, entries: list[AlertEntry]) -> None:
        self._entries = list(entries)
        pending = sum(1 for e in entries if e.needs_ack)
        self.alerts_title.setText(f"<b>Alerts</b> — {pending} to acknowledge" if pending else "<b>Alerts</b>")
        self.alerts.setRowCount(len(entries))
        bad = self.palette_.text[ExecutionStatus.REJECTED]
        warn = self.palette_.text[ExecutionStatus.PARTIALLY_FILLED]
        for r, e in enumerate(entries):
            state = "firing" if e.active else "cleared"
            if e.acknowledged_by:
                state += f", acknowledged by {e.acknowledged_by}"
            cells = (fmt.local_time(e.raised_at, with_date=False), e.severity, e.message, state)
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(f"{e.rule}: {e.message}")
                if c == 1:
                    item.setForeground(bad if e.severity == "critical" else warn)
                self.alerts.setItem(r, c, item)
        self.ack.setEnabled(pending > 0)
        self.ack_all.setEnabled(pending > 0)

    def _ack_selected(self) -> None:
        rows = sorted({i.row() for i in self.alerts.selectedIndexes()})
        chosen = [self._entries[r] for r in rows if r < len(self._entries) and self._entries[r].needs_ack]
        if chosen:
            self.acknowledge.emit(chosen)
